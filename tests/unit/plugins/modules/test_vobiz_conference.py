# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference: the module runs in-process and talks HTTP to the emulator."""

import functools
import json
import os

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _audit, _conference_api, _selection, _verify
from ansible_collections.vobiz.voice.plugins.module_utils._plan import digest_of
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name
from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import (
    PREFIX,
    TOKEN,
    TRICKY,
    module_args,
    run_against,
    run_module,
    write_registry,
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


# --- scheduled policies (running_longer_than, members_at_most, conference_uuid) ---------------------------------------


def rooms(emu):
    emu.add_conference('old-full', members=3, started_ago=7200)
    emu.add_conference('old-alone', members=1, started_ago=7200)
    emu.add_conference('young-alone', members=1, started_ago=60)
    emu.add_conference('young-full', members=2, started_ago=60)
    emu.add_conference('old-unreadable', members=1, started_ago=7200)
    emu.configure(faults=[{'kind': '503', 'method': 'GET', 'match': 'old-unreadable'}])


def deleted(emu):
    return sorted(entry['conference'] for entry in emu.requests(method='DELETE'))


def test_running_longer_than_over_the_whole_live_list(emulator):
    rooms(emulator)
    failed, result = run(emulator, running_longer_than='1h')
    assert not failed, result['msg']
    assert sorted(result['hung_up']) == ['old-alone', 'old-full']
    assert deleted(emulator) == ['old-alone', 'old-full']
    assert result['unreadable'] == ['old-unreadable'] and 'old-unreadable' in emulator.live_names()
    assert any('old-unreadable' in warning and 'not selected' in warning for warning in result['warnings'])


def test_both_selectors_on_top_of_match(emulator):
    rooms(emulator)
    failed, result = run(emulator, match='*-alone', running_longer_than=3600, members_at_most=1)
    assert not failed
    assert result['hung_up'] == ['old-alone'] and deleted(emulator) == ['old-alone']
    assert result['unreadable'] == []


def test_members_at_most_on_named_rooms(emulator):
    rooms(emulator)
    failed, result = run(emulator, name=['young-alone', 'young-full', 'gone'], members_at_most=1)
    assert not failed
    assert result['hung_up'] == ['young-alone'] and result['already_absent'] == ['gone']
    assert deleted(emulator) == ['young-alone']


def test_check_mode_reads_once_and_deletes_nothing(emulator):
    rooms(emulator)
    failed, result = run(emulator, check_mode=True, running_longer_than='1h', members_at_most=1)
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['old-alone'] and result['unreadable'] == ['old-unreadable']
    assert emulator.requests(method='DELETE') == []
    gets = [entry['conference'] for entry in emulator.requests(method='GET') if entry['action'] == 'retrieve']
    assert gets.count('old-alone') == 1  # the policy's answer is the prediction's


def test_nothing_selected_is_no_change(emulator):
    emulator.add_conference('young', members=2, started_ago=10)
    failed, result = run(emulator, running_longer_than='30m')
    assert not failed and result['changed'] is False and result['hung_up'] == []
    assert 'nothing to do' in result['msg'] and emulator.requests(method='DELETE') == []


def test_a_lying_retrieve_selects_nothing(emulator):
    emulator.add_conference('old', members=1, started_ago=7200)
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, running_longer_than=60)
    assert not failed and result['changed'] is False and result['unreadable'] == ['old']
    assert emulator.requests(method='DELETE') == []


def test_conference_uuid_spares_another_instance_of_the_name(emulator):
    emulator.add_conference('Standup', members=1, started_ago=7200)
    emulator.configure(retrieve_uuid=True)
    failed, result = run(
        emulator, name='Standup', conference_uuid='uuid-of-the-instance-that-ended', running_longer_than=3600
    )
    assert not failed and result['changed'] is False
    assert result['other_instance'] == ['Standup'] and result['hung_up'] == []
    assert any('another instance' in warning for warning in result['warnings'])
    assert emulator.requests(method='DELETE') == [] and emulator.live_names() == ['Standup']


def test_conference_uuid_of_the_live_instance_is_hung_up(emulator):
    emulator.add_conference('Standup', members=1, started_ago=7200)
    emulator.configure(retrieve_uuid=True)
    failed, result = run(
        emulator, name='Standup', conference_uuid=emulator.conference_uuid('Standup'), running_longer_than=3600
    )
    assert not failed and result['hung_up'] == ['Standup'] and result['other_instance'] == []


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(running_longer_than='4 days'), 'running_longer_than'),
        (dict(all=True, members_at_most=1), 'all'),
        (dict(name=['a', 'b'], conference_uuid='U1'), 'conference_uuid'),
    ],
)
def test_bad_policy_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []


# --- plans: check mode returns one, a real run with it ends exactly its rooms ---------------------------------------


def check_plan(emulator, **selection):
    failed, result = run(emulator, check_mode=True, **selection)
    assert not failed
    emulator.clear_log()
    return result['plan']


def test_check_mode_returns_a_plan_of_what_it_would_hang_up(emulator):
    emulator.add_conference('ci-1', members=2, started_ago=300)
    emulator.add_conference('ci-keep')
    failed, result = run(emulator, check_mode=True, match='ci-*', exclude='ci-keep')
    plan = result['plan']
    assert not failed and [entry['name'] for entry in plan['conferences']] == result['hung_up'] == ['ci-1']
    assert plan['conferences'][0]['member_count'] == 2 and plan['conferences'][0]['run_time'] >= 300
    assert plan['excluded'] == ['ci-keep'] and plan['selection']['match'] == ['ci-*'] and plan['auth_id'] == 'MA_TEST'
    assert plan['api_url'] == module_args(emulator)['api_url'].rstrip('/') and TOKEN not in json.dumps(result)


def test_the_audit_lines_of_check_mode_carry_the_id_of_its_plan(emulator, tmp_path):
    emulator.add_conference('ci-1')
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, check_mode=True, name=['ci-1', 'ci-gone'], audit_log=str(audit))
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert not failed and [line['plan_id'] for line in lines] == [result['plan']['id']] * 2
    assert f"of plan {result['plan']['id']}" in result['msg']


def test_a_real_run_without_check_mode_returns_no_plan(emulator):
    emulator.add_conference('ci-1')
    failed, result = run(emulator, name='ci-1')
    assert not failed and 'plan' not in result and 'plan_id' not in result and result['not_in_plan'] == []


def test_plan_ends_only_its_rooms_and_names_the_new_ones_it_leaves_alone(emulator, tmp_path):
    for name in ('ci-1', 'ci-2', 'ci-keep'):
        emulator.add_conference(name)
    plan = check_plan(emulator, match='ci-*', exclude='ci-keep')
    emulator.add_conference('ci-3')  # started after the review: nobody approved ending it
    emulator.remove_conference('ci-2')  # ended by its members meanwhile
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, plan=plan, audit_log=str(audit))
    assert not failed and result['changed'] is True and result['plan_id'] == plan['id']
    assert result['not_in_plan'] == ['ci-3'] and result['excluded'] == ['ci-keep']
    assert result['hung_up'] == ['ci-1'] and result['already_absent'] == ['ci-2']
    assert [(e['method'], e['action']) for e in emulator.requests()] == [('GET', 'list')] + [('DELETE', 'hangup')] * 2
    assert sorted(emulator.live_names()) == ['ci-3', 'ci-keep']
    assert f"of plan {plan['id']}" in result['msg'] and '1 selected now but not in the plan' in result['msg']
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 2 and {line['plan_id'] for line in lines} == {plan['id']}


def test_a_planned_room_already_gone_is_already_absent(emulator):
    emulator.add_conference('Board Room')
    plan = check_plan(emulator, name='Board Room')
    run(emulator, name='Board Room')
    emulator.clear_log()
    failed, result = run(emulator, plan=plan)
    assert not failed and result['changed'] is False and result['already_absent'] == ['Board Room']
    assert [(e['method'], e['status']) for e in emulator.requests()] == [('DELETE', 404)]


def test_a_plan_of_all_never_sends_the_hang_up_of_all(emulator):
    emulator.add_conference('a')
    plan = check_plan(emulator, all=True)
    emulator.add_conference('b')
    failed, result = run(emulator, plan=plan)
    assert not failed and result['hung_up'] == ['a'] and result['not_in_plan'] == ['b']
    assert [(e['method'], e['raw_path']) for e in emulator.requests(method='DELETE')] == [('DELETE', PREFIX + 'a/')]
    assert emulator.live_names() == ['b']


def test_check_mode_with_a_plan_predicts_the_apply(emulator):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    emulator.add_conference('ci-2')
    failed, result = run(emulator, check_mode=True, plan=plan)
    assert (
        not failed and result['changed'] is True and result['hung_up'] == ['ci-1'] and result['not_in_plan'] == ['ci-2']
    )
    assert 'plan' not in result and result['plan_id'] == plan['id'] and methods(emulator) == ['GET', 'GET']


