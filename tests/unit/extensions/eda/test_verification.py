# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verified termination on the source's side: following the audit log, and the verdict of each hang-up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import service as service_unit
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.events import literal
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import parse_args
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.verification import (
    AuditTail,
    HangUp,
    Verifications,
    hang_up_of,
    iso_time,
)
from ansible_collections.vobiz.voice.plugins.module_utils._audit import AuditLog
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import unescape_name
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import URL, FakeClock, enter, leave

ENV = {'VOBIZ_AUTH_TOKEN': 'tok-ABC'}


def append(path, data):
    with open(path, 'ab') as stream:
        stream.write(data)


# -- AuditTail ---------------------------------------------------------------


def test_the_tail_starts_at_the_end_and_gives_complete_lines_only(tmp_path):
    path = str(tmp_path / 'audit.log')
    append(path, b'old line\n')
    tail = AuditTail(path)
    assert tail.lines() == []
    append(path, b'one\ntw')
    assert tail.lines() == ['one']
    append(path, b'o\n')
    assert tail.lines() == ['two']


def test_a_rotated_file_is_read_to_its_end_then_the_new_one_from_its_start(tmp_path):
    path = str(tmp_path / 'audit.log')
    append(path, b'')
    tail = AuditTail(path)
    append(path, b'last of the old\n')
    os.rename(path, path + '.1')
    assert tail.lines() == ['last of the old']  # moved away, not replaced yet: nothing lost, nothing new
    append(path, b'first of the new\n')
    assert tail.lines() == ['first of the new']


def test_a_truncated_file_is_read_again_from_its_start(tmp_path):
    path = str(tmp_path / 'audit.log')
    append(path, b'a long line before the truncation\n')
    tail = AuditTail(path)
    with open(path, 'wb'):
        pass  # copytruncate
    append(path, b'x\n')
    assert tail.lines() == ['x']


def test_the_tail_reads_at_most_max_bytes_a_call_and_skips_overlong_lines(tmp_path):
    path = str(tmp_path / 'audit.log')
    append(path, b'')
    tail = AuditTail(path, max_bytes=8, max_line=5)
    append(path, b'12345\n' + b'y' * 20 + b'\nok\n')
    # 8 bytes a call: the first line and the start of the long one, the long one (dropped), its end and 'ok'
    assert [tail.lines() for dummy in range(5)] == [['12345'], [], [], ['ok'], []]
    assert tail.skipped == 1 and len(tail._partial) <= 5
    append(path, b'z' * 6 + b'\nfine\n')  # an overlong line read whole in one call (8 bytes)
    assert tail.lines() + tail.lines() == ['fine'] and tail.skipped == 2


def test_the_tail_refuses_a_symbolic_link_and_waits_for_a_missing_file(tmp_path):
    target, link = tmp_path / 'real.log', str(tmp_path / 'link.log')
    append(str(target), b'')
    os.symlink(str(target), link)
    tail = AuditTail(link)
    append(str(target), b'secret\n')
    assert tail.lines() == []
    later = str(tmp_path / 'later.log')
    tail = AuditTail(later)
    append(later, b'made after the start\n')
    assert tail.lines() == ['made after the start']


# -- the lines of a hang-up ----------------------------------------------------------


def line(**fields):
    entry = dict(time='2026-01-31T12:00:00.500Z', run_id='r1', action='hang_up', name='room', outcome='hung_up')
    entry.update(check_mode=False, status=204)
    entry.update(fields)
    return json.dumps(entry)


def test_only_a_real_hang_up_line_is_a_hang_up():
    hang_up = hang_up_of(line(name='a\\nb {{ x }}'), unescape_name)
    assert hang_up == HangUp('a\nb {{ x }}', 1769860800.5, 'r1', None)
    assert hang_up_of(line(verification='pending', conference_uuid='U'), unescape_name).uuid == 'U'
    for other in (
        line(check_mode=True),
        line(outcome='already_absent'),
        line(action='member'),
        line(verification='verified'),  # the module's verify, or this source's own line
        line(verification='unverified'),
        line(name=''),
        line(name='bad \\q escape'),
        line(time='yesterday'),
        line(time='2026-01-31T12:00:00'),  # no offset: not a time of the audit log
        '["hang_up"]',
        'not json',
    ):
        assert hang_up_of(other, unescape_name) is None, other


# -- Verifications ---------------------------------------------------------


