# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Reading the API's answers: the one classification of every answer, and the result objects modules get.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

``classify_answer`` is the single reading of an HTTP answer (success, Vobiz's own 404, a 404 from
outside the API, error). ``ApiResponse`` is one answer after retries; ``Outcome``, ``Retrieved`` and
``MemberActionResult`` are what the client's operations return; ``normalize_conference`` turns a
retrieved conference object into what the modules return.
"""

import json
import re
from collections import namedtuple

#: HTTP answers that mean "done" for an action.
SUCCESS_STATUSES = frozenset((200, 202, 204))
#: A gateway's answers that may come after it passed the request on: the API may have carried it out. Such an answer
#: makes the request ambiguous, like a lost reply (a later 404 to a DELETE is then this run's doing), and is not
#: retried when a repeat must not happen (``retry_ambiguous=False``).
MAYBE_DONE_STATUSES = frozenset((502, 504))

OUTCOME_HUNG_UP = 'hung_up'
OUTCOME_ALREADY_ABSENT = 'already_absent'
OUTCOME_FAILED = 'failed'
#: The answer cannot tell whether it was done: a 2xx that cannot be read as a success, or an error (or no answer)
#: after a request that may have reached the server. Also a failure: never reported as done or as not done.
OUTCOME_UNCERTAIN = 'uncertain'
#: The request was in flight when the run was interrupted and no answer came: it may or may not have been done.
OUTCOME_UNKNOWN = 'unknown'
#: A hang-up that may have been carried out unheard (a lost reply, a gateway's 502/504) and whose retry found the room
#: gone, for a room this run had not seen live before sending: the room is gone, whether this run ended it is unknown.
#: Neither a change nor a failure.
OUTCOME_GONE_UNCONFIRMED = 'gone_unconfirmed'
#: An item a stopped batch (a fatal answer, an interrupt) never sent.
OUTCOME_NOT_STARTED = 'not_started'
#: Outcomes of member actions: done, nothing to do (already so), or the conference is not live.
OUTCOME_ACTED = 'acted'
OUTCOME_ALREADY = 'already'
OUTCOME_CONFERENCE_ABSENT = 'conference_absent'
#: Outcomes of announcements: made, or the conference is not live.
OUTCOME_ANNOUNCED = 'announced'
OUTCOME_ABSENT = 'absent'

STATE_PRESENT = 'present'
STATE_ABSENT = 'absent'
STATE_UNREADABLE = 'unreadable'

#: How an answer reads (``classify_answer``).
ANSWER_SUCCESS = 'success'
ANSWER_NOT_FOUND = 'not_found'
ANSWER_UNKNOWN_ROUTE = 'unknown_route'
ANSWER_ERROR = 'error'

#: The messages of the API's own 404s (compared by ``not_found_message``): a conference that is not live, and (member
#: routes only) a member id that is not in the live conference. Any other 404 cannot be told from the answer to a
#: path the API does not know (a wrong ``api_url``): the gateway's ``{"message": "Not Found"}``, ``{"error": "not
#: found"}``, an empty body, HTML.
CONFERENCE_NOT_FOUND = 'conference not found'
MEMBER_NOT_FOUND = 'member not found'
CONFERENCE_404 = (CONFERENCE_NOT_FOUND,)
MEMBER_ROUTE_404 = (CONFERENCE_NOT_FOUND, MEMBER_NOT_FOUND)

#: A count or a number of seconds as the API may send it: a non-negative integer, or its plain decimal string.
_PLAIN_NUMBER = re.compile(r'[0-9]+', re.ASCII)


def parse_json_body(content):
    """Parse a response body; ``None`` for an empty body, ``ValueError`` if it isn't JSON."""
    if not content:
        return None
    if isinstance(content, bytes):
        content = content.decode('utf-8')
    return json.loads(content)


