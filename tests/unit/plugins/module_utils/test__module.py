# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _module, the base of every module, through a module run in-process against the emulator: the live
list and its warning, batches stopped or interrupted, outcomes into the result and the audit log, the summary, names
escaped, nothing carrying the token out."""

import functools
import json
import os
import threading
from urllib.parse import quote

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _audit, _conference_api, _errors, _module
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name
from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference, vobiz_conference_info
from ansible_collections.vobiz.voice.tests.emulator.stand_ins import ScriptedServer
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import (
    AUTH_ID,
    TOKEN,
    module_args,
    patch_module_args,
    run_against,
    run_module,
)

run = functools.partial(run_against, vobiz_conference.main)


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_list_lies_warns_for_match(emulator):
    for name in ['ci-1', 'ci-22', 'prod-ci-3', 'CI-upper', 'ci']:
        emulator.add_conference(name)
    emulator.configure(list_lies=True)
    failed, result = run(emulator, match='ci-*')
    assert not failed and result['changed'] is False
    assert any(
        'listing no rooms while some were live' in w and 'match may have missed' in w for w in result['warnings']
    )


def test_token_never_in_output_even_with_real_exit_json(emulator, capsys):
    """The real exit_json (no_log masking and the invocation dump) never shows the token."""
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '503', 'first_n': 1}])
    with patch_module_args(dict(module_args(emulator, name='r', _ansible_verbosity=4))):
        with pytest.raises(SystemExit):
            vobiz_conference.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    assert result['changed'] is True and TOKEN not in out
    # ansible-core 2.21 builds the invocation dump on the controller; older cores put it here, masked.
    if 'invocation' in result:
        assert result['invocation']['module_args']['auth_token'] == 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER'


def test_audit_log_lines(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    emulator.add_conference('r')
    failed, real = run(emulator, name=['r', 'gone'], audit_log=str(audit))
    assert failed is False
    failed, check = run(emulator, check_mode=True, name=['r'], audit_log=str(audit))
    assert failed is False
    text = audit.read_text()
    assert TOKEN not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert sorted((line['name'], line['outcome'], line['status'], line['check_mode']) for line in lines) == [
        ('gone', 'already_absent', 404, False),
        ('r', 'hung_up', 204, False),
        ('r', 'would_be_absent', 404, True),
    ]
    for line in lines:
        assert line['auth_id'] == AUTH_ID and line['time'].endswith('Z') and 'T' in line['time']
        assert 'change_id' not in line and 'reason' not in line
    # One run id per run, shared by its lines and returned by the module.
    assert real['run_id'] != check['run_id']
    assert [line['run_id'] for line in lines] == [real['run_id'], real['run_id'], check['run_id']]


def test_audit_log_change_id_and_reason_on_every_line(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    emulator.add_conference('r')
    failed, result = run(
        emulator, name=['r', 'gone'], audit_log=str(audit), change_id='CHG-1234', reason='Quarterly maintenance'
    )
    assert not failed and len(result['run_id']) == 32
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 2
    assert all(
        (line['change_id'], line['reason'], line['run_id']) == ('CHG-1234', 'Quarterly maintenance', result['run_id'])
        for line in lines
    )


def test_check_mode_audit_says_what_would_happen(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    emulator.add_conference('live')
    run(emulator, check_mode=True, name=['live', 'gone'], parallel=1, audit_log=str(audit))
    emulator.configure(retrieve_lies=True)
    run(emulator, check_mode=True, name=['live'], audit_log=str(audit))
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line['name'], line['outcome'], line.get('uncertain')) for line in lines] == [
        ('live', 'would_hang_up', None),
        ('gone', 'would_be_absent', None),
        ('live', 'would_hang_up', True),
    ]
    assert all(line['check_mode'] is True and line['outcome'] != 'hung_up' for line in lines)
    assert emulator.live_names() == ['live']


def test_check_mode_audit_line_keeps_uncertain(emulator, tmp_path):
    """Defect: the check-mode audit line drops ``uncertain``. A room that could not be read is audited as uncertain."""
    for name in ['live', 'unreadable']:
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '503', 'match': 'unreadable'}])
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(
        emulator, check_mode=True, name=['live', 'unreadable', 'gone'], retries=1, audit_log=str(audit)
    )
    assert not failed and result['uncertain'] == ['unreadable']
    lines = {line['name']: line for line in read_lines(audit)}
    assert {name: (line['outcome'], line['check_mode'], line.get('uncertain')) for name, line in lines.items()} == {
        'live': ('would_hang_up', True, None),
        'unreadable': ('would_hang_up', True, True),
        'gone': ('would_be_absent', True, None),
    }
    assert emulator.requests(method='DELETE') == []


def test_name_that_cannot_be_encoded_fails_alone(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    names = ['a1', 'a2', '\ud800x', 'a3', 'a4']
    for name in names:
        emulator.add_conference(name)
    failed, result = run(emulator, match='[!b]*', parallel=1, audit_log=str(audit))  # '*' alone is refused
    assert failed
    assert result['hung_up'] == ['a1', 'a2', 'a3', 'a4']
    # Returned escaped (issue 23: Ansible could not read a result holding a lone surrogate back).
    assert result['failures'] == [
        dict(name='\\ud800x', status=None, message='cannot be sent: the name is not valid Unicode')
    ]
    assert "'\\ud800x' (cannot be sent: the name is not valid Unicode)" in result['msg']
    json.dumps(result).encode('utf-8')
    assert emulator.live_names() == ['\ud800x']
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert sorted((line['name'], line['outcome']) for line in lines) == sorted(
        [(n, 'hung_up') for n in ('a1', 'a2', 'a3', 'a4')] + [('\\ud800x', 'failed')]
    )


def test_unexpected_error_in_a_worker_fails_that_room_alone(emulator, monkeypatch):
    for name in ('a', 'b', 'c'):
        emulator.add_conference(name)
    real_hangup = _conference_api.ConferenceApi.hangup

    def hangup(self, name, seen_live=False):
        if name == 'b':
            raise RuntimeError('surprise for ' + TOKEN)
        return real_hangup(self, name, seen_live)

    monkeypatch.setattr(_conference_api.ConferenceApi, 'hangup', hangup)
    failed, result = run(emulator, name=['a', 'b', 'c'], parallel=1)
    assert failed and result['hung_up'] == ['a', 'c']
    assert result['failures'] == [
        dict(name='b', status=None, message='unexpected error: RuntimeError: surprise for ********')
    ]
    assert TOKEN not in json.dumps(result)


def test_audit_write_failure_stops_the_run_and_keeps_lines_valid(emulator, tmp_path, monkeypatch):
    """Each answer is audited as it arrives: a short write on the third line stops the batch there."""
    names = ['a', 'b', 'c', 'd', 'e']
    for name in names:
        emulator.add_conference(name)
    writes = []

    def short_third_line(fd, data):
        writes.append(data)
        return os.write(fd, data[:10] if len(writes) == 3 else data)

    monkeypatch.setattr(_audit, '_write_audit', short_third_line)
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, name=names, parallel=1, audit_log=str(audit))
    assert failed and 'Short write to the audit log' in result['msg']
    assert result['hung_up'] == ['a', 'b', 'c'] and result['changed'] is True
    assert [e['conference'] for e in emulator.requests()] == ['a', 'b', 'c'] and emulator.live_names() == ['d', 'e']
    lines = audit.read_text().split('\n')
    assert [json.loads(line)['name'] for line in lines[:2]] == ['a', 'b']
    assert lines[2] == writes[2][:10].decode('ascii') and lines[3:] == ['']  # the partial line was ended


def test_audit_log_symlink_is_refused_before_any_request(emulator, tmp_path):
    emulator.add_conference('r')
    (tmp_path / 'target.jsonl').write_text('')
    (tmp_path / 'audit.jsonl').symlink_to(tmp_path / 'target.jsonl')
    failed, result = run(emulator, name='r', audit_log=str(tmp_path / 'audit.jsonl'))
    assert failed and 'audit_log' in result['msg'] and 'symbolic link' in result['msg']
    assert emulator.requests() == [] and emulator.live_names() == ['r']


def test_signal_interrupts_the_batch_and_loses_nothing(emulator, tmp_path):
    import signal

    # Enough rooms that the run outlasts the signal however slow the machine (it stops at the signal: no time is lost).
    names = ['s%04d' % i for i in range(1200)]
    for name in names:
        emulator.add_conference(name)
    emulator.configure(latency_ms=100)
    audit = tmp_path / 'audit.jsonl'
    before = signal.getsignal(signal.SIGTERM)
    sent = []

    def interrupt_soon():
        # Only while the module's handler is in place (the run lasts 30 s at least): never kill pytest itself.
        if emulator.wait_for_log(6) and signal.getsignal(signal.SIGTERM) is not before:
            sent.append(True)
            os.kill(os.getpid(), signal.SIGTERM)

    killer = threading.Thread(target=interrupt_soon)
    killer.start()
    try:
        failed, result = run(emulator, name=names, parallel=4, audit_log=str(audit))
    finally:
        killer.join()
    assert sent and signal.getsignal(signal.SIGTERM) is before
    assert failed and result['msg'].startswith('Interrupted by SIGTERM')
    deleted = {e['conference'] for e in emulator.requests() if e['status'] == 204}
    assert deleted and len(emulator.requests()) < len(names)
    assert set(result['hung_up']) | set(result['interrupted']) >= deleted
    audited = {}
    for line in audit.read_text().splitlines():
        entry = json.loads(line)
        audited.setdefault(entry['name'], []).append(entry['outcome'])
    assert deleted <= set(n for n, outcomes in audited.items() if 'hung_up' in outcomes or 'unknown' in outcomes)
    requested = set(e['conference'] for e in emulator.requests())
    assert set(n for n, outcomes in audited.items() if outcomes != ['not_started']) <= requested | set(
        result['interrupted']
    )
    # Every room is in exactly one list, and the ones never sent are audited as such.
    assert set(n for n, outcomes in audited.items() if outcomes == ['not_started']) == set(result['not_started'])
    lists = (
        result['hung_up']
        + result['interrupted']
        + result['not_started']
        + result['already_absent']
        + [f['name'] for f in result['failures']]
    )
    assert sorted(lists) == sorted(names)


@pytest.mark.skipif(not os.path.exists('/dev/full'), reason='needs /dev/full')
def test_audit_log_write_failure_stops_the_run(emulator):
    for name in ['a', 'b', 'c']:
        emulator.add_conference(name)
    failed, result = run(emulator, name=['a', 'b', 'c'], parallel=1, audit_log='/dev/full')
    assert failed and 'audit log' in result['msg']
    assert result['hung_up'] == ['a'] and result['changed'] is True
    assert len(emulator.requests()) == 1 and emulator.live_names() == ['b', 'c']


def test_env_fallbacks(emulator, monkeypatch):
    emulator.add_conference('r')
    monkeypatch.setenv('VOBIZ_AUTH_ID', AUTH_ID)
    monkeypatch.setenv('VOBIZ_AUTH_TOKEN', TOKEN)
    monkeypatch.setenv('VOBIZ_API_URL', emulator.api_url)
    failed, result = run_module(vobiz_conference.main, dict(name='r'))
    assert not failed and result['hung_up'] == ['r']


def test_missing_requests(emulator, monkeypatch):
    monkeypatch.setattr(_module, 'HAS_REQUESTS', False)
    failed, result = run(emulator, name='r')
    assert failed and 'requests' in result['msg'] and emulator.requests() == []


def test_bulk_names_share_the_keep_alive_pool(emulator):
    names = ['bulk-%03d' % i for i in range(300)]
    for name in names:
        emulator.add_conference(name, members=0)
    failed, result = run(emulator, name=names, parallel=16)
    assert not failed and result['hung_up'] == names
    assert len(emulator.requests()) == 300
    assert emulator.connection_count <= 16
    assert sorted(e['conference'] for e in emulator.requests()) == names  # one DELETE per room
    assert emulator.live_names() == []


def test_the_hang_up_of_all_stopped_before_it_was_sent_leaves_every_listed_room_not_started(
    emulator, tmp_path, monkeypatch
):
    """send_once_for_all: the one request for all stands for every listed room; when the batch is stopped before it
    was sent, each listed room is not_started (none a nameless entry), with its audit line, and no DELETE was sent."""
    for name in ('a', 'b'):
        emulator.add_conference(name)

    def stopped_before_sending(self, func, items, on_result=None, on_error=None):
        error = _errors.VobizFatalError('Interrupted by SIGTERM.')
        error.results = [None] * len(items)
        raise error

    monkeypatch.setattr(_conference_api.ConferenceApi, 'run_concurrently', stopped_before_sending)
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, all=True, audit_log=str(audit))
    assert failed and result['msg'] == 'Interrupted by SIGTERM.'
    assert result['not_started'] == ['a', 'b'] and result['hung_up'] == [] and result['failures'] == []
    assert [(line['name'], line['outcome']) for line in read_lines(audit)] == [
        ('a', 'not_started'),
        ('b', 'not_started'),
    ]
    assert [entry['method'] for entry in emulator.requests()] == ['GET'] and emulator.live_names() == ['a', 'b']


def test_summary_counts_the_uncertain_among_the_failed():
    """The summary (the message of an interrupted run): uncertain hang-ups are failures; in check mode, predictions."""
    hangup = vobiz_conference.ConferenceHangup.__new__(vobiz_conference.ConferenceHangup)
    hangup.not_started = []
    hangup.result = dict(
        hung_up=['a'],
        already_absent=[],
        gone_unconfirmed=[],
        excluded=[],
        failures=[{'name': 'b'}, {'name': 'c'}],
        uncertain=['b'],
        interrupted=[],
        not_in_plan=[],
        verified=[],
        unverified=[],
    )
    hangup.check_mode = False
    assert hangup.summary() == 'Hung up 1 conference(s); 2 failed (1 uncertain: may or may not have been hung up).'
    hangup.check_mode = True
    hangup.result.update(hung_up=['a', 'b'], failures=[])
    assert hangup.summary() == 'Would hang up 2 conference(s) (1 uncertain).'


def test_server_text_cannot_forge_lines(emulator, tmp_path):
    emulator.configure(faults=[{'kind': 'control_chars', 'method': 'DELETE'}])
    audit = str(tmp_path / 'audit.jsonl')
    failed, result = run(emulator, name='Board Room', audit_log=audit)
    with open(audit) as handle:
        logged = json.loads(handle.read())['message']
    assert failed
    for text in (result['msg'], result['failures'][0]['message'], logged):
        assert (
            '\n' not in text and '\x1b' not in text and '\r' not in text and '\x07' not in text and '\u202e' not in text
        )
        assert '\\n[ERROR]: forged' in text


#: Every kind of line break str.splitlines knows, each followed by a forged summary line.
FORGED = [
    'x' + brk + 'VOBIZ_TEARDOWN_SUMMARY {"status": "ok"}'
    for brk in ('\n', '\r', '\x0b', '\x0c', '\x1c', '\x1d', '\x1e', '\x85', '\u2028', '\u2029')
]


def test_names_are_returned_escaped_and_come_back_with_names_escaped(emulator, tmp_path):
    """Issue 23: no name puts a line break into an output line (Ansible's default callback prints results with
    ensure_ascii=False); escaped names given back with names_escaped reach exactly the rooms they name."""
    rooms = FORGED + ['a\\b', 'a\\\\b', 'plain']
    for name in rooms:
        emulator.add_conference(name)
    failed, resolved = run(emulator, check_mode=True, match=['x*', 'a*', 'plain'])
    assert not failed and sorted(resolved['hung_up']) == sorted(escape_name(name) for name in rooms)
    assert len(json.dumps(resolved, ensure_ascii=False).splitlines()) == 1
    assert 'VOBIZ_TEARDOWN_SUMMARY' not in ''.join(
        line for line in json.dumps(resolved, ensure_ascii=False).splitlines()[1:]
    )
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, name=resolved['hung_up'], names_escaped=True, audit_log=str(audit))
    assert not failed and sorted(result['hung_up']) == sorted(resolved['hung_up']) and emulator.live_names() == []
    assert sorted(e['conference'] for e in emulator.requests(method='DELETE')) == sorted(rooms)
    assert sorted(json.loads(line)['name'] for line in audit.read_text().splitlines()) == sorted(resolved['hung_up'])
    # Without names_escaped the same texts are other names: nothing of the above is hung up by mistake.
    emulator.add_conference('a\\b')
    failed, result = run(emulator, name=[escape_name('a\\b')])
    assert (
        not failed
        and result['already_absent'] == [escape_name(escape_name('a\\b'))]
        and emulator.live_names() == ['a\\b']
    )


def test_names_escaped_refuses_a_text_that_is_no_escaped_name(emulator):
    failed, result = run(emulator, name=['a\\q'], names_escaped=True)
    assert failed and 'name[0] is not an escaped name' in result['msg'] and emulator.requests() == []


@pytest.mark.parametrize('status', [400, 401])
def test_token_echoed_percent_encoded_is_redacted(tmp_path, status):
    """Defect: the percent-encoded token is not redacted. A server that echoes it so leaks it nowhere."""
    token = 'Tok/en+9&y=z%:~#'
    encoded = quote(token, safe='')
    assert encoded != token

    def answer(entry):
        echoed = quote(entry['headers'].get('X-Auth-Token', ''), safe='')
        return status, {}, {'api_id': 'x', 'error': 'invalid token ' + echoed}

    audit = tmp_path / 'audit.jsonl'
    with ScriptedServer(answer) as server:
        failed, result = run(server, auth_token=token, name=['Board Room'], retries=0, audit_log=str(audit))
    assert [e['headers']['X-Auth-Token'] for e in server.log] == [token]
    assert failed and 'invalid token' in result['msg']
    outputs = json.dumps(result) + (audit.read_text() if audit.exists() else '')
    assert encoded not in outputs and token not in outputs
    if status == 400:
        assert read_lines(audit)[0]['outcome'] == 'failed' and 'invalid token' in read_lines(audit)[0]['message']


def test_a_retry_warning_is_redacted(emulator):
    """Defect: a retry warning leaves the client without the redactor. Its text names the conference, which may hold
    the token (here a name that carries it); the warning must hold neither the token nor a piece of it."""
    from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN

    name = 'echo ' + TOKEN
    emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '503', 'first_n': 1}])
    failed, result = run(emulator, name=[name])
    assert not failed and len(emulator.requests()) == 2
    retry = [warning for warning in result['warnings'] if 'needed 2 attempts' in warning]
    assert len(retry) == 1 and TOKEN not in retry[0] and TOKEN[:6] not in retry[0] and '********' in retry[0]


def test_json_keys_of_an_answer_are_redacted(tmp_path):
    """Defect: the keys of a parsed answer are not redacted. A key that spells the token with JSON escapes passes the
    raw-text redaction and must be caught after parsing (here through vobiz_conference_info, which returns the keys)."""
    from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN

    escaped = ''.join('\\u{0:04x}'.format(ord(char)) for char in TOKEN)
    body = (
        '{{"conference_name": "r", "conference_run_time": "1", "conference_member_count": "0", '
        '"members": [], "{0}": "x"}}'.format(escaped)
    )

    def answer(entry):
        return 200, {'Content-Type': 'application/json'}, body.encode('ascii')

    with ScriptedServer(answer) as server:
        failed, result = run_against(vobiz_conference_info.main, server, name=['r'], retries=0)
    assert not failed and result['conferences'][0]['conference_name'] == 'r'
    assert TOKEN not in json.dumps(result) and '********' in result['conferences'][0]


# --- validate_only: every option checked, nothing sent, nothing written ----------------------------------------

#: A valid call of each module, and an invalid one of each kind its checks cover (the option the refusal is about).
VALID = {
    'vobiz_conference': dict(name=['r']),
    'vobiz_conference_announce': dict(name=['r'], text='Closing now.'),
    'vobiz_conference_info': dict(name=['r']),
    'vobiz_conference_member': dict(conference='r', member_id=['1'], state='muted'),
}
REFUSED = [
    ('vobiz_conference', dict(match='*'), ['match', 'all']),
    ('vobiz_conference', dict(all=True, name='r'), ['all', 'name']),
    ('vobiz_conference', dict(name=None), ['name', 'match', 'all']),
    ('vobiz_conference', dict(summary_file='/nonexistent/vobiz/summary.json'), ['summary_file']),
    ('vobiz_conference', dict(audit_log='/nonexistent/vobiz/audit.jsonl'), ['audit_log']),
    ('vobiz_conference', dict(parallel=0), ['parallel']),
    ('vobiz_conference_announce', dict(text='x' * 1001), ['text']),
    ('vobiz_conference_announce', dict(text=None, url='http://x.test/a.mp3'), ['url']),
    ('vobiz_conference_announce', dict(language=''), ['language']),
    ('vobiz_conference_announce', dict(wait=-1), ['wait']),
    ('vobiz_conference_info', dict(match=['']), ['match']),
    ('vobiz_conference_member', dict(member_id=['all', '1']), ['member_id']),
    ('vobiz_conference_member', dict(api_url='ftp://127.0.0.1/api/v1'), ['api_url']),
]


def module_main(name):
    return __import__('ansible_collections.vobiz.voice.plugins.modules.' + name, fromlist=['main']).main


@pytest.mark.parametrize('name', sorted(VALID))
def test_validate_only_checks_every_option_and_sends_nothing(emulator, tmp_path, name):
    emulator.add_conference('r', members=['1'])
    files = dict(audit_log=str(tmp_path / 'audit.jsonl')) if name != 'vobiz_conference_info' else {}
    if name == 'vobiz_conference':
        files['summary_file'] = str(tmp_path / 'summary.json')
    failed, result = run_against(module_main(name), emulator, validate_only=True, **dict(VALID[name], **files))
    assert not failed and result['changed'] is False and 'nothing was sent' in result['msg']
    assert emulator.requests() == [] and os.listdir(str(tmp_path)) == []  # no audit log, no summary file
    assert emulator.live_names() == ['r'] and emulator.conference('r')['members'][0]['muted'] is False


@pytest.mark.parametrize('name, changes, options', REFUSED, ids=[f'{n}-{o[0]}' for n, c, o in REFUSED])
def test_validate_only_refuses_what_a_run_refuses_naming_the_options(emulator, name, changes, options):
    """The refusal of ``validate_only`` is a real run's, word for word, with ``refused_options``: the option refused
    first, then those its message offers instead (what a role names its variables by)."""
    refusals = []
    for validate_only in (True, False):
        args = dict(VALID[name], validate_only=validate_only, **changes)
        args = dict((key, value) for key, value in args.items() if value is not None)
        failed, result = run_against(module_main(name), emulator, **args)
        assert failed and result['refused_options'] == options, result
        refusals.append(result['msg'])
    assert refusals[0] == refusals[1] and options[0] in refusals[0]
    assert emulator.requests() == []
