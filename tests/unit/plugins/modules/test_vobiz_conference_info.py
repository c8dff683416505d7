# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference_info: the module runs in-process and talks HTTP to the emulator."""

import functools

import pytest

from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference_info
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import PREFIX, TRICKY, run_against, write_registry

RESULT_KEYS = {'changed', 'names', 'conferences', 'already_absent', 'absent', 'unreadable'}


run = functools.partial(run_against, vobiz_conference_info.main)


def methods(emu):
    return [entry['method'] for entry in emu.requests()]


# --- no selector: the names of all live conferences --------------------------------------------


def test_no_selector_lists_names(emulator):
    for name in ['b', 'a', 'Smith, John']:
        emulator.add_conference(name)
    failed, result = run(emulator)
    assert not failed and result['changed'] is False
    assert RESULT_KEYS <= set(result)
    assert result['names'] == ['b', 'a', 'Smith, John']
    assert result['conferences'] == [] and result['absent'] == [] and result['unreadable'] == []
    assert [(e['method'], e['action']) for e in emulator.requests()] == [('GET', 'list')]
    assert result['warnings'] == []


@pytest.mark.parametrize('lies', [False, True])
def test_no_selector_empty_list_warns(emulator, lies):
    if lies:
        emulator.add_conference('hidden')
        emulator.configure(list_lies=True)
    failed, result = run(emulator)
    assert not failed and result['names'] == []
    assert any('came back empty' in w and 'listing no rooms while some were live' in w for w in result['warnings'])


# --- the four-case matrix: name ------------------------------------------------------------------------


def test_name_present_is_retrieved_and_normalised(emulator):
    emulator.add_conference('Board Room', members=['10', {'member_id': '15', 'muted': True, 'join_time': 30}])
    failed, result = run(emulator, name='Board Room')
    assert not failed and result['changed'] is False
    assert result['names'] == ['Board Room'] and result['absent'] == [] and result['unreadable'] == []
    conference = result['conferences'][0]
    assert conference['conference_name'] == 'Board Room'
    assert isinstance(conference['conference_run_time'], int) and conference['conference_member_count'] == 2
    assert 'api_id' not in conference
    members = conference['members']
    assert [m['member_id'] for m in members] == ['10', '15']
    assert [(m['muted'], m['deaf']) for m in members] == [(False, False), (True, False)]
    assert isinstance(members[1]['join_time'], int) and members[1]['join_time'] >= 30
    assert [(e['method'], e['raw_path']) for e in emulator.requests()] == [('GET', PREFIX + 'Board%20Room/')]


def test_name_absent_is_not_an_error(emulator):
    failed, result = run(emulator, name=['gone', 'also gone'])
    assert not failed and result['changed'] is False
    assert result['already_absent'] == ['gone', 'also gone'] and result['conferences'] == [] and result['names'] == []
    assert result['absent'] == result['already_absent']  # the deprecated alias, until 0.3.0
    assert methods(emulator) == ['GET', 'GET']


def test_check_mode_present(emulator):
    emulator.add_conference('r', members=3)
    failed, result = run(emulator, check_mode=True, name='r')
    assert not failed and result['changed'] is False
    assert result['conferences'][0]['conference_member_count'] == 3 and len(result['conferences'][0]['members']) == 3
    assert methods(emulator) == ['GET']


def test_check_mode_absent(emulator):
    failed, result = run(emulator, check_mode=True, name='r')
    assert not failed and result['changed'] is False and result['absent'] == ['r']
    assert methods(emulator) == ['GET']


def test_string_is_one_name_commas_included(emulator):
    for name in ['Smith, John', 'Smith', ' John']:
        emulator.add_conference(name)
    failed, result = run(emulator, name='Smith, John')
    assert not failed and result['names'] == ['Smith, John']
    assert [e['raw_path'] for e in emulator.requests()] == [PREFIX + 'Smith%2C%20John/']


def test_tricky_names(emulator):
    names = ['a/b', '..', '100%', 'Ünïcødé ☎', '?x']
    for name in names:
        emulator.add_conference(name)
    failed, result = run(emulator, name=names)
    assert not failed and result['names'] == names
    assert sorted(e['raw_path'] for e in emulator.requests()) == sorted(PREFIX + TRICKY[name] + '/' for name in names)


# --- match ---------------------------------------------------------------------------------------------------


def test_match_retrieves_matches_only(emulator):
    for name in ['ci-1', 'ci-2', 'CI-upper', 'prod-ci-3', 'other']:
        emulator.add_conference(name)
    failed, result = run(emulator, match='ci-*', name=['other', 'ci-1', 'gone'])
    assert not failed
    assert result['names'] == ['other', 'ci-1', 'ci-2'] and result['absent'] == ['gone']
    assert [e['action'] for e in emulator.requests()][0] == 'list'
    assert sorted(e['conference'] for e in emulator.requests(action='retrieve')) == ['ci-1', 'ci-2', 'gone', 'other']


def test_exclude_protects_matched_and_named_rooms_from_being_read(emulator):
    for name in ['support-1', 'support-vip', 'board']:
        emulator.add_conference(name)
    failed, result = run(emulator, match='support-*', name='board', exclude=['support-vip', 'board'])
    assert not failed and result['names'] == ['support-1']
    assert sorted(result['excluded']) == ['board', 'support-vip']
    assert [(e['action'], e['conference']) for e in emulator.requests()] == [('list', None), ('retrieve', 'support-1')]
    assert any("'board' is listed in name but matches exclude" in warning for warning in result['warnings'])


def test_match_nothing_is_not_an_error(emulator):
    emulator.add_conference('prod')
    failed, result = run(emulator, match='ci-*')
    assert not failed and result['conferences'] == [] and result['names'] == []
    assert methods(emulator) == ['GET'] and result['warnings'] == []


