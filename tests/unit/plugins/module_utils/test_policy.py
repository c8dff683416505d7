# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the scheduled policy helpers (_policy): durations and the verdict per retrieved room."""

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils._answers import Retrieved
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._policy import Policy, parse_duration


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


@pytest.mark.parametrize('value', ['', 'h', '4d', '30m4h', '-5', -5, True, None, '1.5h', [1], 1.5])
def test_bad_durations_name_the_option(value):
    with pytest.raises(VobizInputError, match='running_longer_than') as info:
        parse_duration(value)
    assert info.value.option == 'running_longer_than'


def present(name, run_time='100', count='2', members=None):
    conference = {'conference_name': name, 'conference_run_time': run_time, 'conference_member_count': count, 'members': members if members is not None else []}
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
        (present('two', count='2'), 'spared'),
        (present('listed', count=None, members=[{'member_id': '1'}]), 'selected'),  # falls back to the members list
        (present('unknown', count=None, members=None), 'selected'),  # an empty members list is a count of 0
    ],
)
def test_members_at_most(retrieved, verdict):
    assert Policy(members_at_most=1).judge(retrieved)[0] == verdict


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
    with pytest.raises(VobizInputError, match='members_at_most'):
        Policy.from_params({'members_at_most': -1})


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
    for params in ({'conference_uuid': 'U1'}, {'name': ['a', 'b'], 'conference_uuid': 'U1'}, {'match': 'r*', 'conference_uuid': 'U1'}):
        with pytest.raises(VobizInputError, match='conference_uuid'):
            Policy.from_params(params)
