#!/usr/bin/env python
"""``make demo``: the collection at work against the Vobiz emulator, in under a minute.

Starts the emulator with a realistic set of rooms, runs ``maintenance_window`` as a dry run
(``--check --diff``) and then for real with an announcement, runs ``ci_teardown``, reruns it to
show idempotence, prints a before/after table of rooms and what each step sent, and stops the
emulator. A last act runs the rulebook ``vobiz.voice.enforce_limits`` in ``ansible-rulebook`` against
a second emulator that sends signed conference callbacks: a fifth caller takes a room over its size cap of 4
and is told and kicked alone, then the room overstays a 5-second limit and is ended (skipped, with a message,
when Java is missing).
"""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
import ansible_runs  # noqa: E402  pylint: disable=wrong-import-position,import-error
from vobiz_emulator import Emulator  # noqa: E402  pylint: disable=wrong-import-position,import-error
from vobiz_emulator.launch import EmulatorStartError, start_emulator_process  # noqa: E402  pylint: disable=wrong-import-position,import-error

AUTH_ID = 'MA_DEMO'
ROOMS = {  # name -> callers
    'Board Room': 6,
    'Support Line': 3,
    'ci-101': 1,
    'ci-102': 1,
    'ci-103': 1,
    'prod-ci-3': 2,  # looks like a CI room, but ci-* must never select it
}
MAINTENANCE_VARS = {
    'conference_maintenance_names': ['Board Room', 'Support Line'],
    'conference_maintenance_announcement': 'This conference ends in two seconds for scheduled maintenance.',
    'conference_maintenance_grace_seconds': 2,
    'maintenance_confirm': False,
}


def banner(text: str) -> None:
    """Print a step heading."""
    print(f'\n\033[1m=== {text}\033[0m', flush=True)


