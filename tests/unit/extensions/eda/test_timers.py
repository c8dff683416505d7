"""Unit tests of the overdue and lonely timers (vobiz_callbacks/timers.py) on a fake clock."""

from __future__ import annotations

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.registry import RoomRegistry
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.timers import LimitTimers
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import FakeClock, enter, leave


def setup(clock, max_duration=60, lonely_after=30, **kwargs):
    return RoomRegistry(clock=clock), LimitTimers(max_duration, lonely_after, **kwargs)


def kinds(events):
    return sorted((event['vobiz']['type'], event['vobiz']['conference_name']) for event in events)


def test_overdue_once_over_the_limit_then_again_only_after_repeat_after():
    clock = FakeClock()
    reg, timers = setup(clock, lonely_after=0, repeat_after=100, max_emissions=2)
    reg.apply(enter('long', '1', first=True))
    reg.apply(enter('long', '2'))
    clock.advance(60.9)
    assert timers.due(reg, clock()) == []  # 60 whole seconds: Vobiz's run time may be 60, not over the limit
    clock.advance(0.1)
    events = timers.due(reg, clock())
    assert events == [
        {
            'vobiz': {
                'type': 'overdue',
                'conference_name': 'long',
                'conference_uuid': 'U1',
                'live_seconds': 61,
                'members': 2,
                'max_duration': 60,
                'emission': 1,
            }
        }
    ]
    clock.advance(99)
    assert timers.due(reg, clock()) == []
    clock.advance(1)
    assert [event['vobiz']['emission'] for event in timers.due(reg, clock())] == [2]
    clock.advance(1000)
    assert timers.due(reg, clock()) == []  # max_emissions reached


def test_an_ended_room_is_never_overdue():
    clock = FakeClock()
    reg, timers = setup(clock)
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('r', '2'))
    reg.apply(leave('r', '1'))
    reg.apply(leave('r', '2', last=True))
    clock.advance(1000)
    assert timers.due(reg, clock()) == []


def test_lonely_after_the_room_drops_to_one_member():
    clock = FakeClock()
    reg, timers = setup(clock, max_duration=0)
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('r', '2'))
    clock.advance(100)
    assert timers.due(reg, clock()) == []  # two members: not lonely however long
    reg.apply(leave('r', '2'))
    clock.advance(29)
    assert timers.due(reg, clock()) == []
    clock.advance(1)
    events = timers.due(reg, clock())
    assert kinds(events) == [('lonely', 'r')]
    assert (
        events[0]['vobiz']['lonely_seconds'],
        events[0]['vobiz']['live_seconds'],
        events[0]['vobiz']['members'],
    ) == (30, 130, 1)
    clock.advance(5)
    assert timers.due(reg, clock()) == []
    # a second member comes and goes: a new lonely spell, reported afresh
    reg.apply(enter('r', '3'))
    reg.apply(leave('r', '3'))
    clock.advance(30)
    assert [event['vobiz']['emission'] for event in timers.due(reg, clock())] == [1]


def test_a_room_whose_first_member_was_not_seen_is_never_lonely():
    clock = FakeClock()
    reg, timers = setup(clock)
    reg.apply(leave('old', '7'))  # started before we listened: unknown members may be present
    clock.advance(61)
    events = timers.due(reg, clock())
    assert kinds(events) == [('overdue', 'old')] and events[0]['vobiz']['members'] is None


def test_emissions_are_marked_for_the_state_file():
    clock = FakeClock()
    reg, timers = setup(clock)
    reg.track_changes = True
    reg.apply(enter('r', '1', first=True))
    reg.pop_changed()
    clock.advance(61)
    assert timers.due(reg, clock()) and reg.pop_changed() == {'r'}


def test_a_room_overdue_and_lonely_at_once_gets_one_event_and_the_other_waits():
    """One action per room: the second would only find the room the first one ended."""
    clock = FakeClock()
    reg, timers = setup(clock, max_duration=60, lonely_after=30, repeat_after=100)
    reg.apply(enter('r', '1', first=True))
    clock.advance(61)
    assert kinds(timers.due(reg, clock())) == [('overdue', 'r')]  # lonely for 61 s as well
    clock.advance(99)
    assert timers.due(reg, clock()) == []
    clock.advance(1)
    assert kinds(timers.due(reg, clock())) == [('lonely', 'r')]  # still there 100 s later: the overdue action kept it
    clock.advance(100)
    assert kinds(timers.due(reg, clock())) == [('overdue', 'r')]  # then they take turns
