#!/usr/bin/env python
"""The rulebook ``vobiz.voice.enforce_limits`` in the real ``ansible-rulebook``, against the emulator.

Starts the Vobiz emulator (in this process) with conference callbacks pointed at the event source and
retrieve answers that carry the conference UUID, starts ``ansible-rulebook -r vobiz.voice.enforce_limits -i
INVENTORY --vars VARS.yml`` (JAVA_HOME from ``readlink -f $(which java)``, this venv's bin first on PATH),
and plays this out:

- ``Overdue Room`` (3 members) outlives ``vobiz_max_duration``; ``Lonely Room`` (2 members, one leaves) has one
  member for ``vobiz_lonely_after`` (given as a duration, ``3s``); ``Inside Room`` (2 members) starts later and stays
  inside both limits; every room gets one action, never a second one once it has ended;
- rooms named with template and shell syntax (the emulator's ``template_room_names``: ``{{ lookup('pipe', 'touch
  CANARY') }}``, ``{% ... %}``, a ``#jinja2:`` header, ``${...}``, quotes, a newline) are overdue too: each is hung
  up by exactly its literal name and CANARY never appears (nothing was evaluated);
- ``Unsigned Room``, ``Forged Room`` send only unsigned / wrongly signed callbacks, and ``Replayed Room`` is
  announced only by a replay (a good callback's signature headers, which do not cover the body, re-sent with a
  body naming it): refused, no request at all; the refusal line names the URL the signatures were checked over;
- a restart: ``Standup`` starts, ansible-rulebook stops, and while it is down ``Standup`` ends and a new instance
  starts unheard (its callbacks are dropped). The restarted source loads the stale room from its state file and
  its ``overdue`` comes; the action re-checks and leaves the new instance alone (another conference_uuid).
  The nonce of a callback sent before the restart is still refused after it;
- a damaged state file (``"nonces": ["a"]``), a misspelt duration variable (``vobiz_max_durration``) and an audit
  log nobody can write each stop ansible-rulebook before it listens, with the source's one error naming the file or
  the variable, no Python traceback and no raw exception.

It asserts all of that from the emulator's request log, and that the auth token appears nowhere in
ansible-rulebook's output or the audit log. The callbacks are signed over a public https URL that differs from
the URL they are sent to, as behind a TLS-terminating proxy.

    python tools/check_rulebook.py [--keep]

Exit status: 0 passed, 1 failed, 3 Java is missing (the gate reports that step as skipped).
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import datetime
import http.client
import importlib
import importlib.util
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
AUTH_ID = 'MA_EDA'
PUBLIC_URL = 'https://eda.example.test/vobiz/conference'
JAVA_MISSING = 'java not found (ansible-rulebook needs a JDK 17)'

sys.path.insert(0, str(ROOT / 'tools'))
from check_many_accounts import collections_path  # noqa: E402  pylint: disable=wrong-import-position


def load_emulator_module():
    """The emulator package (tests/emulator/vobiz_emulator), imported from its directory (it is not installed)."""
    sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
    return importlib.import_module('vobiz_emulator')


def _load_escape_name():
    """``escape_name``: a name as vobiz.voice results (and so the action's VOBIZ_ENFORCE_LIMITS line) carry it."""
    spec = importlib.util.spec_from_file_location('vobiz_redaction', ROOT / 'plugins' / 'module_utils' / '_redaction.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.escape_name


escape_name = _load_escape_name()


def java_home() -> str | None:
    """JAVA_HOME derived from the java on PATH (``readlink -f $(which java)``/../..), or None without Java."""
    java = shutil.which('java')
    if not java:
        return None
    return str(pathlib.Path(os.path.realpath(java)).parent.parent)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


class Rulebook:
    """``ansible-rulebook -r vobiz.voice.enforce_limits`` in its own process group, output to a file."""

    def __init__(self, work: pathlib.Path, api_url: str, token: str, variables: dict, auth_id: str = AUTH_ID, run: str = 'ansible-rulebook'):
        self.work = work
        self.port = variables['vobiz_callback_port']
        self.output = work / (run + '.log')
        variables = dict(variables, vobiz_state_file=rulebook_state_file(work, variables))  # never the default, under $HOME
        inventory = work / 'inventory.yml'
        inventory.write_text(
            json.dumps({'all': {'hosts': {'localhost': {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}}}}), encoding='utf-8'
        )
        vars_file = work / 'vars.yml'
        vars_file.write_text(json.dumps(variables), encoding='utf-8')
        env = {key: value for key, value in os.environ.items() if not key.startswith(('VOBIZ_', 'ANSIBLE_'))}
        env.update(
            {
                'PATH': os.pathsep.join([str(BIN), env.get('PATH', '')]),
                'JAVA_HOME': java_home() or '',
                'ANSIBLE_COLLECTIONS_PATH': collections_path(work),
                'ANSIBLE_NOCOLOR': '1',
                'ANSIBLE_LOCALHOST_WARNING': 'false',
                'VOBIZ_AUTH_ID': auth_id,
                'VOBIZ_AUTH_TOKEN': token,
                'VOBIZ_API_URL': api_url,
                'HOME': env.get('HOME', str(work)),
            }
        )
        cmd = [str(BIN / 'ansible-rulebook'), '-r', 'vobiz.voice.enforce_limits', '-i', str(inventory), '--vars', str(vars_file), '-v']
        self._handle = open(self.output, 'w', encoding='utf-8')
        self.proc = subprocess.Popen(cmd, cwd=work, env=env, stdout=self._handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)

    def text(self) -> str:
        return self.output.read_text(encoding='utf-8', errors='replace')

    def wait_exit(self, timeout: float = 120) -> int | None:
        """The exit status, once ansible-rulebook has ended by itself (None if it still runs after ``timeout``)."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def wait_listening(self, timeout: float = 120) -> None:
        """Until the event source accepts connections (the JVM takes a while to start)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('ansible-rulebook exited with %s:\n%s' % (self.proc.returncode, self.text()[-4000:]))
            with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', self.port), timeout=1):
                return
            time.sleep(0.2)
        raise RuntimeError('the event source did not listen on port %d within %d s' % (self.port, timeout))

    def wait_outcome(self, room: str, timeout: float) -> bool:
        """Until the action playbook printed its VOBIZ_ENFORCE_LIMITS line for ``room``."""

        def printed():
            return any('VOBIZ_ENFORCE_LIMITS' in line and room in line for line in self.text().splitlines())

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None:
            if printed():
                return True
            time.sleep(0.2)
        return printed()

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self._handle.close()


def wait_for(condition, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def deletes(emulator, name: str) -> list:
    return [entry for entry in emulator.requests(method='DELETE') if entry['conference'] == name and entry['action'] == 'hangup']


def post_raw(port: int, headers: dict, fields: dict) -> int:
    """POST a callback with exactly these headers and form fields; return the status."""
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=10)
    try:
        conn.request(
            'POST', '/vobiz/conference', body=urllib.parse.urlencode(fields), headers=dict(headers, **{'Content-Type': 'application/x-www-form-urlencoded'})
        )
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def parse_time(stamp: str) -> float:
    """The emulator's log time (ISO 8601 UTC with a Z) as a POSIX timestamp."""
    return datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00')).timestamp()


def outcomes(rulebook: Rulebook) -> list:
    """The VOBIZ_ENFORCE_LIMITS lines the action playbook printed (one line each, the JSON after the prefix), parsed."""
    prefix = 'VOBIZ_ENFORCE_LIMITS '
    return [json.loads(line[len(prefix) :]) for line in rulebook.text().splitlines() if line.startswith(prefix)]


def rulebook_state_file(work: pathlib.Path, variables: dict) -> str:
    return variables.get('vobiz_state_file', str(work / 'rooms.json'))


def first_run(work, emulator, port, variables, token, problems) -> tuple:
    """Before the restart: refused callbacks, overdue/lonely/inside rooms, rooms named with template syntax.

    Returns the names with template syntax, the canary and the headers of a callback sent just before the stop."""
    canary = work / 'canary'
    hostile = emulator.template_room_names(str(canary))
    rulebook = Rulebook(work, emulator.api_url, token, variables, run='ansible-rulebook-1')
    try:
        rulebook.wait_listening()
        sender = emulator.callback_sender

        # refused callbacks: unsigned, forged, and a replay carrying another room's body
        emulator.configure(callback_signing='none')
        emulator.add_conference('Unsigned Room', members=1)
        sender.wait_idle()
        emulator.configure(callback_signing='wrong_key')
        emulator.add_conference('Forged Room', members=1)
        sender.wait_idle()
        emulator.configure(callback_signing='v2+v3')
        emulator.add_conference('Overdue Room', members=3)
        emulator.add_conference('Lonely Room', members=2)
        for name in hostile:
            emulator.add_conference(name, members=2)
        sender.wait_idle()
        lonely_leaver = emulator.conference('Lonely Room')['members'][1]['member_id']
        emulator.leave_member('Lonely Room', lonely_leaver)
        sender.wait_idle()
        emulator.configure(callback_url=None)
        emulator.add_conference('Replayed Room', members=1)  # live, but Vobiz never told the source
        stolen = next(entry for entry in sender.log() if entry['conference'] == 'Overdue Room')
        forged_body = dict(stolen['fields'], ConferenceName='Replayed Room', ConferenceUUID='replayed-uuid', ConferenceFirstMember='true')
        replay_status = post_raw(port, stolen['headers'], forged_body)
        emulator.configure(callback_url='http://127.0.0.1:%d/vobiz/conference' % port)

        statuses = {(entry['conference'], entry['status']) for entry in sender.log()}
        for room, status in (('Unsigned Room', 401), ('Forged Room', 403), ('Overdue Room', 204), ('Lonely Room', 204)):
            if (room, status) not in statuses:
                problems.append('%s: expected its callbacks to be answered %d, got %s' % (room, status, sorted(s for r, s in statuses if r == room)))
        if replay_status != 403:
            problems.append('the replayed signature headers were answered %s, not 403' % replay_status)

        if not wait_for(lambda: deletes(emulator, 'Lonely Room'), 60):
            problems.append('Lonely Room was not hung up')
        inside_started = time.time()
        emulator.add_conference('Inside Room', members=2)
        overdue = ['Overdue Room'] + hostile
        wait_for(lambda: all(deletes(emulator, room) for room in overdue) or canary.exists(), 180)
        problems.extend('%r was not hung up' % room for room in overdue if not deletes(emulator, room))
        # let the actions that hung them up finish (and any other action queued before them)
        wait_for(lambda: {line['conference'] for line in outcomes(rulebook)} >= {escape_name(room) for room in overdue} or canary.exists(), 90)
        reported = {line['conference'] for line in outcomes(rulebook)}
        problems.extend('the action playbook did not report the outcome for %r' % room for room in overdue if escape_name(room) not in reported)
        # a room that starts now is in the state file, young, when ansible-rulebook stops
        emulator.add_conference('Standup', members=3)
        sender.wait_idle()
        # the registry reaches the state file within a second (a room heard of only in the last second before an abrupt
        # stop is forgotten, and learnt again from its next callback)
        state_file = pathlib.Path(rulebook_state_file(work, variables))
        if not wait_for(lambda: state_file.exists() and 'Standup' in state_file.read_text(encoding='utf-8'), 30):
            problems.append('Standup never reached the state file')
        emulator.join_members('Standup', 1)
        sender.wait_idle()
        # sent within the last second before the stop: at SIGTERM ansible-rulebook's JVM ends the process without a last
        # state file write, so only the nonce journal beside the state file can keep this nonce
        before_restart = next(entry for entry in reversed(sender.log()) if entry['conference'] == 'Standup')['headers']
    finally:
        rulebook.stop()
    for entry in deletes(emulator, 'Inside Room'):
        if parse_time(entry['time']) < inside_started + variables['vobiz_max_duration']:
            problems.append('Inside Room was hung up inside its limits (at %s)' % entry['time'])
    if canary.exists():
        problems.append('a conference name was evaluated as a template: %s exists' % canary)
    return hostile, rulebook, before_restart


def second_run(work, emulator, port, variables, token, before_restart, problems) -> Rulebook:
    """After a restart from a state file whose room ended unheard: the new instance is left alone, old nonces refused."""
    old_uuid = emulator.conference_uuid('Standup')
    emulator.configure(callback_drop_rate=1.0)  # the source is down: Vobiz's callbacks are lost
    emulator.add_conference('Standup', members=2)  # the old instance ends, a new one of the same name starts
    emulator.callback_sender.wait_idle()
    emulator.configure(callback_drop_rate=0.0)
    rulebook = Rulebook(work, emulator.api_url, token, variables, run='ansible-rulebook-2')
    try:
        rulebook.wait_listening()
        if post_raw(port, before_restart, {'ConferenceAction': 'enter', 'ConferenceName': 'After Restart', 'ConferenceMemberID': '1'}) != 403:
            problems.append('after the restart, the nonce of a callback sent before it was accepted again')
        if not wait_for(lambda: any(line['conference'] == 'Standup' for line in outcomes(rulebook)), 120):
            problems.append('the stale Standup from the state file never became overdue after the restart')
    finally:
        rulebook.stop()
    standup = [line for line in outcomes(rulebook) if line['conference'] == 'Standup']
    if deletes(emulator, 'Standup'):
        problems.append('the new instance of Standup was hung up on a stale event from the state file (old UUID %s)' % old_uuid)
    elif standup and not (standup[0]['other_instance'] == ['Standup'] and standup[0]['kept']):
        problems.append('the action did not report Standup as another instance: %s' % standup[0])
    return rulebook


def refused_at_start(work, emulator, variables, token, problems) -> None:
    """What stops the source before it listens, with its one error, never a raw exception: a state file with a wrong
    type, a misspelt duration variable, an audit log nobody can write."""
    damaged = work / 'damaged.json'
    damaged.write_text('{"version": 1, "rooms": [], "ended": [], "nonces": ["a"]}', encoding='utf-8')
    (work / 'a-file').write_text('', encoding='utf-8')
    limits = {key: value for key, value in variables.items() if key != 'vobiz_max_duration'}
    cases = (
        ('damaged state file', dict(variables, vobiz_state_file=str(damaged)), 'is damaged: nonces must be an object'),
        (
            'misspelt duration variable',
            dict(limits, vobiz_max_durration='4h'),
            'unknown rulebook variable(s): vobiz_max_durration (did you mean vobiz_max_duration?)',
        ),
        ('unwritable audit log', dict(variables, vobiz_audit_log=str(work / 'a-file' / 'a.log')), 'cannot be written'),
    )
    for what, case_variables, expected in cases:
        run = 'ansible-rulebook-' + what.replace(' ', '-')
        rulebook = Rulebook(work, emulator.api_url, token, case_variables, run=run)
        try:
            status = rulebook.wait_exit()
        finally:
            rulebook.stop()
        output = rulebook.text()
        if status in (None, 0):
            problems.append('ansible-rulebook did not stop on a %s (status %s)' % (what, status))
        if expected not in output:
            problems.append('the %s was not reported by name:\n%s' % (what, output[-2000:]))
        for raw in ('Traceback (most recent call last)', 'AttributeError', 'TypeError', 'KeyError'):
            if raw in output:
                problems.append('a %s gave %r instead of one clear error' % (what, raw))


def scenario(work: pathlib.Path, emu_module, max_duration: int, lonely_after: int) -> list[str]:
    """Play the rooms out; return the problems found (empty: passed)."""
    problems = []
    token = 'eda-' + secrets.token_hex(16)
    port = free_port()
    emulator = emu_module.Emulator(
        auth_id=AUTH_ID,
        auth_token=token,
        members=0,
        callback_url='http://127.0.0.1:%d/vobiz/conference' % port,
        callback_signed_url=PUBLIC_URL,
        retrieve_uuid=True,
    ).start()
    emulator.template_room_names = emu_module.template_room_names
    variables = {
        'vobiz_callback_host': '127.0.0.1',
        'vobiz_callback_port': port,
        'vobiz_callback_public_url': PUBLIC_URL,
        'vobiz_max_duration': max_duration,
        'vobiz_lonely_after': '%ds' % lonely_after,  # the playbook's duration form
        'vobiz_check_interval': 1,
        'vobiz_replay_window': 600,
        'vobiz_audit_log': str(work / 'audit.jsonl'),
    }
    runs = []
    try:
        hostile, first, before_restart = first_run(work, emulator, port, variables, token, problems)
        runs.append(first)
        runs.append(second_run(work, emulator, port, variables, token, before_restart, problems))
        refused_at_start(work, emulator, variables, token, problems)
    finally:
        emulator.stop()

    for room in ['Overdue Room', 'Lonely Room'] + hostile:
        hangups = [entry['status'] for entry in deletes(emulator, room)]
        if hangups != [204]:
            problems.append('%r: expected one DELETE of exactly that name answered 204, got %s' % (room, hangups))
    expected = {'Overdue Room', 'Lonely Room', 'Inside Room', 'Standup', *hostile}
    strays = sorted({repr(entry['conference']) for entry in emulator.requests() if entry['conference'] not in expected})
    if strays:
        problems.append('requests for conferences no good callback named (refused callbacks, or names evaluated): %s' % ', '.join(strays))
    output = ''.join(run.text() for run in runs)
    actions = collections.Counter(line['conference'] for run in runs for line in outcomes(run))
    twice = sorted(room for room, count in actions.items() if count > 1)
    if twice:
        problems.append('rooms acted on more than once (an ended room got a second action): %s' % twice)
    checked_over = 'Signatures are checked over public_url %s: check that it is the callback URL' % PUBLIC_URL
    if checked_over not in output:
        problems.append('the refusal of the forged callbacks does not say which URL the signatures were checked over')
    audit = (work / 'audit.jsonl').read_text(encoding='utf-8') if (work / 'audit.jsonl').exists() else ''
    for where, text in (('ansible-rulebook output', output), ('audit log', audit)):
        if token in text or token[4:20] in text:
            problems.append('the auth token appears in the %s' % where)
    if 'Overdue Room' not in audit or 'Lonely Room' not in audit:
        problems.append('the audit log does not name both hung-up rooms')
    if problems:
        print(output[-6000:])
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--keep', action='store_true', help='keep the scratch directory')
    parser.add_argument('--max-duration', type=int, default=12)
    parser.add_argument('--lonely-after', type=int, default=3)
    args = parser.parse_args()
    if not java_home():
        print('SKIPPED: ' + JAVA_MISSING)
        return 3
    if not (BIN / 'ansible-rulebook').exists():
        print('ansible-rulebook is not installed in %s (requirements-dev.txt pins it)' % BIN)
        return 1
    work = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-rulebook-'))
    try:
        problems = scenario(work, load_emulator_module(), args.max_duration, args.lonely_after)
    finally:
        if args.keep:
            print('scratch directory kept: %s' % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    for problem in problems:
        print('FAILED: ' + problem)
    if not problems:
        print(
            'PASSED: overdue and lonely rooms hung up once each, rooms named with template syntax hung up by their '
            'literal names with nothing evaluated, the room inside its limits kept, unsigned/forged/replayed callbacks '
            'refused and caused no request (the log naming public_url), a stale room after a restart left alone and '
            'old nonces still refused, one action per room; a damaged state file, a misspelt duration variable and '
            'an unwritable audit log refused with one error each'
        )
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
