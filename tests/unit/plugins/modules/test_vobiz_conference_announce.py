# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference_announce: the module runs in-process and talks HTTP to the emulator."""

import functools
import json

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _api_client, _conference_api
from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference_announce
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import PREFIX, TOKEN, run_against

RESULT_KEYS = {'changed', 'announced', 'already_absent', 'absent', 'failures', 'uncertain', 'excluded', 'msg'}
TEXT = 'This conference ends in one minute.'


@pytest.fixture(autouse=True)
def waits(monkeypatch):
    """Record the module's ``wait`` instead of sleeping."""
    calls = []
    monkeypatch.setattr(
        _conference_api.ConferenceApi, 'wait_unless_interrupted', lambda self, seconds: calls.append(seconds) or True
    )
    return calls


run = functools.partial(run_against, vobiz_conference_announce.main)


def posts(emu):
    return [(e['raw_path'], e['status']) for e in emu.requests(method='POST')]


# --- the four-case matrix -------------------------------------------------------------------------------------


def test_speak_to_all_members(emulator):
    emulator.add_conference('Board Room')
    failed, result = run(emulator, name='Board Room', text=TEXT)
    assert not failed and result['changed'] is True
    assert RESULT_KEYS <= set(result)
    assert result['announced'] == ['Board Room'] and result['absent'] == [] and result['failures'] == []
    log = emulator.requests()
    assert [(e['method'], e['raw_path'], e['status']) for e in log] == [
        ('POST', PREFIX + 'Board%20Room/Member/all/Speak/', 202)
    ]
    assert log[0]['body'] == {'text': TEXT, 'voice': 'WOMAN', 'language': 'en-US'}
    spoken = emulator.announcements('Board Room')
    assert [(a['action'], a['text'], sorted(a['member_id'])) for a in spoken] == [('speak', TEXT, ['1', '2'])]


@pytest.mark.parametrize('error_style', ['flat', 'envelope'])
def test_absent_room_is_skipped_not_failed(emulator, error_style):
    emulator.configure(error_style=error_style)
    failed, result = run(emulator, name=['gone'], text=TEXT)
    assert not failed and result['changed'] is False
    assert result['already_absent'] == ['gone'] and result['announced'] == []
    assert result['absent'] == result['already_absent']  # the deprecated alias, until 0.3.0
    assert posts(emulator) == [(PREFIX + 'gone/Member/all/Speak/', 404)]


def test_check_mode_predicts(emulator):
    emulator.add_conference('r')
    failed, result = run(emulator, check_mode=True, name=['r', 'gone'], text=TEXT)
    assert not failed and result['changed'] is True
    assert result['announced'] == ['r'] and result['absent'] == ['gone'] and result['uncertain'] == []
    assert posts(emulator) == [] and [e['action'] for e in emulator.requests()] == ['retrieve', 'retrieve']
    assert emulator.announcements('r') == [] and result['msg'].startswith('Would announce in 1')


def test_check_mode_nothing_live(emulator, waits):
    failed, result = run(emulator, check_mode=True, name='gone', text=TEXT, wait=5)
    assert not failed and result['changed'] is False and result['absent'] == ['gone']
    assert posts(emulator) == [] and waits == []


def test_rerun_after_hang_up_succeeds(emulator):
    emulator.add_conference('r')
    assert run(emulator, name='r', text=TEXT)[1]['announced'] == ['r']
    emulator.remove_conference('r')
    failed, result = run(emulator, name='r', text=TEXT)
    assert not failed and result['changed'] is False and result['absent'] == ['r']


# --- what is sent ---------------------------------------------------------------------------------------------------


def test_play_url_to_member_ids(emulator):
    emulator.add_conference('r', members=['10', '15', '20'])
    url = 'https://media.example.com/closing.mp3'
    failed, result = run(emulator, name='r', member=['10', '15'], url=url)
    assert not failed and result['announced'] == ['r']
    log = emulator.requests()
    assert [(e['raw_path'], e['body']) for e in log] == [(PREFIX + 'r/Member/10,15/Play/', {'url': url})]
    assert emulator.announcements('r')[0]['member_id'] == ['10', '15']


