# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""When a room of the registry is ``overdue`` or ``lonely`` (``LimitTimers``): no I/O, the time passed in."""

from __future__ import annotations

from .events import limit_event
from .registry import Room, RoomRegistry


class LimitTimers:
    """The ``overdue`` and ``lonely`` events due; each is emitted once per room, again only after ``repeat_after``
    seconds while the room is still in the registry (the action found it inside its limits or could not read it,
    or its end was never reported), at most ``max_emissions`` times.

    One action per room at a time: a room that is overdue and lonely at once gets the ``overdue`` event only, and
    after an event of either kind the other waits ``repeat_after`` seconds too. The action of the first event most
    often ends the room (its ``exit`` callbacks then take it out of the registry); a second event queued behind it
    would only find the room ended.
    """

    def __init__(self, max_duration: int = 0, lonely_after: int = 0, repeat_after: float = 300, max_emissions: int = 3):
        self.max_duration = max_duration
        self.lonely_after = lonely_after
        self.repeat_after = repeat_after
        self.max_emissions = max_emissions

    def due(self, registry: RoomRegistry, now: float) -> list[dict]:
        """The events due now, each marked as emitted in its room."""
        events = []
        for room in list(registry.rooms.values()):
            due = []
            # Overdue once the room has been live MORE than max_duration whole seconds by our count: Vobiz's own
            # conference_run_time (whole seconds, counted from before our first callback) is then over it too.
            if self.max_duration and now - room.first_seen >= self.max_duration + 1:
                due.append(('overdue', self.max_duration))
            alone = room.lonely_since if room.members_known else None
            if self.lonely_after and alone is not None and now - alone >= self.lonely_after:
                due.append(('lonely', self.lonely_after))
            # Both due: the kind emitted fewer times goes first (overdue on a tie), so that neither starves the other.
            for kind, limit in sorted(due, key=lambda item: len(room.emitted[item[0]])):
                if self._may_emit(registry, room, kind, now):
                    events.append(limit_event(kind, room, now, room.members(), limit))
                    break
        return events

    def _may_emit(self, registry: RoomRegistry, room: Room, kind: str, now: float) -> bool:
        times = room.emitted[kind]
        last = max((emitted[-1] for emitted in room.emitted.values() if emitted), default=None)
        if len(times) >= self.max_emissions or (last is not None and now - last < self.repeat_after):
            return False
        times.append(now)
        registry.mark_changed(room.name)
        return True
