# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference: the module runs in-process and talks HTTP to the emulator."""

import functools
import json

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api, _selection
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name
from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import (
    PREFIX,
    TOKEN,
    TRICKY,
    module_args,
    run_against,
    run_module,
)

RESULT_KEYS = {'changed', 'hung_up', 'already_absent', 'failures', 'uncertain', 'excluded', 'unmatched', 'msg'}


run = functools.partial(run_against, vobiz_conference.main)


def methods(emu):
    return [entry['method'] for entry in emu.requests()]


def assert_result_keys(result):
    assert RESULT_KEYS <= set(result)


def test_name_live_is_hung_up(emulator):
    emulator.add_conference('Board Room')
    failed, result = run(emulator, name='Board Room')
    assert not failed and result['changed'] is True
    assert_result_keys(result)
    assert result['hung_up'] == ['Board Room'] and result['already_absent'] == [] and result['failures'] == []
    log = emulator.requests()
    assert [(e['method'], e['raw_path'], e['status']) for e in log] == [('DELETE', PREFIX + 'Board%20Room/', 204)]
    assert emulator.live_names() == []


def test_name_already_absent(emulator):
    failed, result = run(emulator, name='Board Room')
    assert not failed and result['changed'] is False
    assert_result_keys(result)
    assert result['hung_up'] == [] and result['already_absent'] == ['Board Room']
    assert [(e['method'], e['status']) for e in emulator.requests()] == [('DELETE', 404)]


def test_name_check_mode_predicts_hang_up(emulator):
    emulator.add_conference('Board Room')
    failed, result = run(emulator, check_mode=True, name='Board Room')
    assert not failed and result['changed'] is True
    assert_result_keys(result)
    assert result['hung_up'] == ['Board Room'] and result['uncertain'] == []
    assert methods(emulator) == ['GET'] and emulator.requests(method='DELETE') == []
    assert emulator.live_names() == ['Board Room']
    assert result['msg'].startswith('Would hang up 1')


def test_name_check_mode_already_absent(emulator):
    failed, result = run(emulator, check_mode=True, name='Board Room')
    assert not failed and result['changed'] is False
    assert result['already_absent'] == ['Board Room'] and result['hung_up'] == [] and result['closest'] == {}
    # The retrieval, then the live list once, for the closest live names of the one that is not live.
    assert [(e['method'], e['action']) for e in emulator.requests()] == [('GET', 'retrieve'), ('GET', 'list')]


def test_check_mode_offers_the_closest_live_names_of_a_typo(emulator):
    for name in ('Board Room', 'Board Annex', 'Lobby'):
        emulator.add_conference(name)
    failed, result = run(emulator, check_mode=True, name=['Bord Room', 'Lobby'], match='suport-*')
    assert not failed and result['closest'] == {'Bord Room': ['Board Room']}
    assert [e['action'] for e in emulator.requests()] == [
        'list',
        'retrieve',
        'retrieve',
    ]  # the list read anyway: no second one
    failed, result = run(emulator, name=['Bord Room'])
    assert result['closest'] == {}  # a real run reads nothing for it


def test_name_is_idempotent(emulator):
    emulator.add_conference('x')
    assert run(emulator, name='x')[1]['changed'] is True
    failed, result = run(emulator, name='x')
    assert not failed and result['changed'] is False and result['already_absent'] == ['x']


BYSTANDERS = ['prod-ci-3', 'CI-upper', 'ci']


def _ci_rooms(emu):
    for name in ['ci-1', 'ci-22'] + BYSTANDERS:
        emu.add_conference(name)


def test_match_hangs_up_matches_only(emulator):
    _ci_rooms(emulator)
    failed, result = run(emulator, match='ci-*')
    assert not failed and result['changed'] is True
    assert_result_keys(result)
    assert sorted(result['hung_up']) == ['ci-1', 'ci-22']
    assert methods(emulator) == ['GET', 'DELETE', 'DELETE']
    assert emulator.requests()[0]['action'] == 'list'
    assert emulator.live_names() == sorted(BYSTANDERS)