class Demo:
    """One emulator, a scratch directory, and the playbook runs."""

    def __init__(self, workdir: pathlib.Path):
        self.workdir = workdir
        self.token = secrets.token_hex(16)
        collections = workdir / 'collections'
        (collections / 'ansible_collections' / 'vobiz').mkdir(parents=True)
        (collections / 'ansible_collections' / 'vobiz' / 'voice').symlink_to(ROOT)
        self.collections = collections
        self.emulator = None
        self.url = ''

    def start_emulator(self) -> None:
        """Start the emulator with the demo rooms and 20 ms of latency."""
        args = ['--auth-id', AUTH_ID, '--auth-token', self.token, '--latency-ms', '20']
        try:
            self.emulator = start_emulator_process(args, workdir=self.workdir)
        except EmulatorStartError as exc:
            raise SystemExit(str(exc)) from exc
        self.url = self.emulator.url
        self.control('POST', '/reset', {'auth_id': AUTH_ID, 'conferences': []})
        for name, callers in ROOMS.items():
            self.control('POST', '/conferences', {'name': name, 'members': callers, 'auth_id': AUTH_ID})
        self.control('DELETE', '/log')

    def stop_emulator(self) -> None:
        """Stop the emulator (it would also stop by itself when idle)."""
        if self.emulator is not None:
            self.emulator.stop()

    def control(self, method: str, path: str, body: dict | None = None):
        """Call one of the emulator's control endpoints."""
        return self.emulator.control(method, path, body)

    def rooms(self) -> dict:
        """Live rooms and their member counts."""
        conferences = self.control('GET', '/state')['accounts'][AUTH_ID]['conferences']
        return {name: int(conf['conference_member_count']) for name, conf in conferences.items()}

    def playbook(self, title: str, name: str, extra_vars: dict, *flags: str) -> int:
        """Run one of the collection's playbooks and say what it sent."""
        banner(title)
        self.control('DELETE', '/log')
        env = dict(os.environ)
        env.update(
            {
                'ANSIBLE_COLLECTIONS_PATH': str(self.collections),
                'ANSIBLE_PYTHON_INTERPRETER': sys.executable,
                'ANSIBLE_LOCALHOST_WARNING': 'false',
                'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
                'ANSIBLE_DISPLAY_SKIPPED_HOSTS': 'false',
                'VOBIZ_AUTH_ID': AUTH_ID,
                'VOBIZ_AUTH_TOKEN': self.token,
                'VOBIZ_API_URL': self.url + '/api/v1',
                'PWD': str(self.workdir),  # the playbooks write their audit log and summary files to $PWD
            }
        )
        cmd = [
            str(pathlib.Path(sys.executable).parent / 'ansible-playbook'),
            f'vobiz.voice.{name}',
            '-e',
            json.dumps(extra_vars),
            *flags,
        ]
        print(
            '$ ansible-playbook vobiz.voice.%s -e %s %s' % (name, "'" + json.dumps(extra_vars) + "'", ' '.join(flags)),
            flush=True,
        )
        returncode = subprocess.run(cmd, env=env, cwd=self.workdir, check=False).returncode
        sent = {}
        for entry in self.control('GET', '/log')['requests']:
            sent[entry['method']] = sent.get(entry['method'], 0) + 1
        print(
            '--> requests sent to Vobiz: '
            + (', '.join(f'{count} {method}' for method, count in sorted(sent.items())) or 'none')
        )
        return returncode

    def run(self) -> int:
        """The whole story."""
        self.start_emulator()
        before = self.rooms()
        banner(f'Emulator on {self.url} with {len(before)} live rooms')
        for name, callers in before.items():
            print(f'  {name:<14} {callers} caller(s)')
        failures = 0
        failures += (
            self.playbook(
                '1. Dry run of the maintenance window (--check --diff): reads only',
                'maintenance_window',
                MAINTENANCE_VARS,
                '--check',
                '--diff',
            )
            != 0
        )
        failures += (
            self.playbook(
                '2. The maintenance window for real: announce, wait once, hang up',
                'maintenance_window',
                MAINTENANCE_VARS,
                '--diff',
            )
            != 0
        )
        announcements = {
            name: self.control('GET', '/state')['accounts'][AUTH_ID]['announcements'].get(name, [])
            for name in MAINTENANCE_VARS['conference_maintenance_names']
        }
        failures += (
            self.playbook(
                '3. CI teardown of ci-* (prod-ci-3 must survive)', 'ci_teardown', {'ci_teardown_match': ['ci-*']}
            )
            != 0
        )
        failures += (
            self.playbook(
                '4. CI teardown again: everything already gone, nothing changes',
                'ci_teardown',
                {'ci_teardown_match': ['ci-*']},
            )
            != 0
        )
        after = self.rooms()
        banner('Rooms before and after')
        print(f'  {"room":<14} {"before":<12} {"after":<12}')
        for name, callers in before.items():
            print(f'  {name:<14} {str(callers) + " caller(s)":<12} {("live" if name in after else "hung up"):<12}')
        banner('What the callers heard before their room closed')
        for name, items in announcements.items():
            for item in items:
                print(
                    f'  {name}: {item.get("text") or item.get("url")!r} ({item.get("voice", "")} '
                    f'{item.get("language", "")})'.rstrip()
                )
        print(
            '\nAudit log: ' + str(self.workdir / 'vobiz-maintenance-audit.jsonl') + ' (removed with the demo directory)'
        )
        failures += self.event_driven() != 0
        return 1 if failures else 0

    def event_driven(self) -> int:
        """Act 5: from Vobiz's callbacks, the rulebook removes the caller who takes a room over its size cap, then
        ends the room when it overstays a 5-second limit."""
        title = '5. Event-Driven Ansible: a room over its size cap and its time limit, enforced from callbacks'
        banner(title)
        if not ansible_runs.java_home():
            print('SKIPPED act 5: ' + ansible_runs.JAVA_MISSING)
            return 0
        if not (ansible_runs.BIN / 'ansible-rulebook').exists():
            print('SKIPPED act 5: ansible-rulebook is not installed in this venv (requirements-dev.txt pins it)')
            return 0
        work = self.workdir / 'eda'
        work.mkdir()
        port = ansible_runs.free_port()
        public_url = 'https://eda.example.test/vobiz/conference'
        emulator = Emulator(
            auth_id=AUTH_ID,
            auth_token=self.token,
            callback_url=f'http://127.0.0.1:{port}/vobiz/conference',
            callback_signed_url=public_url,
        ).start()
        rulebook = None
        try:
            print(
                '$ ansible-rulebook -r vobiz.voice.enforce_limits -i inventory.yml --vars limits.yml   # '
                'vobiz_max_members: 4, vobiz_max_duration: 5, callbacks on port %d' % port,
                flush=True,
            )
            rulebook = ansible_runs.Rulebook(
                work,
                emulator.api_url,
                self.token,
                {
                    'vobiz_callback_port': port,
                    'vobiz_callback_public_url': public_url,
                    'vobiz_max_duration': 5,
                    'vobiz_max_members': 4,
                    'vobiz_max_members_announcement': 'This conference is full.',
                    'vobiz_check_interval': 1,
                    'vobiz_overdue_announcement': 'This conference has reached its time limit.',
                    'vobiz_grace_seconds': 1,
                },
                AUTH_ID,
                'ansible-rulebook',
            )
            # each wait ends as soon as it happened: a loaded machine can take minutes to start the JVM
            rulebook.wait_listening()
            print('  the event source listens (the rules engine runs on Java)')
            emulator.add_conference('Town Hall', members=4)
            emulator.callback_sender.wait_idle()
            sent = emulator.callback_sender.log()
            print(
                f'  Town Hall starts with 4 callers; Vobiz sends {len(sent)} signed enter callbacks, answered '
                + ', '.join(sorted({str(entry['status']) for entry in sent}))
            )
            newcomer = emulator.join_members('Town Hall', 1)['members'][-1]['member_id']
            print(f'  a fifth caller (member {newcomer}) joins: one over vobiz_max_members')
            rulebook.wait_until(lambda: {'over_capacity', 'overdue'} <= {line['event'] for line in rulebook.outcomes()})
        finally:
            if rulebook is not None:
                rulebook.stop()
            emulator.stop()
        hangups = [entry for entry in ansible_runs.deletes(emulator, 'Town Hall') if entry['status'] == 204]
        if not hangups:
            print('  Town Hall was NOT hung up; ansible-rulebook said:\n' + rulebook.text()[-3000:])
            return 1
        lived = ansible_runs.parse_time(hangups[0]['time']) - ansible_runs.parse_time(sent[0]['time'])
        spoken = [
            entry
            for entry in emulator.requests(method='POST')
            if entry['action'] == 'speak' and entry['member'] == 'all' and entry['status'] in (200, 202)
        ]
        to_one = [
            f'POST {entry["action"]} member {entry["member"]}'
            for entry in emulator.requests(method='POST')
            if entry['member'] not in (None, 'all')
        ]
        print('  to that caller alone, once retrieve confirmed 5 members: ' + (', '.join(to_one) or 'nothing'))
        print(
            f'  the rulebook announced ({len(spoken)} POST Speak), then hung Town Hall up '
            f'({hangups[0]["method"]} -> {hangups[0]["status"]}) {lived:.0f} s after its first callback'
        )
        for line in rulebook.text().splitlines():
            if 'VOBIZ_ENFORCE_LIMITS' in line:
                print('  ' + line.strip())
        return 0


def main() -> int:
    """Run the demo in a scratch directory and always stop the emulator."""
    with tempfile.TemporaryDirectory(prefix='vobiz-demo-') as tmp:
        demo = Demo(pathlib.Path(tmp))
        try:
            return demo.run()
        finally:
            demo.stop_emulator()


if __name__ == '__main__':
    sys.exit(main())
