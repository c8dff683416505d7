# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _api_client: one request with bounded retries (backoff, Retry-After, what is never retried), fatal
answers that stop the run, the one reading of every answer (classify_answer), what leaves the client (no token)."""

import threading

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _api_client, _conference_api, _errors
from ansible_collections.vobiz.voice.plugins.module_utils._api_client import extract_error_message
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizAuthError
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator
from ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.helpers import (
    ECHO_TOKEN,
    HANG_GUARD,
    Poll,
    Sleeps,
    assert_no_token_piece,
    assert_unknown_route,
    free_port,
    make_client,
)
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID, PREFIX, TOKEN


def test_path_for_matches_wire(emulator):
    client = make_client(emulator)
    assert client.path_for('Conference', '..') == PREFIX + '%2E%2E/'
    assert client.retrieve('..').state == 'absent'
    assert emulator.requests()[0]['raw_path'] == client.path_for('Conference', '..')


def test_retry_after_seconds_is_honoured(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '429_retry_after', 'method': 'DELETE', 'first_n': 1, 'retry_after': 7}])
    sleeps = Sleeps()
    client = make_client(emulator, sleeps)
    outcome = client.hangup('r')
    assert outcome.outcome == 'hung_up' and outcome.attempts == 2
    assert sleeps == [7]
    assert [e['status'] for e in emulator.requests()] == [429, 204]
    assert len(client.warnings) == 1 and "'r'" in client.warnings[0] and '2 attempts' in client.warnings[0]


def test_retry_after_http_date_is_honoured(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '429_retry_after_date', 'method': 'DELETE', 'first_n': 1, 'retry_after': 20}])
    sleeps = Sleeps()
    outcome = make_client(emulator, sleeps).hangup('r')
    assert outcome.outcome == 'hung_up'
    assert len(sleeps) == 1 and 17 <= sleeps[0] <= 20


def test_retry_after_beyond_budget_gives_up_at_once(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '429_retry_after', 'method': 'DELETE', 'retry_after': 120}])
    sleeps = Sleeps()
    outcome = make_client(emulator, sleeps, retry_max_wait=60).hangup('r')
    assert outcome.outcome == 'failed' and outcome.status == 429
    assert sleeps == []
    assert len(emulator.requests()) == 1


def test_backoff_is_jittered_exponential_and_bounded(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '503', 'method': 'DELETE'}])
    sleeps = Sleeps()
    outcome = make_client(emulator, sleeps, retries=20, retry_max_wait=10).hangup('r')
    assert outcome.outcome == 'failed' and outcome.status == 503
    assert outcome.message.startswith('HTTP 503')
    assert len(emulator.requests()) == 21
    assert sum(sleeps) <= 10 + 1e-9
    # step n lies between half and all of 0.5 * 2 ** (n - 1)
    for attempt, delay in enumerate(sleeps[:4], start=1):
        step = 0.5 * 2 ** (attempt - 1)
        assert step / 2 <= delay <= step
    assert emulator.live_names() == ['r']


def test_retries_count_is_respected(emulator):
    emulator.configure(faults=[{'kind': '502', 'method': 'GET'}])
    sleeps = Sleeps()
    retrieved = make_client(emulator, sleeps, retries=3).retrieve('x')
    assert retrieved.state == 'unreadable' and retrieved.status == 502
    assert len(emulator.requests()) == 4 and len(sleeps) == 3


@pytest.mark.parametrize('kind', ['500', '502', '503', '504', '429', 'drop'])
def test_transient_faults_are_retried(emulator, kind):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': kind, 'method': 'DELETE', 'first_n': 2}])
    outcome = make_client(emulator).hangup('r')
    assert outcome.outcome == 'hung_up' and outcome.attempts == 3
    assert [e['fault'] for e in emulator.requests()] == [kind, kind, None]


def test_read_timeout_is_retried_and_ambiguous(emulator):
    emulator.add_conference('r')
    # A 2 s delay against a 0.2 s timeout: only a client stalled for almost 2 s would still read the answer.
    emulator.configure(faults=[{'kind': 'slow', 'method': 'DELETE', 'first_n': 1, 'delay': 2.0}])
    outcome = make_client(emulator, timeout=0.2).hangup('r')
    # The first DELETE timed out (its reply may be lost), so the outcome is marked ambiguous.
    assert emulator.wait_for_log(2)
    assert len(emulator.requests(method='DELETE')) == 2
    assert outcome.outcome == 'hung_up' and outcome.ambiguous


def test_urllib3_never_retries_silently(emulator):
    """With retries=0 a lost reply is one request and uncertain (it may have been done), never a false 'already
    absent'."""
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}])
    outcome = make_client(emulator, retries=0).hangup('r')
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status is None and outcome.ambiguous
    assert (
        'may have reached the server' in outcome.message
        and 'whether the room was hung up is unknown' in outcome.message
    )
    assert len(emulator.requests()) == 1
    assert emulator.live_names() == []