def test_voice_and_language(emulator):
    emulator.add_conference('r')
    failed, result = run(emulator, name='r', text=TEXT, voice='MAN', language='en-GB')
    assert not failed and result['announced'] == ['r']
    assert emulator.requests()[0]['body'] == {'text': TEXT, 'voice': 'MAN', 'language': 'en-GB'}


def test_text_of_1000_characters_is_fine(emulator):
    emulator.add_conference('r')
    failed, result = run(emulator, name='r', text='x' * 1000)
    assert not failed and result['announced'] == ['r']


@pytest.mark.parametrize('status', [200, 202])
def test_200_and_202_both_succeed(emulator, status):
    emulator.add_conference('r')
    emulator.configure(member_action_status=status)
    failed, result = run(emulator, name='r', text=TEXT)
    assert not failed and result['announced'] == ['r'] and posts(emulator)[0][1] == status


def test_live_shape_200_conference_not_found_is_absent(emulator, monkeypatch):
    """The live service answered a member route on a missing room with {"error": "conference not found"}."""
    emulator.add_conference('r')

    def live_answer(self, method, url, **kwargs):
        return _api_client.ApiResponse(
            200, {'error': 'conference not found'}, '', True, 1, False, 'conference not found'
        )

    monkeypatch.setattr(_conference_api.ConferenceApi, 'request_url', live_answer)
    failed, result = run(emulator, name='r', text=TEXT)
    assert not failed and result['changed'] is False and result['absent'] == ['r'] and result['announced'] == []


def test_member_not_found_is_a_failure_not_absent(emulator):
    emulator.add_conference('r', members=['10'])
    failed, result = run(emulator, name='r', member='99', text=TEXT)
    assert failed and result['absent'] == []
    assert result['failures'] == [{'name': 'r', 'status': 404, 'message': 'member not found'}]


# --- selection --------------------------------------------------------------------------------------------------------


def test_match_and_exclude(emulator):
    for name in ['ci-1', 'ci-2', 'ci-keep', 'CI-upper', 'keep-me']:
        emulator.add_conference(name)
    failed, result = run(emulator, match='ci-*', name='keep-me', exclude='*keep*', text=TEXT)
    assert not failed and sorted(result['announced']) == ['ci-1', 'ci-2']
    assert result['excluded'] == ['keep-me', 'ci-keep']
    assert any("'keep-me'" in w and 'exclude' in w for w in result['warnings'])
    assert sorted(e['conference'] for e in emulator.requests(method='POST')) == ['ci-1', 'ci-2']


def test_check_mode_unreadable_is_uncertain(emulator):
    emulator.add_conference('live')
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, check_mode=True, name=['live', 'gone'], text=TEXT)
    assert not failed and result['changed'] is True
    assert result['announced'] == ['live'] and result['uncertain'] == ['live'] and result['absent'] == ['gone']
    assert any("'live'" in w and 'could not be read' in w for w in result['warnings'])
    assert posts(emulator) == []


# --- wait -------------------------------------------------------------------------------------------------------------


def test_wait_once_after_all_rooms(emulator, waits):
    for name in ['a', 'b', 'c']:
        emulator.add_conference(name)
    failed, result = run(emulator, name=['a', 'b', 'c'], text=TEXT, wait=30)
    assert not failed and len(result['announced']) == 3 and waits == [30.0]


@pytest.mark.parametrize('check_mode', [False, True])
def test_no_wait_without_announcement_or_in_check_mode(emulator, waits, check_mode):
    if check_mode:
        emulator.add_conference('a')
    failed, result = run(emulator, check_mode=check_mode, name='a', text=TEXT, wait=30)
    assert not failed and waits == []
    # check mode: the live room is predicted announced; normal mode: the room is not live.
    assert (result['announced'], result['absent']) == ((['a'], []) if check_mode else ([], ['a']))


# --- failures ---------------------------------------------------------------------------------------------------------


