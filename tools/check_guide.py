#!/usr/bin/env python
"""The guide's first run, as written: ``docs/docsite/rst/enforce_limits.rst``, "Your first run, step by step".

Reads the section's files (``yaml`` blocks with a ``:caption:`` path) and commands (``console`` blocks: what follows
``$ ``, with its continuation lines), writes the files and runs the commands in order in one ``bash -e``, in a fresh
home directory, with the emulator and ansible-rulebook as the guide starts them. Two things differ, and only these:

- step 1 installs from PyPI and Galaxy, which this machine cannot reach. Its commands must be exactly ``INSTALL``
  (the check fails when the guide changes them, so that this list follows it); they run as ``INSTALLED_HERE``: this
  venv first on PATH, and the collection built from this checkout and installed with ``ansible-galaxy`` into the
  fresh home, where the guide's ``ansible-galaxy collection list`` finds it;
- before the last block (step 7, which stops the emulator) the emulator's request log is saved.

Then it asserts that each room was ended by the action after its own announcement: one ``VOBIZ_ENFORCE_LIMITS`` line
each (``hung_up``, announcement ``spoken``), in the emulator's log a speak request and then a hang-up ``DELETE`` for
each room at least ``vobiz_grace_seconds`` apart (the emulator's timestamps) and nothing else that changes a room, the
room's own text from ``limits.yml`` heard (``lonely`` and ``overdue`` differ), an ``announced`` and a ``hung_up`` audit
line each, no live room left in the emulator's state, and the auth token nowhere in the rulebook's output or the audit
log.

    python tools/check_guide.py [--keep]

Exit status: 0 passed, 1 failed, 3 Java is missing (the gate reports that step as skipped).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import pathlib
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUIDE = ROOT / 'docs' / 'docsite' / 'rst' / 'enforce_limits.rst'
BIN = pathlib.Path(sys.executable).parent
SECTION = 'Your first run, step by step'
INSTALL = [
    'python3 -m venv ~/vobiz-eda',
    '. ~/vobiz-eda/bin/activate',
    'pip install ansible-core ansible-rulebook==1.3.2 ansible-runner aiohttp requests',
    'ansible-galaxy collection install vobiz.voice',
]
INSTALLED_HERE = [
    'export PATH=%s:"$PATH"' % shlex.quote(str(BIN)),
    'ansible-galaxy collection build %s --output-path "$CHECK_DIR" >/dev/null' % shlex.quote(str(ROOT)),
    'ansible-galaxy collection install "$CHECK_DIR"/vobiz-voice-*.tar.gz',
]
ROOMS = {'Standup': 'overdue', 'Late Call': 'lonely'}


def section(text: str) -> list[str]:
    """The lines of the guide's first-run section, up to the next section title."""
    lines = text.splitlines()
    start = lines.index(SECTION) + 2
    end = next(
        i
        for i in range(start, len(lines) - 1)
        if lines[i + 1] and set(lines[i + 1]) == {'-'} and len(lines[i + 1]) == len(lines[i])
    )
    return lines[start:end]


def blocks(lines: list[str]) -> list[tuple[str, str | None, list[str]]]:
    """The code blocks: (language, caption, body lines with the block's indentation removed)."""
    found = []
    for number, line in enumerate(lines):
        match = re.match(r'\.\. code-block:: (\w+)$', line)
        if not match:
            continue
        caption, body, rest = None, [], lines[number + 1 :]
        while rest and rest[0].startswith('   :'):
            key, value = (rest.pop(0).strip()[1:].split(': ', 1) + [''])[:2]
            caption = value if key == 'caption' else caption
        for body_line in rest:
            if body_line and not body_line.startswith('   '):
                break
            body.append(body_line[3:])
        found.append((match.group(1), caption, '\n'.join(body).strip('\n').splitlines()))
    return found


def commands(body: list[str]) -> list[str]:
    """The commands of a console block: each ``$ `` line with the lines that continue it."""
    result = []
    for line in body:
        if line.startswith('$ '):
            result.append(line[2:])
        elif result and (result[-1].endswith(('\\', '|'))):
            result[-1] += '\n' + line
    return result


def script(guide_text: str, home: pathlib.Path) -> tuple[str, list[str]]:
    """The bash script of the guide's steps, and the problems found reading them."""
    problems, steps = [], []
    found = blocks(section(guide_text))
    consoles = [commands(block[2]) for block in found if block[0] == 'console']
    if not consoles or consoles[0][: len(INSTALL)] != INSTALL:
        problems.append('step 1 of the guide is not %r any more: update INSTALL in tools/check_guide.py' % INSTALL)
        return '', problems
    for language, caption, body in found:
        if language == 'yaml' and caption:
            path = pathlib.Path(caption.replace('~', str(home), 1))
            steps.append(
                'cat > %s <<"VOBIZ_GUIDE_FILE"\n%s\nVOBIZ_GUIDE_FILE' % (shlex.quote(str(path)), '\n'.join(body))
            )
        elif language == 'console':
            block = commands(body)
            if block == consoles[0]:
                block = INSTALLED_HERE + block[len(INSTALL) :]
            if block == consoles[-1]:
                steps.append(
                    'curl -fs "$EMULATOR/log" > "$CHECK_DIR/requests.json"; curl -fs "$EMULATOR/state" > '
                    '"$CHECK_DIR/state.json"'
                )
            steps.extend(block)
    return 'set -e\n' + '\n'.join(steps) + '\n', problems