def test_match_already_absent(emulator, monkeypatch):
    """The list named rooms that ended before their DELETE arrived: already absent, no change."""
    _ci_rooms(emulator)
    original = _conference_api.ConferenceApi.hangup

    def room_ends_first(self, name, seen_live=False):
        emulator.remove_conference(name)
        return original(self, name, seen_live)

    monkeypatch.setattr(_conference_api.ConferenceApi, 'hangup', room_ends_first)
    failed, result = run(emulator, match='ci-*')
    assert not failed and result['changed'] is False
    assert sorted(result['already_absent']) == ['ci-1', 'ci-22'] and result['hung_up'] == []
    assert [e['status'] for e in emulator.requests(method='DELETE')] == [404, 404]


def test_match_nothing_matches(emulator):
    for name in BYSTANDERS:
        emulator.add_conference(name)
    failed, result = run(emulator, match='ci-*')
    assert not failed and result['changed'] is False
    assert_result_keys(result)
    assert 'matched' in result['msg'] and 'ci-*' in result['msg']
    assert methods(emulator) == ['GET']
    assert result['warnings'] == []
    assert emulator.live_names() == sorted(BYSTANDERS)


def test_match_check_mode(emulator):
    _ci_rooms(emulator)
    failed, result = run(emulator, check_mode=True, match='ci-*')
    assert not failed and result['changed'] is True
    assert sorted(result['hung_up']) == ['ci-1', 'ci-22']
    assert methods(emulator) == ['GET', 'GET', 'GET']
    assert emulator.requests(method='DELETE') == []
    assert len(emulator.live_names()) == 5


def test_match_check_mode_already_absent(emulator):
    for name in BYSTANDERS:
        emulator.add_conference(name)
    failed, result = run(emulator, check_mode=True, match='ci-*')
    assert not failed and result['changed'] is False
    assert result['hung_up'] == []
    assert methods(emulator) == ['GET']


def test_match_globs_are_case_sensitive_and_literal(emulator):
    for name in ['a', 'b', 'a/b', 'alpha', 'alpha2', 'x[1]', 'x1']:
        emulator.add_conference(name)
    failed, result = run(emulator, match=['a/?', 'alpha'])
    assert not failed and sorted(result['hung_up']) == ['a/b', 'alpha']
    assert emulator.live_names() == ['a', 'alpha2', 'b', 'x1', 'x[1]']
    failed, result = run(emulator, match='x[[]1]')
    assert not failed and result['hung_up'] == ['x[1]'] and emulator.live_names() == ['a', 'alpha2', 'b', 'x1']


def test_match_and_exclude(emulator):
    for name in ['ci-1', 'ci-keep', 'ci-2', 'keep-me', 'other']:
        emulator.add_conference(name)
    failed, result = run(emulator, match='ci-*', name=['keep-me', 'other'], exclude=['*keep*'])
    assert not failed
    assert result['hung_up'] == ['other', 'ci-1', 'ci-2']
    assert result['excluded'] == ['keep-me', 'ci-keep']
    assert [e['conference'] for e in emulator.requests(method='DELETE')].count('keep-me') == 0
    assert any("'keep-me'" in w and 'exclude' in w for w in result['warnings'])
    assert not any("'ci-keep'" in w for w in result['warnings'])
    assert emulator.live_names() == ['ci-keep', 'keep-me']


def test_excluded_explicit_name_only(emulator):
    emulator.add_conference('prod')
    failed, result = run(emulator, name='prod', exclude='prod')
    assert not failed and result['changed'] is False and result['excluded'] == ['prod']
    assert emulator.requests() == [] and emulator.live_names() == ['prod']


def test_all_hangs_up_everything_with_one_delete(emulator):
    for name in ['a', 'b', 'c']:
        emulator.add_conference(name)
    failed, result = run(emulator, all=True)
    assert not failed and result['changed'] is True
    assert_result_keys(result)
    assert sorted(result['hung_up']) == ['a', 'b', 'c']
    log = emulator.requests()
    assert [(e['method'], e['action'], e['raw_path']) for e in log] == [
        ('GET', 'list', PREFIX),
        ('DELETE', 'hangup_all', PREFIX),
    ]
    assert emulator.live_names() == []


