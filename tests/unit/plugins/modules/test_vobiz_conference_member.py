# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference_member: the module runs in-process and talks HTTP to the emulator."""

import functools
import json

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api
from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference_member
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN, run_against

ROOM = 'Board Room'
MEMBERS = '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member/'
RESULT_KEYS = {'changed', 'members', 'already', 'conference_absent', 'uncertain', 'failures', 'msg'}

# state -> (method, route suffix after the member id, member flag after the action or None = member gone)
STATES = {
    'absent': ('DELETE', '', None),
    'kicked': ('POST', 'Kick/', None),
    'muted': ('POST', 'Mute/', ('muted', True)),
    'unmuted': ('DELETE', 'Mute/', ('muted', False)),
    'deaf': ('POST', 'Deaf/', ('deaf', True)),
    'undeaf': ('DELETE', 'Deaf/', ('deaf', False)),
}


run = functools.partial(run_against, vobiz_conference_member.main, conference=ROOM)


def writes(emu):
    return [(e['method'], e['raw_path'], e['status']) for e in emu.requests() if e['method'] != 'GET']


def member(emu, member_id):
    conference = emu.conference(ROOM)
    return next((m for m in conference['members'] if m['member_id'] == member_id), None) if conference else None


def room(emu, flag=None, value=False):
    """Members 10 and 15; ``flag`` set to ``value`` on both (the state to start from)."""
    specs = [{'member_id': i} for i in ('10', '15')]
    if flag:
        for spec in specs:
            spec[flag] = value
    emu.add_conference(ROOM, members=specs)


def start_state(state):
    """Room set-up where ``state`` still has to be done."""
    flag = STATES[state][2]
    return (flag[0], not flag[1]) if flag else (None, False)


def done_state(state):
    flag = STATES[state][2]
    return (flag[0], flag[1]) if flag else (None, False)


def assert_done(emu, state, member_id):
    flag = STATES[state][2]
    if flag is None:
        assert member(emu, member_id) is None
    else:
        assert member(emu, member_id)[flag[0]] is flag[1]


# --- the four-case matrix, for every state -----------------------------------------------------------------


@pytest.mark.parametrize('state', list(STATES))
def test_act(emulator, state):
    room(emulator, *start_state(state))
    failed, result = run(emulator, member_id='10', state=state)
    assert not failed and result['changed'] is True
    assert RESULT_KEYS <= set(result)
    assert result['members'] == ['10'] and result['already'] == [] and result['failures'] == []
    assert result['conference_absent'] is False and result['uncertain'] is False
    method, suffix, dummy = STATES[state]
    assert writes(emulator) == [(method, MEMBERS + '10/' + suffix, 202 if method == 'POST' else 204)]
    assert_done(emulator, state, '10')
    assert member(emulator, '15') is not None


@pytest.mark.parametrize('state', list(STATES))
def test_already_done(emulator, state):
    if STATES[state][2] is None:
        room(emulator)
        member_ids = ['99']  # not in the room: nothing to hang up or kick
    else:
        room(emulator, *done_state(state))
        member_ids = ['10']
    failed, result = run(emulator, member_id=member_ids, state=state)
    assert not failed and result['changed'] is False
    assert result['members'] == [] and result['already'] == member_ids
    assert writes(emulator) == [] and [e['action'] for e in emulator.requests()] == ['retrieve']


@pytest.mark.parametrize('state', list(STATES))
def test_check_mode(emulator, state):
    room(emulator, *start_state(state))
    before = emulator.conference(ROOM)['members']
    failed, result = run(emulator, check_mode=True, member_id=['10', '15'], state=state)
    assert not failed and result['changed'] is True
    assert result['members'] == ['10', '15'] and result['uncertain'] is False
    assert 'would act on 2' in result['msg']
    assert writes(emulator) == [] and len(emulator.requests()) == 1
    assert emulator.conference(ROOM)['members'] == before