def extract_error_message(body, text=None):
    """Read an error message from either error shape; never raises.

    * flat: ``{"error": "..."}`` (also ``{"message": "..."}``, the gateway's shape);
    * envelope: ``{"status": "error", "error": {"code", "message", "details"}, ...}``.

    A body that isn't JSON yields its first 200 characters.
    """
    if isinstance(body, dict):
        error = body.get('error')
        if isinstance(error, dict):
            message = error.get('message')
            code = error.get('code')
            details = error.get('details')
            parts = []
            if message not in (None, ''):
                parts.append(str(message))
            if code not in (None, ''):
                parts.append('(code {0})'.format(code))
            if details not in (None, '', [], {}):
                if not isinstance(details, str):
                    try:
                        details = json.dumps(details, sort_keys=True)
                    except (TypeError, ValueError):
                        details = str(details)
                parts.append('- {0}'.format(details[:300]))
            if parts:
                return ' '.join(parts)
        elif isinstance(error, str) and error:
            return error
        for key in ('message', 'detail', 'error_message'):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
        return None
    if isinstance(body, str) and body:
        return body[:200]
    if text:
        text = ' '.join(text.split())
        return text[:200] or None
    return None


def not_found_message(body, json_ok=True):
    """The message of an error body in one of the API's documented shapes, normalised for comparison; else ``None``.

    The flat ``{"error": "..."}`` (with at most an ``api_id`` besides) and the envelope
    ``{"status": "error", "error": {"message": ...}, ...}``; case, surrounding blanks and a final full stop do not count.
    """
    if not json_ok or not isinstance(body, dict):
        return None
    error = body.get('error')
    if isinstance(error, str) and set(body) <= {'error', 'api_id'}:
        message = error
    elif isinstance(error, dict) and body.get('status') == 'error' and isinstance(error.get('message'), str):
        message = error['message']
    else:
        return None
    return ' '.join(message.split()).rstrip('.').lower() or None


def is_conference_gone(status, body):
    """Did a member action fail because the conference does not exist (any more)?

    Called for answers that passed ``classify_answer``: a 404 there is the API's own.
    """
    if status == 404:
        return not is_member_not_found(status, body)
    return not_found_message(body) == CONFERENCE_NOT_FOUND


def is_member_not_found(status, body):
    """Did a member action fail because a member id is not in a live conference (HTTP 404 ``member not found``)?"""
    return status == 404 and not_found_message(body) == MEMBER_NOT_FOUND


def is_error_body(body, json_ok=True):
    """Does a parsed answer body say "error"? (``{"error": <non-empty>}`` or ``{"status": "error"}``, or not JSON)."""
    if not json_ok:
        return True
    if not isinstance(body, dict):
        return body is not None
    error = body.get('error')
    return error not in (None, '', {}, []) or str(body.get('status', '')).lower() == 'error'


def is_vobiz_not_found(body, json_ok=True, own=CONFERENCE_404):
    """Is a 404 body recognisably the conference API's own (one of ``own``, see ``CONFERENCE_NOT_FOUND``)?"""
    return not_found_message(body, json_ok) in own


def classify_answer(status, body, json_ok=True, problem=None, own_404=CONFERENCE_404):
    """The one reading of an HTTP answer that every operation uses.

    * ``success``: 200, 202 or 204 with an empty body, ``{}`` or a JSON object without an error;
    * ``not_found``: a 404 that is recognisably the API's own for this route (``own_404``, see ``is_vobiz_not_found``);
    * ``unknown_route``: any other 404 (the gateway's, ``{"error": "not found"}``, an empty body, HTML, ...): it cannot
      be told from the answer to a wrong path, so nothing may be concluded from it;
    * ``error``: everything else, including a 2xx with an error body or a body that is not JSON,
      and an answer that could not be read at all (``problem``, e.g. too large).
    """
    if problem is not None:
        return ANSWER_ERROR
    if status == 404:
        return ANSWER_NOT_FOUND if is_vobiz_not_found(body, json_ok, own_404) else ANSWER_UNKNOWN_ROUTE
    if status in SUCCESS_STATUSES and not is_error_body(body, json_ok):
        return ANSWER_SUCCESS
    return ANSWER_ERROR


