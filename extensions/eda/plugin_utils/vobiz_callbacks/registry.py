# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The live rooms as the callbacks tell them (``RoomRegistry``): no I/O, the clock injected.

Vobiz sends only ``enter`` and ``exit``, without timestamps or room size, not in event order and sometimes twice.
The registry is a hint for the timers, never proof: the action re-checks every room against the API.
Its size is bounded: a room not heard of for ``forget_after`` seconds is forgotten, and beyond ``max_rooms`` the
room heard of least recently goes first.
"""

from __future__ import annotations

import collections
import time
from typing import Callable

from .events import flag

#: Seconds an ended room instance is remembered, to ignore its late callbacks.
ENDED_RETENTION = 3600.0
#: Member ids remembered per room; beyond, its member count is no longer trusted (and it is never lonely).
MAX_MEMBERS = 1000


class Room:
    """One live instance of a conference, as far as callbacks tell."""

    def __init__(self, name: str, uuid: str | None, now: float):
        self.name = name
        self.uuid = uuid
        self.first_seen = now
        self.last_heard = now
        self.present: set[str] = set()
        self.left: set[str] = set()  # members seen leaving; a late or duplicate enter of theirs is ignored
        self.members_known = False  # only after its first member's enter: members may have joined unseen before
        self.lonely_since: float | None = now
        self.emitted: dict[str, list[float]] = {'overdue': [], 'lonely': []}  # emission times per kind

    def members(self) -> int | None:
        return len(self.present) if self.members_known else None


class RoomRegistry:
    """Live rooms built from callbacks, least recently heard of first."""

    def __init__(self, forget_after: float = 86400, max_rooms: int = 50000, clock: Callable[[], float] = time.time):
        self.forget_after = forget_after
        self.max_rooms = max_rooms
        self.clock = clock
        self.rooms: collections.OrderedDict[str, Room] = collections.OrderedDict()
        # name -> (uuid, time ended, member ids of that instance): late callbacks of an ended room are ignored
        self.ended: collections.OrderedDict[str, tuple[str | None, float, frozenset]] = collections.OrderedDict()
        self.forgotten = 0  # rooms dropped unheard of (forget_after) or for room (max_rooms)
        self.track_changes = False  # set by a state file, the only reader of pop_changed
        self._changed: set[str] = set()  # room names changed since the state file last asked

    def apply(self, fields: dict) -> dict:
        """Take one callback's form fields; return what the registry now knows about its room."""
        now = self.clock()
        name = fields.get('ConferenceName') or ''
        action = (fields.get('ConferenceAction') or fields.get('Event') or '').strip().lower()
        uuid = fields.get('ConferenceUUID') or None
        member = fields.get('ConferenceMemberID') or fields.get('CallUUID') or None
        if not name or action not in ('enter', 'exit'):
            return {'members': None, 'ignored': 'no ConferenceName or an action other than enter/exit'}
        if self._is_late(name, uuid, member):
            return {'members': None, 'ignored': 'late callback of a room that already ended'}
        room = self.rooms.get(name)
        if room is not None and uuid and room.uuid and uuid != room.uuid:
            self._end(room, now)  # a new instance with the same name: the old one ended unreported
            room = None
        if room is None:
            room = self.rooms[name] = Room(name, uuid, now)
            self._make_room()
        elif room.uuid is None and uuid:
            room.uuid = uuid
        room.last_heard = now
        self.rooms.move_to_end(name)
        self._touch(name)
        before = len(room.present)
        entered = False  # a member new to the room (not a duplicate enter, nor a late one after its exit)
        if action == 'enter':
            if flag(fields.get('ConferenceFirstMember')):
                room.members_known = True
            if member is not None and member not in room.left and member not in room.present:
                room.present.add(member)
                entered = True
        else:
            if member is not None:
                room.present.discard(member)
                room.left.add(member)
            if flag(fields.get('ConferenceLastMember')):
                self._end(room, now)
                return {'members': 0, 'ignored': None, 'ended': True}
        if len(room.present) + len(room.left) > MAX_MEMBERS:
            room.left.clear()
            room.members_known = False
        after = len(room.present)
        if after > 1:
            room.lonely_since = None
            room.emitted['lonely'] = []  # it was not lonely in between: a later lonely spell starts afresh
        elif before > 1 or room.lonely_since is None:
            room.lonely_since = now
        return {'members': room.members(), 'ignored': None, 'entered': entered, 'room': room}

    def _is_late(self, name: str, uuid: str | None, member: str | None) -> bool:
        ended = self.ended.get(name)
        if ended is None:
            return False
        ended_uuid, _when, members = ended
        if uuid and ended_uuid:
            return uuid == ended_uuid
        return member is not None and member in members

    def _end(self, room: Room, now: float) -> None:
        del self.rooms[room.name]
        self.ended.pop(room.name, None)
        self.ended[room.name] = (room.uuid, now, frozenset(room.present | room.left))
        self._touch(room.name)
        while len(self.ended) > self.max_rooms:
            self._touch(self.ended.popitem(last=False)[0])

    def _make_room(self) -> None:
        while len(self.rooms) > self.max_rooms:
            self._forget(next(iter(self.rooms)))

    def _forget(self, name: str) -> None:
        del self.rooms[name]
        self.forgotten += 1
        self._touch(name)

    def forget_stale(self) -> None:
        """Forget rooms not heard of for ``forget_after`` seconds, and ended instances past their retention."""
        now = self.clock()
        while self.rooms and next(iter(self.rooms.values())).last_heard <= now - self.forget_after:
            self._forget(next(iter(self.rooms)))
        while self.ended and next(iter(self.ended.values()))[1] <= now - ENDED_RETENTION:
            self._touch(self.ended.popitem(last=False)[0])

    def _touch(self, name: str) -> None:
        if self.track_changes:
            self._changed.add(name)

    def mark_changed(self, name: str) -> None:
        """A room's persisted part changed outside ``apply`` (an emission)."""
        self._touch(name)

    def pop_changed(self) -> set[str]:
        """The names whose room or ended record changed since the last call (for the state file)."""
        changed, self._changed = self._changed, set()
        return changed

    def restore(self, rooms: list, ended: list) -> None:
        """Load a state file's rooms and ended instances (the caller has checked the types).

        A loaded room keeps its age, but callbacks may have been missed while nobody listened: its member count
        is no longer trusted, so it can be overdue, never lonely.
        """
        for item in sorted(rooms, key=lambda item: item.get('last_heard', item['first_seen'])):
            room = Room(item['name'], item['uuid'], item['first_seen'])
            room.last_heard = item.get('last_heard', item['first_seen'])
            room.present = set(item['present'])
            room.left = set(item['left'])
            room.lonely_since = None
            room.emitted = {kind: list(item['emitted'].get(kind, ())) for kind in ('overdue', 'lonely')}
            self.rooms[room.name] = room
        for item in sorted(ended, key=lambda item: item['time']):
            self.ended[item['name']] = (item['uuid'], item['time'], frozenset(item['members']))
        self._make_room()
        self.forget_stale()