@pytest.mark.parametrize('state', list(STATES))
def test_check_mode_already_done(emulator, state):
    if STATES[state][2] is None:
        room(emulator)
        member_ids = ['99']
    else:
        room(emulator, *done_state(state))
        member_ids = ['10', '15']
    failed, result = run(emulator, check_mode=True, member_id=member_ids, state=state)
    assert not failed and result['changed'] is False and result['already'] == member_ids
    assert writes(emulator) == []


def test_rerun_is_idempotent(emulator):
    room(emulator)
    assert run(emulator, member_id=['10', '15'], state='muted')[1]['changed'] is True
    failed, result = run(emulator, member_id=['10', '15'], state='muted')
    assert not failed and result['changed'] is False and result['already'] == ['10', '15']


def test_only_members_that_need_it_are_acted_on(emulator):
    emulator.add_conference(ROOM, members=[{'member_id': '10', 'muted': True}, '15', '20'])
    failed, result = run(emulator, member_id=['10', '15', '20'], state='muted')
    assert not failed and result['changed'] is True
    assert sorted(result['members']) == ['15', '20'] and result['already'] == ['10']
    assert sorted(w[1] for w in writes(emulator)) == [MEMBERS + '15/Mute/', MEMBERS + '20/Mute/']


def test_kick_some_present_some_not(emulator):
    room(emulator)
    failed, result = run(emulator, member_id='10,99', state='kicked')
    assert not failed and result['members'] == ['10'] and result['already'] == ['99']
    assert writes(emulator) == [('POST', MEMBERS + '10/Kick/', 202)]


# --- member_id: all ----------------------------------------------------------------------------------------


def test_all_sends_one_request(emulator):
    emulator.add_conference(ROOM, members=[{'member_id': '10', 'muted': True}, '15', '20'])
    failed, result = run(emulator, member_id='all', state='muted')
    assert not failed and result['changed'] is True
    assert result['members'] == ['15', '20'] and result['already'] == ['10']
    assert writes(emulator) == [('POST', MEMBERS + 'all/Mute/', 202)]
    assert all(m['muted'] for m in emulator.conference(ROOM)['members'])


def test_all_absent_on_empty_room_still_sends_the_room_wide_request(emulator):
    emulator.add_conference(ROOM, members=0)
    failed, result = run(emulator, member_id='all', state='absent')
    assert not failed and result['changed'] is False and result['members'] == []
    # The member list may lie: the one room-wide request is sent, and its answer (204) decides.
    assert writes(emulator) == [('DELETE', MEMBERS + 'all/', 204)]


def test_all_kicked(emulator):
    room(emulator)
    failed, result = run(emulator, member_id=['all'], state='kicked')
    assert not failed and result['members'] == ['10', '15']
    assert writes(emulator) == [('POST', MEMBERS + 'all/Kick/', 202)]
    assert emulator.conference(ROOM)['members'] == []


# --- the conference is gone ----------------------------------------------------------------------------------


@pytest.mark.parametrize('check_mode', [False, True])
def test_conference_absent(emulator, check_mode):
    failed, result = run(emulator, check_mode=check_mode, member_id='10', state='kicked')
    assert not failed and result['changed'] is False and result['conference_absent'] is True
    assert result['members'] == [] and 'not live' in result['msg']
    assert [e['action'] for e in emulator.requests()] == ['retrieve']


def test_conference_ends_between_read_and_action(emulator, monkeypatch):
    room(emulator)
    original = _conference_api.ConferenceApi.retrieve

    def read_then_end(self, name):
        answer = original(self, name)
        emulator.remove_conference(name)
        return answer

    monkeypatch.setattr(_conference_api.ConferenceApi, 'retrieve', read_then_end)
    failed, result = run(emulator, member_id=['10', '15'], state='muted')
    assert not failed and result['changed'] is False and result['conference_absent'] is True
    assert [w[2] for w in writes(emulator)] == [404, 404]


# --- unreadable retrieve -------------------------------------------------------------------------------------


def test_unreadable_acts_anyway(emulator):
    room(emulator, 'muted', True)
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, member_id=['10', '99'], state='kicked')
    assert not failed and result['changed'] is True and result['uncertain'] is True
    assert result['members'] == ['10'] and result['already'] == ['99']
    assert any('could not be read' in w and 'acting' in w for w in result['warnings'])
    assert sorted(w[1:] for w in writes(emulator)) == [(MEMBERS + '10/Kick/', 202), (MEMBERS + '99/Kick/', 404)]


def test_unreadable_all_sends_all(emulator):
    room(emulator)
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, member_id='all', state='deaf')
    # The answer names the members it reached.
    assert not failed and result['members'] == ['10', '15'] and result['uncertain'] is True
    assert writes(emulator) == [('POST', MEMBERS + 'all/Deaf/', 202)]


def test_unreadable_check_mode_predicts_change(emulator):
    room(emulator, 'muted', True)
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, check_mode=True, member_id='10', state='muted')
    assert not failed and result['changed'] is True and result['uncertain'] is True
    assert result['members'] == ['10']
    assert any("'Board Room'" in w and 'predicting a change' in w for w in result['warnings'])
    assert writes(emulator) == []


# --- failures ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize('check_mode', [False, True])
def test_mute_of_missing_member_fails(emulator, check_mode):
    room(emulator)
    failed, result = run(emulator, check_mode=check_mode, member_id=['10', '99'], state='muted')
    assert failed and "99 (member not found)" in result['msg']
    assert result['members'] == ['10'] and result['failures'][0]['member_id'] == '99'
    assert len(writes(emulator)) == (0 if check_mode else 1)


def test_mute_of_missing_member_unreadable_fails_with_envelope(emulator):
    room(emulator)
    emulator.configure(retrieve_lies=True, error_style='envelope')
    failed, result = run(emulator, member_id=['99'], state='unmuted')
    assert failed and result['failures'][0]['status'] == 404
    assert result['failures'][0]['message'].startswith('member not found') and result['conference_absent'] is False


def test_server_error_fails_and_keeps_done(emulator):
    room(emulator)
    emulator.configure(faults=[{'kind': '503', 'method': 'POST', 'match': ROOM, 'first_n': 99}])
    failed, result = run(emulator, member_id=['10'], state='deaf', retries=1)
    assert failed and [(f['member_id'], f['status']) for f in result['failures']] == [('10', 503)]
    assert 'service unavailable' in result['failures'][0]['message']
    assert result['changed'] is False
    assert [e['status'] for e in emulator.requests(method='POST')] == [503, 503]  # retries=1: two attempts


def test_lost_reply_of_kick_is_reported_done(emulator):
    room(emulator)
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'POST', 'first_n': 1}])
    failed, result = run(emulator, member_id='10', state='kicked')
    assert not failed and result['changed'] is True and result['members'] == ['10']
    assert [w[2] for w in writes(emulator)] == [None, 404]


def test_gateway_error_after_a_kick_is_reported_done(emulator):
    """A 504 that came after the API kicked the member, then the retry's "member not found": acted."""
    room(emulator)
    emulator.configure(faults=[{'kind': '504', 'method': 'POST', 'first_n': 1, 'processed': True}])
    failed, result = run(emulator, member_id='10', state='kicked')
    assert not failed and result['changed'] is True and result['members'] == ['10'] and result['already'] == []
    assert [w[2] for w in writes(emulator)] == [504, 404]


@pytest.mark.parametrize('member_id, members', [('all', ['10', '15']), ('10', ['10'])])
def test_removal_done_unheard_then_room_gone_is_reported_done(emulator, monkeypatch, member_id, members):
    """A 504 that came after the API hung the member(s) up; the room ends before the retry, which finds it gone:
    acted."""
    room(emulator)
    emulator.configure(faults=[{'kind': '504', 'method': 'DELETE', 'first_n': 1, 'processed': True}])
    monkeypatch.setattr(
        _conference_api.ConferenceApi, '_sleep', lambda self, seconds: emulator.remove_conference(ROOM)
    )  # the backoff
    failed, result = run(emulator, member_id=member_id, state='absent')
    assert not failed and result['changed'] is True and result['conference_absent'] is False and result['already'] == []
    assert result['members'] == members
    assert [w[2] for w in writes(emulator)] == [504, 404]