def test_all_already_empty(emulator):
    failed, result = run(emulator, all=True)
    assert not failed and result['changed'] is False and result['hung_up'] == []
    assert methods(emulator) == ['GET', 'DELETE']
    assert any('hung up regardless' in w for w in result['warnings'])


def test_all_with_lying_list_still_sends_delete(emulator):
    for name in ('hidden', 'hidden-too'):
        emulator.add_conference(name)
    emulator.configure(list_lies=True, retrieve_lies=True)
    failed, result = run(emulator, all=True)
    assert not failed and result['changed'] is False
    assert any('may have been hung up regardless' in w for w in result['warnings'])
    # The hang-up of all conferences was sent regardless of the list, and ended every room.
    assert [(e['method'], e['action'], e['status']) for e in emulator.requests()] == [
        ('GET', 'list', 200),
        ('DELETE', 'hangup_all', 204),
    ]
    assert emulator.live_names() == []


def test_all_check_mode(emulator):
    emulator.add_conference('a', members=3)
    emulator.add_conference('b', members=1)
    failed, result = run(emulator, check_mode=True, diff=True, all=True)
    assert not failed and result['changed'] is True
    assert sorted(result['hung_up']) == ['a', 'b']
    assert emulator.requests(method='DELETE') == []
    assert result['diff']['before'] == {'conferences': {'a': {'member_count': 3}, 'b': {'member_count': 1}}}
    assert emulator.live_names() == ['a', 'b']


def test_all_check_mode_nothing_listed_does_not_promise_no_change(emulator):
    # The list has been seen empty while rooms were live, and the real run sends its DELETE anyway.
    emulator.add_conference('hidden')
    emulator.configure(list_lies=True)
    failed, result = run(emulator, check_mode=True, all=True)
    assert not failed and result['changed'] is True and result['hung_up'] == []
    assert methods(emulator) == ['GET'] and emulator.live_names() == ['hidden']
    assert any('listing no rooms' in w and 'cannot tell whether any room is live' in w for w in result['warnings'])


def test_all_delete_failure_fails(emulator):
    emulator.add_conference('a')
    emulator.configure(faults=[{'kind': '500', 'method': 'DELETE'}])
    failed, result = run(emulator, all=True, retries=1)
    assert failed and result['changed'] is False
    assert result['failures'][0]['name'] == 'a' and result['failures'][0]['status'] == 500


def test_check_mode_unreadable_predicts_change(emulator):
    emulator.add_conference('live')
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, check_mode=True, name=['live', 'gone'])
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['live'] and result['uncertain'] == ['live'] and result['already_absent'] == ['gone']
    assert any("'live'" in w and 'could not be read' in w for w in result['warnings'])
    assert emulator.requests(method='DELETE') == []


def test_diff_check_mode_has_member_counts(emulator):
    emulator.add_conference('r', members=4)
    failed, result = run(emulator, check_mode=True, diff=True, name=['r', 'gone'])
    assert not failed and result['changed'] is True
    assert result['diff'] == {'before': {'conferences': {'r': {'member_count': 4}}}, 'after': {'conferences': {}}}


def test_diff_normal_mode(emulator):
    emulator.add_conference('r')
    failed, result = run(emulator, diff=True, name=['r', 'gone'])
    assert not failed and result['hung_up'] == ['r'] and result['already_absent'] == ['gone']
    assert result['diff'] == {'before': {'conferences': {'r': {'member_count': None}}}, 'after': {'conferences': {}}}


def test_no_diff_without_diff_mode(emulator):
    assert 'diff' not in run(emulator, name='r')[1]


def test_comma_name_is_one_name(emulator):
    for name in ['Smith, John', 'Smith', 'John', ' John']:
        emulator.add_conference(name)
    failed, result = run(emulator, name='Smith, John')
    assert not failed and result['hung_up'] == ['Smith, John']
    assert [e['raw_path'] for e in emulator.requests()] == [PREFIX + 'Smith%2C%20John/']
    assert emulator.live_names() == [' John', 'John', 'Smith']


