# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the private client, over real HTTP against the in-process emulator."""

import json
import os
import socket
import threading
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils import _api_client, _batch, _conference_api, _errors, _redaction, _transport, _urls
from ansible_collections.vobiz.voice.plugins.module_utils._api_client import extract_error_message
from ansible_collections.vobiz.voice.plugins.module_utils._audit import AuditLog
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi, is_conference_gone
from ansible_collections.vobiz.voice.plugins.module_utils._connection import (
    validate_connection_params,
    vobiz_argument_spec,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import (
    VobizAuthError,
    VobizInputError,
    VobizItemError,
    VobizRequestError,
    VobizTLSError,
)
from ansible_collections.vobiz.voice.plugins.module_utils._selection import Selection, normalize_name_list
from ansible_collections.vobiz.voice.plugins.module_utils._urls import (
    encode_member_spec,
    encode_segment,
    validate_api_url,
)
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID, BAD_CONNECTION_VALUES, PREFIX, TOKEN, TRICKY


class Sleeps(list):
    """Injected sleep: records the requested delays instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


def make_client(emu, sleeps=None, **kwargs):
    options = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=emu.api_url, retries=5, retry_max_wait=60, sleep=sleeps if sleeps is not None else Sleeps())
    options.update(kwargs)
    return ConferenceApi(**options)


def expected_path(name):
    return PREFIX + quote(name, safe='').replace('.', '%2E') + '/'


# --- URL building -------------------------------------------------------------


def test_encode_segment_table():
    for name, encoded in TRICKY.items():
        assert encode_segment(name) == encoded
    assert encode_segment('ci-7_x~') == 'ci-7_x~'


def test_encode_member_spec():
    assert encode_member_spec('all') == 'all'
    assert encode_member_spec(15) == '15'
    assert encode_member_spec(['10', 15]) == '10,15'
    assert encode_member_spec('10,15') == '10,15'
    assert encode_member_spec(['a/b', '.']) == 'a%2Fb,%2E'
    with pytest.raises(VobizInputError):
        encode_member_spec([])
    with pytest.raises(VobizInputError):
        encode_member_spec('10,,15')


def test_tricky_names_raw_paths(emulator):
    client = make_client(emulator)
    for name in TRICKY:
        emulator.add_conference(name)
    emulator.add_conference('a')
    emulator.add_conference('b')
    for name, encoded in TRICKY.items():
        emulator.clear_log()
        outcome = client.hangup(name)
        log = emulator.requests()
        assert [entry['raw_path'] for entry in log] == [PREFIX + encoded + '/'], name
        assert log[0]['method'] == 'DELETE'
        assert log[0]['conference'] == name
        assert outcome.outcome == 'hung_up', name
    # Bystanders whose names the encodings could collapse into survive.
    assert emulator.live_names() == ['a', 'b']


def test_path_for_matches_wire(emulator):
    client = make_client(emulator)
    assert client.path_for('Conference', '..') == PREFIX + '%2E%2E/'
    assert client.retrieve('..').state == 'absent'
    assert emulator.requests()[0]['raw_path'] == client.path_for('Conference', '..')


def test_auth_id_is_encoded_too():
    client = ConferenceApi('MA/../x', TOKEN, api_url='http://127.0.0.1:9/api/v1')
    assert client.url_for('Conference', 'a') == 'http://127.0.0.1:9/api/v1/Account/MA%2F%2E%2E%2Fx/Conference/a/'


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(name=st.text(alphabet=st.characters(exclude_categories=('Cs',)), min_size=1))
def test_property_any_name_one_exact_request(emulator, name):
    if emulator.api_url not in _PROPERTY_CLIENTS:
        _PROPERTY_CLIENTS[emulator.api_url] = make_client(emulator)
    client = _PROPERTY_CLIENTS[emulator.api_url]
    emulator.clear_log()
    outcome = client.hangup(name)
    log = emulator.requests()
    assert len(log) == 1
    assert log[0]['raw_path'] == expected_path(name)
    assert log[0]['conference'] == name
    assert outcome.outcome == 'already_absent'


_PROPERTY_CLIENTS = {}


# --- the session ----------------------------------------------------------------


def test_session_pool_headers_and_no_urllib3_retries(emulator):
    client = make_client(emulator, parallel=7)
    adapter = client._transport._session.get_adapter(emulator.api_url)
    assert adapter._pool_maxsize == 7
    assert adapter.max_retries.total == 0
    assert adapter.max_retries.read is False
    assert (
        client._transport._session.get_adapter('https://api.vobiz.ai') is adapter
        or client._transport._session.get_adapter('https://api.vobiz.ai').max_retries.total == 0
    )
    headers = client._transport._session.headers
    assert headers['X-Auth-ID'] == AUTH_ID
    assert headers['X-Auth-Token'] == TOKEN
    assert headers['Content-Type'] == 'application/json'
    assert TOKEN not in repr(client)


def test_keep_alive_connections_are_reused(emulator):
    client = make_client(emulator, parallel=4)
    names = ['room-%d' % i for i in range(40)]
    for name in names:
        emulator.add_conference(name)
    outcomes = client.run_concurrently(client.hangup, names)
    assert [o.name for o in outcomes] == names
    assert all(o.outcome == 'hung_up' for o in outcomes)
    assert emulator.connection_count <= 4
    assert emulator.live_names() == []


# --- retries ------------------------------------------------------------------------


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


def test_lost_reply_then_404_of_a_room_seen_live_is_hung_up_by_this_run(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}])
    outcome = make_client(emulator).hangup('r', seen_live=True)
    assert outcome.outcome == 'hung_up'
    assert outcome.status == 404 and outcome.ambiguous and 'this run' in outcome.message
    assert [(e['fault'], e['status']) for e in emulator.requests()] == [('lost_reply', None), (None, 404)]


@pytest.mark.parametrize('kind', ['502', '504'])
def test_gateway_error_after_the_api_acted_then_404_of_a_room_seen_live_is_hung_up_by_this_run(emulator, kind):
    """A gateway's 502/504 may come after the API carried the DELETE out: for a room seen live, the retry's 404 is then this run's doing."""
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': kind, 'method': 'DELETE', 'first_n': 1, 'processed': True}])
    outcome = make_client(emulator).hangup('r', seen_live=True)
    assert outcome.outcome == 'hung_up' and outcome.ambiguous and 'this run' in outcome.message
    assert [(e['fault'], e['status']) for e in emulator.requests()] == [(kind, int(kind)), (None, 404)]


@pytest.mark.parametrize(
    'rule',
    [
        {'kind': '502'},  # a gateway that never reached the API
        {'kind': '502', 'processed': True},  # or one that did: the answers are the same
        {'kind': '504'},
        {'kind': 'lost_reply'},
        {'kind': 'drop'},
    ],
    ids=['502', '502-processed', '504', 'lost-reply', 'drop'],
)
def test_a_maybe_done_attempt_then_404_of_a_room_not_seen_live_is_gone_unconfirmed(emulator, rule):
    """Issue 23: a 404 after an attempt that may have reached the API proves the room gone, not who ended it."""
    if rule.get('processed') or rule['kind'] in ('lost_reply',):
        emulator.add_conference('r')
    emulator.configure(faults=[dict(rule, method='DELETE', first_n=1)])
    outcome = make_client(emulator).hangup('r')
    assert outcome.outcome == 'gone_unconfirmed' and outcome.status == 404 and outcome.ambiguous
    assert 'whether this run hung it up is unknown' in outcome.message
    assert [e['status'] for e in emulator.requests()][-1] == 404 and len(emulator.requests()) == 2


@pytest.mark.parametrize('kind', ['500', '503', '429'])
def test_other_retried_answers_then_404_is_already_absent(emulator, kind):
    """Only a gateway's 502/504 may follow a carried-out request; after the others a 404 says the room was not live."""
    emulator.configure(faults=[{'kind': kind, 'method': 'DELETE', 'first_n': 1}])
    outcome = make_client(emulator).hangup('r')
    assert outcome.outcome == 'already_absent' and not outcome.ambiguous and outcome.attempts == 2


@pytest.mark.parametrize(
    'faults, status, why',
    [
        ([{'kind': '504'}], 504, "a gateway's answer: the API may have carried the request out"),
        ([{'kind': '502', 'first_n': 1}, {'kind': '503'}], 503, 'after an earlier attempt that may have been carried out unheard'),
    ],
    ids=['504-to-the-end', '502-then-503'],
)
def test_gateway_error_until_the_retries_are_used_up_is_uncertain(emulator, faults, status, why):
    emulator.add_conference('r')
    emulator.configure(faults=[dict(rule, method='DELETE') for rule in faults])
    outcome = make_client(emulator, retries=2).hangup('r')
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status == status and outcome.attempts == 3
    assert why in outcome.message and 'whether the room was hung up is unknown' in outcome.message


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
    """Another worker's fatal error (a 403 elsewhere) during the backoff: the attempt that went out is this room's outcome.

    Never "not sent": a room that may have been hung up must not drop out of the result.
    """
    emulator.add_conference('r')
    emulator.configure(faults=[dict(fault, method='DELETE')])
    client = make_client(emulator, sleep=lambda seconds: client._control.stop(_errors.VobizAuthError('HTTP 403 elsewhere', status=403)))
    result = client.hangup('r')
    assert (result.outcome, result.status, result.attempts) == (outcome, status, 1)
    assert len(emulator.requests()) == 1
    if outcome == _conference_api.OUTCOME_UNCERTAIN:
        assert 'whether the room was hung up is unknown' in result.message and emulator.live_names() == []
    if status is not None:  # an answer that was to be retried: the warning says it was not
        assert any('not retried, the run was stopped' in warning for warning in client.warnings)


MEMBER_NOT_FOUND = {'error': 'member not found'}
CONFERENCE_NOT_FOUND = {'error': 'conference not found'}


@pytest.mark.parametrize(
    'body, ambiguous, removing, room_wide, expected',
    [
        (MEMBER_NOT_FOUND, True, True, True, _conference_api.OUTCOME_ACTED),
        (MEMBER_NOT_FOUND, False, True, True, _conference_api.OUTCOME_ALREADY),
        (MEMBER_NOT_FOUND, True, False, True, _conference_api.OUTCOME_ALREADY),
        (CONFERENCE_NOT_FOUND, True, True, False, _conference_api.OUTCOME_ACTED),
        (CONFERENCE_NOT_FOUND, False, True, False, _conference_api.OUTCOME_CONFERENCE_ABSENT),
        (CONFERENCE_NOT_FOUND, True, False, False, _conference_api.OUTCOME_CONFERENCE_ABSENT),
    ],
    ids=[
        'room-wide-removal-unheard',
        'room-wide-removal',
        'room-wide-mute-unheard',
        'removal-unheard-room-gone',
        'removal-room-gone',
        'mute-unheard-room-gone',
    ],
)
def test_member_outcome_after_an_attempt_that_may_have_been_done(body, ambiguous, removing, room_wide, expected):
    """Only a removal that may have been done unheard takes a later 404 as its own doing (the room ends with its last member)."""
    answer = _conference_api.MemberActionResult('r', 'all', None, 'DELETE', False, 404, body, is_conference_gone(404, body), 'not found', 2, ambiguous)
    assert _conference_api.member_outcome(answer, removing=removing, room_wide=room_wide)[0] == expected


def test_member_failure_without_answer_after_a_maybe_done_attempt_is_uncertain():
    error = _errors.VobizRequestError('Mute failed after 2 attempt(s): connection lost', attempts=2, ambiguous=True)
    assert _conference_api.member_outcome(error) == (
        _conference_api.OUTCOME_UNCERTAIN,
        None,
        error.message + ', so whether the action was carried out is unknown',
    )


def test_urllib3_never_retries_silently(emulator):
    """With retries=0 a lost reply is one request and uncertain (it may have been done), never a false 'already absent'."""
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}])
    outcome = make_client(emulator, retries=0).hangup('r')
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status is None and outcome.ambiguous
    assert 'may have reached the server' in outcome.message and 'whether the room was hung up is unknown' in outcome.message
    assert len(emulator.requests()) == 1
    assert emulator.live_names() == []