def test_interrupt_while_the_read_waits_to_retry_ends_the_run(emulator, monkeypatch):
    """SIGINT during the backoff after a 503 to the read: the run fails as interrupted, it does not act on a guess."""
    room(emulator)
    emulator.configure(faults=[{'kind': '503', 'method': 'GET', 'first_n': 1}])
    monkeypatch.setattr(_conference_api.ConferenceApi, '_sleep', lambda self, seconds: self.interrupt('SIGINT'))
    failed, result = run(emulator, check_mode=True, member_id='10', state='muted')
    assert failed and result['msg'].startswith('Interrupted by SIGINT') and result['changed'] is False
    assert [e['status'] for e in emulator.requests()] == [503]


def test_gateway_error_to_the_end_says_the_action_may_have_been_done(emulator):
    room(emulator)
    emulator.configure(faults=[{'kind': '504', 'method': 'POST'}])
    failed, result = run(emulator, member_id=['10'], state='muted', retries=1)
    assert failed and [(f['member_id'], f['status']) for f in result['failures']] == [('10', 504)]
    assert 'whether the action was carried out is unknown' in result['failures'][0]['message']


def test_member_action_status_200(emulator):
    room(emulator)
    emulator.configure(member_action_status=200)
    failed, result = run(emulator, member_id='10', state='muted')
    assert not failed and result['members'] == ['10'] and writes(emulator)[0][2] == 200


def test_403_during_actions_stops(emulator):
    room(emulator)
    emulator.configure(forbidden=[ROOM], faults=[])
    failed, result = run(emulator, member_id='10', state='kicked')
    assert failed and 'Permission denied' in result['msg'] and len(emulator.requests()) == 1


# --- bad input -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(member_id=[], state='muted'), 'member_id'),
        (dict(member_id=[''], state='muted'), 'member_id'),
        (dict(member_id='10,,15', state='muted'), 'member_id'),
        (dict(member_id=['all', '10'], state='muted'), 'member_id'),
        (dict(member_id='10', state='loud'), 'state'),
        (dict(member_id='10'), 'state'),
        (dict(state='muted'), 'member_id'),
        (dict(member_id='10', state='muted', conference=''), 'conference'),
        (dict(member_id='10', state='muted', timeout=0), 'timeout'),
    ],
)
def test_bad_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []


def test_tricky_conference_name(emulator):
    emulator.add_conference('a/b ..', members=['7'])
    failed, result = run(emulator, conference='a/b ..', member_id='7', state='absent')
    assert not failed and result['members'] == ['7']
    assert writes(emulator) == [('DELETE', '/api/v1/Account/MA_TEST/Conference/a%2Fb%20%2E%2E/Member/7/', 204)]


# --- audit log -----------------------------------------------------------------------------------------------


def test_audit_log_one_line_per_member(emulator, tmp_path):
    audit = tmp_path / 'members.jsonl'
    room(emulator)
    failed, result = run(
        emulator, member_id=['10', '99'], state='muted', audit_log=str(audit), change_id='INC-977', reason='noisy line'
    )
    assert failed and result['members'] == ['10'] and [f['member_id'] for f in result['failures']] == ['99']
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert sorted((line['member_id'], line['outcome'], line['status'], line.get('message')) for line in lines) == [
        ('10', 'acted', 202, None),
        ('99', 'failed', None, 'member not found'),
    ]
    for line in lines:
        assert (line['action'], line['name'], line['state'], line['check_mode']) == ('member', ROOM, 'muted', False)
        assert (line['run_id'], line['change_id'], line['reason']) == (result['run_id'], 'INC-977', 'noisy line')
    assert TOKEN not in audit.read_text()