class ApiResponse(namedtuple('ApiResponse', 'status body text json_ok attempts ambiguous error_message problem own_404', defaults=(None, CONFERENCE_404))):
    """One HTTP answer after retries.

    ``body``: the parsed JSON (``None`` for an empty or non-JSON body; see ``json_ok``); ``text``: the body as
    text (lossy decode), for messages only; ``attempts``: how many requests were sent for this call (1 = no
    retry); ``ambiguous``: an attempt may have been carried out unheard (its reply was lost, or a gateway
    answered 502/504: ``MAYBE_DONE_STATUSES``);
    ``error_message``: the server's error message, when it gave one; ``problem``: why the body could not be
    read at all (e.g. too large), else ``None``; ``own_404``: the messages of the route's own 404s (``classify_answer``).
    """

    __slots__ = ()

    @property
    def kind(self):
        """``success``, ``not_found``, ``unknown_route`` or ``error`` (see ``classify_answer``)."""
        return classify_answer(self.status, self.body, self.json_ok, self.problem, self.own_404)

    @property
    def ok(self):
        """A success: 2xx whose body does not say error (see ``classify_answer``)."""
        return self.kind == ANSWER_SUCCESS

    @property
    def unreadable_success(self):
        """A 2xx that cannot be read as a success (error body, not JSON, too large)."""
        return self.status in SUCCESS_STATUSES and not self.ok

    def describe(self):
        """``'HTTP 503: Service Unavailable'``."""
        if self.problem:
            return 'HTTP {0}: {1}'.format(self.status, self.problem)
        if self.status in SUCCESS_STATUSES and not self.json_ok:
            return 'HTTP {0} with a body that is not JSON{1}'.format(self.status, ': ' + self.error_message if self.error_message else '')
        if self.error_message:
            return 'HTTP {0}: {1}'.format(self.status, self.error_message)
        return 'HTTP {0}'.format(self.status)

    @property
    def outcome_unknown(self):
        """Whether the request was carried out cannot be told from this answer.

        A 2xx that cannot be read as a success (``unreadable_success``), and any other answer that is not a
        success after an attempt that may have been carried out unheard (a lost reply, or a gateway's 502/504). An
        error status (4xx, 5xx) otherwise says it was not done, even when its body could not be read.
        """
        return self.unreadable_success or (self.ambiguous and not self.ok)

    def failure_text(self, unknown):
        """Why this answer is not a success; ``unknown`` says what is then not known (e.g. whether the room was hung up).

        When the answer leaves the outcome unknown (``outcome_unknown``), say so and why, rather than guess.
        """
        if self.unreadable_success:
            return '{0}: the answer could not be read as a success, so {1}'.format(self.describe(), unknown)
        if self.ambiguous and not self.ok and self.status in MAYBE_DONE_STATUSES:
            return "{0} (a gateway's answer: the API may have carried the request out), so {1}".format(self.describe(), unknown)
        if self.ambiguous and not self.ok:
            return '{0} after an earlier attempt that may have been carried out unheard (its reply was lost, or a gateway answered 502/504), so {1}'.format(
                self.describe(), unknown
            )
        return self.describe()

    def __repr__(self):
        return 'ApiResponse(status={0!r}, attempts={1!r}, ambiguous={2!r})'.format(self.status, self.attempts, self.ambiguous)


