# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 7: the live service's lying GETs (``list_lies``, ``retrieve_lies``), and GETs that cannot be read at all.

Real runs still hang up every named room (they never trust a GET); check mode predicts a change,
and says it is uncertain, for every room it could not read.
"""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.tests.reliability.helpers import describe_faults, fault_counts, run, timed

LIES = dict(list_lies=True, retrieve_lies=True)
ROOMS = ['ci-{0:02d}'.format(i) for i in range(30)] + ['Board Room', 'a/b']


def live(emu, names, members=2):
    for name in names:
        emu.add_conference(name, members=members)


# --- real runs -------------------------------------------------------------------------------------


def test_real_hangup_by_name_ignores_lying_gets(emu, figures):
    live(emu, ROOMS + ['bystander'])
    emu.configure(**LIES)
    seconds, (failed, result) = timed(run, 'vobiz_conference', emu, name=ROOMS + ['never-there'])
    log = emu.requests()
    assert not failed and result['changed'] is True
    assert sorted(result['hung_up']) == sorted(ROOMS) and result['already_absent'] == ['never-there']
    assert emu.live_names() == ['bystander']
    assert {e['method'] for e in log} == {'DELETE'}  # no GET was asked, so none could lie
    figures.record(
        '7a',
        'lying GETs, real run by name',
        '{0} rooms'.format(len(ROOMS)),
        'list_lies + retrieve_lies',
        len(log),
        len(result['hung_up']),
        len(ROOMS),
        len(ROOMS) - len(result['hung_up']),
        seconds,
    )


@pytest.mark.parametrize('state, expect_gone', [('absent', True), ('kicked', True), ('muted', False)])
def test_real_member_actions_act_on_unreadable_room(emu, state, expect_gone):
    emu.add_conference('Town Hall', members=['10', '15', '20'])
    emu.configure(**LIES)
    failed, result = run('vobiz_conference_member', emu, conference='Town Hall', member_id=['10', '15'], state=state)
    assert not failed and result['changed'] is True and result['uncertain'] is True
    assert sorted(result['members']) == ['10', '15']
    members = {m['member_id']: m for m in emu.conference('Town Hall')['members']}
    if expect_gone:
        assert sorted(members) == ['20']
    else:
        assert [members[m]['muted'] for m in ('10', '15', '20')] == [True, True, False]
    assert any('could not be read' in w for w in result['warnings'])


def test_real_announce_never_reads(emu):
    live(emu, ['Board Room'])
    emu.configure(**LIES)
    failed, result = run('vobiz_conference_announce', emu, name='Board Room', text='Closing.')
    assert not failed and result['announced'] == ['Board Room']
    assert [e['method'] for e in emu.requests()] == ['POST']


def test_info_reports_unreadable_rooms(emu):
    live(emu, ['Board Room'])
    emu.configure(**LIES)
    failed, result = run('vobiz_conference_info', emu, name=['Board Room', 'gone'])
    assert not failed and result['unreadable'] == ['Board Room'] and result['already_absent'] == ['gone']
    assert any('may well be live' in w for w in result['warnings'])


# --- check mode: no promise of "no change" for a room it could not read -------------------------------

#: Ways a GET can fail to say whether a room is live: the live service's lie, and faults that outlast the retries.
UNREADABLE = [
    ('retrieve_lies', dict(retrieve_lies=True)),
    ('503 forever', dict(faults=[dict(kind='503', method='GET')])),
    ('500 forever', dict(faults=[dict(kind='500', method='GET')])),
    ('429 forever', dict(faults=[dict(kind='429', method='GET')])),
    ('dropped forever', dict(faults=[dict(kind='drop', method='GET')])),
    ('reply lost forever', dict(faults=[dict(kind='lost_reply', method='GET')])),
]


@pytest.mark.parametrize('label, switches', UNREADABLE, ids=[u[0] for u in UNREADABLE])
def test_check_mode_predicts_change_for_unreadable_rooms(emu, sleeps, figures, label, switches):
    rooms = ['ci-1', 'ci-2', 'Board Room']
    live(emu, rooms)
    emu.configure(**switches)
    absent_readable = label == 'retrieve_lies'  # the lie is only told about live rooms: a 404 is still a 404
    names = rooms + ['never-there']

    seconds, (failed, result) = timed(run, 'vobiz_conference', emu, check_mode=True, diff=True, name=names, retries=2)
    log = emu.requests()
    assert not failed, result['msg']
    assert result['changed'] is True
    unreadable = rooms if absent_readable else names
    assert sorted(result['uncertain']) == sorted(unreadable)
    assert sorted(result['hung_up']) == sorted(unreadable)
    assert result['already_absent'] == (['never-there'] if absent_readable else [])
    assert len([w for w in result['warnings'] if 'could not be read' in w]) == len(unreadable)
    assert sorted(result['diff']['before']['conferences']) == sorted(unreadable)
    assert {e['method'] for e in log} == {'GET'} and emu.live_names() == sorted(rooms)
    figures.record(
        '7c',
        'check mode, GETs unreadable: ' + label,
        '{0} names, check mode'.format(len(names)),
        describe_faults(fault_counts(log)) if fault_counts(log) else label,
        len(log),
        '0 (predicted {0}, all uncertain)'.format(len(result['hung_up'])),
        0,
        0,
        seconds,
    )

    emu.clear_log()
    failed, result = run(
        'vobiz_conference_member',
        emu,
        check_mode=True,
        conference='Board Room',
        member_id=['1'],
        state='muted',
        retries=2,
    )
    assert not failed and result['changed'] is True and result['uncertain'] is True and result['members'] == ['1']

    failed, result = run('vobiz_conference_announce', emu, check_mode=True, name=names, text='Closing.', retries=2)
    assert not failed and result['changed'] is True
    assert sorted(result['uncertain']) == sorted(unreadable) and sorted(result['announced']) == sorted(unreadable)
    assert {e['method'] for e in emu.requests()} == {'GET'}
