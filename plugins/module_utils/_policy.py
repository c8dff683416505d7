# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Policies judged on what retrieve (``GET Conference/{name}/``) says: for vobiz_conference ``running_longer_than``,
``members_at_most``, ``conference_uuid``, ``live_at`` and ``caller_matches``; for vobiz_conference_member the
room-size cap ``max_members`` (``Capacity``) or the caller rule ``caller_matches`` (``CallerRule``), one of them
(``member_policy``).

A policy fails safe: a room whose answer cannot be read, or whose run time, member count or member list is missing
or inconsistent, is never acted on.
"""

import datetime
import math
import re
import time

from ansible_collections.vobiz.voice.plugins.module_utils._callers import CallerMatcher, mask, parse_patterns
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    STATE_ABSENT,
    STATE_PRESENT,
    members_inconsistency,
    normalize_conference,
    read_member_count,
    read_number,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name, escape_names
from ansible_collections.vobiz.voice.plugins.module_utils._selection import normalize_name_list

# ASCII digits only: "²" and other Unicode digits are no number of seconds.
_DURATION = re.compile(r'(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?', re.ASCII)

POLICY_OPTIONS = ('running_longer_than', 'members_at_most', 'conference_uuid', 'live_at', 'caller_matches')


def policy_options():
    """The argument spec of ``POLICY_OPTIONS``: ``type='raw'`` for the two ``Policy.from_params`` reads itself
    (Ansible's own int conversion crashes on ``.inf``); ``caller_matches`` of ``elements='raw'``, so that a number
    YAML read as an integer is refused rather than turned into another number's text (``caller_patterns``)."""
    return dict(
        running_longer_than=dict(type='raw'),
        members_at_most=dict(type='raw'),
        conference_uuid=dict(type='str'),
        live_at=dict(type='str'),
        caller_matches=dict(type='list', elements='raw'),
    )


def caller_patterns(values):
    """The normalised patterns of ``caller_matches`` (``_callers.parse_patterns``). Raises ``VobizInputError``."""
    try:
        return parse_patterns(values, 'caller_matches')
    except ValueError as exc:
        raise VobizInputError(str(exc), option='caller_matches') from None


def matching_callers(conference, matcher):
    """``(matched, problem)``: the listed members whose ``from`` matches ``matcher``, as ``{member id: the number
    masked}`` in list order, or ``(None, why)`` when the member list cannot be trusted (``members_inconsistency``)."""
    problem = members_inconsistency(conference)
    if problem is not None:
        return None, problem
    matched = {}
    for member in normalize_conference(conference)['members']:
        number = matcher.number_if_matched(member.get('from'))
        if number is not None:
            matched[member['member_id']] = mask(number)
    return matched, None


def parse_instant(value, option='live_at'):
    """``(POSIX time, text)`` of an ISO 8601 time with a UTC offset (or ``Z``). Raises ``VobizInputError`` naming
    ``option``: without an offset, the instant would depend on where the module runs."""
    text = value.strip() if isinstance(value, str) else ''
    iso = text[:-1] + '+00:00' if text[-1:] in ('Z', 'z') else text
    try:
        parsed = datetime.datetime.fromisoformat(iso)
    except ValueError:
        parsed = None
    if parsed is None or parsed.utcoffset() is None:
        raise VobizInputError(
            '{0} must be an ISO 8601 time with a UTC offset, such as 2026-12-07T11:00:00+01:00 or '
            '2026-12-07T10:00:00Z, got {1!r}'.format(option, value),
            option=option,
        )
    return (parsed - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)).total_seconds(), text


VERDICT_SELECTED = 'selected'
VERDICT_SPARED = 'spared'
VERDICT_ABSENT = 'absent'
VERDICT_UNREADABLE = 'unreadable'
VERDICT_OTHER_INSTANCE = 'other_instance'
VERDICT_NOT_LISTED = 'not_listed'


