"""Unit tests of the room registry (vobiz_callbacks/registry.py): reordered, duplicated and late callbacks, and its
bounds (forget_after, max_rooms), on a fake clock."""

from __future__ import annotations

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import registry as registry_unit
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import FakeClock, enter, leave


def registry(clock, **kwargs):
    return registry_unit.RoomRegistry(clock=clock, **kwargs)


def test_members_are_counted_despite_duplicates_and_reordering():
    reg = registry(FakeClock())
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('r', '1', first=True))  # duplicate
    reg.apply(leave('r', '2'))  # delivered before its enter
    assert reg.apply(enter('r', '2'))['members'] == 1  # the late enter does not bring 2 back
    assert reg.apply(enter('r', '3'))['members'] == 2
    assert reg.rooms['r'].present == {'1', '3'}


def test_last_member_exit_ends_the_room_and_late_callbacks_are_ignored():
    reg = registry(FakeClock())
    reg.apply(enter('r', '1', first=True))
    assert reg.apply(leave('r', '1', last=True))['ended'] is True
    assert 'r' not in reg.rooms
    assert reg.apply(enter('r', '1', first=True))['ignored']  # duplicate of the old enter, delivered late
    assert 'r' not in reg.rooms
    reg.apply(enter('r', '9', first=True, uuid='U2'))  # a new instance of the same name
    assert reg.rooms['r'].uuid == 'U2'


def test_without_uuids_a_late_callback_of_an_ended_room_is_recognised_by_member():
    reg = registry(FakeClock())
    reg.apply(enter('r', '1', first=True, uuid=''))
    reg.apply(leave('r', '1', last=True, uuid=''))
    assert reg.apply(enter('r', '1', uuid=''))['ignored']
    reg.apply(enter('r', '2', first=True, uuid=''))
    assert 'r' in reg.rooms


def test_a_new_instance_replaces_one_whose_end_was_missed():
    clock = FakeClock()
    reg = registry(clock)
    reg.apply(enter('r', '1', first=True, uuid='U1'))
    clock.advance(100)
    reg.apply(enter('r', '5', first=True, uuid='U2'))
    assert reg.rooms['r'].first_seen == clock.now
    assert reg.apply(leave('r', '1', uuid='U1'))['ignored']
    assert reg.rooms['r'].present == {'5'}


def test_a_room_whose_first_member_was_not_seen_has_no_member_count():
    reg = registry(FakeClock())
    assert reg.apply(leave('old', '7'))['members'] is None
    assert reg.apply(enter('r', '2'))['members'] is None
    assert reg.apply(enter('r', '1', first=True))['members'] == 2  # the first member's callback may arrive late


def test_callbacks_that_are_not_enter_or_exit_are_ignored():
    reg = registry(FakeClock())
    assert reg.apply({'ConferenceAction': 'record', 'ConferenceName': 'r'})['ignored']
    assert reg.apply({'ConferenceAction': 'enter'})['ignored']
    assert reg.rooms == {}


def test_rooms_not_heard_of_for_forget_after_are_forgotten():
    clock = FakeClock()
    reg = registry(clock, forget_after=600)
    reg.apply(enter('quiet', '1', first=True))
    clock.advance(300)
    reg.apply(enter('busy', '1', first=True))
    clock.advance(299)
    reg.apply(enter('quiet', '2'))  # heard of again: its clock starts again
    clock.advance(301)
    reg.forget_stale()
    assert sorted(reg.rooms) == ['quiet']  # busy was last heard of 600 s ago
    assert reg.forgotten == 1


def test_beyond_max_rooms_the_room_heard_of_least_recently_goes():
    clock = FakeClock()
    reg = registry(clock, max_rooms=3)
    for name in 'abcd':
        clock.advance(1)
        reg.apply(enter(name, '1', first=True))
        if name == 'b':
            reg.apply(enter('a', '2'))  # a is heard of again: b is now the oldest
    assert sorted(reg.rooms) == ['a', 'c', 'd'] and reg.forgotten == 1


def test_ended_instances_are_bounded_and_expire():
    clock = FakeClock()
    reg = registry(clock, max_rooms=2)
    for name in 'abc':
        reg.apply(enter(name, '1', first=True))
        reg.apply(leave(name, '1', last=True))
    assert list(reg.ended) == ['b', 'c']
    clock.advance(registry_unit.ENDED_RETENTION + 1)
    reg.forget_stale()
    assert not reg.ended


def test_a_room_with_too_many_members_stops_trusting_its_count():
    reg = registry(FakeClock())
    reg.apply(enter('r', '0', first=True))
    for member in range(1, registry_unit.MAX_MEMBERS + 1):
        reg.apply(leave('r', str(member)))
    assert reg.rooms['r'].members() is None and not reg.rooms['r'].left


def test_changes_are_reported_once_for_the_state_file_and_only_kept_for_one():
    reg = registry(FakeClock())
    reg.apply(enter('q', '1', first=True))
    assert reg.pop_changed() == set()  # nobody asks: nothing is kept (a flood without a state file leaks nothing)
    reg.track_changes = True
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('s', '1', first=True))
    assert reg.pop_changed() == {'r', 's'}
    assert reg.pop_changed() == set()
