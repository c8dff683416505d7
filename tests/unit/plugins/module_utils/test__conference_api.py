# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _conference_api: what each Vobiz call's answer means (hang-up, hang-up of all, retrieve, list, member
actions), over real HTTP against the in-process emulator."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api, _errors
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import is_conference_gone
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizRequestError
from ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.helpers import (
    assert_unknown_route,
    expected_path,
    make_client,
    wrong_prefix_client,
)
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import PREFIX, TRICKY


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


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
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


def test_lost_reply_then_404_of_a_room_seen_live_is_hung_up_by_this_run(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}])
    outcome = make_client(emulator).hangup('r', seen_live=True)
    assert outcome.outcome == 'hung_up'
    assert outcome.status == 404 and outcome.ambiguous and 'this run' in outcome.message
    assert [(e['fault'], e['status']) for e in emulator.requests()] == [('lost_reply', None), (None, 404)]


@pytest.mark.parametrize('kind', ['502', '504'])
def test_gateway_error_after_the_api_acted_then_404_of_a_room_seen_live_is_hung_up_by_this_run(emulator, kind):
    """A gateway's 502/504 may come after the API carried the DELETE out: for a room seen live, the retry's 404 is
    then this run's doing."""
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
        (
            [{'kind': '502', 'first_n': 1}, {'kind': '503'}],
            503,
            'after an earlier attempt that may have been carried out unheard',
        ),
    ],
    ids=['504-to-the-end', '502-then-503'],
)
def test_gateway_error_until_the_retries_are_used_up_is_uncertain(emulator, faults, status, why):
    emulator.add_conference('r')
    emulator.configure(faults=[dict(rule, method='DELETE') for rule in faults])
    outcome = make_client(emulator, retries=2).hangup('r')
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status == status and outcome.attempts == 3
    assert why in outcome.message and 'whether the room was hung up is unknown' in outcome.message


def test_an_error_answer_after_a_lost_reply_is_uncertain(emulator):
    """The first DELETE's reply is lost (it may have hung the room up), the retries get 503s: whether it was hung up
    is unknown."""
    emulator.add_conference('r')
    emulator.configure(
        faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}, {'kind': '503', 'method': 'DELETE'}]
    )
    outcome = make_client(emulator, retries=1).hangup('r')
    assert [e['fault'] for e in emulator.requests()] == ['lost_reply', '503']
    assert outcome.outcome == _conference_api.OUTCOME_UNCERTAIN and outcome.status == 503 and outcome.ambiguous
    assert 'reply was lost' in outcome.message and 'whether the room was hung up is unknown' in outcome.message


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
    """Only a removal that may have been done unheard takes a later 404 as its own doing (the room ends with its last
    member)."""
    answer = _conference_api.MemberActionResult(
        'r', 'all', None, 'DELETE', False, 404, body, is_conference_gone(404, body), 'not found', 2, ambiguous
    )
    assert _conference_api.member_outcome(answer, removing=removing, room_wide=room_wide)[0] == expected


def test_member_failure_without_answer_after_a_maybe_done_attempt_is_uncertain():
    error = _errors.VobizRequestError('Mute failed after 2 attempt(s): connection lost', attempts=2, ambiguous=True)
    assert _conference_api.member_outcome(error) == (
        _conference_api.OUTCOME_UNCERTAIN,
        None,
        error.message + ', so whether the action was carried out is unknown',
    )


def _member_answer(status, body, ok=False):
    conference_gone = is_conference_gone(status, body)
    return _conference_api.MemberActionResult('r', 'm', None, 'DELETE', ok, status, body, conference_gone, None, 1)


@pytest.mark.parametrize(
    'batch, answers, already, expected',
    [
        # one request per member; a member not sent (None) has no record
        (
            ['1', '2', '3'],
            [_member_answer(204, None, ok=True), _member_answer(404, {'error': 'member not found'}), None],
            [],
            dict(members=['1'], already=['2']),
        ),
        # the room-wide request: a success names the members acted on
        (['all'], [_member_answer(200, {'member_id': ['1', '2']}, ok=True)], ['2'], dict(members=['1'], already=['2'])),
        # ... "member not found": nobody to act on; the ids already done stay, else the whole room is already so
        (['all'], [_member_answer(404, {'error': 'member not found'})], ['2'], dict(already=['2'])),
        (['all'], [_member_answer(404, {'error': 'member not found'})], [], dict(already=['all'])),
        # ... the room gone: nobody was already done either
        (['all'], [_member_answer(404, {'error': 'conference not found'})], ['2'], dict(conference_absent=True)),
        (['all'], [None], ['2'], dict(already=['2'])),
    ],
    ids=['one-each', 'all-acted', 'all-none-left', 'all-nobody', 'all-room-gone', 'all-not-sent'],
)
def test_member_answers_into_the_result(batch, answers, already, expected):
    result = dict(members=[], already=list(already), interrupted=[], failures=[], uncertain_members=[])
    result['conference_absent'] = False
    records = _conference_api.member_answer_records(batch, answers, True, ['1', '2'], result['already'])
    for ids, outcome, status, message in records:
        _conference_api.add_member_outcome(result, ids, outcome, status, message)
    assert result == dict(
        dict(members=[], already=[], interrupted=[], failures=[], uncertain_members=[], conference_absent=False),
        **expected,
    )


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