def _duration_seconds(value):
    """Seconds from an int or a duration text, or None when it is not one (also for infinities and NaN)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) and value.is_integer() else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace(' ', '')
    found = _DURATION.fullmatch(text)
    if not text or not found or not any(found.groups()):
        return read_number(text)
    hours, minutes, secs = (int(part or 0) for part in found.groups())
    return hours * 3600 + minutes * 60 + secs


def parse_duration(value, option='running_longer_than'):
    """Seconds from an int, a string of digits, or ``4h``, ``30m``, ``90s``, ``1h30m``, ``2h5m10s``.

    Raises ``VobizInputError`` naming ``option``.
    """
    seconds = _duration_seconds(value)
    if seconds is None or seconds < 0:
        raise VobizInputError(
            '{0} must be a number of seconds or a duration such as 4h, 30m, 90s or 1h30m'.format(option), option=option
        )
    return seconds


class PolicyOutcome:
    """What a policy made of the candidates: selected names, and the others by reason."""

    def __init__(self):
        self.selected = []
        self.spared = []
        self.absent = []
        self.unreadable = []  # (name, reason)
        self.other_instance = []  # (name, reason)
        self.member_counts = {}

    def warnings(self):
        """Why each candidate that could not be checked, or is another instance, was not selected."""
        other = 'Conference {0!r} is another instance than the one meant ({1}); it was not selected.'
        unreadable = [unreadable_warning(name, reason) for name, reason in self.unreadable]
        return unreadable + [other.format(name, reason) for name, reason in self.other_instance]


class Policy:
    """``running_longer_than`` (seconds), ``members_at_most``, ``conference_uuid`` and ``live_at`` (``(POSIX time,
    text)``: live already at that instant, as a scheduled end needs): a room is selected when it meets every one
    given. ``clock``: the time now, for ``live_at``. ``caller_matches`` (normalised patterns): retrieve lists a member
    whose ``from`` matches one."""

    def __init__(
        self,
        running_longer_than=None,
        members_at_most=None,
        conference_uuid=None,
        live_at=None,
        clock=None,
        caller_matches=None,
    ):
        self.running_longer_than = running_longer_than
        self.members_at_most = members_at_most
        self.conference_uuid = conference_uuid
        self.live_at = live_at
        self.clock = clock or time.time
        self.caller_matches = caller_matches
        self.callers = CallerMatcher(caller_matches) if caller_matches else None

    @classmethod
    def from_params(cls, params):
        """The policy of the module's options, or None when neither is set. Raises ``VobizInputError``."""
        longer = params.get('running_longer_than')
        at_most = params.get('members_at_most')
        uuid = params.get('conference_uuid')
        live_at = params.get('live_at')
        callers = params.get('caller_matches')
        if longer is None and at_most is None and uuid is None and live_at is None and callers is None:
            return None
        if params.get('all'):
            raise VobizInputError(
                'all=true cannot be combined with running_longer_than, members_at_most, conference_uuid, live_at or '
                'caller_matches: '
                'all hangs up every live conference with one call; '
                'leave all out to apply the policy to every live conference',
                option='all',
            )
        names = normalize_name_list(params.get('name'), 'name', escaped=bool(params.get('names_escaped')))
        if uuid is not None and (not uuid or params.get('match') is not None or len(names or ()) != 1):
            raise VobizInputError(
                'conference_uuid must be a non-empty string, with exactly one name (and no match)',
                option='conference_uuid',
            )
        if longer is not None:
            longer = parse_duration(longer)
        if at_most is not None:
            # type='raw': Ansible's own int conversion crashes on .inf; an integer or its plain decimal string only.
            count = read_number(at_most.strip() if isinstance(at_most, str) else at_most)
            if count is None:
                raise VobizInputError(
                    'members_at_most must be an integer >= 0, got {0!r}'.format(at_most), option='members_at_most'
                )
            at_most = count
        return cls(
            longer,
            at_most,
            uuid,
            parse_instant(live_at) if live_at is not None else None,
            caller_matches=caller_patterns(callers) if callers is not None else None,
        )

    def describe(self):
        parts = []
        if self.running_longer_than is not None:
            parts.append('running longer than {0}s'.format(self.running_longer_than))
        if self.members_at_most is not None:
            parts.append('with at most {0} member(s)'.format(self.members_at_most))
        if self.conference_uuid is not None:
            parts.append('of conference_uuid {0}'.format(self.conference_uuid))
        if self.live_at is not None:
            parts.append('live at {0}'.format(self.live_at[1]))
        if self.callers is not None:
            parts.append('with a member calling from a number of caller_matches')
        return ' and '.join(parts)

    def nothing_selected(self, unreadable):
        """The message of a run whose policy selected no conference (``unreadable``: how many could not be checked)."""
        checked = ' ({0} could not be checked)'.format(unreadable) if unreadable else ''
        return 'No conference {0}{1}; nothing to do.'.format(self.describe(), checked)

    def judge(self, retrieved):
        """``(verdict, reason, member_count)`` for one ``Retrieved`` answer.

        A room whose run time or member count cannot be read (``read_number``, ``read_member_count``: a count that
        disagrees with the members listed cannot be read either) is ``unreadable``, never selected.
        """
        if retrieved.state == STATE_ABSENT:
            return VERDICT_ABSENT, None, None
        if retrieved.state != STATE_PRESENT or not isinstance(retrieved.conference, dict):
            return VERDICT_UNREADABLE, retrieved.reason or 'the answer could not be read', None
        conference = retrieved.conference
        count, count_problem = read_member_count(conference)
        verdict, reason = instance_verdict(conference, self.conference_uuid)
        if verdict is not None:
            return verdict, reason, count
        if self.callers is not None:
            matched, problem = matching_callers(conference, self.callers)
            if problem is not None:
                return VERDICT_UNREADABLE, problem, count
            if not matched:
                return VERDICT_SPARED, None, count
        if self.running_longer_than is not None:
            run_time = read_number(conference.get('conference_run_time'))
            if run_time is None:
                return (
                    VERDICT_UNREADABLE,
                    'no readable conference_run_time ({0!r})'.format(conference.get('conference_run_time')),
                    count,
                )
            if run_time <= self.running_longer_than:
                return VERDICT_SPARED, None, count
        if self.members_at_most is not None:
            if count is None:
                return VERDICT_UNREADABLE, count_problem, None
            if count > self.members_at_most:
                return VERDICT_SPARED, None, count
        if self.live_at is not None:
            return self.judge_live_at(conference, count)
        return VERDICT_SELECTED, None, count

    def judge_live_at(self, conference, count):
        """``live_at``: selected when the room was live at that instant, that is when its run time (whole seconds) is
        more than the seconds since it. A room started after it is a new meeting, spared; an instant still to come
        spares every room (none can have been live at it yet)."""
        run_time = read_number(conference.get('conference_run_time'))
        if run_time is None:
            reason = 'no readable conference_run_time ({0!r})'.format(conference.get('conference_run_time'))
            return VERDICT_UNREADABLE, reason, count
        since = self.clock() - self.live_at[0]
        return (VERDICT_SELECTED if since >= 0 and run_time > since else VERDICT_SPARED), None, count

    def apply(self, answers):
        """Judge a list of ``Retrieved`` answers; ``None`` entries (items a stopped batch never ran) are left out."""
        outcome = PolicyOutcome()
        for retrieved in answers:
            if retrieved is None:
                continue
            verdict, reason, count = self.judge(retrieved)
            if verdict == VERDICT_SELECTED:
                outcome.selected.append(retrieved.name)
                outcome.member_counts[retrieved.name] = count
            elif verdict == VERDICT_SPARED:
                outcome.spared.append(retrieved.name)
            elif verdict == VERDICT_ABSENT:
                outcome.absent.append(retrieved.name)
            elif verdict == VERDICT_OTHER_INSTANCE:
                outcome.other_instance.append((retrieved.name, reason))
            else:
                outcome.unreadable.append((retrieved.name, reason))
        return outcome