def test_a_last_exit_within_verify_within_verifies_and_only_of_the_same_instance():
    checks = Verifications(verify_within=60, max_emissions=3)
    assert checks.hung_up(HangUp('r', 1000.0, 'run'), 'U1', known=True) == []
    assert checks.exited('r', 'U0', 1010.0) == []  # the last exit of another instance of the name
    [outcome] = checks.exited('r', 'U1', 1020.0)
    assert (outcome.kind, outcome.uuid, outcome.emission) == ('verified', 'U1', 0)
    assert checks.due(2000.0) == [] and not checks.expected


def test_an_exit_taken_in_before_the_line_was_read_verifies_it():
    checks = Verifications(verify_within=60, max_emissions=3)
    checks.exited('r', 'U1', 1001.0)  # the exits came before the module wrote its line
    [outcome] = checks.hung_up(HangUp('r', 1002.0), None, known=True)
    assert (outcome.kind, outcome.uuid) == ('verified', 'U1')
    # an instance that ended long before the hang-up is not the one hung up
    assert checks.hung_up(HangUp('r', 1200.0), None, known=True) == []


def test_no_exit_unverified_every_verify_within_at_most_max_emissions_the_last_final():
    checks = Verifications(verify_within=60, max_emissions=2)
    checks.hung_up(HangUp('r', 1000.0, 'run'), 'U1', known=True)
    assert checks.due(1059.0) == []
    [first] = checks.due(1060.0)
    assert (first.kind, first.emission, first.final) == ('unverified', 1, False)
    assert checks.due(1119.0) == []
    checks.hung_up(HangUp('r', 1065.0, 'again'), 'U1', known=True)  # the action hung it up again: no second round
    [last] = checks.due(1120.0)
    assert (last.emission, last.final, last.hang_up.run_id) == (2, True, 'run')
    assert checks.due(2000.0) == []
    checks.hung_up(HangUp('r', 1130.0), 'U1', known=True)  # the hang-up after the final event starts nothing
    assert not checks.expected


def test_an_exit_after_an_unverified_verifies_with_its_count():
    checks = Verifications(verify_within=10, max_emissions=3)
    checks.hung_up(HangUp('r', 1000.0), 'U1', known=True)
    checks.due(1010.0)
    [outcome] = checks.exited('r', 'U1', 1012.0)
    assert (outcome.kind, outcome.emission) == ('verified', 1)


def test_a_room_the_registry_does_not_know_is_not_expected():
    checks = Verifications(verify_within=10, max_emissions=3)
    assert checks.hung_up(HangUp('elsewhere', 1000.0), None, known=False) == []
    assert checks.due(5000.0) == []


def test_every_structure_is_bounded():
    checks = Verifications(verify_within=10, max_emissions=1, max_rooms=3)
    for number in range(10):
        checks.hung_up(HangUp('r%d' % number, 1000.0), 'U', known=True)
        checks.exited('x%d' % number, 'U', 1000.0)
        for dummy in range(10):
            checks.exited('same', 'U%d' % dummy, 1000.0)
    assert len(checks.expected) == 3 and checks.dropped == 7
    assert len(checks.exits) <= 3 and all(len(seen) <= 4 for seen in checks.exits.values())
    checks.due(1010.0)
    assert len(checks.given_up) == 3
    checks.due(1010.0 + 3600.0 + 1)
    assert not checks.given_up and not checks.exits


# -- the source: audit log in, events and audit lines out ------------------------------------------


def make_service(clock, path, **args):
    settings = parse_args(dict({'port': 1, 'public_url': URL, 'keep_state': False, 'audit_log': path}, **args), ENV)
    return service_unit.CallbackService(settings, clock=clock, monotonic=clock)


def hang_up_line(path, name, when):
    with AuditLog(path, 'MA1', run_id='run-1') as log:
        log.record(name, 'hung_up', 204)
    # the module's time is the wall clock's: put the test's in its place
    with open(path) as stream:
        lines = stream.read().splitlines()
    entry = json.loads(lines[-1])
    entry['time'] = iso_time(when)
    with open(path, 'w') as stream:
        stream.write('\n'.join(lines[:-1] + [json.dumps(entry)]) + '\n')


def verification_events(service):
    return [event['vobiz'] for event in service.pending if event['vobiz']['type'] in ('verified', 'unverified')]


