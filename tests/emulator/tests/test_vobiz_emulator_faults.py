"""Tests of the emulator's fault injection, rate limiting, latency, concurrency and robustness."""

from __future__ import annotations

import datetime
import email.utils
import math
import socket
import sys
import threading
import time

import pytest
import requests

from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import HANG_GUARD_SECONDS as GUARD
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator


@pytest.mark.parametrize(
    'kind, status',
    [
        ('429', 429),
        ('429_retry_after', 429),
        ('429_retry_after_date', 429),
        ('500', 500),
        ('502', 502),
        ('503', 503),
        ('503_retry_after', 503),
        ('504', 504),
    ],
)
def test_status_faults_answer_before_anything_happens(emulator, api, kind, status):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': kind, 'retry_after': 7}])
    response = api.call('DELETE', 'Board Room')
    assert response.status_code == status
    assert response.json()['error']
    assert emulator.live_names() == ['Board Room']
    entry = emulator.requests()[-1]
    assert (entry['fault'], entry['status'], entry['action']) == (kind, status, 'hangup')
    retry_after = response.headers.get('Retry-After')
    if kind in ('429_retry_after', '503_retry_after'):
        assert retry_after == '7'
    elif kind == '429_retry_after_date':
        # 7 s after the answer was made: not before the request arrived + 7 s (both on the emulator's clock,
        # in whole seconds), not after the answer's own Date + 7 s.
        when = email.utils.parsedate_to_datetime(retry_after)
        arrived = datetime.datetime.fromisoformat(entry['time'].replace('Z', '+00:00'))
        answered = email.utils.parsedate_to_datetime(response.headers['Date'])
        assert when >= datetime.datetime.fromtimestamp(math.floor(arrived.timestamp()) + 7, datetime.timezone.utc)
        assert when <= answered + datetime.timedelta(seconds=7)
        assert retry_after.endswith('GMT')
    else:
        assert retry_after is None


@pytest.mark.parametrize('kind', ['drop', 'reset'])
def test_closing_faults_close_the_connection_without_doing_anything(emulator, api, kind):
    """``drop`` closes the connection, ``reset`` resets it; either way the room stays and the next request is served."""
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': kind, 'method': 'DELETE'}])
    with pytest.raises(requests.ConnectionError):
        api.call('DELETE', 'Board Room')
    assert emulator.live_names() == ['Board Room']
    entry = emulator.requests()[-1]
    assert (entry['action'], entry['status'], entry['fault']) == ('hangup', None, kind)
    assert api.call('GET', 'Board Room').status_code == 200


def test_lost_reply_carries_out_the_request_then_closes(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}])
    with pytest.raises(requests.ConnectionError):
        api.call('DELETE', 'Board Room')
    assert emulator.live_names() == []
    entry = emulator.requests()[-1]
    assert (entry['action'], entry['status'], entry['fault']) == ('hangup', None, 'lost_reply')
    retry = api.call('DELETE', 'Board Room')
    assert retry.status_code == 404
    assert emulator.requests()[-1]['fault'] is None


@pytest.mark.parametrize('processed', [True, False])
def test_status_fault_carries_out_the_request_only_when_processed(emulator, api, processed):
    """``processed``: the API acts, then the gateway answers its error (a 504 after the API hung the room up)."""
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': '504', 'method': 'DELETE', 'first_n': 1, 'processed': processed}])
    assert api.call('DELETE', 'Board Room').status_code == 504
    assert emulator.live_names() == ([] if processed else ['Board Room'])
    assert api.call('DELETE', 'Board Room').status_code == (404 if processed else 204)


@pytest.mark.parametrize('rule', [{'kind': '504', 'processed': 'yes'}, {'kind': 'html', 'processed': True}])
def test_processed_applies_to_status_faults_only(emulator, rule):
    with pytest.raises(ValueError, match='processed'):
        emulator.configure(faults=[rule])


def test_slow_client_gives_up_but_the_request_is_still_carried_out(emulator, api):
    emulator.add_conference('Board Room')
    # The client gives up after 0.1 s of a 2 s delay: only a client stalled for almost 2 s would still get the answer.
    emulator.configure(faults=[{'kind': 'slow', 'delay': 2.0, 'first_n': 1}])
    with pytest.raises(requests.ReadTimeout):
        api.call('DELETE', 'Board Room', timeout=0.1)
    assert emulator.wait_for_log(1)
    assert emulator.live_names() == []
    entry = emulator.requests()[0]
    assert (entry['fault'], entry['action'], entry['status']) == ('slow', 'hangup', 204)