def instance_verdict(conference, conference_uuid):
    """``(None, None)`` when a retrieved conference may be the instance ``conference_uuid`` (or none is meant), else
    ``(VERDICT_UNREADABLE or VERDICT_OTHER_INSTANCE, reason)``.

    Vobiz does not document a UUID in the retrieve answer; where one comes, it must be the instance meant.
    """
    reported = conference.get('conference_uuid')
    if conference_uuid is None or reported is None:
        return None, None
    if not isinstance(reported, str) or not reported:
        return VERDICT_UNREADABLE, 'no readable conference_uuid ({0!r})'.format(reported)
    if reported != conference_uuid:
        return VERDICT_OTHER_INSTANCE, 'retrieve reports conference_uuid {0!r}, not {1!r}'.format(
            reported, conference_uuid
        )
    return None, None


class CapacityVerdict:
    """What a room-size cap made of one room: ``verdict`` (``VERDICT_*``), ``reason`` (why nobody is removed, or
    ``None``), ``member_count`` (as retrieve reported it, when readable) and ``members`` (the member ids to remove)."""

    def __init__(self, verdict, reason=None, member_count=None, members=()):
        self.verdict, self.reason, self.member_count, self.members = verdict, reason, member_count, list(members)

    def warning(self, name):
        return 'Nobody was removed from conference {0!r}: {1}.'.format(name, self.reason)

    def acts(self):
        """Whether the action goes on: members selected, or the room gone (the action then reports it absent)."""
        return self.verdict in (VERDICT_SELECTED, VERDICT_ABSENT)

    def members_for(self, asked):
        """The member ids the action goes on with: the selected, else those ``asked`` (a gone room: each absent)."""
        return self.members if self.verdict == VERDICT_SELECTED else asked

    def warnings(self, name):
        """What a module warns: nothing when it acts or the cap itself spares the room, else why nobody is removed."""
        return [] if self.acts() or self.verdict == VERDICT_SPARED else [self.warning(name)]

    def as_result(self, max_members):
        return dict(
            verdict=self.verdict,
            reason=self.reason,
            member_count=self.member_count,
            max_members=max_members,
            members=escape_names(self.members),  # as the module's other name lists: no line break of any kind
        )