@pytest.mark.parametrize(
    'change, words',
    [
        (
            lambda plan: plan['conferences'].append(dict(name='ci-9', member_count=None, run_time=None)),
            'digest does not verify',
        ),
        (lambda plan: plan.update(auth_id='MA_OTHER'), "made for auth_id 'MA_OTHER'"),
        (
            lambda plan: plan.update(api_url='https://api.vobiz.ai/api/v1'),
            'made for api_url https://api.vobiz.ai/api/v1',
        ),
        (lambda plan: plan.update(created='2020-01-01T00:00:00Z'), 'digest does not verify'),
    ],
)
def test_a_tampered_or_foreign_plan_is_refused_before_any_request(emulator, change, words):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    change(plan)
    failed, result = run(emulator, plan=plan)
    assert failed and words in result['msg'] and result['refused_options'] == ['plan']
    assert emulator.requests() == [] and emulator.live_names() == ['ci-1']


def test_an_expired_plan_is_refused_before_any_request(emulator):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    plan['created'] = '2001-01-01T00:00:00Z'
    plan['digest'] = digest_of(plan, TOKEN)  # signed as the module signs
    failed, result = run(emulator, plan=plan, plan_max_age='24h')
    assert failed and 'more than plan_max_age' in result['msg'] and result['refused_options'] == ['plan_max_age']
    assert emulator.requests() == []


def test_plan_with_a_selection_option_is_refused(emulator):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    failed, result = run(emulator, plan=plan, name='ci-2')
    assert failed and result['refused_options'] == ['plan', 'name'] and emulator.requests() == []


# ----- verify: verified termination


@pytest.fixture
def fake_time(monkeypatch):
    """The verification's clock and pauses, faked: it moves only when the module waits (``waits`` records each)."""
    now, waits = [0.0], []

    def wait(self, seconds):
        waits.append(seconds)
        now[0] += seconds
        return True

    monkeypatch.setattr(_verify, 'monotonic', lambda: now[0])
    monkeypatch.setattr(_conference_api.ConferenceApi, 'wait_unless_interrupted', wait)
    return waits


def test_verify_sorts_the_rooms_hung_up_and_never_hangs_up_again(emulator, tmp_path, fake_time):
    """A room gone is verified after one retrieve; a stale one and one a new call re-created stay unverified (with the
    new UUID, told apart by the UUID a policy read first); an absent room is not verified; nothing is sent twice."""
    for name in ('gone', 'stale', 'recreated', 'absent-later'):
        emulator.add_conference(name)
    stale = dict(reads=1000, match='stale')
    emulator.configure(retrieve_uuid=True, retrieve_stale=stale, recreate_after_hangup=['recreated'])
    emulator.remove_conference('absent-later')
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, name=['gone', 'stale', 'absent-later'], verify=30, audit_log=str(audit))
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['gone', 'stale'] and result['already_absent'] == ['absent-later']
    assert result['verified'] == ['gone'] and [entry['name'] for entry in result['unverified']] == ['stale']
    assert result['unverified'][0]['status'] == 200 and 'stale answer' in result['unverified'][0]['message']
    assert '1 verified as ended; 1 not verified as ended' in result['msg']
    assert any("Could not verify the end of 1 conference(s): 'stale'" in text for text in result['warnings'])
    assert sum(fake_time) == 30
    log = [(entry['method'], entry['conference'], entry['status']) for entry in emulator.requests()]
    assert log.count(('GET', 'gone', 404)) == 1 and ('GET', 'absent-later', 404) not in log
    assert [entry for entry in log if entry[1] == 'stale'][:2] == [('DELETE', 'stale', 204), ('GET', 'stale', 200)]
    assert [entry[0] for entry in log].count('DELETE') == 3
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    verifications = [(line['name'], line['outcome'], line.get('verification')) for line in lines]
    assert verifications[-2:] == [('gone', 'hung_up', 'verified'), ('stale', 'hung_up', 'unverified')]
    assert sorted(verifications[:3]) == [
        ('absent-later', 'already_absent', None),
        ('gone', 'hung_up', 'pending'),
        ('stale', 'hung_up', 'pending'),
    ]
    emulator.clear_log()
    uuid_hung_up = emulator.conference_uuid('recreated')
    failed, result = run(emulator, name='recreated', conference_uuid=uuid_hung_up, verify=5)
    new_uuid = emulator.conference_uuid('recreated')
    assert not failed and result['hung_up'] == ['recreated'] and result['verified'] == []
    assert result['unverified'][0]['conference_uuid'] == new_uuid != uuid_hung_up
    assert result['unverified'][0]['message'].startswith('re-created:')
    assert [entry['method'] for entry in emulator.requests()].count('DELETE') == 1