def test_slow_answers_a_patient_client(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': 'slow', 'delay': 0.3}])
    started = time.monotonic()
    response = api.call('GET', 'Board Room', timeout=GUARD)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3


def test_first_n_counts_per_method_and_path(emulator, api):
    emulator.add_conference('Board Room')
    emulator.add_conference('ci-1')
    emulator.configure(faults=[{'kind': '503', 'method': 'DELETE', 'first_n': 2}])
    assert api.call('GET', 'Board Room').status_code == 200
    assert [api.call('DELETE', 'Board Room').status_code for dummy in range(3)] == [503, 503, 204]
    assert api.call('DELETE', 'Board Room').status_code == 404
    assert api.call('DELETE', 'ci-1').status_code == 503
    assert [entry['fault'] for entry in emulator.requests()] == [None, '503', '503', None, None, '503']


def test_match_glob_and_action_filters(emulator, api):
    for name in ('ci-1', 'ci-2', 'Board Room'):
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '500', 'match': 'ci-*'}, {'kind': '502', 'action': 'list'}])
    assert api.call('GET', 'ci-1').status_code == 500
    assert api.call('DELETE', 'ci-2').status_code == 500
    assert api.call('GET', 'Board Room').status_code == 200
    assert api.call('GET').status_code == 502
    assert api.call('DELETE').status_code == 204
    emulator.configure(faults=[{'kind': '500', 'match': 'ci-?', 'method': 'GET'}])
    assert api.call('GET', 'Board Room').status_code == 404


def test_first_matching_rule_wins_and_rules_fall_through(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': '429', 'first_n': 1}, {'kind': '503', 'first_n': 2}])
    assert [api.call('GET', 'Board Room').status_code for dummy in range(4)] == [429, 503, 200, 200]


def fault_pattern(emu, api, seed):
    """Statuses of 40 GETs under a 50 % fault rate with the given seed."""
    emu.configure(seed=seed, faults=[{'kind': '503', 'rate': 0.5}])
    return [api.call('GET').status_code for dummy in range(40)]


def test_rate_is_seeded_and_deterministic(emulator, api):
    first = fault_pattern(emulator, api, 42)
    assert set(first) == {200, 503}
    assert fault_pattern(emulator, api, 42) == first
    assert fault_pattern(emulator, api, 7) != first
    emulator.configure(faults=[{'kind': '503', 'rate': 0}])
    assert {api.call('GET').status_code for dummy in range(10)} == {200}
    emulator.configure(faults=[{'kind': '503', 'rate': 1}])
    assert {api.call('GET').status_code for dummy in range(10)} == {503}


def test_same_seed_gives_the_same_faults_in_another_emulator(make_emulator):
    patterns = []
    for dummy in range(2):
        emu = make_emulator(seed=1234, faults=[{'kind': '500', 'rate': 0.3}])
        headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emu.auth_token}
        with requests.Session() as session:
            patterns.append(
                [
                    session.get(
                        emu.api_url + '/Account/MA_TEST/Conference/', headers=headers, timeout=GUARD
                    ).status_code
                    for dummy in range(30)
                ]
            )
    assert patterns[0] == patterns[1]
    assert 500 in patterns[0] and 200 in patterns[0]


def test_faults_apply_to_unknown_paths_and_bad_auth_too(emulator, api):
    emulator.configure(faults=[{'kind': '502'}])
    assert api.raw('GET', '/nothing/')[0] == 502
    assert api.call('GET', auth=False).status_code == 502


def test_rate_limit_token_bucket_per_account(emulator, api):
    emulator.add_account('MA_OTHER', 'other-token')
    emulator.configure(rate_limit={'requests': 3, 'per_seconds': 60})
    assert [api.call('GET').status_code for dummy in range(3)] == [200, 200, 200]
    limited = api.call('GET')
    assert limited.status_code == 429
    assert int(limited.headers['Retry-After']) >= 1
    assert limited.json()['error']
    entry = emulator.requests()[-1]
    assert (entry['fault'], entry['status']) == ('rate_limit', 429)
    other = {'X-Auth-ID': 'MA_OTHER', 'X-Auth-Token': 'other-token'}
    assert api.call('GET', auth=False, auth_id='MA_OTHER', headers=other).status_code == 200
    emulator.configure(rate_limit=None)
    assert api.call('GET').status_code == 200