def test_names_are_exact_bystanders_survive(emulator):
    for name in ['a', 'b', 'a/b', 'alpha', 'alpha2', 'Alpha']:
        emulator.add_conference(name)
    failed, result = run(emulator, name=['a/b', 'alpha'])
    assert not failed and result['hung_up'] == ['a/b', 'alpha']
    assert emulator.live_names() == ['Alpha', 'a', 'alpha2', 'b']


def test_every_tricky_name_raw_path(emulator):
    for name in TRICKY:
        emulator.add_conference(name)
    emulator.add_conference('a')
    failed, result = run(emulator, name=list(TRICKY))
    assert not failed and result['hung_up'] == list(TRICKY)
    paths = sorted(e['raw_path'] for e in emulator.requests())
    assert paths == sorted(PREFIX + encoded + '/' for encoded in TRICKY.values())
    assert emulator.live_names() == ['a']


def test_duplicate_names_are_sent_once(emulator):
    emulator.add_conference('r')
    failed, result = run(emulator, name=['r', 'r'])
    assert not failed and result['hung_up'] == ['r'] and len(emulator.requests()) == 1


@pytest.mark.parametrize(
    'kind, first_n, expect_sleep',
    [
        ('429_retry_after', 1, 3),
        ('429', 1, None),
        ('503', 2, None),
        ('drop', 1, None),
    ],
)
def test_faults_are_retried_with_one_warning(emulator, no_real_backoff, kind, first_n, expect_sleep):
    emulator.add_conference('r')
    emulator.add_conference('s')
    emulator.configure(faults=[{'kind': kind, 'method': 'DELETE', 'first_n': first_n, 'retry_after': 3, 'match': 'r'}])
    failed, result = run(emulator, name=['r', 's'])
    assert not failed and result['changed'] is True and result['hung_up'] == ['r', 's']
    r_log = [e for e in emulator.requests() if e['conference'] == 'r']
    assert [e['fault'] for e in r_log] == [kind] * first_n + [None]
    assert len([e for e in emulator.requests() if e['conference'] == 's']) == 1
    retry_warnings = [w for w in result['warnings'] if 'attempts' in w]
    assert (
        len(retry_warnings) == 1 and "'r'" in retry_warnings[0] and '%d attempts' % (first_n + 1) in retry_warnings[0]
    )
    assert len(no_real_backoff) == first_n
    if expect_sleep is not None:
        assert no_real_backoff == [expect_sleep]


def test_lost_reply_of_a_listed_room_is_reported_hung_up(emulator):
    """The list showed the room live: a lost reply then a 404 is this run's doing."""
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': 'lost_reply', 'method': 'DELETE', 'first_n': 1}])
    failed, result = run(emulator, match='r*')
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['r'] and result['already_absent'] == [] and result['gone_unconfirmed'] == []
    assert [(e['fault'], e['status']) for e in emulator.requests(method='DELETE')] == [
        ('lost_reply', None),
        (None, 404),
    ]


@pytest.mark.parametrize('processed', [False, True], ids=['gateway-only', 'api-acted'])
def test_a_404_after_a_maybe_done_attempt_on_a_named_room_is_gone_unconfirmed(emulator, tmp_path, processed):
    """Issue 23: named rooms (not seen live) behind a 502: gone, cause unknown; no change, no failure; msg and audit
    say so."""
    audit = tmp_path / 'audit.jsonl'
    if processed:
        emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '502', 'method': 'DELETE', 'first_n': 1, 'processed': processed}])
    failed, result = run(emulator, name=['r'], audit_log=str(audit))
    assert not failed and result['changed'] is False
    assert (
        result['gone_unconfirmed'] == ['r']
        and result['hung_up'] == []
        and result['already_absent'] == []
        and result['failures'] == []
    )
    assert result['msg'] == "Hung up 0 conference(s); 1 gone, whether this run hung them up is unknown ('r')."
    line = json.loads(audit.read_text())
    assert (
        line['outcome'] == 'gone_unconfirmed'
        and line['status'] == 404
        and 'whether this run hung it up is unknown' in line['message']
    )