def test_audit_log_check_mode_says_what_would_happen(emulator, tmp_path):
    audit = tmp_path / 'members.jsonl'
    room(emulator, 'muted', False)
    emulator.add_conference('other', members=[{'member_id': '10', 'muted': True}])
    run(emulator, check_mode=True, member_id=['10'], state='muted', audit_log=str(audit))
    run(emulator, check_mode=True, conference='other', member_id=['10'], state='muted', audit_log=str(audit))
    run(emulator, check_mode=True, conference='gone', member_id='all', state='kicked', audit_log=str(audit))
    emulator.configure(retrieve_lies=True)
    run(emulator, check_mode=True, member_id='all', state='kicked', audit_log=str(audit))
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line['name'], line['member_id'], line['outcome'], line.get('uncertain')) for line in lines] == [
        (ROOM, '10', 'would_act', None),
        ('other', '10', 'would_be_already', None),
        ('gone', 'all', 'would_be_absent', None),
        (ROOM, 'all', 'would_act', True),
    ]
    assert writes(emulator) == []


def test_audit_log_all_is_one_line_for_one_request(emulator, tmp_path):
    audit = tmp_path / 'members.jsonl'
    room(emulator)
    failed, result = run(emulator, member_id='all', state='kicked', audit_log=str(audit))
    assert not failed and result['members'] == ['10', '15']
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line['member_id'], line['outcome'], line['status']) for line in lines] == [('all', 'acted', 202)]


# --- answers that are not what they seem (issue 13) ------------------------------------------------------------


def lying_retrieve(monkeypatch, count='2'):
    """The retrieve answers a live room with ``conference_member_count`` 2 but no members listed."""

    def retrieve(self, name):
        conference = dict(conference_name=name, conference_run_time='30', conference_member_count=count, members=[])
        return _conference_api.Retrieved(name, _conference_api.STATE_PRESENT, 200, conference=conference)

    monkeypatch.setattr(_conference_api.ConferenceApi, 'retrieve', retrieve)


def test_all_acts_on_the_room_when_the_member_list_lies(emulator, monkeypatch):
    room(emulator)
    lying_retrieve(monkeypatch)
    failed, result = run(emulator, member_id='all', state='kicked')
    assert not failed and result['changed'] is True and result['uncertain'] is True
    assert result['members'] == ['10', '15']  # as the answer named them
    assert writes(emulator) == [('POST', MEMBERS + 'all/Kick/', 202)]
    assert emulator.conference(ROOM)['members'] == []
    assert any('does not agree' in w for w in result['warnings'])


def test_all_check_mode_predicts_a_change_when_the_member_list_lies(emulator, monkeypatch):
    room(emulator)
    lying_retrieve(monkeypatch)
    failed, result = run(emulator, check_mode=True, member_id='all', state='absent')
    assert not failed and result['changed'] is True and result['uncertain'] is True and result['members'] == ['all']
    assert any('does not agree' in w and 'predicting a change' in w for w in result['warnings'])
    assert writes(emulator) == []


@pytest.mark.parametrize('member_id', ['10', 'all'])
def test_2xx_error_answer_to_a_member_action_is_a_failure(emulator, member_id):
    room(emulator)
    emulator.configure(faults=[{'kind': 'error_body', 'method': 'POST'}])
    failed, result = run(emulator, member_id=member_id, state='kicked')
    assert failed and result['members'] == [] and result['changed'] is False
    [failure] = result['failures']
    assert failure['member_id'] == member_id and failure['status'] == 200
    assert 'could not be read as a success' in failure['message']
    assert len(emulator.conference(ROOM)['members']) == 2


# --- issue 23: uncertain as vobiz_conference reports it; unreadable counts; the refused request counted as sent ----