def test_rate_limit_refills(emulator, api):
    emulator.configure(rate_limit='1/0.2')
    assert api.call('GET').status_code == 200
    assert api.call('GET').status_code == 429
    deadline = time.monotonic() + GUARD
    statuses = []
    while time.monotonic() < deadline:
        statuses.append(api.call('GET').status_code)
        if statuses[-1] == 200:
            break
    assert statuses[-1] == 200


def test_plivo_preset_allows_300_requests_per_5_seconds(emulator, api):
    emulator.configure(rate_limit='plivo')
    assert emulator.config['rate_limit'] == {'requests': 300, 'per_seconds': 5}
    started = time.monotonic()
    statuses = [api.call('GET').status_code for dummy in range(400)]
    elapsed = time.monotonic() - started
    assert statuses[:300] == [200] * 300
    assert statuses.count(200) <= 300 + 60 * elapsed + 1
    assert set(statuses) <= {200, 429}


def test_latency_is_added_to_api_requests_only(emulator, api, monkeypatch):
    delays = []
    sleep_latency = Emulator._sleep_latency

    def recording_sleep_latency(self, cfg):
        delays.append(cfg['latency_ms'])
        sleep_latency(self, cfg)

    monkeypatch.setattr(Emulator, '_sleep_latency', recording_sleep_latency)
    emulator.configure(latency_ms=150, jitter_ms=20)
    started = time.monotonic()
    assert api.call('GET').status_code == 200
    assert time.monotonic() - started >= 0.15  # a lower bound: load can only add to it
    assert delays == [150]
    assert api.control('GET', '/state').status_code == 200
    assert delays == [150]  # the control API is never delayed


