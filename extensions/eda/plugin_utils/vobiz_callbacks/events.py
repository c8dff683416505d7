# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The events this source emits, and the one rule for every text in them that came from a callback (``inert``).

ansible-rulebook hands an event to a playbook as extra variables (``-e @file``). ansible-core evaluates any string
there that looks like a template: 2.16 to 2.18 evaluate the whole ``ansible_eda`` variable as soon as a play reads
it, 2.19 and later trust extra variables from files as templates. So a conference named
``{{ lookup('pipe', 'id') }}`` would run ``id`` on the rulebook host. No such text leaves this source raw: a text
that could be a template is sent as ``base64:`` and its UTF-8 bytes in base64, which no ansible-core version
evaluates; the filter ``vobiz.voice.callback_text`` turns it back into the literal text, marked as data.
"""

from __future__ import annotations

import base64

INERT_PREFIX = 'base64:'


def inert(text: str | None) -> str | None:
    """``text`` itself, or ``base64:...`` when it holds ``{`` (every Jinja start string), starts with ``#`` (a
    ``#jinja2:`` header) or starts with ``base64:`` (so that the form is never ambiguous)."""
    if text is None or ('{' not in text and not text.startswith(('#', INERT_PREFIX))):
        return text
    return INERT_PREFIX + base64.b64encode(text.encode('utf-8', 'surrogatepass')).decode('ascii')


def literal(value: str | None) -> str | None:
    """The text ``inert`` was given (the reverse; the filter ``vobiz.voice.callback_text`` does the same)."""
    if isinstance(value, str) and value.startswith(INERT_PREFIX):
        return base64.b64decode(value[len(INERT_PREFIX) :], validate=True).decode('utf-8', 'surrogatepass')
    return value


def flag(value) -> bool | None:
    """A callback's ``"true"``/``"false"`` field as a bool, or None."""
    if isinstance(value, str) and value.strip().lower() in ('true', 'false'):
        return value.strip().lower() == 'true'
    return None


def callback_event(fields: dict, members: int | None, version: str) -> dict:
    """The event of one accepted callback: ``members`` is the registry's count after it (None: not known)."""
    action = (fields.get('ConferenceAction') or '').strip().lower()
    return {
        'vobiz': {
            'type': 'callback',
            'action': inert(action) or None,
            'conference_name': inert(fields.get('ConferenceName')),
            'conference_uuid': inert(fields.get('ConferenceUUID')),
            'member_id': inert(fields.get('ConferenceMemberID')),
            'call_uuid': inert(fields.get('CallUUID')),
            'first_member': flag(fields.get('ConferenceFirstMember')),
            'last_member': flag(fields.get('ConferenceLastMember')),
            'from': inert(fields.get('From')),
            'to': inert(fields.get('To')),
            'direction': inert(fields.get('Direction')),
            'call_status': inert(fields.get('CallStatus')),
            'members': members,
            'signature': version,
            'fields': {inert(key): inert(value) for key, value in fields.items()},
        }
    }


def limit_event(kind: str, room, now: float, members: int | None, limit: int) -> dict:
    """An ``overdue`` (``limit``: max_duration) or ``lonely`` (``limit``: lonely_after) event for a registry room."""
    event = {
        'type': kind,
        'conference_name': inert(room.name),
        'conference_uuid': inert(room.uuid),
        'live_seconds': int(now - room.first_seen),
        'members': members,
        'emission': len(room.emitted[kind]),
    }
    if kind == 'overdue':
        event['max_duration'] = limit
    else:
        event['lonely_seconds'] = int(now - room.lonely_since)
        event['lonely_after'] = limit
    return {'vobiz': event}


def member_event(kind: str, fields: dict, room, **details) -> dict:
    """An event about the member whose ``enter`` callback ``fields`` brought into ``room`` (``over_capacity``,
    ``blocked_caller``): that member (``member_id``) is the one the action may remove."""
    return {
        'vobiz': dict(
            type=kind,
            conference_name=inert(room.name),
            conference_uuid=inert(room.uuid),
            member_id=inert(fields.get('ConferenceMemberID')),
            call_uuid=inert(fields.get('CallUUID')),
            **details,
        )
    }


def over_capacity_event(fields: dict, room, members: int, max_members: int) -> dict:
    """An ``over_capacity`` event: the ``enter`` callback ``fields`` took the registry's count of ``room`` to
    ``members``, over ``max_members``."""
    return member_event('over_capacity', fields, room, members=members, max_members=max_members)


def verification_event(outcome, now: float, hung_up_at: str, verify_within: int, max_emissions: int) -> dict:
    """A ``verified`` or ``unverified`` event (``outcome``: a ``verification.Outcome``): the room the action hung up
    (``hung_up_at``, by the audit line's ``run_id``) did or did not send its last member's ``exit`` within
    ``verify_within`` seconds; ``emission``: how many ``unverified`` events this hang-up has had (``final``: the
    last one; the source reports this room no more); ``since_hang_up``: whole seconds from the hang-up to ``now``
    (a room that has run for less was started after it)."""
    return {
        'vobiz': {
            'type': outcome.kind,
            'conference_name': inert(outcome.name),
            'conference_uuid': inert(outcome.uuid),
            'hung_up_at': hung_up_at,
            'since_hang_up': max(0, int(now - outcome.hang_up.time)),
            'run_id': inert(outcome.hang_up.run_id),
            'emission': outcome.emission,
            'final': outcome.final,
            'verify_within': verify_within,
            'max_emissions': max_emissions,
        }
    }