@pytest.mark.parametrize(
    'fault, outcome, status',
    [
        ({'kind': '504', 'processed': True}, _conference_api.OUTCOME_UNCERTAIN, 504),
        ({'kind': 'lost_reply'}, _conference_api.OUTCOME_UNCERTAIN, None),
        ({'kind': '503'}, _conference_api.OUTCOME_FAILED, 503),
    ],
    ids=['504-after-acting', 'lost-reply', '503'],
)
def test_a_run_stopped_while_a_retry_waits_reports_what_the_attempts_got(emulator, fault, outcome, status):
    """Another worker's fatal error (a 403 elsewhere) during the backoff: the attempt that went out is this room's
    outcome.

    Never "not sent": a room that may have been hung up must not drop out of the result.
    """
    emulator.add_conference('r')
    emulator.configure(faults=[dict(fault, method='DELETE')])
    client = make_client(
        emulator, sleep=lambda seconds: client._control.stop(_errors.VobizAuthError('HTTP 403 elsewhere', status=403))
    )
    result = client.hangup('r')
    assert (result.outcome, result.status, result.attempts) == (outcome, status, 1)
    assert len(emulator.requests()) == 1
    if outcome == _conference_api.OUTCOME_UNCERTAIN:
        assert 'whether the room was hung up is unknown' in result.message and emulator.live_names() == []
    if status is not None:  # an answer that was to be retried: the warning says it was not
        assert any('not retried, the run was stopped' in warning for warning in client.warnings)


def test_connect_error_is_not_ambiguous():
    """Refused connection, then a server that answers 404: the room was already absent."""
    port = free_port()
    started = []

    def sleep_hook(seconds):
        if not started:
            started.append(Emulator(auth_id=AUTH_ID, auth_token=TOKEN, port=port).start())

    client = ConferenceApi(AUTH_ID, TOKEN, api_url='http://127.0.0.1:%d/api/v1' % port, sleep=sleep_hook)
    try:
        outcome = client.hangup('r')
    finally:
        for emu in started:
            emu.stop()
    assert outcome.outcome == 'already_absent' and outcome.attempts == 2 and not outcome.ambiguous


def test_unreachable_server_fails_without_token():
    sleeps = Sleeps()
    client = ConferenceApi(AUTH_ID, TOKEN, api_url='http://127.0.0.1:%d/api/v1' % free_port(), retries=2, sleep=sleeps)
    outcome = client.hangup('r')
    assert outcome.outcome == 'failed' and outcome.status is None and not outcome.ambiguous
    assert outcome.attempts == 3 and len(sleeps) == 2
    assert 'connection failed' in outcome.message
    assert TOKEN not in outcome.message and TOKEN not in ''.join(client.warnings)


def test_404_400_are_never_retried(emulator):
    client = make_client(emulator)
    emulator.add_conference('r')
    assert client.hangup('absent').attempts == 1
    result = client.member_action('POST', 'r', 'all', 'Speak', {'text': ''})
    assert result.status == 400 and not result.ok and result.attempts == 1
    assert len(emulator.requests()) == 2
    assert client.warnings == []


def test_warn_once_per_name(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '503', 'first_n': 1}])
    client = make_client(emulator)
    assert client.retrieve('r').state == 'present'
    assert client.hangup('r').outcome == 'hung_up'
    assert len(client.warnings) == 1 and "'r'" in client.warnings[0]


def test_401_is_fatal_names_auth_id_and_url_without_token(emulator):
    client = make_client(emulator, auth_token='wrong-' + TOKEN)
    with pytest.raises(VobizAuthError) as info:
        client.hangup('r')
    text = str(info.value)
    assert 'Authentication failed' in text and AUTH_ID in text and emulator.api_url in text
    assert TOKEN not in text and TOKEN not in repr(info.value)
    assert len(emulator.requests()) == 1
    assert client.aborted
    # No further request is started once the batch is stopped.
    with pytest.raises(VobizAuthError):
        client.run_concurrently(client.hangup, ['a', 'b'])
    assert len(emulator.requests()) == 1


def test_403_is_fatal_permission_denied(emulator):
    emulator.add_conference('secret')
    emulator.configure(forbidden=['secret'])
    client = make_client(emulator)
    with pytest.raises(VobizAuthError) as info:
        client.hangup('secret')
    assert 'Permission denied for auth_id' in str(info.value) and emulator.api_url in str(info.value)
    assert info.value.status == 403