class Outcome(namedtuple('Outcome', 'name outcome status message attempts ambiguous', defaults=(None, None, 0, False))):
    """What happened to one conference (or what check mode predicts): ``outcome`` is ``hung_up``, ``already_absent``,
    ``failed``, ``uncertain`` (the answer cannot tell whether it was done; a failure too), ``unknown`` (interrupted
    in flight), or a module's own (``announced``...)."""

    __slots__ = ()

    @classmethod
    def after_error(cls, name, error):
        """The outcome of a conference the worker could not handle (``VobizItemError``).

        ``unknown`` for a request in flight at an interrupt; ``uncertain`` for a request refused by a fatal answer
        (401/403, a 404 from outside the API) after an earlier attempt that may have been carried out unheard; else
        ``failed`` (a name that cannot be sent, a refused request).
        """
        if error.interrupted:
            outcome = OUTCOME_UNKNOWN
        elif error.ambiguous:
            outcome = OUTCOME_UNCERTAIN
        else:
            outcome = OUTCOME_FAILED
        return cls(name, outcome, error.status, message=error.message, ambiguous=error.ambiguous)

    def failure(self):
        """The entry for a module's ``failures`` list: ``{name, status, message}``."""
        return dict(name=self.name, status=self.status, message=self.message)

    def __repr__(self):
        return 'Outcome({0!r}, {1!r}, status={2!r})'.format(self.name, self.outcome, self.status)


class Retrieved(namedtuple('Retrieved', 'name state status conference reason', defaults=(None, None, None))):
    """The answer to ``GET Conference/{name}/``: ``state`` is ``present`` (with the ``conference`` object), ``absent``
    or ``unreadable`` (and ``reason`` says why)."""

    __slots__ = ()

    @classmethod
    def unreadable_after(cls, name, error):
        """A conference the worker could not read (``VobizItemError``: a name that cannot be sent, an interrupt)."""
        return cls(name, STATE_UNREADABLE, reason=error.message)

    @property
    def member_count(self):
        """The member count as an int, or ``None`` when it cannot be read (see ``read_member_count``)."""
        if not isinstance(self.conference, dict):
            return None
        return read_member_count(self.conference)[0]

    @property
    def run_time(self):
        """``conference_run_time`` in seconds, or ``None`` when it cannot be read (see ``read_number``)."""
        if not isinstance(self.conference, dict):
            return None
        return read_number(self.conference.get('conference_run_time'))

    def __repr__(self):
        return 'Retrieved({0!r}, {1!r}, status={2!r})'.format(self.name, self.state, self.status)


class MemberActionResult(
    namedtuple(
        'MemberActionResult',
        'conference member action method ok status body conference_gone message attempts ambiguous outcome_unknown',
        defaults=(False, False),
    )
):
    """The answer to a member action (hang up, kick, mute, deaf, play, speak).

    ``ok``: a success (200, 202 or 204 that reads as one); ``conference_gone``: the API's own ``conference not
    found``; ``ambiguous``: an attempt may have been carried out unheard (its reply was lost, or a gateway answered
    502/504), so a 404 may be this run's own doing; ``outcome_unknown``: the answer cannot tell whether the action was
    carried out (``ApiResponse.outcome_unknown``).
    """

    __slots__ = ()

    def __repr__(self):
        return 'MemberActionResult({0!r}, {1!r}, {2!r}, status={3!r})'.format(self.conference, self.member, self.action, self.status)


def member_outcome(answer, removing=False, room_wide=False):
    """How one member action went: ``(outcome, status, message)``, read as ``VobizClient.hangup`` reads a hang-up.

    ``answer``: a ``MemberActionResult``, or the error that came instead (``VobizRequestError``: no answer;
    ``VobizItemError``: an interrupt, the fatal answer that stopped the run, or an unexpected error). A member id not
    in the live room (HTTP 404 ``member not found``) is already done for the room-wide ``all`` (nobody to act on) and
    for a removal (``removing``), a failure otherwise. A removal that may have been carried out unheard
    (``ambiguous``) and then finds the member, or the whole conference, gone most likely did it itself (the last
    member's removal ends the room): acted. An answer (or no answer) that cannot tell whether the action was carried
    out is ``uncertain``.
    """
    if not isinstance(answer, MemberActionResult):
        if getattr(answer, 'interrupted', False):
            return OUTCOME_UNKNOWN, None, answer.message
        if getattr(answer, 'ambiguous', False):
            return OUTCOME_UNCERTAIN, getattr(answer, 'status', None), answer.message + ', so whether the action was carried out is unknown'
        return OUTCOME_FAILED, getattr(answer, 'status', None), answer.message
    if answer.ok:
        return OUTCOME_ACTED, answer.status, None
    gone = answer.conference_gone or is_member_not_found(answer.status, answer.body)
    if removing and answer.ambiguous and gone:
        return OUTCOME_ACTED, answer.status, None
    if is_member_not_found(answer.status, answer.body):
        if room_wide or removing:
            return OUTCOME_ALREADY, answer.status, None
        return OUTCOME_FAILED, 404, answer.message
    if answer.conference_gone:
        return OUTCOME_CONFERENCE_ABSENT, answer.status, None
    return OUTCOME_UNCERTAIN if answer.outcome_unknown else OUTCOME_FAILED, answer.status, answer.message