def test_64_concurrent_keep_alive_requests_overlap(emulator, capsys, record_property, monkeypatch):
    count, latency = 64, 0.05
    emulator.add_conference('Board Room')
    url = emulator.api_url + '/Account/MA_TEST/Conference/Board%20Room/'
    headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emulator.auth_token}
    sessions = [requests.Session() for dummy in range(count)]
    results = [None] * count
    ready = threading.Barrier(count + 1)
    go = threading.Barrier(count + 1)
    # Proof of overlap that load cannot fake or break: each request, while being served, waits until all
    # 64 are being served at once (a server that served them one by one would break the barrier: 500s).
    all_in_flight = threading.Barrier(count)
    sleep_latency = Emulator._sleep_latency

    def sleep_latency_once_all_in_flight(self, cfg):
        if cfg['latency_ms']:
            all_in_flight.wait(timeout=GUARD)
        sleep_latency(self, cfg)

    monkeypatch.setattr(Emulator, '_sleep_latency', sleep_latency_once_all_in_flight)

    def worker(index):
        session = sessions[index]
        session.get(url, headers=headers, timeout=GUARD)  # opens this thread's keep-alive connection
        ready.wait(timeout=GUARD)
        go.wait(timeout=GUARD)
        response = session.get(url, headers=headers, timeout=GUARD)
        results[index] = (response.status_code, time.perf_counter())

    threads = [threading.Thread(target=worker, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=GUARD)
    connections = emulator.connection_count
    emulator.configure(latency_ms=latency * 1000)
    go.wait(timeout=GUARD)
    started = time.perf_counter()
    for thread in threads:
        thread.join(timeout=GUARD)
    for session in sessions:
        session.close()
    assert all(result is not None and result[0] == 200 for result in results)
    elapsed = max(result[1] for result in results) - started
    serial = count * latency
    record_property('concurrency_64_seconds', round(elapsed, 4))
    with capsys.disabled():
        sys.stdout.write(
            '\n[emulator] %d concurrent keep-alive requests at %d ms latency: '
            '%.0f ms (serial would be %.0f ms, ratio %.2f)\n'
            % (count, latency * 1000, elapsed * 1000, serial * 1000, elapsed / serial)
        )
    assert emulator.connection_count == connections == count
    assert not all_in_flight.broken


# ----- robustness


def test_body_over_64_kib_is_413_and_the_server_keeps_serving(emulator, api):
    emulator.add_conference('Board Room')
    response = api.call('POST', 'Board Room', 'Member', 'all', 'Speak', data=b'{"text": "' + b'x' * (65 * 1024) + b'"}')
    assert response.status_code == 413
    assert response.json()['error']
    entry = emulator.requests()[-1]
    assert (entry['status'], entry['body'], entry['action']) == (413, None, 'speak')
    assert (
        api.call('POST', 'Board Room', 'Member', 'all', 'Speak', data=b'{"text": "' + b'x' * 900 + b'"}').status_code
        == 202
    )


def test_huge_declared_body_is_refused_without_reading_it(emulator, api):
    request = (
        b'POST /api/v1/Account/MA_TEST/Conference/ HTTP/1.1\r\n'
        b'Host: x\r\nContent-Length: 500000000\r\nContent-Type: application/json\r\n\r\n{'
    )
    reply = api.raw_bytes(request)
    assert reply.startswith(b'HTTP/1.1 413 ')
    assert b'Connection: close' in reply


def test_chunked_bodies_are_read_and_limited(emulator, api):
    emulator.add_conference('Board Room')

    def chunks(*parts):
        yield from parts

    response = api.call('POST', 'Board Room', 'Member', 'all', 'Speak', data=chunks(b'{"text": ', b'"hello"}'))
    assert response.status_code == 202
    assert emulator.announcements('Board Room')[0]['text'] == 'hello'
    big = api.call('POST', 'Board Room', 'Member', 'all', 'Speak', data=chunks(*[b'x' * 8192] * 9))
    assert big.status_code == 413
    assert api.call('GET').status_code == 200


def test_expect_100_continue_is_answered_at_once(emulator, api):
    emulator.add_conference('Board Room')
    with socket.create_connection(('127.0.0.1', emulator.port), timeout=GUARD) as sock:
        body = b'{"text": "hello"}'
        sock.sendall(
            b'POST /api/v1/Account/MA_TEST/Conference/Board%20Room/Member/all/Speak/ HTTP/1.1\r\nHost: x\r\n'
            b'X-Auth-ID: MA_TEST\r\nX-Auth-Token: unit-test-token-9f8e7d\r\nExpect: 100-continue\r\n'
            b'Content-Length: ' + str(len(body)).encode() + b'\r\n\r\n'
        )
        assert sock.recv(25).startswith(b'HTTP/1.1 100 Continue')
        sock.sendall(body)
        reply = b''
        while b'speak started' not in reply:
            chunk = sock.recv(65536)
            assert chunk
            reply += chunk
    assert b'HTTP/1.1 202 ' in reply


def test_invalid_content_length_is_400(emulator, api):
    reply = api.raw_bytes(
        b'POST /api/v1/Account/MA_TEST/Conference/ HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n'
    )
    assert reply.startswith(b'HTTP/1.1 400 ')


@pytest.mark.parametrize(
    'target',
    [
        b'/api/v1/Account/MA_TEST/Conference/%FF%FE/',
        b'/api/v1/Account/MA_TEST/Conference/\xff\xfe/',
        b'/api/v1/Account/%C3/Conference/',
    ],
)
def test_non_utf8_path_bytes_are_400(emulator, api, target):
    request = (
        b'GET ' + target + b' HTTP/1.1\r\nHost: x\r\nX-Auth-ID: MA_TEST\r\n'
        b'X-Auth-Token: unit-test-token-9f8e7d\r\nConnection: close\r\n\r\n'
    )
    reply = api.raw_bytes(request)
    assert reply.startswith(b'HTTP/1.1 400 ')
    assert emulator.requests()[-1]['raw_path'] == target.decode('latin-1')
    assert api.call('GET').status_code == 200


@pytest.mark.parametrize(
    'request_bytes',
    [
        b'garbage\r\n\r\n',
        b'GET\r\n\r\n',
        b'GET / HTTP/9.9\r\n\r\n',
        b'BREW /pot HTTP/1.1\r\n\r\n',
        b'GET /' + b'a' * 70000 + b' HTTP/1.1\r\n\r\n',
        b'\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03',
        b'GET / HTTP/1.1\r\n' + b'X-Many: 1\r\n' * 200 + b'\r\n',
    ],
)
def test_malformed_requests_do_not_hurt(make_emulator, client_for, request_bytes):
    client = client_for(make_emulator(socket_timeout=0.5))
    reply = client.raw_bytes(request_bytes)  # returns once the server has answered and closed (or timed out the client)
    assert b'200 OK' not in reply
    assert client.call('GET').status_code == 200


def test_handler_exception_is_500_and_serving_continues(emulator, api, monkeypatch):
    emulator.add_conference('Board Room')

    def explode(self, route, body, cfg):
        raise RuntimeError('boom')

    monkeypatch.setattr(Emulator, '_do_list', explode)
    response = api.call('GET')
    assert response.status_code == 500
    assert 'RuntimeError' in response.json()['error']
    assert emulator.requests()[-1]['status'] == 500
    assert api.call('GET', 'Board Room').status_code == 200
    monkeypatch.undo()
    assert api.call('GET').status_code == 200


def test_silent_client_does_not_block_others_and_is_timed_out(make_emulator):
    emu = make_emulator(socket_timeout=0.3)
    headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emu.auth_token}
    with socket.create_connection(('127.0.0.1', emu.port), timeout=GUARD) as silent:
        response = requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers=headers, timeout=GUARD)
        assert response.status_code == 200
        assert silent.recv(1) == b''  # the server closes the idle connection after its socket timeout