def test_partial_failure(emulator, tmp_path):
    audit = str(tmp_path / 'audit.jsonl')
    good = ['ok-%d' % i for i in range(5)]
    bad = ['bad-1', 'bad-2']
    for name in good + bad:
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '503', 'method': 'DELETE', 'match': 'bad-*'}])
    failed, result = run(emulator, name=good + bad + ['gone'], retries=2, audit_log=audit)
    assert failed and result['changed'] is True
    assert result['hung_up'] == good and result['already_absent'] == ['gone']
    assert [f['name'] for f in result['failures']] == bad
    assert all(f['status'] == 503 and 'service unavailable' in f['message'] for f in result['failures'])
    assert "'bad-1'" in result['msg'] and "'bad-2'" in result['msg'] and 'ok-0' not in result['msg']
    assert len([e for e in emulator.requests() if e['conference'] == 'bad-1']) == 3
    with open(audit) as handle:
        lines = [json.loads(line) for line in handle]
    assert sorted((line['name'], line['outcome']) for line in lines) == sorted(
        [(n, 'hung_up') for n in good] + [(n, 'failed') for n in bad] + [('gone', 'already_absent')]
    )
    assert emulator.live_names() == bad


def test_403_fails_with_finished_outcomes(emulator, tmp_path):
    """The room refused with 403 was sent (failed); the rooms after it were never sent (not_started): each in one
    list."""
    audit = str(tmp_path / 'audit.jsonl')
    for name in ['a', 'b', 'secret', 'c']:
        emulator.add_conference(name)
    emulator.configure(forbidden=['secret'])
    failed, result = run(emulator, name=['a', 'b', 'secret', 'c'], parallel=1, audit_log=audit)
    assert failed and 'Permission denied for auth_id' in result['msg'] and result['msg'].endswith('1 not started.')
    assert result['hung_up'] == ['a', 'b'] and result['changed'] is True
    assert [f['name'] for f in result['failures']] == ['secret'] and result['failures'][0]['status'] == 403
    assert result['not_started'] == ['c'] and result['uncertain'] == []
    assert [e['conference'] for e in emulator.requests()] == ['a', 'b', 'secret']
    with open(audit) as handle:
        assert [(line['name'], line['outcome']) for line in map(json.loads, handle)] == [
            ('a', 'hung_up'),
            ('b', 'hung_up'),
            ('secret', 'failed'),
            ('c', 'not_started'),
        ]


@pytest.mark.parametrize(
    'fatal',
    [{'forbidden': ['r']}, {'faults': [{'kind': '502', 'first_n': 1, 'processed': True}, {'kind': 'gateway_404'}]}],
)
def test_a_fatal_answer_after_a_maybe_done_attempt_is_uncertain(emulator, tmp_path, fatal):
    """Issue 23: DELETE -> 502 (the API acted) -> retry -> 401/403 or a gateway 404: the room is uncertain, audited,
    never lost."""
    audit = tmp_path / 'audit.jsonl'
    emulator.add_conference('r')
    if 'forbidden' in fatal:
        # The first attempt is carried out and answered 502; the retry is refused.
        emulator.configure(faults=[{'kind': '502', 'first_n': 1, 'processed': True}])
        original = emulator._process

        def refuse_the_retry(method, route, headers, body, body_error, cfg):
            if len(emulator.requests()) >= 1:
                cfg = dict(cfg, forbidden=['r'])
            return original(method, route, headers, body, body_error, cfg)

        emulator._process = refuse_the_retry
    else:
        emulator.configure(**fatal)
    failed, result = run(emulator, name=['r', 'other'], parallel=1, audit_log=str(audit))
    assert failed and result['uncertain'] == ['r'] and [f['name'] for f in result['failures']] == ['r']
    assert 'whether it was done is unknown' in result['failures'][0]['message']
    assert result['not_started'] == ['other'] and result['hung_up'] == [] and result['changed'] is False
    assert [(line['name'], line['outcome']) for line in map(json.loads, audit.read_text().splitlines())] == [
        ('r', 'uncertain'),
        ('other', 'not_started'),
    ]
    assert emulator.live_names() == []  # the API did end it