def test_match_with_lying_list_warns(emulator):
    emulator.add_conference('ci-1')
    emulator.configure(list_lies=True)
    failed, result = run(emulator, match='ci-*')
    assert not failed and result['conferences'] == []
    assert any(
        'listing no rooms while some were live' in w and 'match may have missed' in w for w in result['warnings']
    )


# --- honest about the live service's lies ------------------------------------------------------------------------


@pytest.mark.parametrize('check_mode', [False, True])
def test_lying_retrieve_is_unreadable_not_absent(emulator, check_mode):
    emulator.add_conference('live')
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, check_mode=check_mode, name=['live', 'gone'])
    assert not failed and result['changed'] is False
    assert result['unreadable'] == ['live'] and result['absent'] == ['gone'] and result['conferences'] == []
    assert any("'live'" in w and 'failed' in w and 'may well be live' in w for w in result['warnings'])


def test_server_errors_after_retries_are_unreadable(emulator, no_real_backoff):
    emulator.add_conference('r')
    emulator.configure(faults=[{'kind': '503', 'match': 'r'}])
    failed, result = run(emulator, name='r', retries=2)
    assert not failed and result['unreadable'] == ['r'] and result['absent'] == []
    assert len(emulator.requests()) == 3 and len(no_real_backoff) == 2


def test_list_failure_fails(emulator):
    emulator.configure(faults=[{'kind': '500', 'action': 'list'}])
    failed, result = run(emulator, retries=0)
    assert failed and '500' in result['msg'] and result['names'] == []


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(name=''), 'name'),
        (dict(name=[]), 'name'),
        (dict(name=['ok', 5]), 'name'),
        (dict(name={'a': 1}), 'name'),
        (dict(match=['']), 'match'),
        (dict(name='x', parallel=0), 'parallel'),
    ],
)
def test_bad_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []


# --- normalisation of odd answers -------------------------------------------------------------------------------------


def test_name_that_cannot_be_encoded_is_unreadable_alone(emulator):
    for name in ('a', '\ud800b', 'c'):
        emulator.add_conference(name)
    failed, result = run(emulator, match='*', parallel=1)
    assert not failed
    assert result['names'] == ['a', 'c'] and result['unreadable'] == ['\\ud800b']
    assert any('cannot be sent: the name is not valid Unicode' in w for w in result['warnings'])
    assert len(emulator.requests()) == 3  # the list and two retrievals


# --- answers that are not what they seem (issue 13) ------------------------------------------------------------


def test_gateway_404_on_retrieve_is_not_absent(emulator):
    emulator.add_conference('Board Room')
    emulator.configure(faults=[{'kind': 'gateway_404', 'method': 'GET'}])
    failed, result = run(emulator, name='Board Room')
    assert failed and result['absent'] == [] and result['names'] == []
    assert 'api_url' in result['msg'] and 'does not know' in result['msg']


# --- registry: the rooms known from callbacks, beside the live list ---------------------------------------------------


def test_registry_without_selector_lists_both_and_retrieves_what_the_list_omitted(emulator, tmp_path):
    for name in ['listed', 'both', 'hidden', 'vip-hidden']:
        emulator.add_conference(name, members=2)
    emulator.configure(list_omits=['*hidden'])
    registry = write_registry(tmp_path / 'state.json', ['both', 'hidden', 'gone', 'vip-hidden'], members={'both': 3})
    failed, result = run(emulator, registry=registry, exclude='vip-*')
    assert not failed and result['changed'] is False
    assert result['names'] == ['listed', 'both', 'hidden']  # the list's, then those retrieve found live
    assert [conference['conference_name'] for conference in result['conferences']] == ['hidden']
    assert result['already_absent'] == ['gone'] and result['excluded'] == ['vip-hidden']
    rooms = dict((room['name'], room) for room in result['rooms'])
    assert [room['name'] for room in result['rooms']] == ['listed', 'both', 'hidden', 'gone', 'vip-hidden']
    assert rooms['listed'] == dict(
        name='listed', known_from=['list'], uuid=None, first_seen=None, last_heard=None, members=None
    )
    assert rooms['both'] == dict(
        name='both', known_from=['list', 'registry'], uuid='U-both', first_seen=1000.0, last_heard=1010.0, members=3
    )
    assert rooms['hidden']['known_from'] == ['registry'] and rooms['hidden']['members'] is None
    retrieved = sorted(entry['conference'] for entry in emulator.requests('GET', 'retrieve'))
    assert retrieved == ['gone', 'hidden']  # the listed rooms are not retrieved, nor the excluded one


def test_registry_with_match_retrieves_the_matching_rooms_of_both(emulator, tmp_path):
    for name in ['ci-1', 'ci-2', 'prod']:
        emulator.add_conference(name)
    emulator.configure(list_omits=['ci-2'])
    registry = write_registry(tmp_path / 'state.json', ['ci-2', 'prod'])
    failed, result = run(emulator, match='ci-*', registry=registry)
    assert not failed and result['names'] == ['ci-1', 'ci-2']
    assert [(room['name'], room['known_from']) for room in result['rooms']] == [
        ('ci-1', ['list']),
        ('ci-2', ['registry']),
    ]


def test_an_unreadable_registry_is_refused_before_any_request(emulator, tmp_path):
    path = tmp_path / 'state.json'
    path.write_text('{"version": 1, "rooms": [{"name": "r", "uuid": null, "first_seen": "now", "present": []}]}')
    failed, result = run(emulator, registry=str(path))
    assert failed and result['refused_options'] == ['registry'] and emulator.requests() == []
    assert 'rooms[0].first_seen must be a number, got "now"' in result['msg']
