# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The Vobiz API client: one request with bounded retries, and the conference and member operations.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

``VobizClient.request`` sends one API request through the ``Transport`` with the client's retries
(backoff, Retry-After, the pacer), stops the run on fatal answers (401/403, certificate, unknown
route) and returns an ``ApiResponse``; ``hangup``, ``retrieve``, ``list_names`` and
``member_action`` read that answer into what the modules report.
"""

import random
import threading
from urllib.parse import urlsplit

from ansible_collections.vobiz.voice.plugins.module_utils._answers import (
    ANSWER_NOT_FOUND,
    ANSWER_SUCCESS,
    ANSWER_UNKNOWN_ROUTE,
    CONFERENCE_404,
    MAYBE_DONE_STATUSES,
    MEMBER_ROUTE_404,
    OUTCOME_ALREADY_ABSENT,
    OUTCOME_FAILED,
    OUTCOME_GONE_UNCONFIRMED,
    OUTCOME_HUNG_UP,
    OUTCOME_UNCERTAIN,
    STATE_ABSENT,
    STATE_PRESENT,
    STATE_UNREADABLE,
    ApiResponse,
    MemberActionResult,
    Outcome,
    Retrieved,
    extract_error_message,
    is_conference_gone,
    is_error_body,
    parse_json_body,
)
from ansible_collections.vobiz.voice.plugins.module_utils._batch import RunControl, run_in_threads
from ansible_collections.vobiz.voice.plugins.module_utils._connection import (
    DEFAULT_PARALLEL,
    DEFAULT_RETRIES,
    DEFAULT_RETRY_MAX_WAIT,
    DEFAULT_TIMEOUT,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import (
    VobizAuthError,
    VobizBatchAborted,
    VobizError,
    VobizRequestError,
    VobizTLSError,
    VobizUnknownRouteError,
)
from ansible_collections.vobiz.voice.plugins.module_utils._pacing import Pacer, SleepClock
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import Redactor
from ansible_collections.vobiz.voice.plugins.module_utils._transport import ATTEMPT_ERRORS, Transport
from ansible_collections.vobiz.voice.plugins.module_utils._urls import DEFAULT_API_URL, encode_member_spec, encode_segment

#: HTTP answers that are retried (with backoff, honouring Retry-After).
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
#: First backoff step and the cap of one backoff step, in seconds.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0


def _summarise(reasons):
    """``['HTTP 503', 'HTTP 503', 'x']`` -> ``'HTTP 503 x2; x'``."""
    parts = []
    for reason in reasons:
        if parts and parts[-1][0] == reason:
            parts[-1][1] += 1
        else:
            parts.append([reason, 1])
    return '; '.join(r if n == 1 else '{0} x{1}'.format(r, n) for r, n in parts) or 'retried'


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
    return Outcome(name, outcome, response.status, response.failure_text(unknown), response.attempts, response.ambiguous)


class VobizClient:
    """The Vobiz API client shared by all modules of the collection.

    Thread-safe for the methods used by ``run_concurrently``. Nothing is sent at construction.
    It composes a ``Redactor`` (what may leave it), a ``Transport`` (one attempt on the wire), a
    ``Pacer`` (the send rate) and a ``RunControl`` (the stop switch its batches share).
    """

    def __init__(
        self,
        auth_id,
        auth_token,
        api_url=DEFAULT_API_URL,
        timeout=DEFAULT_TIMEOUT,
        retries=DEFAULT_RETRIES,
        retry_max_wait=DEFAULT_RETRY_MAX_WAIT,
        parallel=DEFAULT_PARALLEL,
        validate_certs=True,
        ca_path=None,
        sleep=None,
        jitter=None,
        rate_limit=None,
        clock=None,
    ):
        self.auth_id = auth_id
        self.api_url = api_url.rstrip('/')
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.retry_max_wait = float(retry_max_wait)
        self.parallel = int(parallel)
        #: Everything that carries server- or library-provided text out of the client goes through it.
        self.redactor = Redactor(auth_token)
        # Raises VobizError when requests is missing.
        self._transport = Transport(auth_id, auth_token, self.api_url, self.timeout, self.parallel, validate_certs, ca_path, self.redactor)
        if sleep is not None and clock is None:
            # Fake sleeps (tests) move the pacer's clock, so a Retry-After waited is not waited again.
            clock = SleepClock(sleep)
            sleep = clock.sleep
        self._custom_sleep = sleep
        self._jitter = jitter or random.random

        self._lock = threading.Lock()
        self._control = RunControl()
        self._warnings = []
        self._warned = set()
        # One pace for every worker: learned from 429s (and Retry-After), capped by rate_limit.
        self._pacer = Pacer(rate_limit=rate_limit, clock=clock, sleep=self._pace_wait, max_hold=self.retry_max_wait)

    def __repr__(self):
        return 'VobizClient(auth_id={0!r}, api_url={1!r}, parallel={2!r})'.format(self.auth_id, self.api_url, self.parallel)

    # -- plumbing -----------------------------------------------------------

    def close(self):
        self._transport.close()

    @property
    def warnings(self):
        """Warnings collected so far (one per retried name), in order of first occurrence."""
        with self._lock:
            return list(self._warnings)

    def warn_once(self, key, message):
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
            self._warnings.append(self.redactor.outgoing(message))

    @property
    def aborted(self):
        """True once a fatal error (401/403, certificate) stopped the batch."""
        return self._control.stopped.is_set()

    @property
    def fatal_error(self):
        return self._control.fatal_error

    def interrupt(self, signal_name='an interrupt'):
        """Stop the batch because of a signal: no new request starts, backoff waits end at once.

        Thread-safe; called from ``InterruptGuard``'s watcher thread, never from a signal handler.
        """
        self._control.interrupt(signal_name)

    @property
    def interrupted(self):
        """The ``VobizInterrupted`` error once a signal interrupted the run, else ``None``."""
        return self._control.interrupted

    def wait_unless_interrupted(self, seconds):
        """Sleep ``seconds``; return False at once when the run is interrupted (or stopped by a fatal error)."""
        return not self._control.stopped.wait(seconds)

    def _sleep(self, seconds):
        if self._custom_sleep is not None:
            self._custom_sleep(seconds)
        elif seconds > 0:
            # Interrupted at once when another thread hits a fatal error.
            self._control.stopped.wait(seconds)

    def _pace_wait(self, seconds):
        """The pacer's wait before a send (a method of its own, so that tests of retries can tell it apart)."""
        self._sleep(seconds)

    def _backoff(self, attempt):
        """Jittered exponential backoff for the given attempt (1-based): between half and all of the step."""
        step = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        return step / 2.0 + self._jitter() * step / 2.0

    def url_for(self, *segments):
        """The exact URL for path segments below ``Account/{auth_id}/``; every segment fully encoded, trailing slash."""
        return self._transport.account_url + ''.join(encode_segment(s) + '/' for s in segments)

    def path_for(self, *segments):
        """The exact request path (what the server receives) for path segments."""
        return urlsplit(self.url_for(*segments)).path

    def _fatal(self, error, attempts, ambiguous):
        """Stop the run with ``error`` (the answer to the attempt ``attempts`` of one request); returns it, for ``raise``.

        After an earlier attempt that may have been carried out unheard, the error says that what it asked is unknown.
        """
        error.attempts = attempts
        error.ambiguous = ambiguous
        if ambiguous:
            error.message = self.redactor.outgoing(
                '{0} An earlier attempt of this request may have been carried out unheard (its reply was lost, or a gateway answered 502/504), '
                'so whether it was done is unknown.'.format(error.message)
            )
        return self._control.stop(error)

    def _auth_error(self, status, message, what):
        detail = ' (HTTP {0}{1})'.format(status, ': ' + message if message else '')
        if status == 403:
            # A 403 may concern one resource only: say which request was refused.
            text = (
                'Permission denied for auth_id {0!r} at API URL {1}{2}: the credentials were accepted but '
                'may not do this: {3}. Check the account\'s permissions.'
            ).format(self.auth_id, self.api_url, detail, what)
        else:
            text = ('Authentication failed for auth_id {0!r} at API URL {1}{2}. Check auth_id and auth_token (or VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN).').format(
                self.auth_id, self.api_url, detail
            )
        return VobizAuthError(self.redactor.outgoing(text), status=status)

    def _unknown_route_error(self, status, message, what):
        text = (
            '{0}: the server answered {1} Not Found{2}, which is not the conference API\'s own "conference not found" and '
            'cannot be told from the answer to a path the API does not know: check api_url (it is {3}; Vobiz\'s is {4}). '
            'No answer of this run can be trusted; stopped.'
        ).format(what, status, ' (' + message + ')' if message else ' with an empty body', self.api_url, DEFAULT_API_URL)
        return VobizUnknownRouteError(self.redactor.outgoing(text), status=status)

    # -- one request with retries --------------------------------------------

    def request(self, method, segments, body=None, key=None, what=None, retry_ambiguous=True, own_404=CONFERENCE_404):
        """Send one API request with our retries; return an ``ApiResponse``.

        ``segments``: path segments below ``Account/{auth_id}/`` (each one fully encoded here;
        the URL always ends in ``/``). ``body``: JSON-serialisable, or ``None`` for no body.
        ``key``/``what``: what the once-per-key retry warning is about (e.g. the conference name).
        ``retry_ambiguous``: retry after a lost reply or a gateway's 502/504 (pass False for non-idempotent POSTs).
        ``own_404``: the messages of this route's own 404s (any other 404 stops the run, see ``classify_answer``).

        Retries 429/500/502/503/504 and connection failures with jittered exponential backoff
        (Retry-After honoured), up to ``retries`` extra attempts and ``retry_max_wait`` seconds
        of waiting in total. Returns any other HTTP answer, and the last retryable one once the
        retries are used up or when the run was stopped before a retry (``VobizRequestError`` then if
        that attempt got no answer). The answer's ``ambiguous`` is true when an attempt may have been carried
        out without this run hearing so (a lost reply, a 502/504: see ``MAYBE_DONE_STATUSES``).
        Raises ``VobizAuthError`` on 401/403 (and stops the batch), ``VobizTLSError`` on certificate
        errors (also stops the batch), ``VobizRequestError`` when no answer came, and
        ``VobizBatchAborted`` when the batch was stopped before this request.
        """
        if what is None:
            what = '{0} {1}'.format(method, '/'.join(str(s) for s in segments) or '/')
        return self.request_url(method, self.url_for(*segments), body=body, key=key, what=what, retry_ambiguous=retry_ambiguous, own_404=own_404)

    def request_url(self, method, url, body=None, key=None, what=None, retry_ambiguous=True, own_404=CONFERENCE_404):
        """``request`` for an exact URL below this client's account URL (see ``url_for``)."""
        if not url.startswith(self._transport.account_url):
            raise VobizError('internal error: {0} is outside the account URL'.format(url))
        what = what or '{0} {1}'.format(method, url)
        prepared = self._transport.prepare(method, url, body)
        attempts = 0
        waited = 0.0
        ambiguous = False
        reasons = []
        answer = None  # the last attempt's answer, None when it got none
        try:
            while True:
                sent_at = self._pacer.acquire(self._control.stopped.is_set)
                if self._control.stopped.is_set():
                    if not attempts:
                        raise VobizBatchAborted('{0}: not sent, the batch was stopped by an earlier error.'.format(what))
                    # Attempts went out: what they got is this request's outcome, never "not sent".
                    if answer is not None:
                        self.warn_once(
                            key if key is not None else what, '{0}: not retried, the run was stopped (by an error elsewhere or an interrupt).'.format(what)
                        )
                        return answer
                    raise VobizRequestError(
                        self.redactor.outgoing(
                            '{0}: not retried, the run was stopped (by an error elsewhere or an interrupt), after {1} attempt(s): {2}'.format(
                                what, attempts, reasons[-1]
                            )
                        ),
                        attempts=attempts,
                        ambiguous=ambiguous,
                    )
                attempts += 1
                try:
                    answer, response = self._attempt(prepared, attempts, ambiguous, own_404)
                except ATTEMPT_ERRORS as exc:
                    answer = None
                    reason, maybe_sent, retryable, fatal = self._transport.classify(exc)
                    if fatal:
                        raise self._fatal(
                            VobizTLSError('{0} at API URL {1}. Set ca_path to the CA bundle that signed the server certificate.'.format(reason, self.api_url)),
                            attempts,
                            ambiguous,
                        )
                    ambiguous = ambiguous or maybe_sent
                    reasons.append(reason)
                    if not retryable or (maybe_sent and not retry_ambiguous) or attempts > self.retries:
                        raise VobizRequestError(
                            self.redactor.outgoing('{0} failed after {1} attempt(s): {2}'.format(what, attempts, reason)),
                            attempts=attempts,
                            ambiguous=ambiguous,
                        )
                    retry_after = None
                else:
                    if answer.status in MAYBE_DONE_STATUSES:
                        ambiguous = True
                        answer = answer._replace(ambiguous=True)
                    # Read once: the pacer learns from a 429's Retry-After, and the wait below honours any retried answer's.
                    retry_after = self._transport.retry_after(response) if answer.status in RETRY_STATUSES else None
                    self._pacer.answered(sent_at, answer.status == 429, retry_after if answer.status == 429 else None)
                    if answer.status in (401, 403):
                        raise self._fatal(self._auth_error(answer.status, answer.error_message, what), attempts, ambiguous)
                    if answer.kind == ANSWER_UNKNOWN_ROUTE:
                        raise self._fatal(self._unknown_route_error(answer.status, answer.error_message, what), attempts, ambiguous)
                    self._control.answered.set()
                    if answer.status not in RETRY_STATUSES or (answer.status in MAYBE_DONE_STATUSES and not retry_ambiguous):
                        return answer
                    reasons.append('HTTP {0}'.format(answer.status))
                    if attempts > self.retries:
                        return answer

                remaining = max(self.retry_max_wait - waited, 0.0)
                if retry_after is not None:
                    if retry_after > remaining:
                        # Retrying sooner than the server asked is pointless: give up now.
                        reasons[-1] += ' (Retry-After {0:g} s exceeds what is left of retry_max_wait)'.format(retry_after)
                        return answer
                    delay = retry_after
                else:
                    delay = min(self._backoff(attempts), remaining)
                self._sleep(delay)
                waited += delay
        finally:
            if attempts > 1:
                self.warn_once(key if key is not None else what, '{0}: needed {1} attempts ({2}).'.format(what, attempts, _summarise(reasons)))

    def _attempt(self, prepared, attempts, ambiguous, own_404=CONFERENCE_404):
        """One attempt (``Transport.exchange``), its answer read: ``(ApiResponse, urllib3 response)``."""
        response, content, problem = self._transport.exchange(prepared)
        return self._read_response(response, attempts, ambiguous, content=content, problem=problem, own_404=own_404), response

    def _read_response(self, response, attempts, ambiguous, content=None, problem=None, own_404=CONFERENCE_404):
        """Read an answer: redact the raw text first, then parse, redact parsed strings again, then cut."""
        status = response.status
        if content is None:
            content = response.data or b''
        raw_text = self.redactor.redact(content.decode('utf-8', 'replace'))
        try:
            parsed = self.redactor.redact_tree(parse_json_body(raw_text))
            json_ok = True
        except ValueError:
            parsed = None
            json_ok = False
        error_message = None
        if problem is None and (status >= 300 or is_error_body(parsed, json_ok)):
            error_message = self.redactor.outgoing(extract_error_message(parsed if json_ok else None, raw_text))
        return ApiResponse(status, parsed, self.redactor.outgoing(raw_text), json_ok, attempts, ambiguous, error_message, problem, own_404)

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
        kind = response.kind
        if kind == ANSWER_SUCCESS:
            return Outcome(name, OUTCOME_HUNG_UP, response.status, 'hung up', response.attempts, response.ambiguous)
        if kind == ANSWER_NOT_FOUND and not response.ambiguous:
            return Outcome(name, OUTCOME_ALREADY_ABSENT, response.status, 'not live', response.attempts, False)
        if kind == ANSWER_NOT_FOUND:
            unheard = (
                'an earlier attempt may have been carried out unheard (its reply was lost, or a gateway answered 502/504) and the retry found the room gone'
            )
            if seen_live:
                return Outcome(
                    name, OUTCOME_HUNG_UP, response.status, 'hung up by this run: it was live before the hang-up, ' + unheard, response.attempts, True
                )
            message = 'gone, but whether this run hung it up is unknown: ' + unheard + ', and this run had not seen it live before'
            return Outcome(name, OUTCOME_GONE_UNCONFIRMED, response.status, message, response.attempts, True)
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
        if response.problem:
            return Retrieved(name, STATE_UNREADABLE, response.status, reason=response.describe())
        if response.status == 200:
            body = response.body
            if isinstance(body, dict) and 'error' not in body and isinstance(body.get('conference_name'), str):
                if body['conference_name'] == name:
                    return Retrieved(name, STATE_PRESENT, 200, conference=body)
                return Retrieved(name, STATE_UNREADABLE, 200, reason='HTTP 200 for another conference ({0!r})'.format(body['conference_name']))
            if not response.json_ok:
                reason = 'HTTP 200 with a body that is not JSON'
            elif response.error_message:
                reason = 'HTTP 200 with an error: {0}'.format(response.error_message)
            else:
                reason = 'HTTP 200 without a conference object'
            return Retrieved(name, STATE_UNREADABLE, 200, reason=reason)
        return Retrieved(name, STATE_UNREADABLE, response.status, reason=response.describe())

    def list_names(self):
        """``GET Conference/`` -> ``(names, readable)``.

        ``readable`` is False when a 200 answer held no list of names. Remember the live service
        has been seen listing no rooms while some were live: an empty list proves nothing.
        Raises ``VobizRequestError`` for an HTTP error or no answer, ``VobizFatalError`` on 401/403.
        """
        response = self.request('GET', ('Conference',), key=('list',), what='Listing of conferences')
        if response.status != 200:
            raise VobizRequestError('Listing conferences failed: {0}'.format(response.describe()), status=response.status, attempts=response.attempts)
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
        Raises ``VobizRequestError`` when no answer came, ``VobizFatalError`` on 401/403 and on a 404 from outside the API.
        """
        member_segment = encode_member_spec(member)
        segments = ['Conference', conference]
        what = '{0} {1} of member(s) {2} in conference {3!r}'.format(method, action or 'hang-up', member, conference)
        # The member spec is pre-encoded (ids joined by literal commas): build the URL by hand.
        tail = ''.join(encode_segment(s) + '/' for s in ([action] if action else []))
        url = self.url_for(*segments) + 'Member/' + member_segment + '/' + tail
        response = self.request_url(
            method, url, body=body, key=('conference', conference), what=what, retry_ambiguous=retry_ambiguous, own_404=MEMBER_ROUTE_404
        )
        parsed = response.body
        ok = response.ok
        # A 404 from outside the API has raised VobizUnknownRouteError; an unreadable body tells nothing.
        gone = response.problem is None and is_conference_gone(response.status, parsed)
        if gone:
            ok = False
        message = None
        if not ok:
            if response.outcome_unknown or response.problem:
                message = response.failure_text('whether the action was carried out is unknown')
            else:
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

    # -- batches ----------------------------------------------------------------

    def run_concurrently(self, func, items, on_result=None, on_error=None):
        """Run ``func(item)`` for every item on ``parallel`` threads; the results in input order.

        ``on_result(item, result)`` runs in the calling thread as each result arrives; ``on_error``
        turns an item's unexpected error into its result. A fatal error or an interrupt stops the
        batch and is raised with ``.results``. See ``_batch.run_in_threads`` for the whole contract.
        """
        return run_in_threads(self._control, func, items, self.parallel, self.redactor.redact, on_result=on_result, on_error=on_error)