def test_an_error_answer_after_a_lost_reply_is_uncertain(emulator):
    """The first DELETE's reply is lost (it may have hung the room up), the retries get 503s: whether it was hung up is unknown."""
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}, {'kind': '503', 'method': 'DELETE'}])
    outcome = make_client(emulator, retries=1).hangup('r')
    assert [e['fault'] for e in emulator.requests()] == ['lost_reply', '503']
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status == 503 and outcome.ambiguous
    assert 'reply was lost' in outcome.message and 'whether the room was hung up is unknown' in outcome.message


def _free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def test_connect_error_is_not_ambiguous():
    """Refused connection, then a server that answers 404: the room was already absent."""
    port = _free_port()
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
    client = ConferenceApi(AUTH_ID, TOKEN, api_url='http://127.0.0.1:%d/api/v1' % _free_port(), retries=2, sleep=sleeps)
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


# --- errors ---------------------------------------------------------------------------


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


def test_batch_stops_on_auth_error_and_keeps_finished_results(emulator):
    names = ['n%d' % i for i in range(8)]
    for name in names:
        emulator.add_conference(name)
    emulator.configure(forbidden=['n3'])
    client = make_client(emulator, parallel=1)
    seen = []
    with pytest.raises(VobizAuthError) as info:
        client.run_concurrently(client.hangup, names, on_result=lambda item, result: seen.append(item))
    results = info.value.results
    assert [r.outcome if isinstance(r, _conference_api.Outcome) else r for r in results[:3] + results[4:]] == ['hung_up'] * 3 + [None] * 4
    assert isinstance(results[3], _errors.VobizItemError) and results[3].status == 403 and not results[3].ambiguous
    assert seen == ['n0', 'n1', 'n2', 'n3']
    assert [e['conference'] for e in emulator.requests()] == ['n0', 'n1', 'n2', 'n3']
    assert emulator.live_names() == ['n3', 'n4', 'n5', 'n6', 'n7']