def test_audit_log_for_all(emulator, tmp_path):
    audit = tmp_path / 'audit.jsonl'
    emulator.add_conference('a')
    assert run(emulator, all=True, audit_log=str(audit))[1]['changed'] is True
    assert run(emulator, all=True, audit_log=str(audit))[1]['changed'] is False
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert [(line['name'], line['outcome'], line['scope']) for line in lines] == [
        ('a', 'hung_up', 'all'),
        (None, 'unknown', 'all'),
    ]


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(), 'name'),
        (dict(exclude='x'), 'name'),
        (dict(all=True, name='x'), 'all'),
        (dict(all=True, match='x'), 'all'),
        (dict(all=True, exclude='x'), 'all'),
        (dict(name=''), 'name'),
        (dict(name=[]), 'name'),
        (dict(name=['ok', '']), 'name'),
        (dict(name=['ok', 5]), 'name'),
        (dict(name=5), 'name'),
        (dict(name={'a': 1}), 'name'),
        (dict(match=['']), 'match'),
        (dict(name='x', exclude=[None]), 'exclude'),
        (dict(name='x', api_url='127.0.0.1/api/v1'), 'api_url'),
        (dict(name='x', api_url='http://127.0.0.1/api/v1?debug=1'), 'api_url'),
        (dict(name='x', parallel=0), 'parallel'),
        (dict(name='x', parallel=65), 'parallel'),
        (dict(name='x', retries=-1), 'retries'),
        (dict(name='x', retries=21), 'retries'),
        (dict(name='x', timeout=0), 'timeout'),
        (dict(name='x', audit_log='/nonexistent-dir/x/audit.jsonl'), 'audit_log'),
        (dict(name='x', state='present'), 'state'),
    ],
)
def test_bad_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []
    assert TOKEN not in result['msg']


@pytest.mark.parametrize(
    'match', ['*', '**', '*?*', '?*', ['ci-*', '*'], '[!\uffff]*', '[\x01-\U0010ffff]*', ['[a-m]*', '[!a-m]*']]
)
def test_match_of_wildcards_alone_is_refused(emulator, match):
    # "${CI_ROOM_PREFIX}*" with an empty prefix: it would select every room, which is all=true's job.
    emulator.add_conference('prod-1')
    failed, result = run(emulator, match=match, name='x')
    assert failed and 'match' in result['msg'] and 'all=true' in result['msg']
    assert emulator.requests() == []


def test_unmatched_globs_are_returned(emulator):
    emulator.add_conference('support-1')
    failed, result = run(emulator, match=['support-*', 'suport-*'], check_mode=True)
    assert not failed and result['hung_up'] == ['support-1'] and result['unmatched'] == ['suport-*']


@pytest.mark.parametrize('match', ['ci-*', '*-ci', '[!x]*', '?', '???', ['ci-*', '[!c]*']])
def test_match_with_any_literal_is_not_refused(emulator, match):
    failed, result = run(emulator, match=match, check_mode=True)
    assert not failed and result['changed'] is False
    # A glob that spares only names starting with one character is worth a warning.
    assert any('selects nearly every conference' in warning for warning in result['warnings']) is ('[!' in str(match))


def test_ci_teardown_with_a_glob_matching_every_real_name_touches_nothing(emulator):
    """Issue 23: "[!\\uffff]*" took 12 of 12 rooms in ci_teardown --check."""
    for index in range(12):
        emulator.add_conference('room-{0}'.format(index))
    failed, result = run(emulator, match='[!\uffff]*')
    assert failed and 'selects every conference' in result['msg'] and emulator.requests() == []


@pytest.mark.parametrize('invisible', ['\u200e', '\u00ad', '\u2063', '\ufe0f'])
def test_exclude_protects_a_name_written_with_an_invisible_character(emulator, invisible):
    emulator.add_conference('ke' + invisible + 'ep')
    emulator.add_conference('ci-1')
    failed, result = run(emulator, match=['ke*', 'ci-*'], exclude='keep')
    assert not failed and result['hung_up'] == ['ci-1'] and result['excluded'] == [escape_name('ke' + invisible + 'ep')]
    assert emulator.live_names() == ['ke' + invisible + 'ep']