def check(home: pathlib.Path, check_dir: pathlib.Path, token: str) -> list[str]:
    """What the run left behind, checked against the guide's own limits.yml."""
    problems = []
    work = home / 'vobiz-limits'
    limits = yaml.safe_load((work / 'limits.yml').read_text(encoding='utf-8'))
    log = (work / 'rulebook.log').read_text(encoding='utf-8', errors='replace')
    prefix = 'VOBIZ_ENFORCE_LIMITS '
    outcomes = {
        line['conference']: line
        for line in (json.loads(text[len(prefix) :]) for text in log.splitlines() if text.startswith(prefix))
    }
    requests = json.loads((check_dir / 'requests.json').read_text(encoding='utf-8'))['requests']
    heard = json.loads((check_dir / 'state.json').read_text(encoding='utf-8'))['accounts']['MA_TRYOUT']['announcements']
    audit = [
        json.loads(line) for line in (work / 'audit.jsonl').read_text(encoding='utf-8').splitlines() if line.strip()
    ]
    for room, event in ROOMS.items():
        outcome = outcomes.get(room)
        if (
            not outcome
            or outcome['event'] != event
            or outcome['hung_up'] != [room]
            or outcome['announcement'] != 'spoken'
            or outcome['failed']
        ):
            problems.append('%s: expected an %s action that announced and hung it up, got %s' % (room, event, outcome))
        changes = [entry for entry in requests if entry['conference'] == room and entry['method'] in ('POST', 'DELETE')]
        if [entry['action'] for entry in changes] != ['speak', 'hangup']:
            problems.append(
                '%s: expected a speak POST then a hang-up DELETE in the emulator log, got %s' % (room, changes)
            )
        elif stamp(changes[1]['time']) - stamp(changes[0]['time']) < limits['vobiz_grace_seconds']:
            problems.append('%s: hung up less than vobiz_grace_seconds after its announcement: %s' % (room, changes))
        texts = [entry['text'] for entry in heard.get(room, [])]
        if texts != [limits['vobiz_%s_announcement' % event]]:
            problems.append('%s: expected to hear vobiz_%s_announcement, heard %s' % (room, event, texts))
        lines = [(line['action'], line['outcome']) for line in audit if line.get('name') == room]
        if lines != [('announce', 'announced'), ('hang_up', 'hung_up')]:
            problems.append('%s: expected an announced and a hung_up audit line, got %s' % (room, lines))
    live = json.loads((check_dir / 'state.json').read_text(encoding='utf-8'))['accounts']['MA_TRYOUT']['conferences']
    if live:
        problems.append('live conferences left in the emulator: %s' % list(live))
    if token in log or token in (work / 'audit.jsonl').read_text(encoding='utf-8'):
        problems.append('the auth token appears in the rulebook output or the audit log')
    return problems


def stamp(text: str) -> float:
    """The emulator's log time (ISO 8601 UTC with a Z) as a POSIX timestamp."""
    return datetime.datetime.fromisoformat(text.replace('Z', '+00:00')).timestamp()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--keep', action='store_true', help='keep the fresh home directory and print its path')
    args = parser.parse_args(argv)
    if shutil.which('java') is None:
        print('SKIPPED: java not found (ansible-rulebook needs a JDK 17)')
        return 3
    home = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-guide-'))
    check_dir = home / '.check'
    check_dir.mkdir()
    try:
        text, problems = script(GUIDE.read_text(encoding='utf-8'), home)
        if not problems:
            (check_dir / 'guide.sh').write_text(text, encoding='utf-8')
            env = {
                key: value
                for key, value in os.environ.items()
                if not key.startswith(('VOBIZ_', 'ANSIBLE_', 'VIRTUAL_ENV', 'PYTHON'))
            }
            env.update({'HOME': str(home), 'CHECK_DIR': str(check_dir)})
            print('running the guide\'s steps (%s), in a fresh home directory' % GUIDE.relative_to(ROOT), flush=True)
            with open(check_dir / 'run.log', 'w', encoding='utf-8') as output:
                # Its own session, so that whatever it leaves running is ended with it.
                proc = subprocess.Popen(
                    ['bash', str(check_dir / 'guide.sh')],
                    cwd=home,
                    env=env,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                status = proc.wait()
            if status != 0:
                problems.append(
                    'the guide\'s commands failed (exit %s):\n%s'
                    % (status, (check_dir / 'run.log').read_text(encoding='utf-8')[-4000:])
                )
            else:
                problems = check(home, check_dir, 'tryout-token')
            if problems and (home / 'vobiz-limits' / 'rulebook.log').exists():
                print((home / 'vobiz-limits' / 'rulebook.log').read_text(encoding='utf-8', errors='replace')[-4000:])
    finally:
        if 'proc' in locals():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        if args.keep:
            print('kept: %s' % home)
        else:
            shutil.rmtree(home, ignore_errors=True)
    for problem in problems:
        print('FAILED: %s' % problem)
    if not problems:
        print('PASSED: the guide as written ended %s' % ' and '.join(ROOMS))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
