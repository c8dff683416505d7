"""Tests of the emulator's command line (as a subprocess) and of TLS."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from ansible_collections.vobiz.voice.tests.emulator import vobiz_emulator

SCRIPT = vobiz_emulator.launch.PACKAGE_DIR  # the package directory runs as a script
GUARD = vobiz_emulator.HANG_GUARD_SECONDS


@pytest.fixture
def cli(tmp_path):
    """Factory starting the emulator script; returns (process, port). Leftover processes are killed."""
    processes = []

    def start(*args):
        port_file = tmp_path / ('port-%d' % len(processes))
        command = [sys.executable, SCRIPT, '--port', '0', '--port-file', str(port_file)] + list(args)
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        processes.append(process)
        deadline = time.monotonic() + GUARD
        while not port_file.exists():  # a poll for the port file, bounded only against a hang
            if process.poll() is not None:
                out, err = process.communicate()
                pytest.fail('emulator exited with %s: %s %s' % (process.returncode, out, err))
            if time.monotonic() > deadline:
                pytest.fail('no port file after %d s' % GUARD)
            time.sleep(0.02)
        text = port_file.read_text()
        assert text.isdigit()
        return process, int(text)

    try:
        yield start
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate(timeout=GUARD)


def headers_for(auth_id, token):
    """Auth headers."""
    return {'X-Auth-ID': auth_id, 'X-Auth-Token': token}


def test_cli_serves_seeded_conferences_and_stops_on_sigterm(cli, tmp_path):
    token = 'cli-token-5a4b3c'
    log_file = tmp_path / 'requests.jsonl'
    process, port = cli(
        '--auth-id',
        'MA_DEMO',
        '--auth-token',
        token,
        '--conference',
        'Board Room',
        '--conference',
        'ci-1',
        '--members',
        '3',
        '--log-file',
        str(log_file),
        '--verbose',
    )
    base = 'http://127.0.0.1:%d/api/v1/Account/MA_DEMO/Conference/' % port
    with requests.Session() as session:
        session.headers.update(headers_for('MA_DEMO', token))
        assert session.get(base, timeout=GUARD).json()['conferences'] == ['Board Room', 'ci-1']
        assert session.get(base + 'Board%20Room/', timeout=GUARD).json()['conference_member_count'] == '3'
        assert session.delete(base + 'ci-1/', timeout=GUARD).status_code == 204
        assert session.get(base, timeout=GUARD).json()['conferences'] == ['Board Room']
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=GUARD)
    assert process.returncode == 0
    lines = out.splitlines()
    assert lines[0] == 'listening on http://127.0.0.1:%d' % port
    assert lines[-1] == 'stopped (signal SIGTERM)'
    assert 'DELETE /api/v1/Account/MA_DEMO/Conference/ci-1/ -> 204' in err
    entries = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert [entry['action'] for entry in entries] == ['list', 'retrieve', 'hangup', 'list']
    for text in (out, err, log_file.read_text()):
        assert token not in text


def test_cli_stops_by_itself_after_the_idle_timeout(cli):
    process, dummy = cli('--auth-token', 'idle-token', '--idle-timeout', '0.5')
    assert process.wait(timeout=GUARD) == 0
    out = process.stdout.read()
    assert out.splitlines()[-1] == 'stopped (idle timeout)'


def test_cli_stops_when_its_owner_ends_and_not_before(cli):
    owner = subprocess.Popen([sys.executable, '-c', 'import sys; sys.stdin.read()'], stdin=subprocess.PIPE)
    process, port = cli('--auth-token', 'owned-token', '--owner-pid', str(owner.pid), '--idle-timeout', '0')
    url = 'http://127.0.0.1:%d/api/v1/Account/MA_DEMO/Conference/' % port
    assert requests.get(url, headers=headers_for('MA_DEMO', 'owned-token'), timeout=GUARD).status_code == 200
    assert process.poll() is None  # the owner runs: so does the emulator, idle or not
    owner.communicate(b'')  # the owner ends (and is reaped)
    assert process.wait(timeout=GUARD) == 0
    assert process.stdout.read().splitlines()[-1] == 'stopped (owner pid %d ended)' % owner.pid


def test_an_emulator_process_ends_with_the_process_that_launched_it(tmp_path):
    """start_emulator_process makes its caller the owner: a tool killed with SIGKILL leaves no emulator behind."""
    launcher = (
        'import sys\n'
        'sys.path.insert(0, sys.argv[1])\n'
        'from vobiz_emulator.launch import start_emulator_process\n'
        'emu = start_emulator_process(["--auth-token", "t"], workdir=sys.argv[2])\n'
        'print(emu.process.pid, flush=True)\n'
        'sys.stdin.read()\n'
    )
    tool = subprocess.Popen(
        [sys.executable, '-c', launcher, os.path.dirname(SCRIPT), str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    emulator = vobiz_emulator.owner.identify(int(tool.stdout.readline()))
    tool.kill()
    tool.communicate()
    deadline = time.monotonic() + GUARD
    try:
        while vobiz_emulator.owner.is_running(emulator) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not vobiz_emulator.owner.is_running(emulator)
    finally:
        if vobiz_emulator.owner.is_running(emulator):
            os.kill(emulator[0], signal.SIGKILL)
    (output,) = tmp_path.glob('vobiz-emulator-*/emulator.out')
    assert output.read_text().splitlines()[-1] == 'stopped (owner pid %d ended)' % tool.pid


def test_the_owner_is_the_outermost_of_the_nearest_ancestors_with_the_name(tmp_path):
    """As in an ansible-playbook run: owner.py, started by a shell in a worker forked from the playbook process, finds
    the playbook process (the worker, a fork, bears the same name)."""
    playbook = tmp_path / 'ansible-playbook'
    playbook.write_text(
        'import os, subprocess, sys\n'
        'worker = os.fork()\n'
        'if worker == 0:\n'
        '    found = subprocess.run(\'"%s" "%s" ansible-playbook\' % (sys.executable, sys.argv[1]), '
        'shell=True, capture_output=True, text=True)\n'
        '    print(found.stdout.strip() or found.stderr.strip(), flush=True)\n'
        '    os._exit(0)\n'
        'os.waitpid(worker, 0)\n'
        'print(os.getpid(), flush=True)\n'
    )
    runs = subprocess.run(
        [sys.executable, str(playbook), vobiz_emulator.owner.__file__], capture_output=True, text=True, check=True
    )
    found, playbook_pid = runs.stdout.split()
    assert found == playbook_pid
    nothing = subprocess.run(
        [sys.executable, vobiz_emulator.owner.__file__, 'no-such-program'], capture_output=True, text=True, check=False
    )
    assert (nothing.returncode, nothing.stderr) == (1, 'owner.py: no ancestor process named no-such-program\n')


def test_an_owner_is_known_by_its_start_time_too():
    me = vobiz_emulator.owner.identify(os.getpid())
    assert vobiz_emulator.owner.is_running(me)
    assert not vobiz_emulator.owner.is_running((os.getpid(), 'another start time'))  # the pid, reused by a new process


def test_cli_stops_on_sigint(cli):
    process, port = cli('--auth-token', 't')
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=GUARD)
    assert process.returncode == 0, err
    assert 'stopped (signal SIGINT)' in out


def test_cli_config_file_accounts_and_every_switch_flag(cli, tmp_path):
    config = {
        'accounts': {
            'MA_A': {'token': 'a-token', 'conferences': ['a1', {'name': 'a2', 'members': 1}]},
            'MA_B': {'token': 'b-token', 'conferences': ['b1']},
        },
        'members': 4,
        'list_lies': True,
        'faults': [{'kind': '503'}],
    }
    config_file = tmp_path / 'emulator.json'
    config_file.write_text(json.dumps(config))
    process, port = cli(
        '--config',
        str(config_file),
        '--account',
        'MA_C:c:token:with:colons',
        '--conference',
        'extra',
        '--error-style',
        'envelope',
        '--rate-limit',
        'plivo',
        '--fault',
        'kind=502,action=retrieve,first_n=1',
        '--fault',
        '{"kind": "slow", "delay": 0.01, "match": "b*"}',
        '--forbidden',
        'a2',
        '--member-action-status',
        '200',
        '--trailing-slash',
        'accept',
        '--latency-ms',
        '1',
        '--jitter-ms',
        '2',
        '--seed',
        '9',
        '--retrieve-lies',
        '--retrieve-uuid',
        '--template-rooms',
        '/nonexistent/canary',
        '--callback-url',
        'http://127.0.0.1:9/vobiz/conference',
        '--callback-signed-url',
        'https://eda.example.com/vobiz/conference',
    )
    control = 'http://127.0.0.1:%d/_emulator' % port
    state = requests.get(control + '/state', timeout=GUARD).json()['accounts']
    assert list(state['MA_A']['conferences']) == ['a1', 'a2', 'extra'] + vobiz_emulator.template_room_names(
        '/nonexistent/canary'
    )
    assert state['MA_A']['conferences']['a1']['conference_member_count'] == '4'
    assert state['MA_A']['conferences']['a2']['conference_member_count'] == '1'
    assert list(state['MA_B']['conferences']) == ['b1'] and state['MA_C']['conferences'] == {}
    switches = requests.get(control + '/config', timeout=GUARD).json()
    assert switches['list_lies'] is True and switches['retrieve_lies'] is True and switches['retrieve_uuid'] is True
    assert switches['error_style'] == 'envelope' and switches['trailing_slash'] == 'accept'
    assert switches['callback_url'] == 'http://127.0.0.1:9/vobiz/conference'
    assert switches['callback_signed_url'] == 'https://eda.example.com/vobiz/conference'
    assert switches['rate_limit'] == {'requests': 300, 'per_seconds': 5}
    assert switches['member_action_status'] == 200 and switches['forbidden'] == ['a2']
    assert (switches['latency_ms'], switches['jitter_ms'], switches['seed']) == (1, 2, 9)
    assert [(rule['kind'], rule['action'], rule['first_n'], rule['match']) for rule in switches['faults']] == [
        ('502', 'retrieve', 1, None),
        ('slow', None, None, 'b*'),
    ]
    api = 'http://127.0.0.1:%d/api/v1/Account/' % port
    assert requests.get(
        api + 'MA_C/Conference', headers=headers_for('MA_C', 'c:token:with:colons'), timeout=GUARD
    ).json() == {'conferences': []}
    assert (
        requests.get(api + 'MA_A/Conference/a1/', headers=headers_for('MA_A', 'a-token'), timeout=GUARD).status_code
        == 502
    )
    a2_statuses = [
        requests.get(api + 'MA_A/Conference/a2/', headers=headers_for('MA_A', 'a-token'), timeout=GUARD).status_code
        for dummy in range(2)
    ]
    assert a2_statuses == [502, 403]  # faults come before auth and permissions; first_n counts per path
    assert requests.post(control + '/shutdown', timeout=GUARD).json() == {'message': 'shutting down'}
    out, err = process.communicate(timeout=GUARD)
    assert process.returncode == 0
    assert out.splitlines()[-1] == 'stopped (shutdown request)'
    for token in ('a-token', 'b-token', 'c:token:with:colons'):
        assert token not in out + err


def test_cli_tls_with_ca_file(cli, tmp_path):
    ca_file = tmp_path / 'ca.pem'
    process, port = cli('--auth-token', 'tls-token', '--tls', '--ca-file', str(ca_file), '--conference', 'Board Room')
    assert ca_file.read_text().startswith('-----BEGIN CERTIFICATE-----')
    for host in ('127.0.0.1', 'localhost'):
        url = 'https://%s:%d/api/v1/Account/MA_DEMO/Conference/' % (host, port)
        response = requests.get(url, headers=headers_for('MA_DEMO', 'tls-token'), verify=str(ca_file), timeout=GUARD)
        assert response.json()['conferences'] == ['Board Room']
    process.terminate()
    out, err = process.communicate(timeout=GUARD)
    assert process.returncode == 0
    assert out.splitlines()[:2] == ['listening on https://127.0.0.1:%d' % port, 'CA certificate: %s' % ca_file]
    assert ca_file.exists()


@pytest.mark.parametrize(
    'args, message',
    [
        ([], 'no account'),
        (['--account', 'no-colon'], 'ID:TOKEN'),
        (['--auth-token', 't', '--fault', 'kind=418'], 'fault kind'),
        (['--auth-token', 't', '--fault', '{"kind": '], 'not valid JSON'),
        (['--auth-token', 't', '--rate-limit', 'lots'], 'rate_limit'),
        (['--auth-token', 't', '--member-action-status', '201'], 'invalid choice'),
        (['--auth-token', 't', '--members', '-1'], 'members'),
        (['--auth-token', 't', '--config', '/nonexistent/emulator.json'], 'No such file'),
        (['--auth-token', 't', '--owner-pid', '1'], '--owner-pid 1: give the pid'),
        (['--auth-token', 't', '--owner-pid', '4194304'], '--owner-pid 4194304: no such process'),  # above any pid_max
    ],
)
def test_cli_rejects_bad_arguments(capsys, args, message):
    with pytest.raises(SystemExit) as info:
        vobiz_emulator.main(args)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_cli_rejects_bad_config_files(tmp_path, capsys):
    cases = (
        ('[1]', 'JSON object'),
        ('{"bogus": 1, "accounts": {"MA_X": "x"}}', 'unknown switch'),
        ('{"accounts": {"MA_X": {"tok": 1}}}', 'no token'),
        ('{"accounts": {"MA_X": "x"}, "members": "two"}', 'members'),
    )
    for content, message in cases:
        config_file = tmp_path / 'bad.json'
        config_file.write_text(content)
        with pytest.raises(SystemExit) as info:
            vobiz_emulator.main(['--config', str(config_file)])
        assert info.value.code == 2
        assert message in capsys.readouterr().err


def test_cli_port_in_use_exits_1(capsys):
    with socket.socket() as busy:
        busy.bind(('127.0.0.1', 0))
        busy.listen()
        assert vobiz_emulator.main(['--auth-token', 't', '--port', str(busy.getsockname()[1])]) == 1
    assert 'vobiz_emulator:' in capsys.readouterr().err


def test_parse_fault_arg():
    assert vobiz_emulator.parse_fault_arg('503') == {'kind': '503'}
    assert vobiz_emulator.parse_fault_arg(
        'kind=429_retry_after,retry_after=3,method=DELETE,match=ci-*,rate=0.5,first_n=null'
    ) == {
        'kind': '429_retry_after',
        'retry_after': 3,
        'method': 'DELETE',
        'match': 'ci-*',
        'rate': 0.5,
        'first_n': None,
    }
    assert vobiz_emulator.parse_fault_arg('{"kind": "slow", "delay": 2}') == {'kind': 'slow', 'delay': 2}
    assert vobiz_emulator.parse_fault_arg('kind=504,processed=yes,declare_length=false') == {
        'kind': '504',
        'processed': True,
        'declare_length': False,
    }
    with pytest.raises(ValueError, match='processed must be true or false'):
        vobiz_emulator.parse_fault_arg('kind=504,processed=maybe')


# ----- TLS in-process


def test_tls_in_process_with_temporary_ca(make_emulator):
    emu = make_emulator(tls=True, conferences=['Board Room'])
    assert emu.url == 'https://127.0.0.1:%d' % emu.port
    assert emu.api_url == emu.url + '/api/v1'
    ca_file = emu.ca_file
    assert os.path.exists(ca_file)
    headers = headers_for('MA_TEST', emu.auth_token)
    url = emu.api_url + '/Account/MA_TEST/Conference/'
    assert requests.get(url, headers=headers, verify=ca_file, timeout=GUARD).json()['conferences'] == ['Board Room']
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(url, headers=headers, timeout=GUARD)
    with pytest.raises(requests.ConnectionError):
        requests.get(url.replace('https://', 'http://'), headers=headers, timeout=GUARD)
    assert requests.delete(url + 'Board%20Room/', headers=headers, verify=ca_file, timeout=GUARD).status_code == 204
    emu.stop()
    assert not os.path.exists(ca_file)


def test_tls_keeps_a_given_ca_file(make_emulator, tmp_path):
    ca_file = tmp_path / 'ca.pem'
    emu = make_emulator(tls=True, ca_file=str(ca_file))
    assert emu.ca_file == str(ca_file)
    url = 'https://localhost:%d/_emulator/state' % emu.port
    assert requests.get(url, verify=str(ca_file), timeout=GUARD).status_code == 200
    emu.stop()
    assert ca_file.exists()


def test_tls_without_trustme_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, 'trustme', None)
    emu = vobiz_emulator.Emulator(auth_id='MA_TEST', auth_token='t', tls=True)
    with pytest.raises(RuntimeError, match='trustme'):
        emu.start()