class Capacity:
    """The room-size cap of vobiz_conference_member (``max_members``, and ``conference_uuid``): which members may be
    removed, judged on retrieve alone. A callback only hints that a room is over its cap; this decides.

    With member ids (the member an ``over_capacity`` event named), each must be listed and the room must keep at
    least ``max_members`` members without them; with ``all``, the newest members (the smallest ``join_time``) beyond
    ``max_members``. Nobody is removed from a room that cannot be read, whose count disagrees with its list, whose
    members' join times cannot be read or tie at the cap's edge, or that is another instance than ``conference_uuid``.
    """

    def __init__(self, max_members, conference_uuid=None):
        self.max_members = max_members
        self.conference_uuid = conference_uuid

    @classmethod
    def from_params(cls, params, removing):
        """The cap of the module's options, or None without ``max_members``. Raises ``VobizInputError``."""
        cap, uuid = params.get('max_members'), params.get('conference_uuid')
        if cap is None:
            if uuid is not None:
                raise VobizInputError('conference_uuid needs max_members or caller_matches', option='conference_uuid')
            return None
        if cap < 1:  # 0 would select every member: where 0 means "no cap" (the rulebook, playbooks), omit the option
            raise VobizInputError('max_members must be an integer >= 1, got {0!r}'.format(cap), option='max_members')
        if not removing:
            raise VobizInputError('max_members needs state=kicked or state=absent', option='max_members')
        if uuid is not None and not uuid:
            raise VobizInputError('conference_uuid must be a non-empty string', option='conference_uuid')
        return cls(cap, uuid)

    def result(self, verdict):
        """What the module returns of ``verdict``: ``capacity``."""
        return dict(capacity=verdict.as_result(self.max_members))

    def judge(self, retrieved, ids):
        """The ``CapacityVerdict`` of one ``Retrieved`` answer for ``ids`` (a list of member ids, or ``'all'``)."""
        conference, refusal = trusted_members_room(retrieved, self.conference_uuid, CapacityVerdict)
        if refusal is not None:
            return refusal
        members = normalize_conference(conference)['members']  # member ids as strings, as member_plan reads them
        count = len(members)
        if count <= self.max_members:
            within = '{0} member(s), not more than max_members {1}'.format(count, self.max_members)
            return CapacityVerdict(VERDICT_SPARED, within, count)
        if ids == 'all':
            newest, problem = newest_members(members, count - self.max_members)
            if problem is not None:
                return CapacityVerdict(VERDICT_UNREADABLE, problem, count)
            return CapacityVerdict(VERDICT_SELECTED, None, count, newest)
        listed = set(member['member_id'] for member in members)
        missing = [member_id for member_id in ids if member_id not in listed]
        if missing:
            return CapacityVerdict(
                VERDICT_NOT_LISTED, 'member(s) {0} not listed'.format(', '.join(escape_names(missing))), count
            )
        if count - len(ids) < self.max_members:
            below = 'removing {0} of {1} member(s) would leave fewer than max_members {2}'
            return CapacityVerdict(VERDICT_SPARED, below.format(len(ids), count, self.max_members), count)
        return CapacityVerdict(VERDICT_SELECTED, None, count, ids)