def test_envelope_errors_are_read(emulator):
    emulator.configure(error_style='envelope', faults=[{'kind': '503', 'method': 'DELETE'}])
    outcome = make_client(emulator, retries=0).hangup('r')
    assert outcome.message == 'HTTP 503: service unavailable (code SERVICE_UNAVAILABLE)'


def test_extract_error_message_shapes():
    assert extract_error_message({'api_id': 'x', 'error': 'conference not found'}) == 'conference not found'
    env = {'status': 'error', 'error': {'code': 'NOT_FOUND', 'message': 'nope', 'details': {'id': 1}}, 'requestId': 'r'}
    assert extract_error_message(env) == 'nope (code NOT_FOUND) - {"id": 1}'
    assert extract_error_message({'message': 'Not Found'}) == 'Not Found'
    assert extract_error_message(None, '<html>\n  Bad   gateway</html>') == '<html> Bad gateway</html>'
    assert extract_error_message(None, '') is None
    assert extract_error_message(['odd']) is None


def test_non_json_body_does_not_crash():
    client = ConferenceApi(AUTH_ID, TOKEN, api_url='http://127.0.0.1:9/api/v1')

    class Fake:
        status = 502
        data = b'<html>bad gateway ' + TOKEN.encode() + b'</html>'

    answer = client._read_response(Fake(), 1, False)
    assert answer.status == 502 and not answer.json_ok and answer.body is None
    assert 'bad gateway' in answer.describe() and TOKEN not in answer.describe() and TOKEN not in answer.text


@pytest.mark.parametrize('rule', [{'kind': 'gateway_404'}, {'kind': 'html', 'status': 404}])
def test_non_vobiz_404_on_the_right_prefix_is_an_unknown_route(emulator, rule):
    emulator.add_conference('room')
    emulator.configure(faults=[rule])
    client = make_client(emulator)
    with pytest.raises(_errors.VobizFatalError) as info:
        client.hangup('room')
    assert_unknown_route(info, client.api_url)


@pytest.mark.parametrize(
    'status, body, kind',
    [
        (404, {'error': 'conference not found'}, 'not_found'),
        (404, {'api_id': 'x', 'error': 'conference not found'}, 'not_found'),
        (404, {'error': ' Conference not found. '}, 'not_found'),
        (
            404,
            {
                'status': 'error',
                'error': {'code': 'NOT_FOUND', 'message': 'conference not found', 'details': None},
                'requestId': 'r',
            },
            'not_found',
        ),
        # Issue 23: a 404 that is not the conference's own cannot be told from a wrong path's (api_url pasted with
        # /Account/MA_X answered {"error": "not found"}): never "already absent".
        (404, None, 'unknown_route'),
        (404, {'error': 'not found'}, 'unknown_route'),
        (404, {'api_id': 'x', 'error': 'Not Found'}, 'unknown_route'),
        (404, {'error': 'member not found'}, 'unknown_route'),  # only on member routes
        (
            404,
            {'status': 'error', 'error': {'code': 'NOT_FOUND', 'message': 'm', 'details': None}, 'requestId': 'r'},
            'unknown_route',
        ),
        (404, {'message': 'Not Found'}, 'unknown_route'),
        (404, {'error': 'x', 'message': 'Not Found'}, 'unknown_route'),
        (404, {'error': ''}, 'unknown_route'),
        (404, ['odd'], 'unknown_route'),
        (204, None, 'success'),
        (200, {}, 'success'),
        (202, {'message': 'kicked', 'member_id': ['10']}, 'success'),
        (200, {'error': None, 'message': 'ok'}, 'success'),
        (200, {'error': 'failed'}, 'error'),
        (202, {'status': 'error', 'error': {'message': 'x'}}, 'error'),
        (200, {'status': 'error'}, 'error'),
        (200, ['a'], 'error'),
        (503, {'error': 'x'}, 'error'),
    ],
)
def test_classify_answer(status, body, kind):
    assert _api_client.classify_answer(status, body) == kind


def test_member_routes_also_own_member_not_found():
    assert (
        _api_client.classify_answer(404, {'error': 'member not found'}, own_404=_api_client.MEMBER_ROUTE_404)
        == 'not_found'
    )
    assert (
        _api_client.classify_answer(404, {'error': 'not found'}, own_404=_api_client.MEMBER_ROUTE_404)
        == 'unknown_route'
    )


@pytest.mark.parametrize('status', [404, 200])
def test_classify_answer_non_json_and_unreadable_bodies(status):
    assert _api_client.classify_answer(status, None, json_ok=False) == ('unknown_route' if status == 404 else 'error')
    assert _api_client.classify_answer(status, None, problem='too large') == 'error'