@pytest.mark.parametrize(
    'rule, status',
    [
        ({'kind': 'error_body', 'status': 202}, 202),
        ({'kind': '504'}, 504),
        ({'kind': 'lost_reply', 'first_n': None}, None),
    ],
    ids=['2xx-error-body', '504-to-the-end', 'lost-replies'],
)
def test_an_action_whose_answer_cannot_tell_is_uncertain(emulator, tmp_path, rule, status):
    audit = tmp_path / 'audit.jsonl'
    room(emulator)
    emulator.configure(faults=[dict(rule, method='POST')])
    failed, result = run(emulator, member_id=['10'], state='muted', retries=1, audit_log=str(audit))
    assert (
        failed
        and result['uncertain_members'] == ['10']
        and [(f['member_id'], f['status']) for f in result['failures']] == [('10', status)]
    )
    assert '(1 uncertain: may or may not have been carried out)' in result['msg']
    assert [line['outcome'] for line in map(json.loads, audit.read_text().splitlines())] == ['uncertain']


@pytest.mark.parametrize('count', [None, '', 'two', '2.0', 2.5, '1', '²'])
def test_an_unreadable_member_count_never_makes_a_kick_already_done(emulator, monkeypatch, count):
    """Issue 23: with a count that cannot be read (or that disagrees with the list), the list is not trusted."""
    room(emulator)
    real_retrieve = _conference_api.ConferenceApi.retrieve

    def retrieve(self, name):
        answer = real_retrieve(self, name)
        conference = dict(answer.conference, members=[], conference_member_count=count)
        if count is None:
            del conference['conference_member_count']
        return answer._replace(conference=conference)

    monkeypatch.setattr(_conference_api.ConferenceApi, 'retrieve', retrieve)
    failed, result = run(emulator, member_id=['10'], state='kicked')
    assert not failed and result['members'] == ['10'] and result['already'] == [] and result['uncertain'] is True
    assert [(e['method'], e['status']) for e in emulator.requests(method='POST')] == [('POST', 202)]