def test_partial_failure_keeps_results(emulator, tmp_path, waits):
    audit = str(tmp_path / 'audit.jsonl')
    for name in ['ok-1', 'ok-2', 'bad-1']:
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '503', 'method': 'POST', 'match': 'bad-*'}])
    failed, result = run(
        emulator, name=['ok-1', 'ok-2', 'bad-1', 'gone'], text=TEXT, retries=1, audit_log=audit, wait=2
    )
    assert failed and result['changed'] is True
    assert result['announced'] == ['ok-1', 'ok-2'] and result['absent'] == ['gone']
    assert [(f['name'], f['status']) for f in result['failures']] == [('bad-1', 503)]
    assert "'bad-1'" in result['msg'] and 'ok-1' not in result['msg']
    assert waits == [2.0]
    with open(audit) as handle:
        lines = [json.loads(line) for line in handle]
    assert sorted((line['name'], line['outcome'], line['action'], line['route']) for line in lines) == [
        ('bad-1', 'failed', 'announce', 'Speak'),
        ('gone', 'absent', 'announce', 'Speak'),
        ('ok-1', 'announced', 'announce', 'Speak'),
        ('ok-2', 'announced', 'announce', 'Speak'),
    ]
    assert TOKEN not in open(audit).read()


def test_lost_reply_is_not_retried(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'POST', 'first_n': 1}])
    failed, result = run(emulator, name='r', text=TEXT)
    assert failed and 'may have started' in result['failures'][0]['message']
    assert len(emulator.requests(method='POST')) == 1
    assert len(emulator.announcements('r')) == 1  # it did start: exactly once


def test_gateway_error_after_the_announcement_started_is_not_retried(emulator):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '504', 'method': 'POST', 'processed': True}])
    failed, result = run(emulator, name='r', text=TEXT)
    assert failed and result['failures'][0]['status'] == 504 and 'may have started' in result['failures'][0]['message']
    assert len(emulator.announcements('r')) == 1  # it did start: exactly once


def test_rate_limit_is_retried(emulator, no_real_backoff):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '429_retry_after', 'retry_after': 2, 'method': 'POST', 'first_n': 1}])
    failed, result = run(emulator, name='r', text=TEXT)
    assert not failed and result['announced'] == ['r'] and no_real_backoff == [2]
    assert any('2 attempts' in w for w in result['warnings'])


def test_403_keeps_finished_results(emulator):
    for name in ['a', 'secret', 'b']:
        emulator.add_conference(name)
    emulator.configure(forbidden=['secret'])
    failed, result = run(emulator, name=['a', 'secret', 'b'], text=TEXT, parallel=1)
    assert failed and 'Permission denied' in result['msg'] and result['announced'] == ['a']
    assert len(emulator.requests()) == 2


def test_bulk_rooms_concurrently(emulator):
    names = ['bulk-%02d' % i for i in range(60)]
    for name in names:
        emulator.add_conference(name, members=1)
    failed, result = run(emulator, name=names, text=TEXT, parallel=8)
    assert not failed and result['announced'] == names
    assert len(emulator.requests()) == 60 and emulator.connection_count <= 8


# --- bad input --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(name='r'), 'text'),
        (dict(name='r', text=TEXT, url='https://x.example/a.mp3'), 'url'),
        (dict(name='r', url='http://x.example/a.mp3'), 'url'),
        (dict(name='r', url='https://'), 'url'),
        (dict(name='r', url='ftp://x.example/a.mp3'), 'url'),
        (dict(name='r', url='https://[::1/a.mp3'), 'url'),
        (dict(name='r', url='https://x.example/a b.mp3'), 'url'),
        (dict(name='r', text='x' * 1001), 'text'),
        (dict(name='r', text='   '), 'text'),
        (dict(name='r', text=TEXT, language=''), 'language'),
        (dict(name='r', text=TEXT, voice='CHILD'), 'voice'),
        (dict(name='r', text=TEXT, wait=-1), 'wait'),
        (dict(name='r', text=TEXT, wait=3601), 'wait'),
        (dict(name='r', text=TEXT, member=[]), 'member'),
        (dict(name='r', text=TEXT, member=['all', '10']), 'member'),
        (dict(name='r', text=TEXT, member=['10', '']), 'member'),
        (dict(text=TEXT), 'name'),
        (dict(exclude='x', text=TEXT), 'name'),
        (dict(name='', text=TEXT), 'name'),
        (dict(name='r', text=TEXT, audit_log='/nonexistent-dir/x/audit.jsonl'), 'audit_log'),
    ],
)
def test_bad_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []


def test_audit_log_check_mode_and_run_id(emulator, tmp_path):
    audit = tmp_path / 'announce.jsonl'
    emulator.add_conference('live')
    dummy, check = run(
        emulator,
        check_mode=True,
        name=['live', 'gone'],
        text=TEXT,
        parallel=1,
        audit_log=str(audit),
        change_id='CHG-7',
        reason='warn before the hang-up',
    )
    emulator.configure(retrieve_lies=True)
    run(emulator, check_mode=True, name=['live'], text=TEXT, audit_log=str(audit))
    dummy, real = run(emulator, name=['live'], text=TEXT, audit_log=str(audit))
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line['name'], line['outcome'], line.get('uncertain'), line['check_mode']) for line in lines] == [
        ('live', 'would_announce', None, True),
        ('gone', 'would_be_absent', None, True),
        ('live', 'would_announce', True, True),
        ('live', 'announced', None, False),
    ]
    assert [line.get('change_id') for line in lines] == ['CHG-7', 'CHG-7', None, None]
    assert lines[0]['reason'] == 'warn before the hang-up'
    assert lines[0]['run_id'] == lines[1]['run_id'] == check['run_id'] and lines[3]['run_id'] == real['run_id']
    assert len({line['run_id'] for line in lines}) == 3


def test_name_that_cannot_be_encoded_fails_alone(emulator):
    for name in ('a', '\ud800b', 'c'):
        emulator.add_conference(name)
    failed, result = run(emulator, match='*', text=TEXT, parallel=1)
    assert failed and result['announced'] == ['a', 'c']
    assert result['failures'] == [
        dict(name='\\ud800b', status=None, message='cannot be sent: the name is not valid Unicode')
    ]


# --- answers that are not what they seem (issue 13) ------------------------------------------------------------


@pytest.mark.parametrize('rule', [{'kind': 'error_body', 'status': 202}, {'kind': 'html', 'status': 200}])
def test_2xx_error_answer_is_not_an_announcement(emulator, rule):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[dict(rule, method='POST')])
    failed, result = run(emulator, name='Board Room', text=TEXT)
    assert failed and result['announced'] == [] and result['absent'] == []
    assert 'could not be read as a success' in result['failures'][0]['message']


# --- issue 23: uncertain the way vobiz_conference reports it; the refused room counted as sent --------------------


@pytest.mark.parametrize(
    'rule, status',
    [
        ({'kind': 'error_body', 'status': 202}, 202),
        ({'kind': 'lost_reply'}, None),
        ({'kind': '504', 'processed': True}, 504),
    ],
    ids=['2xx-error-body', 'lost-reply', '504'],
)
def test_an_answer_that_cannot_tell_is_uncertain(emulator, tmp_path, rule, status):
    audit = tmp_path / 'audit.jsonl'
    for name in ('a', 'b'):
        emulator.add_conference(name)
    emulator.configure(faults=[dict(rule, method='POST', match='b')])
    failed, result = run(emulator, name=['a', 'b'], text=TEXT, audit_log=str(audit))
    assert failed and result['announced'] == ['a'] and result['uncertain'] == ['b']
    assert [(f['name'], f['status']) for f in result['failures']] == [('b', status)]
    assert '(1 uncertain: may or may not have started)' in result['msg']
    lines = {line['name']: line for line in map(json.loads, audit.read_text().splitlines())}
    assert lines['b']['outcome'] == 'uncertain' and lines['a']['outcome'] == 'announced'


def test_the_room_refused_with_403_is_sent_and_the_rest_not_started(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    for name in ['a', 'secret', 'b']:
        emulator.add_conference(name)
    emulator.configure(forbidden=['secret'])
    failed, result = run(emulator, name=['a', 'secret', 'b'], text=TEXT, parallel=1, audit_log=str(audit))
    assert failed and result['announced'] == ['a'] and result['not_started'] == ['b']
    assert [(f['name'], f['status']) for f in result['failures']] == [('secret', 403)] and result['msg'].endswith(
        '1 not started.'
    )
    assert [(line['name'], line['outcome']) for line in map(json.loads, audit.read_text().splitlines())] == [
        ('a', 'announced'),
        ('secret', 'failed'),
        ('b', 'not_started'),
    ]