def test_batch_auth_error_with_parallel_requests_starts_no_new_ones(emulator):
    """The first request goes alone: a wrong token costs exactly one request, not ``parallel`` of them."""
    names = ['n%d' % i for i in range(60)]
    emulator.configure(latency_ms=50)  # the 401 comes back after a round trip, as over a real network
    client = make_client(emulator, parallel=4, auth_token='bad-token')
    with pytest.raises(VobizAuthError):
        client.run_concurrently(client.hangup, names)
    assert [(e['conference'], e['status']) for e in emulator.requests()] == [('n0', 401)]


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


def test_conference_gone_detection(emulator):
    client = make_client(emulator)
    result = client.member_action('POST', 'nowhere', 'all', 'Mute', {})
    assert result.conference_gone and not result.ok and result.status == 404
    assert is_conference_gone(200, {'error': 'conference not found'})
    assert not is_conference_gone(202, {'message': 'muted'})


def test_member_action_success_and_path(emulator):
    emulator.add_conference('room', members=['10', '15'])
    client = make_client(emulator)
    result = client.member_action('POST', 'room', ['10', '15'], 'Mute', {})
    assert result.ok and result.status == 202 and result.body['member_id'] == ['10', '15']
    assert emulator.requests()[-1]['raw_path'] == PREFIX + 'room/Member/10,15/Mute/'
    hung = client.member_action('DELETE', 'room', '10', None)
    assert hung.ok and hung.status == 204
    assert emulator.requests()[-1]['raw_path'] == PREFIX + 'room/Member/10/'


# --- retrieve / list / all --------------------------------------------------------------


def test_retrieve_present_absent_unreadable(emulator):
    emulator.add_conference('room', members=3)
    client = make_client(emulator)
    present = client.retrieve('room')
    assert present.state == 'present' and present.member_count == 3
    assert client.retrieve('gone').state == 'absent'
    emulator.configure(retrieve_lies=True)
    lie = client.retrieve('room')
    assert lie.state == 'unreadable' and lie.status == 200 and 'failed' in lie.reason


def test_list_names_and_lies(emulator):
    emulator.add_conference('b')
    emulator.add_conference('a')
    client = make_client(emulator)
    names, readable = client.list_names()
    assert sorted(names) == ['a', 'b'] and readable
    emulator.configure(list_lies=True)
    assert client.list_names() == ([], True)


def test_list_http_error_raises(emulator):
    emulator.configure(faults=[{'kind': '500', 'method': 'GET'}])
    with pytest.raises(VobizRequestError):
        make_client(emulator, retries=1).list_names()


def test_hangup_all(emulator):
    emulator.add_conference('a')
    emulator.add_conference('b')
    answer = make_client(emulator).hangup_all()
    assert answer.status == 204 and answer.outcome == _conference_api.OUTCOME_HUNG_UP
    assert emulator.requests()[0]['raw_path'] == PREFIX
    assert emulator.live_names() == []


# --- TLS ---------------------------------------------------------------------------------


def test_tls_with_ca_path():
    with Emulator(auth_id=AUTH_ID, auth_token=TOKEN, conferences=['r'], tls=True) as emu:
        client = make_client(emu, ca_path=emu.ca_file)
        assert client.hangup('r').outcome == 'hung_up'
        with pytest.raises(VobizTLSError) as info:
            make_client(emu).hangup('x')
        assert 'ca_path' in str(info.value)
        assert len(emu.requests()) == 1
        assert make_client(emu, validate_certs=False).hangup('x').outcome == 'already_absent'


# --- validation ---------------------------------------------------------------------------


def _params(**kwargs):
    params = dict(
        auth_id=AUTH_ID,
        auth_token=TOKEN,
        api_url='https://api.vobiz.ai/api/v1',
        validate_certs=True,
        ca_path=None,
        timeout=10.0,
        retries=5,
        retry_max_wait=60.0,
        parallel=16,
    )
    params.update(kwargs)
    return params