def test_half_sent_body_times_out_without_pinning_the_server(make_emulator):
    emu = make_emulator(socket_timeout=0.3)
    with socket.create_connection(('127.0.0.1', emu.port), timeout=GUARD) as stalled:
        stalled.sendall(
            b'POST /api/v1/Account/MA_TEST/Conference/ HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"a"'
        )
        headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emu.auth_token}
        assert (
            requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers=headers, timeout=GUARD).status_code
            == 200
        )
        assert stalled.recv(65536) == b''  # closed after the socket timeout, without an answer
    assert emu.wait_for_log(2)
    entry = emu.requests(method='POST')[0]
    assert entry['status'] is None and entry['action'] == 'method_not_allowed'


def test_stop_closes_open_keep_alive_connections(make_emulator):
    emu = make_emulator()
    with socket.create_connection(('127.0.0.1', emu.port), timeout=GUARD) as idle:
        idle.sendall(b'GET /_emulator/state HTTP/1.1\r\nHost: x\r\n\r\n')
        assert idle.recv(12) == b'HTTP/1.1 200'
        emu.stop()
        while idle.recv(65536):
            pass
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url + '/_emulator/state', timeout=GUARD)


# --- hostile answers ---------------------------------------------------------------------------------------


def finished_entry(emulator, key='bytes_written'):
    """The last log entry, once the fault that writes its body has added ``key`` (it does so after the last byte)."""
    deadline = time.monotonic() + GUARD
    while time.monotonic() < deadline:
        entry = emulator.requests()[-1]
        if key in entry:
            return entry
        time.sleep(0.025)
    raise AssertionError('the emulator never finished writing the body')


def test_gateway_404_answers_like_the_gateway_and_changes_nothing(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': 'gateway_404', 'method': 'DELETE'}])
    response = api.call('DELETE', 'Board Room')
    assert (response.status_code, response.json()) == (404, {'message': 'Not Found'})
    assert emulator.live_names() == ['Board Room']
    assert emulator.requests()[-1]['fault'] == 'gateway_404'


@pytest.mark.parametrize('status', [200, 202, 502])
def test_html_answers_a_page_with_the_chosen_status(emulator, api, status):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': 'html', 'status': status}])
    response = api.call('DELETE', 'Board Room')
    assert response.status_code == status
    assert response.headers['Content-Type'].startswith('text/html')
    assert response.text.startswith('<!DOCTYPE html>')
    assert emulator.live_names() == ['Board Room']


@pytest.mark.parametrize('rule, status', [({}, 200), ({'status': 204}, 204), ({'status': 202}, 202)])
def test_error_body_is_a_2xx_that_says_failed(emulator, api, rule, status):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[dict(rule, kind='error_body', method='DELETE')])
    response = api.call('DELETE', 'Board Room')
    assert response.status_code == status
    if status != 204:  # a 204 carries no body by definition
        assert response.json() == {'error': 'failed'}
    assert emulator.live_names() == ['Board Room']


@pytest.mark.parametrize('declare_length', [True, False])
def test_huge_body_is_generated_and_counted(emulator, api, declare_length):
    size = 3 * 1024 * 1024 + 5
    emulator.configure(faults=[{'kind': 'huge_body', 'size': size, 'declare_length': declare_length}])
    response = api.call('GET', 'Board Room', stream=True)
    assert response.status_code == 200
    assert (response.headers.get('Content-Length') == str(size)) is declare_length
    received = sum(len(chunk) for chunk in response.iter_content(65536))
    assert received == size
    assert emulator.wait_for_log(1)
    entry = finished_entry(emulator)
    assert (entry['fault'], entry['bytes_written'], entry['body_size'], entry['client_hung_up']) == (
        'huge_body',
        size,
        size,
        False,
    )


