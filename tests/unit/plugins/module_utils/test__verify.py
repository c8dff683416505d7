# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _verify: the polling of verified termination on a fake clock (no test waits on wall time)."""

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    STATE_ABSENT,
    STATE_PRESENT,
    STATE_UNREADABLE,
    Retrieved,
)
from ansible_collections.vobiz.voice.plugins.module_utils._verify import MAX_PAUSE, verify_ended


class FakeTime:
    """A clock that moves only when the verification waits; ``waits`` records each pause asked for."""

    def __init__(self, stop_after=None):
        self.now = 1000.0
        self.waits = []
        self.stop_after = stop_after

    def clock(self):
        return self.now

    def wait(self, seconds):
        self.waits.append(seconds)
        self.now += seconds
        return self.stop_after is None or len(self.waits) < self.stop_after


class Script:
    """``read_all`` from scripted answers: name -> the states of its reads in turn (the last one repeats)."""

    def __init__(self, **answers):
        self.answers = answers
        self.reads = []

    def __call__(self, names):
        self.reads.append(list(names))
        return [self.answer(name, sum(name in batch for batch in self.reads) - 1) for name in names]

    def answer(self, name, index):
        state = self.answers[name][min(index, len(self.answers[name]) - 1)]
        if state == STATE_ABSENT:
            return Retrieved(name, STATE_ABSENT, 404)
        if state == STATE_UNREADABLE:
            return Retrieved(name, STATE_UNREADABLE, 503, reason='HTTP 503: service unavailable')
        conference = dict(conference_name=name, conference_uuid=state)  # present: the UUID it reports
        return Retrieved(name, STATE_PRESENT, 200, conference=conference)


def test_each_room_is_read_until_its_own_404():
    fake = FakeTime()
    script = Script(a=[STATE_ABSENT], b=['u-1', 'u-1', STATE_ABSENT], c=[STATE_UNREADABLE, STATE_ABSENT])
    verified, unverified = verify_ended(script, ['a', 'b', 'c'], 60, fake.wait, fake.clock)
    assert verified == ['a', 'b', 'c'] and unverified == []
    assert script.reads == [['a', 'b', 'c'], ['b', 'c'], ['b']]  # a room verified is never read again
    assert fake.waits == [1.0, 2.0]


def test_time_up_leaves_rooms_unverified_from_their_last_read():
    fake = FakeTime()
    script = Script(gone=[STATE_ABSENT], stale=['u-1'], new=['u-2'], unknown=['u-3'], unreadable=[STATE_UNREADABLE])
    names = ['stale', 'gone', 'new', 'unknown', 'unreadable']
    uuids = dict(stale='u-1', new='u-old')
    verified, unverified = verify_ended(script, names, 30, fake.wait, fake.clock, uuids)
    assert verified == ['gone']
    by_name = dict((entry['name'], entry) for entry in unverified)
    assert [entry['name'] for entry in unverified] == ['stale', 'new', 'unknown', 'unreadable']
    assert by_name['stale']['conference_uuid'] == 'u-1' and 'the instance hung up' in by_name['stale']['message']
    assert by_name['new']['conference_uuid'] == 'u-2' and by_name['new']['message'].startswith('re-created:')
    assert by_name['unknown']['conference_uuid'] == 'u-3' and 'a new instance' in by_name['unknown']['message']
    unreadable = 'its retrieve could not be read (HTTP 503: service unavailable)'
    assert by_name['unreadable'] == dict(name='unreadable', status=503, conference_uuid=None, message=unreadable)
    # The pauses double up to MAX_PAUSE, and the last one ends at the deadline, where the last read is.
    assert fake.waits == [1.0, 2.0, 4.0, 8.0, MAX_PAUSE, 5.0] and sum(fake.waits) == 30
    assert len(script.reads) == len(fake.waits) + 1


def test_every_room_is_read_once_however_short_the_time():
    fake = FakeTime()
    script = Script(a=['u-1'])
    verified, unverified = verify_ended(script, ['a'], 0.5, fake.wait, fake.clock)
    assert verified == [] and [entry['name'] for entry in unverified] == ['a']
    assert script.reads == [['a'], ['a']] and fake.waits == [0.5]


def test_a_stopped_run_reads_no_more_and_says_so():
    fake = FakeTime(stop_after=1)
    script = Script(a=['u-1'], b=[STATE_ABSENT])
    verified, unverified = verify_ended(script, ['a', 'b'], 60, fake.wait, fake.clock)
    assert verified == ['b'] and script.reads == [['a', 'b']]
    assert unverified[0]['message'].startswith('the run was stopped before it was verified; its last read: ')