@pytest.mark.parametrize('override, option', BAD_CONNECTION_VALUES)
def test_bad_connection_params_name_the_option(override, option):
    with pytest.raises(VobizInputError) as info:
        validate_connection_params(_params(**override))
    assert info.value.option == option and option in str(info.value)
    assert TOKEN not in str(info.value) and 's3cr3t' not in str(info.value)


def test_connection_warnings():
    kwargs, warnings = validate_connection_params(_params(api_url='http://api.example.com/api/v1/'))
    assert kwargs['api_url'] == 'http://api.example.com/api/v1'
    assert len(warnings) == 1 and 'http://' in warnings[0]
    assert validate_connection_params(_params(api_url='http://127.0.0.1:8080/api/v1'))[1] == []
    assert validate_connection_params(_params(api_url='http://[::1]:8080/api/v1'))[1] == []
    assert validate_connection_params(_params(api_url='http://localhost/api/v1'))[1] == []
    warnings = validate_connection_params(_params(validate_certs=False))[1]
    assert len(warnings) == 1 and 'validate_certs' in warnings[0]


def test_argument_spec():
    spec = vobiz_argument_spec()
    assert spec['auth_token']['no_log'] is True and spec['auth_id']['no_log'] is False
    assert spec['auth_id']['fallback'][1] == ['VOBIZ_AUTH_ID']
    assert spec['auth_token']['fallback'][1] == ['VOBIZ_AUTH_TOKEN']
    assert spec['api_url']['fallback'][1] == ['VOBIZ_API_URL']
    assert spec['parallel']['default'] == 16 and spec['retries']['default'] == 5
    assert validate_api_url('https://api.vobiz.ai/api/v1/') == ('https://api.vobiz.ai/api/v1', [])


# --- selection and audit helpers -------------------------------------------------------------


def test_normalize_name_list():
    assert normalize_name_list('Smith, John', 'name') == ['Smith, John']
    assert normalize_name_list(['a', 'b', 'a'], 'name') == ['a', 'b']
    assert normalize_name_list(None, 'name') is None
    for bad in ('', [], [''], [1], 5, {'a': 1}, ['ok', None], ['\udc80']):
        with pytest.raises(VobizInputError) as info:
            normalize_name_list(bad, 'match')
        assert info.value.option == 'match' and 'match' in str(info.value)


def test_selection_rules():
    with pytest.raises(VobizInputError) as info:
        Selection.from_params({})
    assert 'name' in str(info.value)
    for other in ('name', 'match', 'exclude'):
        with pytest.raises(VobizInputError) as info:
            Selection.from_params({'all': True, other: 'x'})
        assert other in str(info.value) and info.value.option == 'all'
    with pytest.raises(VobizInputError):
        Selection.from_params({'exclude': 'x'})
    selection = Selection.from_params({'name': ['keep-me', 'b'], 'match': 'ci-*', 'exclude': ['keep-*', 'ci-keep']})
    live = ['ci-1', 'prod-ci-3', 'CI-upper', 'ci-keep', 'b', 'ci-2']
    targets, excluded, explicit = selection.resolve(live)
    assert targets == ['b', 'ci-1', 'ci-2']
    assert excluded == ['keep-me', 'ci-keep'] and explicit == ['keep-me']
    assert Selection.from_params({'all': True}).resolve(['x', 'y']) == (['x', 'y'], [], [])


def test_audit_log_appends_one_line_per_record(tmp_path):
    path = str(tmp_path / 'audit.jsonl')
    with open(path, 'w') as handle:
        handle.write('{"earlier": true}\n')
    with AuditLog(path, AUTH_ID, check_mode=True) as audit:
        audit.record('Ünï\ncode', 'hung_up', 204)
        audit.record('b', 'failed', 503, message='HTTP 503')
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 3 and json.loads(lines[0]) == {'earlier': True}
    first = json.loads(lines[1])
    assert first['name'] == 'Ünï\ncode' and first['outcome'] == 'hung_up' and first['status'] == 204
    assert first['check_mode'] is True and first['auth_id'] == AUTH_ID and first['time'].endswith('Z')
    assert json.loads(lines[2])['message'] == 'HTTP 503'


def test_audit_log_unwritable_names_option(tmp_path):
    with pytest.raises(VobizInputError) as info:
        AuditLog(str(tmp_path / 'missing-dir' / 'a.jsonl'), AUTH_ID)
    assert info.value.option == 'audit_log'


def test_requests_missing_is_reported(monkeypatch):
    monkeypatch.setattr(_transport, 'HAS_REQUESTS', False)
    with pytest.raises(_errors.VobizError) as info:
        ConferenceApi(AUTH_ID, TOKEN)
    assert 'requests' in str(info.value)


def test_run_concurrently_keeps_input_order(emulator):
    emulator.configure(latency_ms=5)
    client = make_client(emulator, parallel=8)
    names = ['z%02d' % i for i in range(30)]
    for name in names[::2]:
        emulator.add_conference(name)
    outcomes = client.run_concurrently(client.hangup, names)
    assert [o.name for o in outcomes] == names
    assert [o.outcome for o in outcomes] == ['hung_up', 'already_absent'] * 15


def test_run_concurrently_one_bad_item_fails_alone(emulator):
    client = make_client(emulator, parallel=2)
    delivered = []

    def work(item):
        if item == 1:
            raise KeyError('bug with ' + TOKEN)
        return item * 10

    results = client.run_concurrently(work, list(range(50)), on_result=lambda item, result: delivered.append(item))
    assert [r for i, r in enumerate(results) if i != 1] == [i * 10 for i in range(50) if i != 1]
    error = results[1]
    assert isinstance(error, VobizItemError) and not error.interrupted and isinstance(error.cause, KeyError)
    assert error.message.startswith('unexpected error: KeyError: ') and TOKEN not in error.message
    assert sorted(delivered) == list(range(50))  # the failure is delivered (audited) like any result