def test_the_source_verifies_a_hang_up_from_the_audit_log_and_audits_the_outcome(tmp_path):
    path, clock = str(tmp_path / 'audit.log'), FakeClock()
    service = make_service(clock, path, verify_within='1m', max_emissions=2)
    for name in ('{{ room }}', 'quiet'):
        service.accept(enter(name, '1', first=True, uuid='U-' + name), 'v3')
    # an audit log rewritten from its start by rotation would be read again: write, then rotate the file in place
    hang_up_line(path, '{{ room }}', clock.now)
    hang_up_line(path, 'quiet', clock.now)
    service.tick()
    service.accept(leave('{{ room }}', '1', last=True, uuid='U-{{ room }}'), 'v3')
    [verified] = verification_events(service)
    assert verified['type'] == 'verified' and verified['emission'] == 0
    assert literal(verified['conference_name']) == '{{ room }}' and verified['conference_name'].startswith('base64:')
    assert literal(verified['conference_uuid']) == 'U-{{ room }}' and verified['run_id'] == 'run-1'
    for dummy in range(2):
        clock.advance(60)
        service.tick()
    unverified = [event for event in verification_events(service) if event['type'] == 'unverified']
    assert [(event['conference_name'], event['emission'], event['final']) for event in unverified] == [
        ('quiet', 1, False),
        ('quiet', 2, True),
    ]
    assert unverified[0]['conference_uuid'] == 'U-quiet' and unverified[0]['max_emissions'] == 2
    assert [event['since_hang_up'] for event in unverified] == [60, 120]
    with open(path) as stream:
        audit = [json.loads(text) for text in stream.read().splitlines()]
    written = [(entry['name'], entry['verification'], entry.get('emission')) for entry in audit[2:]]
    assert written == [('{{ room }}', 'verified', None), ('quiet', 'unverified', 1), ('quiet', 'unverified', 2)]
    assert all(entry['run_id'] == 'run-1' and entry['verified_by'] == 'callbacks' for entry in audit[2:])
    assert audit[-1]['final'] is True and audit[-1]['conference_uuid'] == 'U-quiet'
    service.tick()  # its own lines are no hang-ups
    assert len(verification_events(service)) == 3


def test_without_audit_log_or_with_verify_within_0_nothing_is_verified(tmp_path, caplog):
    caplog.set_level('INFO')
    service = make_service(FakeClock(), None)
    assert service.verifications is None
    assert 'Verified termination is off: no audit_log' in caplog.text
    assert make_service(FakeClock(), str(tmp_path / 'a.log'), verify_within=0).verifications is None


def test_an_audit_log_that_cannot_be_written_is_warned_about_and_the_event_still_comes(tmp_path, caplog):
    path, clock = str(tmp_path / 'audit.log'), FakeClock()
    service = make_service(clock, path, verify_within=10)
    service.accept(enter('{{ r }}', '1', first=True), 'v3')
    hang_up_line(path, '{{ r }}', clock.now)
    service.tick()
    os.rename(path, path + '.1')
    os.symlink(path + '.1', path)  # the audit log is never written through a symbolic link
    clock.advance(10)
    service.tick()
    [event] = verification_events(service)
    assert event['type'] == 'unverified'
    assert "Could not append the verification of 'base64:" in caplog.text and 'symbolic link' in caplog.text


def test_loaded_as_ansible_rulebook_loads_it_the_source_writes_with_the_collections_audit_log_by_path(tmp_path):
    """ansible-rulebook runs the entry outside any package, where ``ansible_collections`` may not be importable: the
    unit then loads plugins/module_utils/_audit.py (and what it imports) from its path."""
    entry = os.path.join(os.path.dirname(service_unit.__file__), '..', '..', 'plugins', 'event_source')
    script = textwrap.dedent(
        """
        import runpy, sys

        class NoCollections:  # as in ansible-rulebook: no collection is importable
            def find_spec(self, name, path=None, target=None):
                if name.partition('.')[0] == 'ansible_collections':
                    raise ModuleNotFoundError(name)

        sys.meta_path.insert(0, NoCollections())
        runpy.run_path(sys.argv[1] + '/conference_callbacks.py')
        units = sys.modules['vobiz_voice_conference_callbacks_units.verification']
        hang_up = units.HangUp('r', 1769860800.0, 'run-1')
        units.audit_writer(sys.argv[2], 'MA1')(units.Outcome('verified', 'a\\nb', 'U', hang_up, 0))
        print(units.module_util('_audit').__file__)
        """
    )
    path = str(tmp_path / 'audit.log')
    env = {key: value for key, value in os.environ.items() if key != 'PYTHONPATH'}
    done = subprocess.run(
        [sys.executable, '-c', script, entry, path],
        cwd=str(tmp_path),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(os.path.join('plugins', 'module_utils', '_audit.py'))
    with open(path) as stream:
        [entry] = [json.loads(text) for text in stream.read().splitlines()]
    assert (entry['name'], entry['verification'], entry['run_id'], entry['auth_id']) == (
        'a\\nb',
        'verified',
        'run-1',
        'MA1',
    )