def test_an_unexpanded_variable_in_match_touches_nothing(emulator):
    """Issue 23: ci-${CI_PIPELINE_ID}-* matched nothing and the job was green; now it is refused before any request."""
    emulator.add_conference('ci-77-a')
    failed, result = run(emulator, match='ci-${CI_PIPELINE_ID}-*')
    assert (
        failed
        and 'never expanded' in result['msg']
        and "'${CI_PIPELINE_ID}'" in result['msg']
        and emulator.requests() == []
    )


@pytest.mark.parametrize(
    'rule',
    [{'kind': 'error_body'}, {'kind': 'html', 'status': 200}, {'kind': 'error_body', 'status': 202}],
    ids=['200-error', '200-html', '202-error'],
)
def test_2xx_error_answer_is_uncertain_never_hung_up(emulator, tmp_path, rule):
    emulator.add_conference('Board Room')
    emulator.add_conference('Lobby')
    emulator.configure(
        faults=[
            dict(rule, method='DELETE', match='Board Room'),
            {'kind': 'control_chars', 'method': 'DELETE', 'match': 'Lobby'},
        ]
    )
    audit = str(tmp_path / 'audit.jsonl')
    failed, result = run(emulator, name=['Board Room', 'Lobby', 'Gone'], audit_log=audit, parallel=1)
    assert failed and result['changed'] is False
    assert result['hung_up'] == [] and result['already_absent'] == ['Gone']
    # Uncertain: a failure (the list stays complete for a retry) that is also named in uncertain; the 400 is a plain
    # failure.
    assert result['uncertain'] == ['Board Room']
    uncertain, plain = result['failures']
    assert uncertain['name'] == 'Board Room' and uncertain['status'] == rule.get('status', 200)
    assert (
        'could not be read as a success' in uncertain['message']
        and 'whether the room was hung up is unknown' in uncertain['message']
    )
    assert plain['name'] == 'Lobby' and plain['status'] == 400
    assert result['msg'].startswith(
        'Could not hang up 2 conference(s) (1 uncertain: may or may not have been hung up): '
    )
    assert "'Board Room' (" in result['msg'] and "'Lobby' (" in result['msg']
    with open(audit) as handle:
        lines = [json.loads(line) for line in handle]
    assert [(line['name'], line['outcome']) for line in lines] == [
        ('Board Room', 'uncertain'),
        ('Lobby', 'failed'),
        ('Gone', 'already_absent'),
    ]
    assert (
        lines[0]['message'] == uncertain['message']
        and lines[0]['status'] == uncertain['status']
        and 'uncertain' not in lines[0]
    )  # no check-mode flag: the outcome says it


@pytest.mark.parametrize(
    'fault, status, why',
    [
        ({'kind': 'error_body'}, 200, 'could not be read as a success'),
        ({'kind': 'lost_reply'}, None, 'may have reached the server'),
        ({'kind': '504'}, 504, "a gateway's answer"),
    ],
    ids=['2xx-error-body', 'lost-reply', '504'],
)
def test_all_with_an_answer_that_cannot_tell_is_uncertain(emulator, tmp_path, fault, status, why):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[dict(fault, method='DELETE')])
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, all=True, audit_log=str(audit), retries=0)
    assert failed and result['hung_up'] == [] and result['changed'] is False
    assert result['msg'].startswith('Hanging up all conferences failed (uncertain: may or may not have been hung up): ')
    assert why in result['msg'] and 'whether any room was hung up is unknown' in result['msg']
    assert result['uncertain'] == ['Board Room'] and [f['name'] for f in result['failures']] == ['Board Room']
    assert result['failures'][0]['status'] == status
    [line] = [json.loads(line) for line in audit.read_text().splitlines()]
    assert (line['name'], line['outcome'], line['scope']) == ('Board Room', 'uncertain', 'all')


def test_all_that_fails_with_an_empty_list_puts_no_nameless_entry_in_failures(emulator):
    """Issue 23: with all=true and a list that named nobody, a failed hang-up of all conferences is in msg, not a None
    entry."""
    emulator.add_conference('Board Room')
    emulator.configure(list_lies=True, faults=[{'kind': '500', 'method': 'DELETE'}])
    failed, result = run(emulator, all=True, retries=0)
    assert failed and result['msg'].startswith('Hanging up all conferences failed: ')
    assert result['failures'] == [] and result['uncertain'] == [] and result['hung_up'] == []