def test_run_concurrently_name_that_cannot_be_encoded_fails_alone(emulator):
    names = ['a1', 'a2', '\ud800x', 'a3', 'a4']
    for name in names:
        emulator.add_conference(name)
    client = make_client(emulator, parallel=1)
    results = client.run_concurrently(client.hangup, names, on_error=lambda name, error: _conference_api.Outcome(name, 'failed', message=error.message))
    assert [o.outcome for o in results] == ['hung_up', 'hung_up', 'failed', 'hung_up', 'hung_up']
    assert results[2].name == '\ud800x' and results[2].message == 'cannot be sent: the name is not valid Unicode'
    assert emulator.live_names() == ['\ud800x']
    assert len(emulator.requests()) == 4


def test_run_concurrently_fatal_error_still_stops_the_batch(emulator):
    emulator.configure(forbidden=['f'])
    client = make_client(emulator, parallel=1)
    names = ['a', 'f', 'b', 'c']
    with pytest.raises(VobizAuthError) as info:
        client.run_concurrently(client.hangup, names, on_error=lambda name, error: ('item error', error.status, error.ambiguous))
    # The refused item was sent: its result is its error (issue 23: "counted as sent"); the rest never started.
    assert [getattr(r, 'outcome', r) for r in info.value.results] == ['already_absent', ('item error', 403, False), None, None]
    assert len(emulator.requests()) == 2


def test_run_concurrently_on_result_bug_stops_with_fatal_error(emulator):
    client = make_client(emulator, parallel=1)

    def on_result(item, result):
        if item == 'b':
            raise ValueError('audit bug ' + TOKEN)

    with pytest.raises(_errors.VobizFatalError) as info:
        client.run_concurrently(client.hangup, ['a', 'b', 'c', 'd'], on_result=on_result)
    assert "Recording the outcome for 'b' failed (ValueError" in str(info.value) and TOKEN not in str(info.value)
    assert [getattr(r, 'name', None) for r in info.value.results] == ['a', 'b', None, None]


# --- interrupts ---------------------------------------------------------------------------------------------


def test_interrupt_records_in_flight_as_unknown_then_their_answers(emulator):
    names = ['i%02d' % i for i in range(40)]
    for name in names:
        emulator.add_conference(name)
    emulator.configure(latency_ms=100)
    client = make_client(emulator, parallel=4)
    delivered = []

    def on_result(name, outcome):
        delivered.append((name, outcome.outcome))
        if len(delivered) == 6:
            client.interrupt('SIGTERM')

    with pytest.raises(_errors.VobizInterrupted) as info:
        client.run_concurrently(
            client.hangup,
            names,
            on_result=on_result,
            on_error=lambda name, error: _conference_api.Outcome(name, 'unknown' if error.interrupted else 'failed', message=error.message),
        )
    error = info.value
    assert error.signal_name == 'SIGTERM' and str(error).startswith('Interrupted by SIGTERM')
    unknown = [name for name, outcome in delivered if outcome == 'unknown']
    assert unknown, 'requests were in flight at the interrupt'
    # Each of them was recorded as unknown at once, then with its answer (which came within the grace).
    for name in unknown:
        assert delivered.index((name, 'unknown')) < delivered.index((name, 'hung_up'))
    assert error.unanswered == []
    sent = [entry['conference'] for entry in emulator.requests()]
    done = [r.name for r in error.results if r is not None]
    assert sorted(sent) == sorted(done) and len(sent) < len(names)
    assert all(r.outcome == 'hung_up' for r in error.results if r is not None)
    assert set(emulator.live_names()) == set(names) - set(sent)
    # Nothing starts after an interrupt.
    with pytest.raises(_errors.VobizInterrupted):
        client.run_concurrently(client.hangup, ['i39'])
    assert len(emulator.requests()) == len(sent)


def test_interrupt_grace_ends_and_the_outcome_stays_unknown(emulator, monkeypatch):
    monkeypatch.setattr(_batch, 'INTERRUPT_GRACE_SECONDS', 0.05)
    for name in ('a', 'b', 'slow', 'c'):
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': 'slow', 'delay': 3, 'match': 'slow'}])
    client = make_client(emulator, parallel=2)

    def on_result(name, outcome):
        if name == 'b':
            client.interrupt('SIGINT')

    # 'a' goes alone (the probe), then 'b' and 'slow' together; 'b' answers and the run is interrupted.
    with pytest.raises(_errors.VobizInterrupted) as info:
        client.run_concurrently(client.hangup, ['a', 'b', 'slow', 'c'], on_result=on_result)
    results = info.value.results
    assert [results[0].outcome, results[1].outcome, results[3]] == ['hung_up', 'hung_up', None]
    assert isinstance(results[2], VobizItemError) and results[2].interrupted
    assert 'interrupted by SIGINT' in results[2].message and 'unknown' in results[2].message
    assert info.value.unanswered == [2]
    assert 'c' not in [entry['conference'] for entry in emulator.requests()]


def test_interrupt_guard_turns_a_signal_into_an_interrupt(emulator):
    import signal

    client = make_client(emulator)
    before = signal.getsignal(signal.SIGTERM)
    with _batch.InterruptGuard(client) as guard:
        os.kill(os.getpid(), signal.SIGTERM)
        for dummy in range(30000):  # the watcher thread reacts at once; poll, do not time (the bound only ends a hang)
            if client.interrupted is not None:
                break
            threading.Event().wait(0.01)
    assert client.interrupted is not None and client.interrupted.signal_name == 'SIGTERM'
    assert guard.received == [signal.SIGTERM] and client.aborted
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.set_wakeup_fd(-1) == -1  # restored (and still unset)


# --- audit log: symlinks, modes, full disks, run ids -------------------------------------------------------