def trusted_members_room(retrieved, conference_uuid, verdict_class):
    """``(conference, None)`` when ``retrieved`` is a live room that may be the instance ``conference_uuid`` and whose
    member list can be trusted (``members_inconsistency``); else ``(None, verdict_class(verdict, reason))``: absent,
    unreadable or another instance, nobody to act on."""
    if retrieved.state == STATE_ABSENT:
        return None, verdict_class(VERDICT_ABSENT, 'the conference is gone')
    if retrieved.state != STATE_PRESENT or not isinstance(retrieved.conference, dict):
        return None, verdict_class(VERDICT_UNREADABLE, retrieved.reason or 'the answer could not be read')
    verdict, reason = instance_verdict(retrieved.conference, conference_uuid)
    problem = members_inconsistency(retrieved.conference)
    if verdict is None and problem is not None:
        verdict, reason = VERDICT_UNREADABLE, problem
    return (retrieved.conference, None) if verdict is None else (None, verdict_class(verdict, reason))


def newest_members(members, how_many):
    """``(member ids, None)``: the ``how_many`` members who joined last (the smallest ``join_time``, seconds since
    joining), newest first; or ``(None, why)`` when a join time cannot be read or two members joined in the same
    second across the cut (which of them is newer is unknown)."""
    times = [(read_number(member.get('join_time')), member['member_id']) for member in members]
    unreadable = [member_id for join_time, member_id in times if join_time is None]
    if unreadable:
        return None, 'no readable join_time for member(s) {0}'.format(', '.join(escape_names(unreadable)))
    times.sort(key=lambda item: item[0])
    if how_many < len(times) and times[how_many - 1][0] == times[how_many][0]:
        tied = [member_id for join_time, member_id in times if join_time == times[how_many][0]]
        return None, 'members {0} joined in the same second at the edge of the cap'.format(
            ', '.join(escape_names(tied))
        )
    return [member_id for dummy, member_id in times[:how_many]], None


def unreadable_warning(name, reason):
    return (
        'Conference {0!r} could not be checked against the policy ({1}); '
        'it was not selected: a policy never ends a room it could not read.'.format(name, reason)
    )