def test_verify_all_and_an_unreadable_retrieve(emulator, fake_time):
    for name in ('a', 'b'):
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': 'error_body', 'method': 'GET', 'match': 'b'}])
    failed, result = run(emulator, all=True, verify=3)
    assert not failed and result['hung_up'] == ['a', 'b'] and result['verified'] == ['a']
    unreadable = 'its retrieve could not be read (HTTP 200 with an error: failed)'
    assert result['unverified'] == [dict(name='b', status=200, conference_uuid=None, message=unreadable)]


def test_verify_cut_short_by_an_interrupt_fails_and_keeps_the_hang_up(emulator, monkeypatch, tmp_path):
    """SIGINT during the verification's pause: no more reads, the room stays hung up (unverified, saying so), the
    task fails as an interrupted run does; a full disk on the verification's audit line fails the run cleanly."""

    def interrupted_wait(self, seconds):
        self.interrupt('SIGINT')
        return False

    monkeypatch.setattr(_conference_api.ConferenceApi, 'wait_unless_interrupted', interrupted_wait)
    emulator.add_conference('a')
    emulator.configure(retrieve_stale=100)
    failed, result = run(emulator, name='a', verify=30)
    assert failed and result['hung_up'] == ['a'] and result['verified'] == []
    assert result['unverified'][0]['message'].startswith('the run was stopped before it was verified')
    assert result['msg'].startswith('Interrupted by SIGINT') and 'Hung up 1 conference(s)' in result['msg']
    assert [entry['method'] for entry in emulator.requests()] == ['DELETE', 'GET']
    emulator.add_conference('b')
    monkeypatch.setattr(_audit, '_write_audit', full_disk_after(1))
    failed, result = run(emulator, name='b', verify=30, audit_log=str(tmp_path / 'audit.jsonl'))
    assert failed and 'Writing the audit log' in result['msg'] and result['hung_up'] == ['b']


def full_disk_after(lines):
    """An ``os.write`` of the audit log that writes ``lines`` lines, then finds the disk full."""
    written = []

    def write(fd, data):
        if len(written) >= lines:
            raise OSError(28, 'No space left on device')
        written.append(data)
        return os.write(fd, data)

    return write


def test_verify_never_reads_in_check_mode_nor_without_it(emulator, fake_time):
    emulator.add_conference('a')
    failed, result = run(emulator, check_mode=True, name='a', verify=30)
    assert not failed and result['hung_up'] == ['a'] and result['verified'] == result['unverified'] == []
    assert [(entry['method'], entry['status']) for entry in emulator.requests()] == [('GET', 200)]  # the dry run's own
    emulator.clear_log()
    failed, result = run(emulator, name='a')
    assert result['verified'] == result['unverified'] == [] and [e['method'] for e in emulator.requests()] == ['DELETE']
    assert fake_time == []


def test_verify_refuses_a_negative_time_before_any_request(emulator):
    failed, result = run(emulator, name='a', verify=-1)
    assert failed and result['refused_options'] == ['verify'] and 'verify must be 0' in result['msg']
    assert emulator.requests() == []


# --- registry: the rooms of the event source's registry that the list omitted ----------------------------------------


def test_match_with_registry_hangs_up_the_rooms_the_list_omitted(emulator, tmp_path):
    for name in ['ci-listed', 'ci-hidden', 'prod-hidden', 'ci-both']:
        emulator.add_conference(name)
    emulator.configure(list_omits=['*-hidden'])
    registry = write_registry(tmp_path / 'state.json', ['ci-gone', 'ci-hidden', 'ci-both', 'prod-hidden'])
    failed, result = run(emulator, match='ci-*', registry=registry)
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['ci-listed', 'ci-both', 'ci-hidden']
    assert result['already_absent'] == ['ci-gone']  # the registry remembered it; the DELETE's 404 proves it gone
    assert result['from_registry'] == ['ci-gone', 'ci-hidden']  # in the registry's order
    assert emulator.live_names() == ['prod-hidden']  # the registry names it, match does not
    deletes = sorted(entry['conference'] for entry in emulator.requests('DELETE'))
    assert deletes == ['ci-both', 'ci-gone', 'ci-hidden', 'ci-listed']