def test_audit_log_refuses_a_symlink(tmp_path):
    target = tmp_path / 'target.jsonl'
    target.write_text('')
    link = tmp_path / 'audit.jsonl'
    link.symlink_to(target)
    with pytest.raises(VobizInputError) as info:
        AuditLog(str(link), AUTH_ID)
    assert info.value.option == 'audit_log' and 'symbolic link' in str(info.value) and 'audit_log' in str(info.value)
    dangling = tmp_path / 'dangling.jsonl'
    dangling.symlink_to(tmp_path / 'nowhere.jsonl')
    with pytest.raises(VobizInputError):
        AuditLog(str(dangling), AUTH_ID)
    assert target.read_text() == '' and not (tmp_path / 'nowhere.jsonl').exists()


def test_audit_log_is_created_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        AuditLog(str(tmp_path / 'new.jsonl'), AUTH_ID).close()
    finally:
        os.umask(previous)
    assert os.stat(str(tmp_path / 'new.jsonl')).st_mode & 0o777 == 0o600


def test_audit_log_lines_carry_run_id_change_id_and_reason(tmp_path):
    path = str(tmp_path / 'audit.jsonl')
    with AuditLog(path, AUTH_ID, run_id='run-1', change_id='CHG-42', reason='maintenance') as audit:
        audit.record('a', 'hung_up', 204)
    with AuditLog(path, AUTH_ID) as audit:
        audit.record('b', 'hung_up', 204)
    with open(path) as handle:
        first, second = [json.loads(line) for line in handle]
    assert (first['run_id'], first['change_id'], first['reason']) == ('run-1', 'CHG-42', 'maintenance')
    assert len(second['run_id']) == 32 and 'change_id' not in second and 'reason' not in second