@pytest.mark.parametrize(
    'shape, status', [('flat', 400), ('envelope', 400), ('text', 400), ('flat', 503), ('text', 200)]
)
def test_an_echoed_token_never_leaves_the_client(shape, status):
    with Emulator(auth_id=AUTH_ID, auth_token=ECHO_TOKEN) as emu:
        client = make_client(emu, auth_token=ECHO_TOKEN, retries=1)
        for size in (40, 210, 320, 600):
            for offset in range(0, size - 5, 1 if size <= 320 else 7):
                emu.configure(
                    faults=[{'kind': 'echo_token', 'shape': shape, 'status': status, 'offset': offset, 'size': size}]
                )
                outcome = client.hangup('room')
                # A 2xx that is not JSON cannot tell whether the room was hung up.
                assert outcome.outcome == (
                    _conference_api.OUTCOME_UNCERTAIN if status == 200 else _conference_api.OUTCOME_FAILED
                )
                assert_no_token_piece(outcome.message)
        assert_no_token_piece(*client.warnings)


def test_control_characters_from_the_server_are_escaped(emulator):
    emulator.configure(faults=[{'kind': 'control_chars'}])
    client = make_client(emulator)
    message = client.hangup('room').message
    for bad in ('\x1b', '\r', '\x07', '\n', '\u202e'):
        assert bad not in message
    assert '\\x1b[31mred' in message and '\\n[ERROR]: forged' in message and '\\u202e' in message


def test_delete_answered_400_is_sent_once(scripted):
    """Defect: a DELETE answered 400 is retried. A 400 is the server's final word: exactly one request."""
    server = scripted(lambda entry: (400, {}, {'api_id': 'x', 'error': 'invalid request'}))
    client = make_client(server.api_url, retries=5)
    outcome = client.hangup('Board Room')
    assert [(e['method'], e['path']) for e in server.log] == [('DELETE', PREFIX + 'Board%20Room/')]
    assert outcome.outcome == 'failed' and outcome.status == 400 and outcome.attempts == 1
    assert 'invalid request' in outcome.message
    assert client.warnings == []


def stop_a_batch_with_a_403(emulator, client, busy_fault, guard):
    """Hang up ``busy`` (which meets ``busy_fault``) and ``secret`` (403) in one batch of two workers, in a thread.

    The 403 must stop the batch: the thread ends within ``guard`` seconds (a hang guard, never a speed
    test), the batch raises the 403, and each room got exactly one request.
    """
    emulator.add_conference('busy')
    emulator.add_conference('secret')
    emulator.configure(forbidden=['secret'], faults=[dict(busy_fault, match='busy')])
    outcome = {}

    def batch():
        try:
            client.run_concurrently(client.hangup, ['busy', 'secret'])
        except VobizAuthError as exc:
            outcome['error'] = exc

    worker = threading.Thread(target=batch, daemon=True)
    worker.start()
    worker.join(guard)
    assert not worker.is_alive(), 'a worker waiting to retry was not stopped by the 403'
    assert outcome['error'].status == 403
    assert sorted((e['conference'], e['status']) for e in emulator.requests()) == [('busy', 503), ('secret', 403)]


def test_fatal_error_ends_a_backoff_wait_at_once(emulator):
    """Defect: a backoff sleep is not cut short when another worker hits a fatal error.

    ``busy`` is told to come back in three minutes (503, Retry-After 180: a wait for that request
    alone; a 429's Retry-After would hold every worker in the pacer); while its worker waits,
    the next room gets a 403, which stops the batch. The waiting worker must stop at once without
    its retry. With the defect the batch waits the three minutes: the guard (a third of that, and
    thousands of times what a right client needs) fails it first.
    """
    client = make_client(emulator.api_url, parallel=2, retry_max_wait=600, sleep=None)
    stop_a_batch_with_a_403(emulator, client, {'kind': '503_retry_after', 'retry_after': 180}, guard=60)
    assert emulator.live_names() == ['busy', 'secret']


def test_no_retry_is_sent_once_the_batch_is_stopped(emulator):
    """Defect: a worker sends its retry after another worker's fatal error (injected sleep, no real wait)."""
    waits = []

    def sleep_until_the_batch_is_stopped(seconds):
        waits.append(seconds)
        # The "wait" lasts until the 403 has been answered and has stopped the batch (a real wait is cut short then).
        assert emulator.wait_for_log(2, timeout=HANG_GUARD)
        stopped.wait_for(lambda: client.aborted)

    stopped = Poll()
    client = make_client(emulator.api_url, parallel=2, retries=5, sleep=sleep_until_the_batch_is_stopped)
    stop_a_batch_with_a_403(emulator, client, {'kind': '503'}, guard=HANG_GUARD)
    assert len(waits) == 1