class CallerVerdict(CapacityVerdict):
    """What the caller rule made of one room, as ``CapacityVerdict``; ``callers``: the listed members whose ``from``
    matched, ``{member id: the number masked except its last four digits}``."""

    def __init__(self, verdict, reason=None, member_count=None, members=(), callers=None):
        super().__init__(verdict, reason, member_count, members)
        self.callers = callers or {}

    def warning(self, name):
        return 'No member of conference {0!r} was acted on: {1}.'.format(name, self.reason)

    def as_result(self, dummy=None):
        result = super().as_result(None)
        del result['max_members']
        result['callers'] = [dict(member_id=escape_name(key), caller=value) for key, value in self.callers.items()]
        return result


class CallerRule:
    """The caller rule of vobiz_conference_member (``caller_matches``, and ``conference_uuid``): act only on the listed
    members whose ``from``, as retrieve reports it, matches (``_callers``: E.164 form, globs). A callback's ``From``
    only hints that a blocked caller entered; this decides.

    With member ids, each must be listed, and only those whose ``from`` matches are acted on; with ``all``, every
    listed member whose ``from`` matches. Nobody is acted on in a room that cannot be read, whose count disagrees with
    its list, or that is another instance than ``conference_uuid``. Results show numbers masked (``_callers.mask``).
    """

    def __init__(self, patterns, conference_uuid=None):
        self.matcher = CallerMatcher(patterns)
        self.conference_uuid = conference_uuid

    @classmethod
    def from_params(cls, params):
        """The rule of the module's options, or None without ``caller_matches``. Raises ``VobizInputError``."""
        callers, uuid = params.get('caller_matches'), params.get('conference_uuid')
        if callers is None:
            return None
        if params.get('max_members') is not None:
            raise VobizInputError(
                'caller_matches cannot be combined with max_members: run one task per rule', option='caller_matches'
            )
        if uuid is not None and not uuid:
            raise VobizInputError('conference_uuid must be a non-empty string', option='conference_uuid')
        return cls(caller_patterns(callers), uuid)

    def result(self, verdict):
        """What the module returns of ``verdict``: ``callers``."""
        return dict(callers=verdict.as_result())

    def judge(self, retrieved, ids):
        """The ``CallerVerdict`` of one ``Retrieved`` answer for ``ids`` (a list of member ids, or ``'all'``)."""
        conference, refusal = trusted_members_room(retrieved, self.conference_uuid, CallerVerdict)
        if refusal is not None:
            return refusal
        matched = matching_callers(conference, self.matcher)[0]
        listed = [member['member_id'] for member in normalize_conference(conference)['members']]
        missing = [] if ids == 'all' else [member_id for member_id in ids if member_id not in listed]
        if missing:
            not_listed = 'member(s) {0} not listed'.format(', '.join(escape_names(missing)))
            return CallerVerdict(VERDICT_NOT_LISTED, not_listed, len(listed))
        chosen = [member_id for member_id in (listed if ids == 'all' else ids) if member_id in matched]
        if not chosen:
            nobody = 'no member given calls from a number of caller_matches'
            return CallerVerdict(VERDICT_SPARED, nobody, len(listed))
        callers = dict((member_id, matched[member_id]) for member_id in chosen)
        return CallerVerdict(VERDICT_SELECTED, None, len(listed), chosen, callers)


def member_policy_options():
    """The argument spec of vobiz_conference_member's policies: ``max_members``, ``conference_uuid`` and
    ``caller_matches`` (``elements='raw'``: see ``policy_options``)."""
    return dict(
        max_members=dict(type='int'), conference_uuid=dict(type='str'), caller_matches=dict(type='list', elements='raw')
    )


def member_policy(params, removing):
    """The policy of vobiz_conference_member's options: a ``CallerRule`` (``caller_matches``), a ``Capacity``
    (``max_members``) or None. Raises ``VobizInputError``."""
    rule = CallerRule.from_params(params)
    return rule if rule is not None else Capacity.from_params(params, removing)
