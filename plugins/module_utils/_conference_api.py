# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""What each Vobiz conference call means: its answer turned into an outcome, in one place.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

``ConferenceApi`` adds the conference calls to ``ApiClient`` (``_api_client.py``: HTTP, retries, pacing, the reading
of an HTTP answer): the hang-up of one room (an ``Outcome``) and of all rooms (``hangup_all_outcomes``: what it means
for each listed room), retrieve (``Retrieved``), the live list, member actions (``MemberActionResult``, read by
``member_outcome``; the room-wide one by ``room_wide_outcome``) and announcements (an ``Outcome``). Check mode reads
instead of acting: ``predicted_outcome`` (from a retrieve) and ``member_plan`` (which members need an action). What a
retrieve after a hang-up says about the room's end is ``ended_verdict``. The outcome constants, the records the
modules get, and the reading of a retrieved conference object live here too.
"""

import re
from collections import namedtuple
from urllib.parse import urlsplit

from ansible_collections.vobiz.voice.plugins.module_utils._api_client import (
    ANSWER_NOT_FOUND,
    ANSWER_SUCCESS,
    CONFERENCE_NOT_FOUND,
    MEMBER_NOT_FOUND,
    MEMBER_ROUTE_404,
    UNHEARD,
    ApiClient,
    not_found_message,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError, VobizRequestError
from ansible_collections.vobiz.voice.plugins.module_utils._urls import encode_member_spec, encode_segment

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

#: Check-mode audit outcomes: what a real run would do, never what was done.
CHECK_MODE_OUTCOMES = {
    OUTCOME_HUNG_UP: 'would_hang_up',
    OUTCOME_ALREADY_ABSENT: 'would_be_absent',
    OUTCOME_ANNOUNCED: 'would_announce',
    OUTCOME_ABSENT: 'would_be_absent',
    OUTCOME_ACTED: 'would_act',
    OUTCOME_ALREADY: 'would_be_already',
    OUTCOME_CONFERENCE_ABSENT: 'would_be_absent',
}

#: What an uncertain outcome of each call is, as summaries and messages count it (a failure too).
UNCERTAIN_HUNG_UP = 'uncertain: may or may not have been hung up'
UNCERTAIN_ANNOUNCED = 'uncertain: may or may not have started'
UNCERTAIN_ACTED = 'uncertain: may or may not have been carried out'

STATE_PRESENT = 'present'
STATE_ABSENT = 'absent'
STATE_UNREADABLE = 'unreadable'

#: Each state of a member module as a member call: (HTTP method, member route action, (member flag, wanted value), or
#: ``None`` for a removal).
MEMBER_ACTIONS = dict(
    absent=('DELETE', None, None),
    kicked=('POST', 'Kick', None),
    muted=('POST', 'Mute', ('muted', True)),
    unmuted=('DELETE', 'Mute', ('muted', False)),
    deaf=('POST', 'Deaf', ('deaf', True)),
    undeaf=('DELETE', 'Deaf', ('deaf', False)),
)
#: The most characters Vobiz speaks in one announcement.
MAX_TEXT = 1000
#: A count or a number of seconds as the API may send it: a non-negative integer, or its plain decimal string.
_PLAIN_NUMBER = re.compile(r'[0-9]+', re.ASCII)


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
        return f'MemberActionResult({self.conference!r}, {self.member!r}, {self.action!r}, status={self.status!r})'


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


def _outcome_without_answer(name, exc, unknown):
    """The ``Outcome`` of a hang-up that got no usable answer (``VobizRequestError``).

    ``uncertain`` when the request may have reached the server (``exc.ambiguous``: ``unknown`` says what is then
    not known), else ``failed``: it surely was not sent.
    """
    if exc.ambiguous:
        message = '{0} (it may have reached the server), so {1}'.format(exc.message, unknown)
        return Outcome(name, OUTCOME_UNCERTAIN, message=message, attempts=exc.attempts, ambiguous=True)
    return Outcome(name, OUTCOME_FAILED, message=exc.message, attempts=exc.attempts)


def _outcome_of_error_answer(name, response, unknown):
    """The ``Outcome`` of a hang-up answered with anything but a success or the API's own 404.

    ``uncertain`` when the answer cannot tell whether it was done (``ApiResponse.outcome_unknown``), else ``failed``.
    """
    outcome = OUTCOME_UNCERTAIN if response.outcome_unknown else OUTCOME_FAILED
    message = response.failure_text(unknown)
    return Outcome(name, outcome, response.status, message, response.attempts, response.ambiguous)


#: Why a 404 after a hang-up that may have been carried out unheard does not tell who ended the room.
_UNHEARD = f'an earlier attempt {UNHEARD} and the retry found the room gone'


class ConferenceApi(ApiClient):
    """The Vobiz conference calls, each answer read into what the modules report."""

    def hangup(self, name, seen_live=False):
        """Hang up one conference: exactly one ``DELETE Conference/{name}/`` when nothing fails.

        Returns an ``Outcome``: a success (``classify_answer``) -> ``hung_up``; the API's own 404 ->
        ``already_absent``, unless an earlier attempt may have been carried out unheard (its reply was lost, or a
        gateway answered 502/504): the room is then gone, but a 404 does not tell who ended it, so it is ``hung_up``
        only when this run saw the room live before sending (``seen_live``: listed or retrieved as live), else
        ``gone_unconfirmed``; an answer that cannot tell whether the room was hung up -> ``uncertain`` (a 2xx with an
        error body, a body that is not JSON or an answer too large to read; an error answer, or no answer at all,
        after an attempt that may have been carried out); anything else -> ``failed``.
        Raises ``VobizFatalError`` (also for a 404 from outside the API)/``VobizBatchAborted``.
        """
        label = 'Hang-up of conference {0!r}'.format(name)
        unknown = 'whether the room was hung up is unknown'
        try:
            response = self.request('DELETE', ('Conference', name), body={}, key=('conference', name), what=label)
        except VobizRequestError as exc:
            return _outcome_without_answer(name, exc, unknown)
        kind, status, attempts = response.kind, response.status, response.attempts
        if kind == ANSWER_SUCCESS:
            return Outcome(name, OUTCOME_HUNG_UP, status, 'hung up', attempts, response.ambiguous)
        if kind == ANSWER_NOT_FOUND and not response.ambiguous:
            return Outcome(name, OUTCOME_ALREADY_ABSENT, status, 'not live', attempts, False)
        if kind == ANSWER_NOT_FOUND and seen_live:
            message = 'hung up by this run: it was live before the hang-up, ' + _UNHEARD
            return Outcome(name, OUTCOME_HUNG_UP, status, message, attempts, True)
        if kind == ANSWER_NOT_FOUND:
            unconfirmed = 'gone, but whether this run hung it up is unknown'
            message = f'{unconfirmed}: {_UNHEARD}, and this run had not seen it live before'
            return Outcome(name, OUTCOME_GONE_UNCONFIRMED, status, message, attempts, True)
        return _outcome_of_error_answer(name, response, unknown)

    def hangup_all(self):
        """Hang up every live conference with one ``DELETE Conference/``; returns an ``Outcome`` without a name.

        ``hung_up`` for a success (``classify_answer``); ``uncertain`` when the answer cannot tell whether any room
        was hung up (as for ``hangup``), else ``failed``. Raises ``VobizFatalError`` on 401/403 and on a 404 from
        outside the API.
        """
        unknown = 'whether any room was hung up is unknown'
        try:
            response = self.request('DELETE', ('Conference',), body={}, key=('all',), what='Hang-up of all conferences')
        except VobizRequestError as exc:
            return _outcome_without_answer(None, exc, unknown)
        if not response.ok:
            return _outcome_of_error_answer(None, response, unknown)
        return Outcome(None, OUTCOME_HUNG_UP, response.status, attempts=response.attempts, ambiguous=response.ambiguous)

    def retrieve(self, name):
        """``GET Conference/{name}/`` -> ``Retrieved`` (present / absent / unreadable); never raises for HTTP trouble.

        ``200 {"error": "failed"}``, or any 200 that isn't this conference's object, is unreadable.
        """
        label = 'Retrieval of conference {0!r}'.format(name)
        try:
            response = self.request('GET', ('Conference', name), key=('conference', name), what=label)
        except VobizRequestError as exc:
            return Retrieved(name, STATE_UNREADABLE, None, reason=exc.message)
        # A 404 from outside the API has raised VobizUnknownRouteError: this one is Vobiz's own.
        if response.kind == ANSWER_NOT_FOUND:
            return Retrieved(name, STATE_ABSENT, 404)
        if response.problem or response.status != 200:
            return Retrieved(name, STATE_UNREADABLE, response.status, reason=response.describe())
        body = response.body
        if isinstance(body, dict) and 'error' not in body and isinstance(body.get('conference_name'), str):
            if body['conference_name'] == name:
                return Retrieved(name, STATE_PRESENT, 200, conference=body)
            reason = 'HTTP 200 for another conference ({0!r})'.format(body['conference_name'])
        elif not response.json_ok:
            reason = 'HTTP 200 with a body that is not JSON'
        elif response.error_message:
            reason = 'HTTP 200 with an error: {0}'.format(response.error_message)
        else:
            reason = 'HTTP 200 without a conference object'
        return Retrieved(name, STATE_UNREADABLE, 200, reason=reason)

    def list_names(self):
        """``GET Conference/`` -> ``(names, readable)``.

        ``readable`` is False when a 200 answer held no list of names. Remember the live service
        has been seen listing no rooms while some were live: an empty list proves nothing.
        Raises ``VobizRequestError`` for an HTTP error or no answer, ``VobizFatalError`` on 401/403.
        """
        response = self.request('GET', ('Conference',), key=('list',), what='Listing of conferences')
        if response.status != 200:
            message = 'Listing conferences failed: {0}'.format(response.describe())
            raise VobizRequestError(message, status=response.status, attempts=response.attempts)
        body = response.body
        conferences = body.get('conferences') if isinstance(body, dict) else None
        if not isinstance(conferences, list):
            return [], False
        names = []
        seen = set()
        readable = True
        for entry in conferences:
            if isinstance(entry, dict):
                entry = entry.get('conference_name')
            if not isinstance(entry, str) or not entry:
                readable = False
                continue
            if entry not in seen:
                seen.add(entry)
                names.append(entry)
        return names, readable

    def member_action(self, method, conference, member, action=None, body=None, retry_ambiguous=True):
        """Act on members: ``{method} Conference/{conference}/Member/{member}/[{action}/]``.

        ``member``: ``'all'``, an id, a list of ids or ``'10,15'``. ``action``: ``'Speak'``, ``'Play'``,
        ``'Mute'``, ``'Deaf'``, ``'Kick'`` or ``None`` (hang up the member). ``body``: JSON or None.
        Returns a ``MemberActionResult``: ``ok`` for a success as ``classify_answer`` reads it (a 2xx
        with an error body or a body that is not JSON is not one), ``conference_gone`` for the API's own
        ``conference not found`` (a 404 ``member not found`` is the route's own too, see ``is_member_not_found``).
        Raises ``VobizRequestError`` when no answer came, ``VobizFatalError`` on 401/403 and on a 404 from outside the
        API.
        """
        what = '{0} {1} of member(s) {2} in conference {3!r}'.format(method, action or 'hang-up', member, conference)
        # The member spec is pre-encoded (ids joined by literal commas): build the URL by hand.
        tail = encode_segment(action) + '/' if action else ''
        url = self.url_for('Conference', conference) + 'Member/' + encode_member_spec(member) + '/' + tail
        response = self.request_url(
            method,
            url,
            body=body,
            key=('conference', conference),
            what=what,
            retry_ambiguous=retry_ambiguous,
            own_404=MEMBER_ROUTE_404,
        )
        parsed = response.body
        # A 404 from outside the API has raised VobizUnknownRouteError; an unreadable body tells nothing.
        gone = response.problem is None and is_conference_gone(response.status, parsed)
        ok = response.ok and not gone
        message = None
        if not ok and (response.outcome_unknown or response.problem):
            message = response.failure_text('whether the action was carried out is unknown')
        elif not ok:
            message = response.error_message or response.describe()
        return MemberActionResult(
            conference,
            member,
            action,
            method,
            ok,
            response.status,
            parsed,
            gone,
            message,
            response.attempts,
            response.ambiguous,
            not ok and response.outcome_unknown,
        )

    def act_on_members(self, method, conference, member, action=None):
        """A member action without a body of its own (hang up, kick, mute, deaf): its ``MemberActionResult``, or the
        ``VobizRequestError`` when no answer came; ``member_outcome`` reads either."""
        try:
            return self.member_action(method, conference, member, action, body={} if method == 'POST' else None)
        except VobizRequestError as exc:
            return exc

    def announce(self, name, member, action, body):
        """Speak or play to members of one conference (``POST .../Member/{member}/{Speak|Play}/``) -> ``Outcome``.

        ``announced`` for a success, ``absent`` for the API's own ``conference not found``. Never retried after a lost
        reply or a gateway's 502/504 (a repeat would be heard twice), so an answer, or the lack of one, that cannot
        tell whether it started is ``uncertain`` (a failure too, as a hang-up's); anything else is ``failed``.
        """
        started = ' (the announcement may have started)'
        try:
            answer = self.member_action('POST', name, member, action, body=body, retry_ambiguous=False)
        except VobizRequestError as exc:
            if exc.ambiguous:
                return Outcome(name, OUTCOME_UNCERTAIN, exc.status, exc.message + started, ambiguous=True)
            return Outcome(name, OUTCOME_FAILED, exc.status, exc.message)
        if answer.ok:
            return Outcome(name, OUTCOME_ANNOUNCED, answer.status)
        if answer.conference_gone:
            return Outcome(name, OUTCOME_ABSENT, answer.status)
        if answer.outcome_unknown:
            message = answer.message + started
            return Outcome(name, OUTCOME_UNCERTAIN, answer.status, message, ambiguous=answer.ambiguous)
        return Outcome(name, OUTCOME_FAILED, answer.status, answer.message)


def announcement(text=None, url=None, voice='WOMAN', language='en-US'):
    """The member route and body of an announcement: ``('Speak', {text, voice, language})`` or ``('Play', {url})``.

    Refuses (``VobizInputError`` naming the option) what Vobiz would: no or empty text, more than ``MAX_TEXT``
    characters, no language, a URL that is not ``https://``. Sends nothing.
    """
    if text is None and url is None:
        raise VobizInputError('set text (words to speak) or url (audio to play)', option='text')
    if text is not None:
        if not text.strip():
            raise VobizInputError('text must not be empty', option='text')
        if len(text) > MAX_TEXT:
            raise VobizInputError(f'text must be at most {MAX_TEXT} characters, got {len(text)}', option='text')
        if not language:
            raise VobizInputError('language must not be empty, for example en-US', option='language')
        return 'Speak', dict(text=text, voice=voice, language=language)
    try:
        parts = urlsplit(url)
        valid = parts.scheme.lower() == 'https' and parts.hostname and not any(c.isspace() for c in url)
    except ValueError:  # e.g. a broken IPv6 literal
        valid = False
    if not valid:
        raise VobizInputError('url must be an https:// URL of an audio file (Vobiz plays https only)', option='url')
    return 'Play', dict(url=url)


def predicted_outcome(retrieved, change, absent):
    """What a call would do, as check mode predicts it from a ``Retrieved``: ``change`` (e.g. ``hung_up``) for a live
    room, ``absent`` for the API's own 404, ``uncertain`` (the message says why) for an answer that cannot be read:
    a real run would still send the call."""
    if retrieved.state == STATE_ABSENT:
        return Outcome(retrieved.name, absent, retrieved.status)
    if retrieved.state != STATE_PRESENT:
        return Outcome(retrieved.name, OUTCOME_UNCERTAIN, retrieved.status, retrieved.reason)
    return Outcome(retrieved.name, change, retrieved.status)


def ended_verdict(retrieved, uuid_hung_up=None):
    """What one retrieve after this run's hang-up says about the room: ``(ended, message, conference_uuid)``.

    Only the conference API's own 404 proves that no room of the name is live now (``ended``). A 200 with the
    conference's object is a live room of that name: a new instance (a new call re-created it) when its
    ``conference_uuid`` differs from ``uuid_hung_up``, the instance hung up (a stale answer, or a hang-up not carried
    out) when it is the same, either when no UUID is known; ``conference_uuid`` is the one retrieve gave, else
    ``None``. An answer that cannot be read says nothing (the message says why). Never a reason to hang up again.
    """
    if retrieved.state == STATE_ABSENT:
        return True, None, None
    if retrieved.state != STATE_PRESENT:
        return False, f'its retrieve could not be read ({retrieved.reason})', None
    reported = retrieved.conference.get('conference_uuid')
    reported = reported if isinstance(reported, str) and reported else None
    live = 'retrieve still answers 200 with a live room of that name'
    if reported and uuid_hung_up and reported != uuid_hung_up:
        why = f're-created: {live}, a new instance (conference_uuid {reported!r}, not the {uuid_hung_up!r} hung up)'
    elif reported and uuid_hung_up:
        why = f'{live}, the instance hung up (conference_uuid {reported!r}): a stale answer, or the hang-up has not '
        why += 'taken effect'
    else:
        why = f'{live}: a new instance started by a new call, or a stale answer for the one hung up'
    return False, why, reported


def all_failure_text(answer):
    """The message of a hang-up of all conferences that did not succeed (failed, uncertain or interrupted)."""
    how = {OUTCOME_UNKNOWN: 'was interrupted', OUTCOME_UNCERTAIN: f'failed ({UNCERTAIN_HUNG_UP})'}
    return 'Hanging up all conferences {0}: {1}'.format(how.get(answer.outcome, 'failed'), answer.message)


def hangup_all_outcomes(answer, listed):
    """What the one hang-up of all conferences means for each room the live list named: an ``Outcome`` each.

    ``answer``: the ``Outcome`` of ``ConferenceApi.hangup_all`` (or ``Outcome.after_error``). Each listed room is
    hung up, in flight at an interrupt (``unknown``), or failed or uncertain with the message of the whole call
    (``all_failure_text``). When the list named none, one outcome without a name: a success then hung up no room that
    anyone knows of (``unknown``).
    """
    message = {OUTCOME_HUNG_UP: None, OUTCOME_UNKNOWN: answer.message}.get(answer.outcome, all_failure_text(answer))
    outcome = OUTCOME_UNKNOWN if not listed and answer.outcome == OUTCOME_HUNG_UP else answer.outcome
    return [answer._replace(name=name, outcome=outcome, message=message) for name in listed or [None]]


def member_outcome(answer, removing=False, room_wide=False):
    """How one member action went: ``(outcome, status, message)``, read as ``ConferenceApi.hangup`` reads a hang-up.

    ``answer``: a ``MemberActionResult``, or the error that came instead (``VobizRequestError``: no answer;
    ``VobizItemError``: an interrupt, the fatal answer that stopped the run, or an unexpected error). A member id not
    in the live room (HTTP 404 ``member not found``) is already done for the room-wide ``all`` (nobody to act on) and
    for a removal (``removing``), a failure otherwise. A removal that may have been carried out unheard
    (``ambiguous``) and then finds the member, or the whole conference, gone most likely did it itself (the last
    member's removal ends the room): acted. An answer (or no answer) that cannot tell whether the action was carried
    out is ``uncertain``.
    """
    if not isinstance(answer, MemberActionResult):
        status = getattr(answer, 'status', None)
        if getattr(answer, 'interrupted', False):
            return OUTCOME_UNKNOWN, None, answer.message
        if getattr(answer, 'ambiguous', False):
            return OUTCOME_UNCERTAIN, status, answer.message + ', so whether the action was carried out is unknown'
        return OUTCOME_FAILED, status, answer.message
    if answer.ok:
        return OUTCOME_ACTED, answer.status, None
    member_gone = is_member_not_found(answer.status, answer.body)
    if removing and answer.ambiguous and (answer.conference_gone or member_gone):
        return OUTCOME_ACTED, answer.status, None
    if member_gone:
        if room_wide or removing:
            return OUTCOME_ALREADY, answer.status, None
        return OUTCOME_FAILED, 404, answer.message
    if answer.conference_gone:
        return OUTCOME_CONFERENCE_ABSENT, answer.status, None
    return OUTCOME_UNCERTAIN if answer.outcome_unknown else OUTCOME_FAILED, answer.status, answer.message


def room_wide_outcome(answer, removing, need, already):
    """What the answer to the one room-wide member action (member ``all``) says: ``(outcome, member ids, status,
    message)``.

    ``need``: the ids the read planned to act on; ``already``: those it found already done. A success acted on the
    members the answer names (less those already done), else on ``need``; so did a removal that may have been carried
    out unheard and then found everyone, or the room, gone. ``member not found``: nobody to act on (``already``, or
    ``['all']``). Anything else is read by ``member_outcome`` for ``['all']``.
    """
    if isinstance(answer, MemberActionResult) and answer.ok:
        acted = answer.body.get('member_id') if isinstance(answer.body, dict) else None
        if isinstance(acted, list) and all(isinstance(m, (str, int)) and not isinstance(m, bool) for m in acted):
            return OUTCOME_ACTED, [str(m) for m in acted if str(m) not in already], answer.status, None
        return OUTCOME_ACTED, need, answer.status, None
    if isinstance(answer, MemberActionResult):
        if member_outcome(answer, removing, room_wide=True)[0] == OUTCOME_ACTED:
            return OUTCOME_ACTED, need, answer.status, None
        if is_member_not_found(answer.status, answer.body):
            return OUTCOME_ALREADY, already or ['all'], answer.status, None
    outcome, status, message = member_outcome(answer, removing)
    return outcome, ['all'], status, message


def member_answer_records(batch, answers, removing, need, already):
    """What the answers to a member action's requests say, as ``(member ids, outcome, status, message)`` records.

    ``batch``: the member ids sent, one request each, or ``['all']`` for the one room-wide request (read by
    ``room_wide_outcome`` with ``need`` and ``already``; a ``member not found`` adds nothing to ``already`` when it
    holds ids). An answer of ``None`` (not sent: the batch was stopped) has no record.
    """
    if batch == ['all']:
        if answers[0] is None:
            return []
        outcome, ids, status, message = room_wide_outcome(answers[0], removing, need, already)
        return [] if outcome == OUTCOME_ALREADY and already else [(ids, outcome, status, message)]
    return [
        ([member_id], *member_outcome(answer, removing))
        for member_id, answer in zip(batch, answers)
        if answer is not None
    ]


def add_member_outcome(result, ids, outcome, status=None, message=None):
    """Member ids into a member action's ``result`` by their outcome: ``members`` (acted), ``already``,
    ``interrupted`` (unknown), ``conference_absent`` (the whole room ``all`` found gone: nobody was already done
    either); any other outcome is a failure, an uncertain one also named in ``uncertain_members``."""
    key = {OUTCOME_ACTED: 'members', OUTCOME_ALREADY: 'already', OUTCOME_UNKNOWN: 'interrupted'}.get(outcome)
    if key is not None:
        result[key].extend(ids)
    elif outcome == OUTCOME_CONFERENCE_ABSENT:
        result['conference_absent'] = True
        result['already'] = [] if ids == ['all'] else result['already']
    else:
        result['failures'].extend(dict(member_id=member_id, status=status, message=message) for member_id in ids)
        result['uncertain_members'].extend(ids if outcome == OUTCOME_UNCERTAIN else ())


def member_plan(retrieved, ids, flag=None):
    """What a member action would do, from the ``Retrieved`` of its conference: ``(need, others, unreadable)``: the
    member ids that need the action, ``(member id, outcome, status, message)`` for each other one, in order, and why
    the members' state could not be read (``None`` when it could).

    ``ids``: a list, or ``'all'`` for every member listed. ``flag``: ``(key, wanted value)`` for a mute or deaf action
    (``('muted', True)``), ``None`` for a removal. A conference not live (the API's own 404): each id (``'all'`` for
    all) ``conference_absent``, with the status of the read. ``already``: the member holds it already, or the member
    to remove is not there; ``failed`` (``member not found``): the member to mute or deafen is not in the room. A
    conference that could not be read, or whose member list cannot be trusted (``members_inconsistency``): each id
    (``'all'`` for all) needs the action.
    """
    asked = ['all'] if ids == 'all' else list(ids)
    if retrieved.state == STATE_ABSENT:
        return [], [(member_id, OUTCOME_CONFERENCE_ABSENT, retrieved.status, None) for member_id in asked], None
    unreadable = members_inconsistency(retrieved.conference) if retrieved.state == STATE_PRESENT else retrieved.reason
    if unreadable is not None:
        return asked, [], unreadable
    present = dict((m['member_id'], m) for m in normalize_conference(retrieved.conference)['members'])
    need, others = [], []
    for member_id in list(present) if ids == 'all' else ids:
        member = present.get(member_id)
        if member is None and flag is not None:
            others.append((member_id, OUTCOME_FAILED, None, 'member not found'))
        elif member is None or (flag is not None and member.get(flag[0]) is flag[1]):
            others.append((member_id, OUTCOME_ALREADY, None, None))
        else:
            need.append(member_id)
    return need, others, None


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
    if count is None and raw is None:
        return None, 'no conference_member_count'
    if count is None:
        return None, 'no readable conference_member_count ({0!r})'.format(raw)
    members = conference.get('members')
    if members is not None and not isinstance(members, list):
        return None, 'its member list is not a list'
    if isinstance(members, list) and len(members) != count:
        return None, f'conference_member_count {raw!r} does not agree with the {len(members)} member(s) listed'
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