def test_hangup_all_and_member_actions_read_2xx_error_bodies_the_same_way(emulator):
    emulator.add_conference('room', members=['10'])
    emulator.configure(faults=[{'kind': 'error_body'}])
    client = make_client(emulator)
    assert client.hangup_all().outcome == _conference_api.OUTCOME_UNCERTAIN
    action = client.member_action('POST', 'room', '10', 'Kick', {})
    assert not action.ok and not action.conference_gone and 'could not be read as a success' in action.message


def test_retrieve_present_absent_unreadable(emulator):
    emulator.add_conference('room', members=3)
    client = make_client(emulator)
    present = client.retrieve('room')
    assert present.state == 'present' and present.member_count == 3
    assert client.retrieve('gone').state == 'absent'
    emulator.configure(retrieve_lies=True)
    lie = client.retrieve('room')
    assert lie.state == 'unreadable' and lie.status == 200 and 'failed' in lie.reason


def test_huge_answer_to_a_retrieve_is_unreadable_not_absent(emulator):
    emulator.configure(faults=[{'kind': 'huge_body', 'size': 50 * 1024 * 1024, 'status': 404}])
    retrieved = make_client(emulator).retrieve('room')
    assert retrieved.state == _conference_api.STATE_UNREADABLE and 'too large' in retrieved.reason


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


def test_normalize_conference_odd_values():
    conference = _conference_api.normalize_conference(
        {
            'conference_name': 'r',
            'conference_run_time': 'n/a',
            'conference_member_count': None,
            'api_id': 'x',
            'members': [{'member_id': 7, 'muted': 'true', 'deaf': 'maybe', 'join_time': '12'}, 'junk'],
        }
    )
    # A missing count is not replaced by the length of the list (issue 23: it cannot be read).
    assert conference == {
        'conference_name': 'r',
        'conference_run_time': None,
        'conference_member_count': None,
        'members': [{'member_id': '7', 'muted': True, 'deaf': None, 'join_time': 12}],
    }
    assert _conference_api.normalize_conference({'conference_name': 'r', 'members': 'junk'})['members'] == []


# ----- what the read of a room before a member action says (member_plan)


def test_member_plan_reads_the_room_before_a_member_action():
    """The members that need the action, the others with their outcome, and why the members' state is unknown: a room
    not live makes every id conference_absent with the read's status; an unreadable room, or a member list that
    disagrees with its count, leaves every id to act on."""
    members = [dict(member_id='1', muted='true'), dict(member_id=2, muted=False)]
    room = dict(conference_name='r', conference_member_count=2, members=members)
    present = _conference_api.Retrieved('r', _conference_api.STATE_PRESENT, 200, room)
    mute, hangup = ('muted', True), None
    assert _conference_api.member_plan(present, ['1', '2', '3'], mute) == (
        ['2'],
        [('1', 'already', None, None), ('3', 'failed', None, 'member not found')],
        None,
    )
    assert _conference_api.member_plan(present, 'all', hangup) == (['1', '2'], [], None)
    assert _conference_api.member_plan(present, ['3'], hangup) == ([], [('3', 'already', None, None)], None)
    absent = _conference_api.Retrieved('r', _conference_api.STATE_ABSENT, 404)
    assert _conference_api.member_plan(absent, 'all', mute) == ([], [('all', 'conference_absent', 404, None)], None)
    assert _conference_api.member_plan(absent, ['1', '2'], hangup)[1] == [
        ('1', 'conference_absent', 404, None),
        ('2', 'conference_absent', 404, None),
    ]
    unreadable = _conference_api.Retrieved('r', _conference_api.STATE_UNREADABLE, 503, reason='HTTP 503')
    assert _conference_api.member_plan(unreadable, 'all', mute) == (['all'], [], 'HTTP 503')
    disagreeing = present._replace(conference=dict(room, conference_member_count='3'))
    need, others, why = _conference_api.member_plan(disagreeing, ['1'], mute)
    assert (need, others) == (['1'], []) and 'does not agree with the 2 member(s) listed' in why


# ----- what a retrieve after a hang-up says about the room's end (ended_verdict)


def test_ended_verdict_reads_retrieve_after_a_hang_up(emulator):
    """Only the API's own 404 proves the end; a live room of the name, stale or re-created, and an unreadable answer
    do not, each saying why, with the UUID retrieve gave."""
    client = make_client(emulator, retries=0)
    emulator.add_conference('stale')
    emulator.add_conference('new')
    emulator.configure(retrieve_uuid=True, retrieve_stale=10, recreate_after_hangup=['new'])
    stale_uuid, old_new_uuid = emulator.conference_uuid('stale'), emulator.conference_uuid('new')
    for name in ('stale', 'new', 'ended'):
        client.hangup(name)
    ended = _conference_api.ended_verdict(client.retrieve('ended'))
    assert ended == (True, None, None)
    same = _conference_api.ended_verdict(client.retrieve('stale'), stale_uuid)
    assert same[:1] == (False,) and 'the instance hung up' in same[1] and same[2] == stale_uuid
    recreated = _conference_api.ended_verdict(client.retrieve('new'), old_new_uuid)
    new_uuid = emulator.conference_uuid('new')
    assert recreated[0] is False and recreated[1].startswith('re-created:') and recreated[2] == new_uuid != old_new_uuid
    unknown = _conference_api.ended_verdict(client.retrieve('new'))  # the instance hung up is not known
    assert unknown[0] is False and 'a new instance' in unknown[1] and 'or a stale answer' in unknown[1]
    emulator.configure(faults=[{'kind': 'error_body', 'method': 'GET'}])
    unreadable = _conference_api.ended_verdict(client.retrieve('new'), old_new_uuid)
    assert unreadable == (False, 'its retrieve could not be read (HTTP 200 with an error: failed)', None)
