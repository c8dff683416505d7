# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Blocked callers (``blocked_callers``): which ``enter`` is a blocked caller's, and its ``blocked_caller`` event.

Normalising, matching and masking numbers is ``plugins/module_utils/_callers.py``, the same file the modules'
``caller_matches`` uses, loaded here by its path (this source runs outside any package): a number is blocked by the
source exactly when the action's re-check can match it.
"""

from __future__ import annotations

from .events import member_event
from .shared import module_util

shared = module_util('_callers')
mask = shared.mask


def parse_blocked(values) -> tuple[str, ...]:
    """The normalised patterns of ``blocked_callers`` (``()``: off). Raises ``ValueError`` naming the option."""
    if values is None or values == '' or values == []:
        return ()
    return tuple(shared.parse_patterns(values, 'blocked_callers'))


class BlockedCallers:
    """The source's block list: whether an ``enter`` callback's ``From`` matches it, and the event it makes."""

    def __init__(self, patterns):
        self.matcher = shared.CallerMatcher(patterns)

    def event_for(self, fields: dict, info: dict) -> dict | None:
        """A ``blocked_caller`` event when ``fields`` are the enter of a member new to its room (``info['entered']``:
        a duplicate or late enter adds nobody) whose ``From`` matches, with a ``ConferenceMemberID`` to kick by;
        else None. The event and the log carry the caller masked except its last four digits, never the number."""
        if not info.get('entered') or not fields.get('ConferenceMemberID'):
            return None
        number = self.matcher.number_if_matched(fields.get('From'))
        if number is None:
            return None
        return member_event('blocked_caller', fields, info['room'], caller=mask(number))