def test_match_with_registry_in_check_mode_predicts_from_both(emulator, tmp_path):
    emulator.add_conference('ci-listed', members=2)
    emulator.add_conference('ci-hidden', members=3)
    emulator.configure(list_omits=['ci-hidden'])
    registry = write_registry(tmp_path / 'state.json', ['ci-hidden', 'ci-gone'], members={'ci-hidden': 1})
    failed, result = run(emulator, check_mode=True, diff=True, match='ci-*', registry=registry)
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['ci-listed', 'ci-hidden'] and result['already_absent'] == ['ci-gone']
    assert result['from_registry'] == ['ci-hidden', 'ci-gone']
    assert result['diff']['before']['conferences'] == {
        'ci-listed': {'member_count': 2},
        'ci-hidden': {'member_count': 3, 'from_registry': True},  # as retrieve reads it, not as the registry had it
    }
    assert {entry['method'] for entry in emulator.requests()} == {'GET'}
    assert emulator.live_names() == ['ci-hidden', 'ci-listed']


def test_registry_names_are_sent_exactly_like_every_other_name(emulator, tmp_path):
    for name in list(TRICKY) + ['a']:
        emulator.add_conference(name)
    emulator.configure(list_lies=True)  # the list names none: every room selected comes from the registry
    registry = write_registry(tmp_path / 'state.json', list(TRICKY) + ['a\nb'])
    failed, result = run(emulator, match=list(TRICKY) + ['a\nb', 'a'], registry=registry)
    assert not failed and result['hung_up'] == list(TRICKY)
    assert result['already_absent'] == ['a\\nb']  # escaped in the result, as every name
    assert result['unmatched'] == ['a'] and emulator.live_names() == ['a']  # neither source named it
    paths = sorted(entry['raw_path'] for entry in emulator.requests('DELETE'))
    assert paths == sorted([PREFIX + encoded + '/' for encoded in TRICKY.values()] + [PREFIX + 'a%0Ab/'])


@pytest.mark.parametrize(
    'content, why',
    [
        ('{"version": 2, "rooms": []}', 'of format version 2'),
        ('{"version": 1, "rooms": [{"name": 7}]}', 'rooms[0] has no uuid'),
        ('not json', 'not JSON'),
        (None, 'No such file or directory'),
    ],
)
def test_an_unreadable_registry_touches_nothing_and_says_why(emulator, tmp_path, content, why):
    emulator.add_conference('ci-1')
    path = tmp_path / 'state.json'
    if content is not None:
        path.write_text(content, encoding='utf-8')
    failed, result = run(emulator, match='ci-*', registry=str(path))
    assert failed and result['refused_options'] == ['registry']
    assert result['msg'].startswith('registry {0} '.format(path)) and why in result['msg']
    assert emulator.requests() == [] and emulator.live_names() == ['ci-1']


@pytest.mark.parametrize(
    'options, refused',
    [
        (dict(name='ci-1'), ['registry', 'match']),
        (dict(all=True), ['registry', 'all']),
        (dict(plan={}), ['plan', 'registry']),  # a plan names its rooms itself
    ],
)
def test_registry_needs_match(emulator, tmp_path, options, refused):
    emulator.add_conference('ci-1')
    registry = write_registry(tmp_path / 'state.json', ['ci-1'])
    failed, result = run(emulator, registry=registry, **options)
    assert failed and result['refused_options'] == refused and emulator.requests() == []


def test_registry_with_a_policy_selects_among_the_rooms_the_list_omitted(emulator, tmp_path):
    emulator.add_conference('lonely-hidden', members=1)
    emulator.add_conference('busy-hidden', members=3)
    emulator.configure(list_lies=True)
    registry = write_registry(tmp_path / 'state.json', ['lonely-hidden', 'busy-hidden'])
    failed, result = run(emulator, members_at_most=1, registry=registry)
    assert not failed and result['hung_up'] == ['lonely-hidden'] and result['from_registry'] == ['lonely-hidden']
    assert emulator.live_names() == ['busy-hidden']


@pytest.mark.parametrize('caller, hung_up', [('0015551234567', ['Standup']), ('+15561234567', [])])
def test_caller_matches_hangs_up_only_a_room_retrieve_lists_a_matching_caller_in(emulator, caller, hung_up):
    emulator.add_conference('Standup', members=[{'member_id': '1'}, {'member_id': '2', 'from': caller}])
    failed, result = run(emulator, name='Standup', caller_matches=['+1 555 *'])
    assert not failed and result['hung_up'] == hung_up
    assert [entry['method'] for entry in emulator.requests()] == ['GET'] + ['DELETE'] * len(hung_up)
