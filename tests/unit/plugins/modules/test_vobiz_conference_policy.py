# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference's scheduled policy selectors against the emulator."""

import functools

import pytest

from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import run_against

run = functools.partial(run_against, vobiz_conference.main, retries=1)


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
    failed, result = run(emulator, name='Standup', conference_uuid='uuid-of-the-instance-that-ended', running_longer_than=3600)
    assert not failed and result['changed'] is False
    assert result['other_instance'] == ['Standup'] and result['hung_up'] == []
    assert any('another instance' in warning for warning in result['warnings'])
    assert emulator.requests(method='DELETE') == [] and emulator.live_names() == ['Standup']


def test_conference_uuid_of_the_live_instance_is_hung_up(emulator):
    emulator.add_conference('Standup', members=1, started_ago=7200)
    emulator.configure(retrieve_uuid=True)
    failed, result = run(emulator, name='Standup', conference_uuid=emulator.conference_uuid('Standup'), running_longer_than=3600)
    assert not failed and result['hung_up'] == ['Standup'] and result['other_instance'] == []


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(running_longer_than='4 days'), 'running_longer_than'),
        (dict(all=True, members_at_most=1), 'all'),
        (dict(name=['a', 'b'], conference_uuid='U1'), 'conference_uuid'),
    ],
)
def test_bad_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []
