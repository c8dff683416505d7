# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The guide's first run, as written: ``docs/docsite/rst/enforce_limits.rst``, "Your first run, step by step".

The section's files (``yaml`` blocks with a ``:caption:`` path) and commands (``console`` blocks: what follows ``$ ``,
with its continuation lines) are written and run in order in one ``bash -e``, in a fresh home directory, with the
emulator and ansible-rulebook as the guide starts them. Two things differ, and only these: step 1 installs from PyPI
and Galaxy, which this machine cannot reach, so its commands must be exactly ``INSTALL`` and run as ``INSTALLED_HERE``
(this venv first on PATH, the collection built from this checkout and installed into the fresh home); and before the
last block (step 7, which stops the emulator) the emulator's request log and state are saved.
"""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shlex
import signal
import subprocess

import pytest
import yaml

from ansible_collections.vobiz.voice.tests.emulator.ansible_runs import (
    BIN,
    JAVA_MISSING,
    ROOT,
    java_home,
    outcomes,
    parse_time,
)

GUIDE = ROOT / 'docs' / 'docsite' / 'rst' / 'enforce_limits.rst'
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
SAVE_LOG = 'curl -fs "$EMULATOR/log" > "$CHECK_DIR/requests.json"; curl -fs "$EMULATOR/state" > "$CHECK_DIR/state.json"'


def blocks(guide: str) -> list[tuple[str, str | None, list[str]]]:
    """The code blocks of the first-run section: (language, caption, body lines without the block's indentation)."""
    section = guide.split('\n%s\n%s\n' % (SECTION, '-' * len(SECTION)), 1)[1]
    section = re.split(r'\n\S[^\n]*\n-{3,}\n', section, maxsplit=1)[0]  # up to the next section title
    found = []
    for match in re.finditer(r'^\.\. code-block:: (\w+)\n((?:   :.*\n)*)((?:   .*\n|\n)*)', section, re.MULTILINE):
        caption = re.search(r':caption: (.*)', match.group(2))
        body = [line[3:] for line in match.group(3).strip('\n').splitlines()]
        found.append((match.group(1), caption.group(1) if caption else None, body))
    return found


def commands(body: list[str]) -> list[str]:
    """The commands of a console block: each ``$ `` line with the lines that continue it."""
    result = []
    for line in body:
        if line.startswith('$ '):
            result.append(line[2:])
        elif result and result[-1].endswith(('\\', '|')):
            result[-1] += '\n' + line
    return result


def script(guide: str, home: pathlib.Path) -> str:
    """The guide's steps as one bash script."""
    found = blocks(guide)
    consoles = [commands(body) for language, caption, body in found if language == 'console']
    assert consoles[0][: len(INSTALL)] == INSTALL, 'step 1 of the guide changed: update INSTALL in this test'
    steps = []
    for language, caption, body in found:
        if language == 'yaml' and caption:
            path = shlex.quote(caption.replace('~', str(home), 1))
            steps.append('cat > %s <<"VOBIZ_GUIDE_FILE"\n%s\nVOBIZ_GUIDE_FILE' % (path, '\n'.join(body)))
        elif language == 'console':
            block = commands(body)
            if block == consoles[-1]:
                steps.append(SAVE_LOG)
            steps.extend(INSTALLED_HERE + block[len(INSTALL) :] if block == consoles[0] else block)
    return 'set -e\n' + '\n'.join(steps) + '\n'


def test_the_script_is_the_guides_files_and_commands_with_only_the_install_swapped(tmp_path):
    text = script(GUIDE.read_text(encoding='utf-8'), tmp_path)
    assert not any(command in text for command in INSTALL)
    assert 'cat > %s <<' % (tmp_path / 'vobiz-limits' / 'limits.yml') in text
    assert 'ansible-rulebook -r vobiz.voice.enforce_limits -i inventory.yml --vars limits.yml' in text
    # a continued command stays one command; the request log is saved just before the emulator is stopped
    assert '--callback-url http://127.0.0.1:5050/vobiz/conference > emulator.log 2>&1 &' in text
    assert text.index(SAVE_LOG) < text.index('kill $RULEBOOK_PID $EMULATOR_PID')


def test_a_changed_install_step_fails_the_test(tmp_path):
    guide = GUIDE.read_text(encoding='utf-8').replace('ansible-rulebook==1.3.2', 'ansible-rulebook==1.4.0')
    with pytest.raises(AssertionError, match='step 1 of the guide changed'):
        script(guide, tmp_path)


@pytest.mark.skipif(not java_home(), reason=JAVA_MISSING)
def test_the_guide_as_written_announces_and_ends_both_rooms(tmp_path):
    """Each room ended by the action after its own announcement, from the emulator's log and the audit log."""
    check_dir = tmp_path / '.check'
    check_dir.mkdir()
    (check_dir / 'guide.sh').write_text(script(GUIDE.read_text(encoding='utf-8'), tmp_path), encoding='utf-8')
    drop = ('VOBIZ_', 'ANSIBLE_', 'VIRTUAL_ENV', 'PYTHON')
    env = {key: value for key, value in os.environ.items() if not key.startswith(drop)}
    with open(check_dir / 'run.log', 'w', encoding='utf-8') as output:
        # its own session, so that whatever it leaves running is ended with it
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            ['bash', str(check_dir / 'guide.sh')],
            cwd=tmp_path,
            env=dict(env, HOME=str(tmp_path), CHECK_DIR=str(check_dir)),
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            status = proc.wait()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    assert status == 0, (check_dir / 'run.log').read_text(encoding='utf-8')[-4000:]
    work = tmp_path / 'vobiz-limits'
    limits = yaml.safe_load((work / 'limits.yml').read_text(encoding='utf-8'))
    log = (work / 'rulebook.log').read_text(encoding='utf-8', errors='replace')
    ended = {line['conference']: line for line in outcomes(log)}
    requests = json.loads((check_dir / 'requests.json').read_text(encoding='utf-8'))['requests']
    account = json.loads((check_dir / 'state.json').read_text(encoding='utf-8'))['accounts']['MA_TRYOUT']
    audit_text = (work / 'audit.jsonl').read_text(encoding='utf-8')
    audit = [json.loads(line) for line in audit_text.splitlines() if line.strip()]
    for room, event in {'Standup': 'overdue', 'Late Call': 'lonely'}.items():
        outcome = ended[room]
        assert outcome['event'] == event and outcome['hung_up'] == [room] and not outcome['failed'], outcome
        assert outcome['announcement'] == 'spoken', outcome
        changes = [entry for entry in requests if entry['conference'] == room and entry['method'] in ('POST', 'DELETE')]
        assert [entry['action'] for entry in changes] == ['speak', 'hangup'], room
        assert parse_time(changes[1]['time']) - parse_time(changes[0]['time']) >= limits['vobiz_grace_seconds'], room
        heard = [entry['text'] for entry in account['announcements'].get(room, [])]
        assert heard == [limits['vobiz_%s_announcement' % event]], room
        mine = [line for line in audit if line.get('name') == room]
        lines = [(line['action'], line['outcome']) for line in mine if 'verified_by' not in line]
        assert lines == [('announce', 'announced'), ('hang_up', 'hung_up')], room
        # the source's verified termination (on by default) adds a line of that hang-up once the exits came
        assert {line['verification'] for line in mine if 'verified_by' in line} <= {'verified'}, room
    assert not account['conferences'], 'live conferences left'
    assert 'tryout-token' not in log and 'tryout-token' not in audit_text
