# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the scheduled policy helpers (_policy): durations and the verdict per retrieved room."""

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    STATE_ABSENT,
    STATE_PRESENT,
    STATE_UNREADABLE,
    Retrieved,
    member_plan,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._policy import (
    CallerRule,
    Capacity,
    Policy,
    member_policy,
    newest_members,
    parse_duration,
)


@pytest.mark.parametrize(
    'value, seconds',
    [
        (90, 90),
        ('90', 90),
        ('90s', 90),
        ('30m', 1800),
        ('4h', 14400),
        ('1h30m', 5400),
        ('2h5m10s', 7510),
        (' 1H 30M ', 5400),
        (0, 0),
        (3600.0, 3600),
    ],
)
def test_parse_duration(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize(
    'value',
    [
        '',
        'h',
        '4d',
        '30m4h',
        '-5',
        -5,
        True,
        None,
        '1.5h',
        [1],
        1.5,
        '²',
        '٣',
        '²h',
        float('inf'),
        float('-inf'),
        float('nan'),
        'inf',
        'nan',
        '1e3',
    ],
)
def test_bad_durations_name_the_option(value):
    with pytest.raises(VobizInputError, match='running_longer_than') as info:
        parse_duration(value)
    assert info.value.option == 'running_longer_than'


NO_LIST = object()


def present(name, run_time='100', count='2', members=None):
    """A retrieved room; by default with as many members listed as ``count`` says (none when it is no plain count)."""
    if members is None:
        members = (
            [{'member_id': str(i)} for i in range(int(count))]
            if isinstance(count, str) and count.isascii() and count.isdigit()
            else []
        )
    conference = {'conference_name': name, 'conference_run_time': run_time, 'conference_member_count': count}
    if members is not NO_LIST:
        conference['members'] = members
    return Retrieved(name, 'present', 200, conference=conference)


@pytest.mark.parametrize(
    'retrieved, verdict',
    [
        (present('old', run_time='101'), 'selected'),
        (present('edge', run_time='100'), 'spared'),  # longer than, not as long as
        (present('young', run_time='5'), 'spared'),
        (present('no-time', run_time=None), 'unreadable'),
        (present('bad-time', run_time='soon'), 'unreadable'),
        (Retrieved('lied', 'unreadable', 200, reason='HTTP 200 with an error: failed'), 'unreadable'),
        (Retrieved('gone', 'absent', 404), 'absent'),
    ],
)
def test_running_longer_than(retrieved, verdict):
    assert Policy(running_longer_than=100).judge(retrieved)[0] == verdict


@pytest.mark.parametrize(
    'retrieved, verdict',
    [
        (present('one', count='1'), 'selected'),
        (present('int', count=1, members=[{'member_id': '1'}]), 'selected'),
        (present('empty', count='0'), 'selected'),
        (present('two', count='2'), 'spared'),
        (present('no-list', count='1', members=NO_LIST), 'selected'),  # no list: nothing disagrees with the count
    ],
)
def test_members_at_most(retrieved, verdict):
    assert Policy(members_at_most=1).judge(retrieved)[0] == verdict


#: Counts a policy must not act on (issue 23: each of them once made a policy-only run end the room).
UNREADABLE_COUNTS = [
    '2.0',
    'two',
    2.5,
    '',
    ' ',
    None,
    '-1',
    -1,
    True,
    '²',
    '٣',
    ' 1',
    '1 ',
    '0x1',
    float('inf'),
    float('nan'),
]


@pytest.mark.parametrize('count', UNREADABLE_COUNTS)
def test_an_unreadable_member_count_is_never_selected(count):
    verdict, reason, dummy = Policy(members_at_most=5).judge(present('r', count=count))
    assert verdict == 'unreadable' and 'conference_member_count' in reason


def test_a_missing_member_count_is_never_replaced_by_the_list():
    retrieved = Retrieved(
        'r', 'present', 200, conference={'conference_name': 'r', 'conference_run_time': '9', 'members': []}
    )
    assert Policy(members_at_most=1).judge(retrieved)[0] == 'unreadable'


def test_a_count_that_disagrees_with_the_members_listed_is_unreadable():
    verdict, reason, dummy = Policy(members_at_most=1).judge(
        present('r', count='1', members=[{'member_id': str(i)} for i in range(3)])
    )
    assert verdict == 'unreadable' and 'does not agree with the 3 member(s) listed' in reason


@pytest.mark.parametrize('run_time', ['²', '٣', '100.0', 100.5, float('inf'), float('nan'), '-5', '', None, True])
def test_an_unreadable_run_time_is_never_selected(run_time):
    assert Policy(running_longer_than=10).judge(present('r', run_time=run_time, count='0'))[0] == 'unreadable'


def test_no_member_count_at_all_is_unreadable():
    retrieved = Retrieved('r', 'present', 200, conference={'conference_name': 'r', 'conference_run_time': '9'})
    assert Policy(members_at_most=1).judge(retrieved)[0] == 'unreadable'


def test_both_must_hold():
    policy = Policy(running_longer_than=60, members_at_most=1)
    assert policy.judge(present('a', run_time='61', count='1'))[0] == 'selected'
    assert policy.judge(present('b', run_time='61', count='2'))[0] == 'spared'
    assert policy.judge(present('c', run_time='59', count='1'))[0] == 'spared'


def test_from_params():
    assert Policy.from_params({'running_longer_than': None, 'members_at_most': None}) is None
    policy = Policy.from_params({'running_longer_than': '1h', 'members_at_most': 1})
    assert (policy.running_longer_than, policy.members_at_most) == (3600, 1)
    with pytest.raises(VobizInputError, match='all=true'):
        Policy.from_params({'running_longer_than': '1h', 'all': True})
    assert Policy.from_params({'members_at_most': '2'}).members_at_most == 2


@pytest.mark.parametrize('value', [-1, '-1', 1.5, float('inf'), float('nan'), '²', 'one', True, [1]])
def test_bad_members_at_most_names_the_option(value):
    with pytest.raises(VobizInputError, match='members_at_most') as info:
        Policy.from_params({'members_at_most': value})
    assert info.value.option == 'members_at_most'


@pytest.mark.parametrize(
    'reported, verdict',
    [
        ('U1', 'selected'),  # the instance meant
        (None, 'selected'),  # no UUID in the answer (Vobiz documents none): the other selectors decide
        ('U2', 'other_instance'),  # another instance of the name: the one meant has ended
        ('', 'unreadable'),
        (7, 'unreadable'),
    ],
)
def test_conference_uuid(reported, verdict):
    conference = {'conference_name': 'r', 'conference_run_time': '7200', 'conference_member_count': '1'}
    if reported is not None:
        conference['conference_uuid'] = reported
    retrieved = Retrieved('r', 'present', 200, conference=conference)
    assert Policy(running_longer_than=60, conference_uuid='U1').judge(retrieved)[0] == verdict


def test_conference_uuid_needs_one_name():
    assert Policy.from_params({'name': 'r', 'conference_uuid': 'U1'}).conference_uuid == 'U1'
    for params in (
        {'conference_uuid': 'U1'},
        {'name': ['a', 'b'], 'conference_uuid': 'U1'},
        {'match': 'r*', 'conference_uuid': 'U1'},
    ):
        with pytest.raises(VobizInputError, match='conference_uuid'):
            Policy.from_params(params)


def test_conference_uuid_takes_an_escaped_name_from_vobiz_literally():
    # The rulebook's action hands over the room of an event as vobiz.voice results carry names: template syntax is
    # part of the real name then, not an unexpanded variable.
    params = {'name': 'inj{{ x }}\\nline', 'names_escaped': True, 'conference_uuid': 'U1'}
    assert Policy.from_params(params).conference_uuid == 'U1'
    with pytest.raises(VobizInputError, match='never expanded'):
        Policy.from_params(dict(params, names_escaped=False))


# --- the room-size cap (Capacity): what a retrieve answer lets go ----------------------------------------------


def over_cap_room(count=4, listed=None, uuid=None, join_times=(50, 40, 30, 5)):
    """A retrieved room of ``count`` members (ids 1, 2, ...), member ``n`` joined ``join_times[n-1]`` seconds ago."""
    members = [dict(member_id=str(n + 1), join_time=str(join_times[n])) for n in range(count)]
    conference = dict(conference_member_count=str(count if listed is None else listed), members=members)
    if uuid is not None:
        conference['conference_uuid'] = uuid
    return Retrieved('r', STATE_PRESENT, 200, conference)


@pytest.mark.parametrize(
    'retrieved, ids, verdict, members, reason',
    [
        (over_cap_room(), ['4'], 'selected', ['4'], None),
        (over_cap_room(uuid='U1'), ['4'], 'selected', ['4'], None),
        (over_cap_room(count=3), ['3'], 'spared', [], '3 member(s), not more than max_members 3'),
        (over_cap_room(), ['3', '4'], 'spared', [], 'would leave fewer than max_members 3'),
        (over_cap_room(), ['9'], 'not_listed', [], 'member(s) 9 not listed'),
        (over_cap_room(uuid='U2'), ['4'], 'other_instance', [], "conference_uuid 'U2', not 'U1'"),
        (over_cap_room(listed=5), ['4'], 'unreadable', [], "'5' does not agree with the 4 member(s) listed"),
        (Retrieved('r', STATE_UNREADABLE, 200, None, 'retrieve answered an error'), ['4'], 'unreadable', [], 'error'),
        (Retrieved('r', STATE_ABSENT, 404), ['4'], 'absent', [], 'gone'),
        (over_cap_room(count=5, join_times=(50, 40, 30, 5, 1)), 'all', 'selected', ['5', '4'], None),
        (over_cap_room(count=5, join_times=(50, 40, 5, 5, 1)), 'all', 'unreadable', [], 'members 3, 4 joined in the'),
        (over_cap_room(count=5, join_times=(50, 40, 'x', 5, 1)), 'all', 'unreadable', [], 'join_time for member(s) 3'),
        (over_cap_room(count=3), 'all', 'spared', [], 'not more than max_members 3'),
    ],
)
def test_the_cap_removes_only_whom_a_readable_room_over_it_lists(retrieved, ids, verdict, members, reason):
    judged = Capacity(3, conference_uuid='U1').judge(retrieved, ids)
    assert (judged.verdict, judged.members) == (verdict, members)
    assert reason is None and judged.reason is None or reason in judged.reason


def test_member_ids_sent_as_numbers_are_the_ids_the_member_action_reads():
    """An API that sends member ids as numbers: the cap selects their string form, which member_plan then finds."""
    room = over_cap_room(count=5, join_times=(50, 40, 30, 5, 1))
    for member in room.conference['members']:
        member['member_id'] = int(member['member_id'])
    assert Capacity(3).judge(room, 'all').members == ['5', '4']
    assert Capacity(3).judge(room, ['5']).verdict == 'selected'
    assert member_plan(room, Capacity(3).judge(room, 'all').members)[0] == ['5', '4']


def test_member_ids_in_the_cap_s_result_and_reasons_carry_no_line_break():
    room = over_cap_room()
    room.conference['members'][3]['member_id'] = '4\n[ERROR]: forged'
    assert '\n' not in Capacity(3).judge(room, ['9\nx']).reason
    assert '\n' not in Capacity(3).judge(room, ['4\n[ERROR]: forged']).as_result(3)['members'][0]


def test_newest_members_are_the_smallest_join_times_and_a_tie_inside_the_cut_is_fine():
    members = [dict(member_id=m, join_time=t) for m, t in (('a', '9'), ('b', '2'), ('c', '2'), ('d', '7'))]
    assert newest_members(members, 2) == (['b', 'c'], None)
    assert newest_members(members, 1)[0] is None  # b and c joined in the same second: which is newer is unknown
    assert newest_members(members, 4) == (['b', 'c', 'd', 'a'], None)


@pytest.mark.parametrize(
    'params, option',
    [
        (dict(max_members=-1), 'max_members'),
        (dict(max_members=0), 'max_members'),  # 0 would select every member
        (dict(max_members=3, conference_uuid=''), 'conference_uuid'),
        (dict(conference_uuid='U1'), 'conference_uuid'),
    ],
)
def test_bad_cap_options_are_refused_by_name(params, option):
    with pytest.raises(VobizInputError) as raised:
        Capacity.from_params(params, removing=True)
    assert raised.value.option == option


def test_the_cap_only_removes():
    with pytest.raises(VobizInputError, match='max_members needs state=kicked or state=absent'):
        Capacity.from_params(dict(max_members=3), removing=False)
    assert Capacity.from_params({}, removing=True) is None


#: 2026-12-07T10:00:00Z, the ``ends_at`` of the tests of ``live_at``
TEN_UTC = 1796637600


@pytest.mark.parametrize(
    'run_time, verdict',
    [
        ('301', 'selected'),  # now is 300 s after live_at: started before it, still live
        ('300', 'spared'),  # started at it, to the second: not known to be live at it, left alone
        ('12', 'spared'),  # started after it: a new meeting
        (None, 'unreadable'),
        ('soon', 'unreadable'),
    ],
)
def test_live_at_selects_only_rooms_already_live_at_that_instant(run_time, verdict):
    live_at = Policy.from_params({'name': 'r', 'live_at': '2026-12-07T11:00:00+01:00'}).live_at
    policy = Policy(live_at=live_at, clock=lambda: TEN_UTC + 300.5)
    assert policy.judge(present('r', run_time=run_time))[0] == verdict
    assert policy.describe() == 'live at 2026-12-07T11:00:00+01:00'


def test_live_at_still_to_come_selects_no_room():
    policy = Policy.from_params({'match': 'sales-*', 'live_at': '2026-12-07T10:00:00Z'})
    policy.clock = lambda: TEN_UTC - 1
    assert policy.judge(present('r', run_time='99999'))[0] == 'spared'
    assert policy.judge(Retrieved('gone', 'absent', 404))[0] == 'absent'


@pytest.mark.parametrize('value', ['2026-12-07T11:00:00', '2026-12-07', 'tomorrow', '', '2026-12-07T10:00:00Zulu'])
def test_live_at_without_an_offset_is_refused_by_name(value):
    with pytest.raises(VobizInputError, match='live_at must be an ISO 8601 time with a UTC offset') as info:
        Policy.from_params({'name': 'r', 'live_at': value})
    assert info.value.option == 'live_at'
    with pytest.raises(VobizInputError, match='live_at'):
        Policy.from_params({'live_at': '2026-12-07T10:00:00Z', 'all': True})


# --- the caller rule (caller_matches): whom a retrieve answer shows calling from a matching number -------------------

BLOCKED = '+1 (555) 123-4567'


def callers_room(froms=('+919800000001', BLOCKED, 'sip:+15551234567@example.com'), listed=None, uuid=None):
    """A retrieved room whose member ``n`` (ids 1, 2, ...) calls from ``froms[n-1]``."""
    members = [{'member_id': str(n + 1), 'from': caller} for n, caller in enumerate(froms)]
    conference = dict(conference_member_count=str(len(members) if listed is None else listed), members=members)
    if uuid is not None:
        conference['conference_uuid'] = uuid
    return Retrieved('r', STATE_PRESENT, 200, conference)


@pytest.mark.parametrize(
    'retrieved, ids, verdict, members, reason',
    [
        (callers_room(), ['2'], 'selected', ['2'], None),
        (callers_room(uuid='U1'), ['2'], 'selected', ['2'], None),
        (callers_room(), ['1', '2'], 'selected', ['2'], None),  # only those whose from matches
        (callers_room(), 'all', 'selected', ['2'], None),
        (callers_room(), ['1'], 'spared', [], 'no member given calls from a number of caller_matches'),
        (callers_room(), ['3'], 'spared', [], 'no member given'),  # a SIP URI is never read as its number
        (callers_room(froms=('+15561234567',)), 'all', 'spared', [], 'no member given'),
        (callers_room(), ['9'], 'not_listed', [], 'member(s) 9 not listed'),
        (callers_room(uuid='U2'), ['2'], 'other_instance', [], "conference_uuid 'U2', not 'U1'"),
        (callers_room(listed=2), ['2'], 'unreadable', [], "'2' does not agree with the 3 member(s) listed"),
        (Retrieved('r', STATE_UNREADABLE, 200, None, 'retrieve answered an error'), ['2'], 'unreadable', [], 'error'),
        (Retrieved('r', STATE_ABSENT, 404), ['2'], 'absent', [], 'gone'),
    ],
)
def test_the_caller_rule_acts_only_on_listed_members_whose_from_matches(retrieved, ids, verdict, members, reason):
    judged = CallerRule(['+1555*'], conference_uuid='U1').judge(retrieved, ids)
    assert (judged.verdict, judged.members) == (verdict, members)
    assert reason is None and judged.reason is None or reason in judged.reason


def test_the_caller_rule_s_result_masks_every_number():
    rule = CallerRule(['+1555*'])
    result = rule.result(rule.judge(callers_room(), 'all'))['callers']
    assert result['callers'] == [{'member_id': '2', 'caller': '+*******4567'}] and 'max_members' not in result
    assert '5551234567' not in repr(result) and '555) 123' not in repr(result)


def test_a_member_policy_is_a_caller_rule_or_a_cap_never_both():
    assert isinstance(member_policy(dict(caller_matches=['+1555*'], conference_uuid='U1'), removing=False), CallerRule)
    assert isinstance(member_policy(dict(max_members=3), removing=True), Capacity)
    assert member_policy({}, removing=True) is None
    for params, option in (
        (dict(caller_matches=['+1555*'], max_members=3), 'caller_matches'),
        (dict(caller_matches=['sip:x@example.com']), 'caller_matches'),
        (dict(caller_matches=[15551234567]), 'caller_matches'),  # YAML's reading of an unquoted number
        (dict(caller_matches=[]), 'caller_matches'),
        (dict(caller_matches=['+1555*'], conference_uuid=''), 'conference_uuid'),
    ):
        with pytest.raises(VobizInputError) as raised:
            member_policy(params, removing=True)
        assert raised.value.option == option, params


@pytest.mark.parametrize(
    'retrieved, verdict',
    [
        (callers_room(), 'selected'),
        (callers_room(froms=('+919800000001', '+15561234567')), 'spared'),
        (callers_room(listed=5), 'unreadable'),
        (callers_room(uuid='U2'), 'other_instance'),
        (Retrieved('gone', 'absent', 404), 'absent'),
    ],
)
def test_caller_matches_selects_a_room_retrieve_lists_a_matching_caller_in(retrieved, verdict):
    policy = Policy.from_params(dict(name=['r'], caller_matches=['001 555 *'], conference_uuid='U1'))
    assert policy.judge(retrieved)[0] == verdict
    assert 'caller_matches' in policy.describe()


def test_caller_matches_is_refused_with_all_and_when_no_number():
    with pytest.raises(VobizInputError, match='all=true cannot be combined with .*caller_matches'):
        Policy.from_params(dict(all=True, caller_matches=['+1555*']))
    with pytest.raises(VobizInputError) as raised:
        Policy.from_params(dict(name=['r'], caller_matches=['anonymous']))
    assert raised.value.option == 'caller_matches'