def _faulty_writer(fail_on, mode):
    """A writer that short-writes (half the line) or fails (ENOSPC) on line number ``fail_on`` (1-based)."""
    calls = []

    def write(fd, data):
        calls.append(data)
        if len(calls) == fail_on:
            if mode == 'fail':
                raise OSError(28, 'No space left on device')
            return os.write(fd, data[: len(data) // 2])
        if len(calls) == fail_on + 1 and mode == 'short-and-newline-fails' and data == b'\n':
            raise OSError(28, 'No space left on device')
        return os.write(fd, data)

    return write


@pytest.mark.parametrize('mode', ['short', 'short-and-newline-fails', 'fail'])
def test_audit_log_full_disk_leaves_valid_lines(tmp_path, mode):
    path = str(tmp_path / 'audit.jsonl')
    audit = AuditLog(path, AUTH_ID, writer=_faulty_writer(3, mode))
    audit.record('a', 'hung_up', 204)
    audit.record('b', 'hung_up', 204)
    with pytest.raises(_errors.VobizFatalError) as info:
        audit.record('c', 'hung_up', 204)
    assert 'audit log' in str(info.value)
    audit.record('d', 'hung_up', 204)  # the same run, once the disk has room again
    audit.close()
    with AuditLog(path, AUTH_ID) as later:  # and a later run
        later.record('e', 'hung_up', 204)
    with open(path) as handle:
        lines = handle.read().split('\n')
    assert lines[-1] == ''
    parsed = []
    for line in lines[:-1]:
        try:
            parsed.append(json.loads(line)['name'])
        except ValueError:
            parsed.append('<partial>')
    assert parsed == (['a', 'b', 'd', 'e'] if mode == 'fail' else ['a', 'b', '<partial>', 'd', 'e'])


def test_audit_log_starts_fresh_after_a_cut_line_from_an_earlier_run(tmp_path):
    path = tmp_path / 'audit.jsonl'
    path.write_bytes(b'{"name": "old", "outcome": "hung_up"}\n{"name": "cut sh')
    with AuditLog(str(path), AUTH_ID) as audit:
        audit.record('new', 'hung_up', 204)
        audit.record('newer', 'hung_up', 204)
    lines = path.read_text().splitlines()
    assert lines[1] == '{"name": "cut sh'
    assert [json.loads(line)['name'] for line in (lines[0], lines[2], lines[3])] == ['old', 'new', 'newer']


# --- reading answers truthfully (issue 13) -----------------------------------------------------------------------


def wrong_prefix_client(emu, **kwargs):
    """A client whose api_url has the wrong version prefix: every path is unknown to the emulator."""
    return make_client(emu, api_url=emu.api_url.replace('/api/v1', '/api/v2'), **kwargs)


def assert_unknown_route(exc_info, api_url):
    error = exc_info.value
    assert type(error).__name__ == 'VobizUnknownRouteError' and isinstance(error, _errors.VobizFatalError)
    assert 'api_url' in str(error) and api_url in str(error) and _urls.DEFAULT_API_URL in str(error)
    assert 'does not know' in str(error) and error.status == 404


@pytest.mark.parametrize('operation', ['hangup', 'retrieve', 'member_action', 'list_names', 'hangup_all'])
def test_wrong_api_url_prefix_is_fatal_and_names_api_url(emulator, operation):
    emulator.add_conference('room', members=['10'])
    client = wrong_prefix_client(emulator)
    calls = {
        'hangup': lambda: client.hangup('room'),
        'retrieve': lambda: client.retrieve('room'),
        'member_action': lambda: client.member_action('POST', 'room', 'all', 'Kick', {}),
        'list_names': client.list_names,
        'hangup_all': client.hangup_all,
    }
    with pytest.raises(_errors.VobizFatalError) as info:
        calls[operation]()
    assert_unknown_route(info, client.api_url)
    assert client.aborted  # the batch stops, as on 401/403
    assert emulator.live_names() == ['room'] and len(emulator.conference('room')['members']) == 1
    assert len(emulator.requests()) == 1  # a 404 is never retried


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
        (404, {'status': 'error', 'error': {'code': 'NOT_FOUND', 'message': 'conference not found', 'details': None}, 'requestId': 'r'}, 'not_found'),
        # Issue 23: a 404 that is not the conference's own cannot be told from a wrong path's (api_url pasted with
        # /Account/MA_X answered {"error": "not found"}): never "already absent".
        (404, None, 'unknown_route'),
        (404, {'error': 'not found'}, 'unknown_route'),
        (404, {'api_id': 'x', 'error': 'Not Found'}, 'unknown_route'),
        (404, {'error': 'member not found'}, 'unknown_route'),  # only on member routes
        (404, {'status': 'error', 'error': {'code': 'NOT_FOUND', 'message': 'm', 'details': None}, 'requestId': 'r'}, 'unknown_route'),
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
    assert _api_client.classify_answer(404, {'error': 'member not found'}, own_404=_api_client.MEMBER_ROUTE_404) == 'not_found'
    assert _api_client.classify_answer(404, {'error': 'not found'}, own_404=_api_client.MEMBER_ROUTE_404) == 'unknown_route'


@pytest.mark.parametrize('status', [404, 200])
def test_classify_answer_non_json_and_unreadable_bodies(status):
    assert _api_client.classify_answer(status, None, json_ok=False) == ('unknown_route' if status == 404 else 'error')
    assert _api_client.classify_answer(status, None, problem='too large') == 'error'


@pytest.mark.parametrize(
    'rule',
    [
        {'kind': 'error_body'},
        {'kind': 'error_body', 'status': 202},
        {'kind': 'html', 'status': 200},
        {'kind': 'huge_body', 'size': 50 * 1024 * 1024},
        {'kind': 'huge_body', 'size': 5 * 1024 * 1024, 'declare_length': False},
    ],
    ids=['200-error', '202-error', '200-html', 'huge-declared', 'huge-streamed'],
)
def test_a_2xx_that_is_not_a_success_is_uncertain(emulator, rule):
    emulator.add_conference('room')
    emulator.configure(faults=[dict(rule, method='DELETE', first_n=1)])
    client = make_client(emulator)
    outcome = client.hangup('room')
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status in (200, 202)
    assert 'whether the room was hung up is unknown' in outcome.message
    if rule['kind'] == 'huge_body':
        assert 'too large' in outcome.message
    else:
        assert 'could not be read as a success' in outcome.message
    assert len(emulator.requests()) == 1  # an answer came: not retried
    # The connection that carried the unreadable answer is not reused half-read: the next request works.
    assert client.hangup('room').outcome == _conference_api.OUTCOME_HUNG_UP


def test_an_error_status_with_a_body_too_large_to_read_is_a_failure(emulator):
    """The status says the hang-up was refused; only its body is unknown."""
    emulator.add_conference('room')
    emulator.configure(faults=[{'kind': 'huge_body', 'size': 50 * 1024 * 1024, 'status': 400, 'method': 'DELETE'}])
    outcome = make_client(emulator).hangup('room')
    assert outcome.outcome == _conference_api.OUTCOME_FAILED and outcome.status == 400
    assert 'too large' in outcome.message and 'whether the room was hung up' not in outcome.message


def test_hangup_all_and_member_actions_read_2xx_error_bodies_the_same_way(emulator):
    emulator.add_conference('room', members=['10'])
    emulator.configure(faults=[{'kind': 'error_body'}])
    client = make_client(emulator)
    assert client.hangup_all().outcome == _conference_api.OUTCOME_UNCERTAIN
    action = client.member_action('POST', 'room', '10', 'Kick', {})
    assert not action.ok and not action.conference_gone and 'could not be read as a success' in action.message


def test_huge_answer_to_a_retrieve_is_unreadable_not_absent(emulator):
    emulator.configure(faults=[{'kind': 'huge_body', 'size': 50 * 1024 * 1024, 'status': 404}])
    retrieved = make_client(emulator).retrieve('room')
    assert retrieved.state == _conference_api.STATE_UNREADABLE and 'too large' in retrieved.reason


def test_trickled_body_ends_the_attempt_at_the_timeout(emulator):
    """``timeout`` bounds a whole attempt: at 1 byte / 0.2 s and timeout 1, about 5 bytes arrive, not 60 (a timeout per
    read would never fire). How many exactly depends on the machine's speed, so less than half is asserted."""
    emulator.add_conference('room')
    emulator.configure(faults=[{'kind': 'trickle', 'interval': 0.2, 'size': 60, 'method': 'DELETE', 'first_n': 1}])
    client = make_client(emulator, timeout=1, retries=1)
    outcome = client.hangup('room', seen_live=True)
    log = emulator.requests()
    assert [e['fault'] for e in log] == ['trickle', None] and log[1]['status'] == 404
    for dummy in range(12000):  # the emulator notes the bytes it wrote once the client has hung up (the bound ends a hang)
        if 'bytes_written' in emulator.requests()[0]:
            break
        threading.Event().wait(0.025)
    trickled = emulator.requests()[0]
    assert trickled['client_hung_up'] is True
    assert 1 <= trickled['bytes_written'] < trickled['body_size'] // 2
    assert len(trickled['write_times']) == trickled['bytes_written']
    # The first attempt hung the room (seen live) up; its answer never arrived in full, so the 404 on the retry is this run's doing.
    assert outcome.outcome == _conference_api.OUTCOME_HUNG_UP and outcome.ambiguous and outcome.attempts == 2
    assert any('no complete reply within 1 s' in w for w in client.warnings)


ECHO_TOKEN = 'Tk/"x\\y-0123456789abcdef-QRSTUV'


def token_pieces(token=ECHO_TOKEN):
    return [token[i : i + 6] for i in range(len(token) - 5)]


def assert_no_token_piece(*texts):
    joined = json.dumps(texts)  # also the JSON-escaped forms
    for text in (joined,) + tuple(str(t) for t in texts):
        for piece in token_pieces():
            assert piece not in text
            assert json.dumps(piece)[1:-1] not in text


@pytest.mark.parametrize('shape, status', [('flat', 400), ('envelope', 400), ('text', 400), ('flat', 503), ('text', 200)])
def test_an_echoed_token_never_leaves_the_client(shape, status):
    with Emulator(auth_id=AUTH_ID, auth_token=ECHO_TOKEN) as emu:
        client = make_client(emu, auth_token=ECHO_TOKEN, retries=1)
        for size in (40, 210, 320, 600):
            for offset in range(0, size - 5, 1 if size <= 320 else 7):
                emu.configure(faults=[{'kind': 'echo_token', 'shape': shape, 'status': status, 'offset': offset, 'size': size}])
                outcome = client.hangup('room')
                # A 2xx that is not JSON cannot tell whether the room was hung up.
                assert outcome.outcome == (_conference_api.OUTCOME_UNCERTAIN if status == 200 else _conference_api.OUTCOME_FAILED)
                assert_no_token_piece(outcome.message)
        assert_no_token_piece(*client.warnings)


def test_redact_covers_every_form_of_the_token():
    client = ConferenceApi(AUTH_ID, ECHO_TOKEN, api_url='http://127.0.0.1:9/api/v1')
    for form in (ECHO_TOKEN, quote(ECHO_TOKEN, safe=''), json.dumps(ECHO_TOKEN)[1:-1], json.dumps(ECHO_TOKEN)[1:-1].replace('/', '\\/')):
        assert client.redactor.redact('a ' + form + ' b') == 'a ******** b'
    half = ECHO_TOKEN[: len(ECHO_TOKEN) // 2]
    assert half not in client.redactor.outgoing('cut: ' + half)


def test_control_characters_from_the_server_are_escaped(emulator):
    emulator.configure(faults=[{'kind': 'control_chars'}])
    client = make_client(emulator)
    message = client.hangup('room').message
    for bad in ('\x1b', '\r', '\x07', '\n', '\u202e'):
        assert bad not in message
    assert '\\x1b[31mred' in message and '\\n[ERROR]: forged' in message and '\\u202e' in message


def test_sanitize_text_escapes_every_control_character():
    controls = [chr(c) for c in list(range(0x20)) + list(range(0x7F, 0xA0)) + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))]
    cleaned = _redaction.sanitize_text('a' + ''.join(controls) + 'é☎ z')
    assert not any(c in cleaned for c in controls)
    assert cleaned.startswith('a\\x00') and cleaned.endswith('é☎ z') and '\\n' in cleaned and '\\t' in cleaned


@pytest.mark.parametrize(
    'exclude, live, protected, warned',
    [
        # equal to the name protects it; as a glob it also matches room1 (protecting more errs on the safe side)
        (['room[1]'], ['room[1]', 'room1', 'room2'], ['room[1]', 'room1'], False),
        (['Caf\u00e9'], ['Cafe\u0301', 'Cafe'], ['Cafe\u0301'], True),
        (['room\u200b1'], ['room1', 'room2'], ['room1'], True),
        (['\ufeffroom*'], ['room1', 'other'], ['room1'], True),
        (['room*'], ['room1', 'other'], ['room1'], False),
    ],
)
def test_exclude_protects_what_it_names(exclude, live, protected, warned):
    selection = Selection(match=['*'], exclude=exclude)
    targets, excluded, dummy = selection.resolve(live)
    assert excluded == protected and targets == [n for n in live if n not in protected]
    assert bool(selection.warnings) is warned
    if warned:
        assert repr(protected[0]) in selection.warnings[0] and 'normalisation' in selection.warnings[0]


def test_name_targeting_stays_exact():
    selection = Selection(names=['room[1]', 'Cafe\u0301'])
    assert selection.resolve(['room1', 'Caf\u00e9'])[0] == ['room[1]', 'Cafe\u0301']


def _urlopen_errors():
    """What urllib3's ``urlopen`` raises (no urllib3 retries), and how the client must read each one."""
    import ssl

    from urllib3 import exceptions as low

    refused = low.NewConnectionError(None, 'Failed to establish a new connection: [Errno 111] Connection refused')
    cert = low.SSLError(ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))
    return [
        # (error, reason starts with, maybe sent, retryable, fatal)
        (low.MaxRetryError(None, '/x/', refused), 'connection failed', False, True, False),
        (low.MaxRetryError(None, '/x/', low.ConnectTimeoutError(None, 'connect timed out')), 'connect timeout', False, True, False),
        (low.MaxRetryError(None, '/x/', low.ProxyError('Unable to connect to proxy', OSError('refused'))), 'proxy error', False, True, False),
        (low.MaxRetryError(None, '/x/', cert), 'TLS certificate verification failed', False, False, True),
        (
            low.ProtocolError('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer')),
            'connection lost before the reply',
            True,
            True,
            False,
        ),
        (ConnectionResetError(104, 'Connection reset by peer'), 'connection lost before the reply', True, True, False),
        (low.ReadTimeoutError(None, '/x/', 'Read timed out.'), 'no reply within', True, True, False),
    ]


@pytest.mark.parametrize('error, reason, maybe_sent, retryable, fatal', _urlopen_errors())
def test_urlopen_errors_are_read_as_requests_maps_them(error, reason, maybe_sent, retryable, fatal):
    """The client calls urllib3's ``urlopen`` itself: its errors still mean what they meant through ``requests``."""
    client = ConferenceApi(AUTH_ID, TOKEN, api_url='http://127.0.0.1:9/api/v1')
    mapped = _transport._as_send_error(error)
    got = client._transport.classify(mapped)
    assert got[0].startswith(reason), got[0]
    assert got[1:] == (maybe_sent, retryable, fatal)


def test_urlopen_errors_requests_does_not_map_stay_as_they_are():
    assert _transport._as_send_error(RuntimeError('boom')) is None


# --- names as results carry them (issue 23) -----------------------------------------------------------------------


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20))
def test_escaped_names_are_printable_and_give_the_name_back(name):
    escaped = _redaction.escape_name(name)
    assert escaped.isprintable() and len(escaped.splitlines()) <= 1
    escaped.encode('utf-8')  # Ansible can carry it
    assert _redaction.unescape_name(escaped) == name
    assert (escaped == name) is (name.isprintable() and '\\' not in name)


@pytest.mark.parametrize('text', ['a\\', 'a\\q', '\\x4', '\\u12', '\\UFFFFFFFF', '\\xzz'])
def test_unescape_refuses_a_backslash_that_starts_no_escape(text):
    with pytest.raises(ValueError):
        _redaction.unescape_name(text)