def read_number(value):
    """A count or a number of seconds as the API sends it -> ``int``; ``None`` when it cannot be read.

    Only a non-negative integer or its plain decimal string (ASCII digits alone: not ``"2.0"``, ``" 2"``, ``"²"``,
    ``2.5``, ``true``, infinities or NaN) is a number.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and _PLAIN_NUMBER.fullmatch(value):
        return int(value)
    return None


def read_member_count(conference):
    """``(count, None)``, or ``(None, why)`` when a retrieved conference's member count cannot be read.

    The count is ``conference_member_count`` (``read_number``); a missing or unreadable count is not replaced by the
    length of ``members`` (Vobiz has answered ``"2"`` with ``"members": []`` for a live room), and a count that
    disagrees with the members listed cannot be read either.
    """
    raw = conference.get('conference_member_count')
    count = read_number(raw)
    if count is None:
        return None, 'no readable conference_member_count ({0!r})'.format(raw) if raw is not None else 'no conference_member_count'
    members = conference.get('members')
    if members is not None and not isinstance(members, list):
        return None, 'its member list is not a list'
    if isinstance(members, list) and len(members) != count:
        return None, 'conference_member_count {0!r} does not agree with the {1} member(s) listed'.format(raw, len(members))
    return count, None


def _as_flag(value):
    """``True``/``'true'``/``1`` -> ``True`` (and the false ones); ``None`` when it is not a clear flag."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ('true', 'false'):
        return value.strip().lower() == 'true'
    return None


def normalize_conference(conference):
    """A retrieved conference object as modules return it.

    ``conference_run_time`` and ``conference_member_count`` become integers (``None`` when they cannot be read:
    ``read_number``, ``read_member_count``), ``members`` is always a list of dicts with ``member_id`` as a string,
    ``muted``/``deaf`` as booleans and ``join_time`` as an integer (``None`` where the answer could
    not be read). ``api_id`` is dropped; other keys are kept as they came.
    """
    result = dict((k, v) for k, v in conference.items() if k != 'api_id')
    members = []
    for member in conference.get('members') or ():
        if not isinstance(member, dict):
            continue
        member = dict(member)
        if member.get('member_id') is not None:
            member['member_id'] = str(member['member_id'])
        for key in ('muted', 'deaf'):
            member[key] = _as_flag(member.get(key))
        member['join_time'] = read_number(member.get('join_time'))
        members.append(member)
    result['members'] = members
    result['conference_run_time'] = read_number(conference.get('conference_run_time'))
    result['conference_member_count'] = read_member_count(conference)[0]
    return result


def members_inconsistency(conference):
    """Why a retrieved conference's member list cannot be trusted to act (or not act) on, or ``None``.

    The list must be a list of members with ids, and ``conference_member_count`` must be readable and agree with it
    (``read_member_count``): Vobiz has answered ``"conference_member_count": "2"`` with ``"members": []`` for a live
    room, and a list without a count proves nothing.
    """
    members = conference.get('members')
    if not isinstance(members, list):
        return 'its member list is missing or not a list'
    if not all(isinstance(member, dict) and member.get('member_id') not in (None, '') for member in members):
        return 'a member in its list has no member_id'
    return read_member_count(conference)[1]