def test_exclude_protects_a_name_with_glob_characters_and_warns_on_a_normalised_match(emulator):
    for name in ('room[1]', 'Cafe\u0301', 'room2'):
        emulator.add_conference(name)
    failed, result = run(emulator, match=['room*', 'Caf*'], exclude=['room[1]', 'Caf\u00e9'])
    assert not failed and result['hung_up'] == ['room2']
    assert sorted(result['excluded']) == sorted(['room[1]', 'Cafe\u0301'])
    assert sorted(emulator.live_names()) == sorted(['room[1]', 'Cafe\u0301'])
    assert [w for w in result['warnings'] if 'normalisation' in w] == [
        _selection.normalized_exclude_warning('Cafe\u0301')
    ]


@pytest.mark.parametrize('tail', ['/Account/MA_TEST', '/Account/MA_TEST/', '/account/x', '/Account'])
def test_api_url_with_the_account_part_is_refused_before_any_request(emulator, tail):
    emulator.add_conference('r')
    failed, result = run_module(vobiz_conference.main, module_args(emulator, api_url=emulator.api_url + tail, name='r'))
    assert failed and 'api_url' in result['msg'] and 'remove {0!r}'.format(tail) in result['msg']
    assert emulator.requests() == [] and emulator.live_names() == ['r']


@pytest.mark.parametrize('body', ['error', 'empty', 'gateway', 'html'])
def test_a_404_that_is_not_the_conferences_own_stops_the_run_naming_api_url(emulator, body):
    """A wrong path's 404 ({"error": "not found"}, empty, the gateway's, HTML) is never read as "already absent"."""
    for name in ('a', 'b'):
        emulator.add_conference(name)
    emulator.configure(not_found_body=body)
    failed, result = run_module(
        vobiz_conference.main, module_args(emulator, api_url=emulator.url + '/api/v2', name=['a', 'b'], parallel=1)
    )
    assert failed and 'check api_url' in result['msg'] and '/api/v2' in result['msg']
    assert result['already_absent'] == [] and result['hung_up'] == [] and result['changed'] is False
    assert [f['name'] for f in result['failures']] == ['a'] and result['not_started'] == ['b']
    assert len(emulator.requests()) == 1 and emulator.live_names() == ['a', 'b']


def test_a_room_both_named_and_matched_gets_one_delete(emulator):
    """Defect: no de-duplication between ``name`` and ``match``. The room is hung up with exactly one DELETE."""
    for name in ['Board Room', 'Board Annex', 'Lobby']:
        emulator.add_conference(name)
    failed, result = run(emulator, name=['Board Room', 'Lobby'], match='Board*')
    assert not failed, result['msg']
    assert sorted(result['hung_up']) == ['Board Annex', 'Board Room', 'Lobby']
    deletes = [e['conference'] for e in emulator.requests(method='DELETE')]
    assert sorted(deletes) == ['Board Annex', 'Board Room', 'Lobby']


def test_a_retrieve_answering_another_room_is_never_this_room(emulator):
    """Defect: retrieve accepts a 200 object of another conference as this one's. Check mode must not read the
    other room's state as this room's, and a policy must not act on another room's age or size."""
    emulator.add_conference('target', members=5)
    emulator.add_conference('other', members=0, started_ago=7200)
    emulator.configure(faults=[{'kind': 'other_conference', 'match': 'target'}])
    failed, result = run(emulator, check_mode=True, diff=True, name=['target'])
    assert not failed and result['uncertain'] == ['target']
    assert result['diff']['before']['conferences'] == {'target': {'member_count': None}}
    assert any("another conference ('other')" in warning for warning in result['warnings'])
    failed, result = run(emulator, name=['target'], running_longer_than='1h', members_at_most=0)
    assert not failed and result['unreadable'] == ['target'] and result['hung_up'] == []
    assert emulator.requests(method='DELETE') == [] and emulator.live_names() == ['other', 'target']