def test_the_refused_action_is_sent_and_the_rest_not_started(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    emulator.add_conference(ROOM, members=[{'member_id': i} for i in ('10', '15', '20')])
    original = emulator._process

    def refuse_member_15(method, route, headers, body, body_error, cfg):
        if method == 'POST' and route.member == '15':
            cfg = dict(cfg, forbidden=[ROOM])
        return original(method, route, headers, body, body_error, cfg)

    emulator._process = refuse_member_15
    failed, result = run(emulator, member_id=['10', '15', '20'], state='muted', parallel=1, audit_log=str(audit))
    assert failed and 'Permission denied' in result['msg'] and result['msg'].endswith('1 not started.')
    assert result['members'] == ['10'] and [(f['member_id'], f['status']) for f in result['failures']] == [('15', 403)]
    assert result['not_started'] == ['20']
    assert [(line['member_id'], line['outcome']) for line in map(json.loads, audit.read_text().splitlines())] == [
        ('10', 'acted'),
        ('15', 'failed'),
        ('20', 'not_started'),
    ]


# --- the room-size cap (max_members) ---------------------------------------------------------------------------


def full_room(emu, name=ROOM, join_times=(300, 200, 100, 10)):
    """Members 10, 11, ... who joined ``join_times`` seconds ago."""
    specs = [{'member_id': str(10 + n), 'join_time': seconds} for n, seconds in enumerate(join_times)]
    emu.add_conference(name, members=specs)
    return emu.conference_uuid(name)


@pytest.mark.parametrize('check_mode', [False, True])
def test_max_members_kicks_the_member_named_when_the_room_is_over_it(emulator, check_mode):
    emulator.configure(retrieve_uuid=True)
    uuid = full_room(emulator)
    failed, result = run(
        emulator, check_mode=check_mode, member_id='13', state='kicked', max_members=3, conference_uuid=uuid
    )
    assert not failed and result['changed'] is True and result['members'] == ['13']
    assert result['capacity'] == dict(verdict='selected', reason=None, member_count=4, max_members=3, members=['13'])
    assert writes(emulator) == ([] if check_mode else [('POST', MEMBERS + '13/Kick/', 202)])


@pytest.mark.parametrize(
    'setup, member_id, verdict, warned',
    [
        (dict(max_members=4), '13', 'spared', False),
        (dict(max_members=3), '99', 'not_listed', True),
        (dict(max_members=3, conference_uuid='uuid-of-an-ended-instance'), '13', 'other_instance', True),
        (dict(max_members=3, lies=True), '13', 'unreadable', True),
    ],
)
def test_max_members_touches_nobody_unless_the_api_confirms(emulator, setup, member_id, verdict, warned):
    emulator.configure(retrieve_uuid=True, retrieve_lies=setup.pop('lies', False))
    full_room(emulator)
    failed, result = run(emulator, member_id=member_id, state='kicked', **setup)
    assert not failed and result['changed'] is False and result['members'] == []
    assert result['capacity']['verdict'] == verdict and result['capacity']['reason']
    assert writes(emulator) == []
    assert any('Nobody was removed' in w for w in result.get('warnings', [])) is warned


def test_max_members_with_all_kicks_the_newest_beyond_the_cap(emulator):
    full_room(emulator, join_times=(300, 5, 100, 10, 200))
    failed, result = run(emulator, member_id='all', state='kicked', max_members=3)
    assert not failed and sorted(result['members']) == ['11', '13']
    assert sorted(w[1] for w in writes(emulator)) == [MEMBERS + '11/Kick/', MEMBERS + '13/Kick/']
    assert sorted(m['member_id'] for m in emulator.conference(ROOM)['members']) == ['10', '12', '14']


def test_max_members_reads_an_escaped_name_literally(emulator):
    name = "{{ lookup('pipe', 'id') }}\x07"
    full_room(emulator, name=name)
    escaped = "{{ lookup('pipe', 'id') }}\\x07"
    failed, result = run(
        emulator, conference=escaped, names_escaped=True, member_id='13', state='kicked', max_members=3
    )
    assert not failed and result['members'] == ['13']
    assert [e['conference'] for e in emulator.requests()] == [name, name]


def test_max_members_refuses_a_state_that_removes_nobody(emulator):
    full_room(emulator)
    failed, result = run(emulator, member_id='13', state='muted', max_members=3)
    assert failed and 'max_members' in result['msg'] and emulator.requests() == []


# --- the caller rule (caller_matches) ----------------------------------------------------------------------------


def room_with_a_blocked_caller(emu):
    """Members 10 and 11 call from other numbers, 12 from +1 555 123 4567 (written as Vobiz might)."""
    froms = ('+919800000010', 'sip:+15551234567@example.com', '1 (555) 123-4567')
    emu.add_conference(ROOM, members=[{'member_id': str(10 + n), 'from': f} for n, f in enumerate(froms)])
    return emu.conference_uuid(ROOM)


@pytest.mark.parametrize('member_id, kicked', [('12', ['12']), ('all', ['12']), (['10', '12'], ['12'])])
def test_caller_matches_kicks_only_the_members_whose_from_matches(emulator, member_id, kicked):
    emulator.configure(retrieve_uuid=True)
    uuid = room_with_a_blocked_caller(emulator)
    failed, result = run(emulator, member_id=member_id, state='kicked', caller_matches=['+1555*'], conference_uuid=uuid)
    assert not failed and result['changed'] is True and result['members'] == kicked
    assert result['callers']['callers'] == [{'member_id': '12', 'caller': '+*******4567'}]
    assert writes(emulator) == [('POST', MEMBERS + '12/Kick/', 202)]
    assert '5551234567' not in json.dumps(result)


def test_caller_matches_touches_nobody_whose_from_does_not_match(emulator):
    room_with_a_blocked_caller(emulator)
    failed, result = run(emulator, member_id=['10', '11'], state='kicked', caller_matches=['+1555*'])
    assert not failed and result['changed'] is False and result['members'] == []
    assert result['callers']['verdict'] == 'spared' and writes(emulator) == []