def test_huge_body_stops_when_the_client_hangs_up(emulator, api):
    emulator.configure(faults=[{'kind': 'huge_body', 'size': 200 * 1024 * 1024}])
    response = api.call('GET', 'Board Room', stream=True)
    response.raw.read(1024)
    response.close()
    entry = finished_entry(emulator)
    assert entry['client_hung_up'] is True and entry['bytes_written'] < entry['body_size']


def test_trickle_carries_out_the_request_and_logs_each_byte(emulator, api):
    emulator.add_conference('Board Room', members=['10'])
    emulator.configure(faults=[{'kind': 'trickle', 'interval': 0.01, 'method': 'POST'}])
    response = api.call('POST', 'Board Room', 'Member', '10', 'Kick', json={})
    assert response.status_code == 202 and response.json()['member_id'] == ['10']
    entry = finished_entry(emulator)
    assert entry['fault'] == 'trickle'
    assert entry['bytes_written'] == entry['body_size'] == len(response.content)
    assert len(entry['write_times']) == entry['bytes_written']
    assert emulator.conference('Board Room')['members'] == []


def test_trickle_pads_an_empty_reply_and_records_the_client_hanging_up(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': 'trickle', 'interval': 0.05, 'size': 400}])
    response = api.call('DELETE', 'Board Room', stream=True)
    assert response.status_code == 200 and response.headers['Content-Length'] == '400'
    assert response.raw.read(3) == b'{} '
    response.close()
    entry = finished_entry(emulator)
    assert emulator.live_names() == []  # the hang-up itself was carried out
    assert entry['client_hung_up'] is True and 3 <= entry['bytes_written'] < 400


@pytest.mark.parametrize('style', ['flat', 'envelope'])
def test_control_chars_error_text(emulator, api, style):
    emulator.configure(error_style=style, faults=[{'kind': 'control_chars'}])
    response = api.call('DELETE', 'Board Room')
    body = response.json()
    text = body['error'] if style == 'flat' else body['error']['message']
    assert response.status_code == 400
    for piece in ('\x1b[31m', '\r', '\x07', '\u202e', '\n[ERROR]: forged'):
        assert piece in text


@pytest.mark.parametrize('shape', ['flat', 'envelope', 'text'])
def test_echo_token_puts_the_request_token_at_the_offset(emulator, api, shape):
    emulator.configure(faults=[{'kind': 'echo_token', 'offset': 7, 'size': 40, 'shape': shape, 'status': 503}])
    response = api.call('DELETE', 'Board Room')
    assert response.status_code == 503
    if shape == 'text':
        text = response.text
        assert response.headers['Content-Type'].startswith('text/plain')
    elif shape == 'envelope':
        text = response.json()['error']['details']
    else:
        text = response.json()['error']
    token = api.headers['X-Auth-Token']
    assert text.index(token) == 7 and len(text) == 40


@pytest.mark.parametrize(
    'rule',
    [
        {'status': 99},
        {'status': True},
        {'size': -1},
        {'interval': -1},
        {'offset': 'x'},
        {'shape': 'xml'},
        {'declare_length': 'yes'},
    ],
)
def test_hostile_fault_keys_are_validated(emulator, rule):
    with pytest.raises(ValueError):
        emulator.configure(faults=[dict(rule, kind='html')])


def test_other_conference_answers_a_retrieve_with_another_rooms_object(emulator, api):
    emulator.add_conference('target', members=3)
    emulator.add_conference('other', members=1)
    emulator.configure(faults=[{'kind': 'other_conference'}])
    response = api.call('GET', 'target')
    assert response.status_code == 200 and response.json()['conference_name'] == 'other'
    assert response.json()['conference_member_count'] == '1'
    # Other requests are served as usual: the hang-up still ends the named room.
    assert api.call('DELETE', 'target').status_code == 204 and emulator.live_names() == ['other']
    emulator.remove_conference('other')
    emulator.add_conference('alone')
    made_up = api.call('GET', 'alone').json()
    assert (
        made_up['conference_name'] == 'alone (another room)'
        and [e['fault'] for e in emulator.requests()][-1] == 'other_conference'
    )
