# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""One request to the Vobiz API with bounded retries, and the one reading of every HTTP answer.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

``ApiClient.request`` sends one API request through the ``Transport`` with the client's retries (backoff,
Retry-After, the pacer), stops the run on fatal answers (401/403, certificate, a 404 from outside the API) and
returns an ``ApiResponse``, read by ``classify_answer`` (success, the API's own 404, an unknown route, an error).
``run_concurrently`` runs one call over many items. What each call's answer means for a conference is not known
here: that is ``_conference_api.py``.
"""

import json
import random
import threading
from collections import namedtuple
from urllib.parse import urlsplit

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
from ansible_collections.vobiz.voice.plugins.module_utils._urls import DEFAULT_API_URL, encode_segment

#: HTTP answers that mean "done" for an action.
SUCCESS_STATUSES = frozenset((200, 202, 204))
#: A gateway's answers that may come after it passed the request on: the API may have carried it out. Such an answer
#: makes the request ambiguous, like a lost reply (a later 404 to a DELETE is then this run's doing), and is not
#: retried when a repeat must not happen (``retry_ambiguous=False``).
MAYBE_DONE_STATUSES = frozenset((502, 504))
#: What an attempt is when it may have been carried out without this run hearing so (``MAYBE_DONE_STATUSES``).
UNHEARD = 'may have been carried out unheard (its reply was lost, or a gateway answered 502/504)'
#: HTTP answers that are retried (with backoff, honouring Retry-After).
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
#: First backoff step and the cap of one backoff step, in seconds.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

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


def parse_json_body(content):
    """Parse a response body; ``None`` for an empty body, ``ValueError`` if it isn't JSON."""
    if not content:
        return None
    if isinstance(content, bytes):
        content = content.decode('utf-8')
    return json.loads(content)


def _envelope_message(error):
    """The message of the envelope's ``error`` object (``{"code", "message", "details"}``), or ``None``."""
    message, code, details = error.get('message'), error.get('code'), error.get('details')
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
    return ' '.join(parts) or None


def extract_error_message(body, text=None):
    """Read an error message from either error shape; never raises.

    * flat: ``{"error": "..."}`` (also ``{"message": "..."}``, the gateway's shape);
    * envelope: ``{"status": "error", "error": {"code", "message", "details"}, ...}``.

    A body that isn't JSON yields its first 200 characters.
    """
    if isinstance(body, dict):
        error = body.get('error')
        envelope = _envelope_message(error) if isinstance(error, dict) else None
        if envelope:
            return envelope
        if isinstance(error, str) and error:
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
    ``{"status": "error", "error": {"message": ...}, ...}``; case, surrounding blanks and a final full stop do not
    count.
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
    """The one reading of an HTTP answer that every call uses.

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


class ApiResponse(
    namedtuple(
        'ApiResponse',
        'status body text json_ok attempts ambiguous error_message problem own_404',
        defaults=(None, CONFERENCE_404),
    )
):
    """One HTTP answer after retries.

    ``body``: the parsed JSON (``None`` for an empty or non-JSON body; see ``json_ok``); ``text``: the body as
    text (lossy decode), for messages only; ``attempts``: how many requests were sent for this call (1 = no
    retry); ``ambiguous``: an attempt may have been carried out unheard (its reply was lost, or a gateway
    answered 502/504: ``MAYBE_DONE_STATUSES``);
    ``error_message``: the server's error message, when it gave one; ``problem``: why the body could not be
    read at all (e.g. too large), else ``None``; ``own_404``: the messages of the route's own 404s
    (``classify_answer``).
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
            detail = ': ' + self.error_message if self.error_message else ''
            return 'HTTP {0} with a body that is not JSON{1}'.format(self.status, detail)
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
        """Why this answer is not a success; ``unknown`` says what is then not known (e.g. whether the room was hung
        up).

        When the answer leaves the outcome unknown (``outcome_unknown``), say so and why, rather than guess.
        """
        if self.unreadable_success:
            return '{0}: the answer could not be read as a success, so {1}'.format(self.describe(), unknown)
        if self.ambiguous and not self.ok and self.status in MAYBE_DONE_STATUSES:
            return f"{self.describe()} (a gateway's answer: the API may have carried the request out), so {unknown}"
        if self.ambiguous and not self.ok:
            return f'{self.describe()} after an earlier attempt that {UNHEARD}, so {unknown}'
        return self.describe()

    def __repr__(self):
        return f'ApiResponse(status={self.status!r}, attempts={self.attempts!r}, ambiguous={self.ambiguous!r})'


def _summarise(reasons):
    """``['HTTP 503', 'HTTP 503', 'x']`` -> ``'HTTP 503 x2; x'``."""
    parts = []
    for reason in reasons:
        if parts and parts[-1][0] == reason:
            parts[-1][1] += 1
        else:
            parts.append([reason, 1])
    return '; '.join(r if n == 1 else '{0} x{1}'.format(r, n) for r, n in parts) or 'retried'


class ApiClient:
    """A client of the Vobiz API: requests with retries, the run's warnings and its stop switch.

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
        self._transport = Transport(
            auth_id,
            auth_token,
            self.api_url,
            self.timeout,
            self.parallel,
            validate_certs,
            ca_path,
            self.redactor,
        )
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
        return f'{type(self).__name__}(auth_id={self.auth_id!r}, api_url={self.api_url!r}, parallel={self.parallel!r})'

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
        """The exact URL for path segments below ``Account/{auth_id}/``; every segment fully encoded, trailing
        slash."""
        return self._transport.account_url + ''.join(encode_segment(s) + '/' for s in segments)

    def path_for(self, *segments):
        """The exact request path (what the server receives) for path segments."""
        return urlsplit(self.url_for(*segments)).path

    def _fatal(self, error, attempts, ambiguous):
        """Stop the run with ``error`` (the answer to the attempt ``attempts`` of one request); returns it, for
        ``raise``.

        After an earlier attempt that may have been carried out unheard, the error says that what it asked is unknown.
        """
        error.attempts = attempts
        error.ambiguous = ambiguous
        if ambiguous:
            unknown = f'An earlier attempt of this request {UNHEARD}, so whether it was done is unknown.'
            error.message = self.redactor.outgoing(f'{error.message} {unknown}')
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
            check = 'Check auth_id and auth_token (or VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN).'
            text = f'Authentication failed for auth_id {self.auth_id!r} at API URL {self.api_url}{detail}. {check}'
        return VobizAuthError(self.redactor.outgoing(text), status=status)

    def _fatal_answer(self, answer, what):
        """The error that stops the run for a fatal answer (401/403, a 404 from outside the API), else ``None``."""
        if answer.status in (401, 403):
            return self._auth_error(answer.status, answer.error_message, what)
        if answer.kind == ANSWER_UNKNOWN_ROUTE:
            return self._unknown_route_error(answer.status, answer.error_message, what)
        return None

    def _unknown_route_error(self, status, message, what):
        body = f' ({message})' if message else ' with an empty body'
        text = (
            f'{what}: the server answered {status} Not Found{body}, which is not the conference API\'s own "conference '
            'not found" and cannot be told from the answer to a path the API does not know: check api_url (it is '
            f'{self.api_url}; Vobiz\'s is {DEFAULT_API_URL}). No answer of this run can be trusted; stopped.'
        )
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
        return self.request_url(
            method,
            self.url_for(*segments),
            body=body,
            key=key,
            what=what,
            retry_ambiguous=retry_ambiguous,
            own_404=own_404,
        )

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
                    return self._stopped_before_retry(what, key, attempts, answer, ambiguous, reasons)
                attempts += 1
                try:
                    answer, response = self._attempt(prepared, attempts, ambiguous, own_404)
                except ATTEMPT_ERRORS as exc:
                    answer = None
                    reason, maybe_sent, retryable, fatal = self._transport.classify(exc)
                    if fatal:
                        hint = 'Set ca_path to the CA bundle that signed the server certificate.'
                        error = VobizTLSError(f'{reason} at API URL {self.api_url}. {hint}')
                        raise self._fatal(error, attempts, ambiguous)
                    ambiguous = ambiguous or maybe_sent
                    reasons.append(reason)
                    if not retryable or (maybe_sent and not retry_ambiguous) or attempts > self.retries:
                        message = self.redactor.outgoing(f'{what} failed after {attempts} attempt(s): {reason}')
                        raise VobizRequestError(message, attempts=attempts, ambiguous=ambiguous)
                    retry_after = None
                else:
                    if answer.status in MAYBE_DONE_STATUSES:
                        ambiguous = True
                        answer = answer._replace(ambiguous=True)
                    # Read once: the pacer learns from a 429's Retry-After, and the wait below honours any retried
                    # answer's.
                    retry_after = self._transport.retry_after(response) if answer.status in RETRY_STATUSES else None
                    self._pacer.answered(sent_at, answer.status == 429, retry_after if answer.status == 429 else None)
                    error = self._fatal_answer(answer, what)
                    if error is not None:
                        raise self._fatal(error, attempts, ambiguous)
                    self._control.answered.set()
                    status = answer.status
                    if status not in RETRY_STATUSES or (status in MAYBE_DONE_STATUSES and not retry_ambiguous):
                        return answer
                    reasons.append('HTTP {0}'.format(status))
                    if attempts > self.retries:
                        return answer

                remaining = max(self.retry_max_wait - waited, 0.0)
                if retry_after is not None:
                    if retry_after > remaining:
                        # Retrying sooner than the server asked is pointless: give up now.
                        reasons[-1] += f' (Retry-After {retry_after:g} s exceeds what is left of retry_max_wait)'
                        return answer
                    delay = retry_after
                else:
                    delay = min(self._backoff(attempts), remaining)
                self._sleep(delay)
                waited += delay
        finally:
            if attempts > 1:
                summary = '{0}: needed {1} attempts ({2}).'.format(what, attempts, _summarise(reasons))
                self.warn_once(key if key is not None else what, summary)

    def _stopped_before_retry(self, what, key, attempts, answer, ambiguous, reasons):
        """The run was stopped before an attempt of one request: what the attempts sent so far got (never "not sent"
        once one went out)."""
        if not attempts:
            raise VobizBatchAborted('{0}: not sent, the batch was stopped by an earlier error.'.format(what))
        stopped = f'{what}: not retried, the run was stopped (by an error elsewhere or an interrupt)'
        if answer is not None:
            self.warn_once(key if key is not None else what, stopped + '.')
            return answer
        message = f'{stopped}, after {attempts} attempt(s): {reasons[-1]}'
        raise VobizRequestError(self.redactor.outgoing(message), attempts=attempts, ambiguous=ambiguous)

    def _attempt(self, prepared, attempts, ambiguous, own_404=CONFERENCE_404):
        """One attempt (``Transport.exchange``), its answer read: ``(ApiResponse, urllib3 response)``."""
        response, content, problem = self._transport.exchange(prepared)
        answer = self._read_response(response, attempts, ambiguous, content=content, problem=problem, own_404=own_404)
        return answer, response

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
        text = self.redactor.outgoing(raw_text)
        return ApiResponse(status, parsed, text, json_ok, attempts, ambiguous, error_message, problem, own_404)

    # -- batches ----------------------------------------------------------------

    def run_concurrently(self, func, items, on_result=None, on_error=None):
        """Run ``func(item)`` for every item on ``parallel`` threads; the results in input order.

        ``on_result(item, result)`` runs in the calling thread as each result arrives; ``on_error``
        turns an item's unexpected error into its result. A fatal error or an interrupt stops the
        batch and is raised with ``.results``. See ``_batch.run_in_threads`` for the whole contract.
        """
        redact = self.redactor.redact
        return run_in_threads(self._control, func, items, self.parallel, redact, on_result=on_result, on_error=on_error)
