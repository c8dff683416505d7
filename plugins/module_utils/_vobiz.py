# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Client and shared helpers for the vobiz.voice modules.

PRIVATE: this module_util belongs to the vobiz.voice collection alone (hence
the leading underscore). It is not a public API and may change in any release
without a deprecation period. Do not import it from other collections.

What lives here:

* ``VobizClient``: one ``requests.Session`` (request preparation, proxy and TLS
  settings, cookies) whose adapter's keep-alive pool, sized to the concurrency,
  it sends through directly; exact percent-encoded URLs, explicit bounded
  retries, error mapping, batch abort on authentication errors, and
  ``run_concurrently``.
* the connection argument spec and ``client_from_module``;
* the selection helpers every module shares (name normalisation, ``match`` and
  ``exclude`` globs), the audit log writer and the warning texts.

The auth token is kept in the session headers and in one private attribute.
It is never formatted into a message, a warning or an exception text, and
everything that carries server- or library-provided text through this module
is passed through ``redact`` first.
"""

from __future__ import absolute_import, division, print_function
__metaclass__ = type

import datetime
import fnmatch
import ipaddress
import json
import math
import os
import queue
import random
import signal
import threading
import time
import traceback
import unicodedata
import uuid

from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible_collections.vobiz.voice.plugins.module_utils._pacing import Pacer, SleepClock

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from requests.cookies import extract_cookies_to_jar
    from urllib3.exceptions import MaxRetryError
    from urllib3.util.retry import Retry
    from urllib3.util.timeout import Timeout
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True


DEFAULT_API_URL = 'https://api.vobiz.ai/api/v1'
DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 5
DEFAULT_RETRY_MAX_WAIT = 60.0
DEFAULT_PARALLEL = 16
MAX_PARALLEL = 64
MAX_RETRIES = 20

#: HTTP answers that are retried (with backoff, honouring Retry-After).
RETRY_STATUSES = frozenset((429, 500, 502, 503, 504))
#: HTTP answers that mean "done" for an action.
SUCCESS_STATUSES = frozenset((200, 202, 204))
#: First backoff step and the cap of one backoff step, in seconds.
BACKOFF_BASE = 0.5
BACKOFF_CAP = 30.0

USER_AGENT = 'ansible-collection-vobiz.voice'

OUTCOME_HUNG_UP = 'hung_up'
OUTCOME_ALREADY_ABSENT = 'already_absent'
OUTCOME_FAILED = 'failed'
#: The request was in flight when the run was interrupted and no answer came: it may or may not have been done.
OUTCOME_UNKNOWN = 'unknown'

STATE_PRESENT = 'present'
STATE_ABSENT = 'absent'
STATE_UNREADABLE = 'unreadable'

LIST_MAY_LIE_WARNING = (
    'The Vobiz conference list {how}. Vobiz has been seen listing no rooms while some were live, '
    'so {consequence}'
)

# How often a batch still probing with its first item looks for an answer (seconds).
PROBE_POLL_SECONDS = 0.02
# How often a running batch looks for an interrupt while it waits for answers (seconds).
BATCH_POLL_SECONDS = 0.05
#: After an interrupt, how long a batch still waits for the answers of the requests already in flight (seconds).
INTERRUPT_GRACE_SECONDS = 1.0
#: The signals that interrupt a run (see ``InterruptGuard``).
INTERRUPT_SIGNALS = ('SIGINT', 'SIGTERM')

#: The largest answer body read (bytes, after content decoding). Any Vobiz answer is a few KB;
#: a bigger one is unreadable for that request, and the connection is closed instead of buffering it.
MAX_ANSWER_BYTES = 256 * 1024
#: Bytes asked for per read of an answer body (the deadline is checked between reads).
ANSWER_READ_CHUNK = 16 * 1024

#: How an answer reads (``classify_answer``).
ANSWER_SUCCESS = 'success'
ANSWER_NOT_FOUND = 'not_found'
ANSWER_UNKNOWN_ROUTE = 'unknown_route'
ANSWER_ERROR = 'error'

#: Shortest piece of the token that may never appear in any text leaving the client.
TOKEN_PIECE = 6
REDACTED = '********'


# ---------------------------------------------------------------------------
# Errors


class VobizError(Exception):
    """Base class of every error raised here; ``str()`` never contains the token."""

    def __init__(self, message):
        super(VobizError, self).__init__(message)
        self.message = message

    def __str__(self):
        return self.message


class VobizInputError(VobizError):
    """Bad module input; ``option`` names the offending option."""

    def __init__(self, message, option=None):
        super(VobizInputError, self).__init__(message)
        self.option = option


class VobizRequestError(VobizError):
    """A request that got no usable answer (transport failure after retries, or an HTTP error)."""

    def __init__(self, message, status=None, attempts=0, ambiguous=False):
        super(VobizRequestError, self).__init__(message)
        self.status = status
        self.attempts = attempts
        self.ambiguous = ambiguous


class VobizFatalError(VobizError):
    """An error that stops the whole batch: no further request is started after it."""

    def __init__(self, message, status=None):
        super(VobizFatalError, self).__init__(message)
        self.status = status
        #: For batches: the per-item results (input order, ``None`` = not run).
        self.results = None


class VobizAuthError(VobizFatalError):
    """HTTP 401 or 403."""


class VobizTLSError(VobizFatalError):
    """The server certificate could not be verified."""


class VobizUnknownRouteError(VobizFatalError):
    """HTTP 404 that is not the conference API's own: the path (``api_url``) looks wrong."""


class VobizBatchAborted(VobizError):
    """A request that was not started because a fatal error stopped the batch."""


class VobizInterrupted(VobizFatalError):
    """The run was interrupted (SIGINT, SIGTERM): no request was started after it."""

    def __init__(self, message, signal_name=None):
        super(VobizInterrupted, self).__init__(message)
        self.signal_name = signal_name
        #: For batches: the input indices of the items in flight whose answer did not come (outcome unknown).
        self.unanswered = []


class VobizItemError(VobizError):
    """One item of a batch could not be done for a reason other than an HTTP answer; only that item fails.

    ``interrupted`` is true for an item whose request was in flight when the run was interrupted
    (its outcome is unknown), false for an unexpected error in the worker (a name that cannot be
    encoded, a bug). ``message`` never holds the token.
    """

    def __init__(self, message, interrupted=False, cause=None):
        super(VobizItemError, self).__init__(message)
        self.interrupted = interrupted
        self.cause = cause


# ---------------------------------------------------------------------------
# URL building


def encode_segment(segment):
    """Percent-encode one path segment completely.

    Everything but ASCII letters, digits, ``-``, ``_`` and ``~`` is encoded,
    ``/`` included, and so is every ``.``: the segments ``.`` and ``..`` would
    otherwise be normalised away by clients, proxies and servers.
    Raises ``UnicodeEncodeError`` for text that is not valid Unicode (lone surrogates).
    """
    if not isinstance(segment, str):
        segment = str(segment)
    return quote(segment, safe='').replace('.', '%2E')


def encode_member_spec(member):
    """Encode a member spec: ``'all'``, one id, a list of ids, or ``'10,15'``.

    Each id is encoded as a segment of its own; the ids are joined with a literal comma.
    """
    if isinstance(member, (list, tuple)):
        ids = [str(m) for m in member]
    elif isinstance(member, str):
        ids = member.split(',')
    else:
        ids = [str(member)]
    ids = [i.strip() for i in ids]
    if not ids or any(not i for i in ids):
        raise VobizInputError('member must be "all", a member id or a list of member ids', option='member')
    return ','.join(encode_segment(i) for i in ids)


def _is_loopback_host(host):
    host = (host or '').rstrip('.').lower()
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_api_url(api_url):
    """Check ``api_url``; return ``(url without trailing slash, warnings)``.

    Never echoes the URL back when it might contain credentials.
    """
    warnings = []
    if not isinstance(api_url, str) or not api_url.strip():
        raise VobizInputError('api_url must be a non-empty URL such as {0}'.format(DEFAULT_API_URL), option='api_url')
    if api_url != api_url.strip() or any(ord(c) <= 32 or ord(c) == 127 for c in api_url):
        raise VobizInputError('api_url must not contain whitespace or control characters', option='api_url')
    parts = urlsplit(api_url)
    if parts.scheme.lower() not in ('http', 'https') or not api_url.lower().startswith(parts.scheme.lower() + '://'):
        raise VobizInputError(
            'api_url must start with https:// (or http://), for example {0}; got {1!r}'.format(DEFAULT_API_URL, api_url if '@' not in api_url else '<hidden>'),
            option='api_url')
    if '@' in parts.netloc:
        raise VobizInputError('api_url must not contain credentials (user:password@); use auth_id and auth_token', option='api_url')
    if not parts.hostname:
        raise VobizInputError('api_url has no host name: {0!r}'.format(api_url), option='api_url')
    if parts.query or '?' in api_url:
        raise VobizInputError('api_url must not contain a query string: {0!r}'.format(api_url), option='api_url')
    if parts.fragment or '#' in api_url:
        raise VobizInputError('api_url must not contain a fragment: {0!r}'.format(api_url), option='api_url')
    try:
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise VobizInputError('api_url has an invalid port: {0!r}'.format(api_url), option='api_url')
    if parts.scheme.lower() == 'http' and not _is_loopback_host(parts.hostname):
        warnings.append(
            'api_url {0} uses plain http:// to a host that is not loopback: the auth token travels '
            'unencrypted. Use https://.'.format(api_url))
    return api_url.rstrip('/'), warnings


def _check_header_value(value, option):
    if not isinstance(value, str) or not value:
        raise VobizInputError('{0} must be a non-empty string'.format(option), option=option)
    if value != value.strip():
        raise VobizInputError('{0} must not start or end with whitespace'.format(option), option=option)
    if any(ord(c) < 33 or ord(c) > 126 for c in value):
        # Never show the value: it may be the token.
        raise VobizInputError(
            '{0} contains characters that cannot be sent in an HTTP header (only printable ASCII is allowed)'.format(option),
            option=option)


def _finite_number(value, option):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VobizInputError('{0} must be a number'.format(option), option=option)
    if math.isnan(number) or math.isinf(number):
        raise VobizInputError('{0} must be a finite number'.format(option), option=option)
    return number


# ---------------------------------------------------------------------------
# Connection options


def vobiz_argument_spec():
    """The connection options shared by every module (documented in the ``vobiz.voice.connection`` fragment)."""
    return dict(
        auth_id=dict(type='str', required=True, no_log=False, fallback=(env_fallback, ['VOBIZ_AUTH_ID'])),
        auth_token=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['VOBIZ_AUTH_TOKEN'])),
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['VOBIZ_API_URL'])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT),
        retries=dict(type='int', default=DEFAULT_RETRIES),
        retry_max_wait=dict(type='float', default=DEFAULT_RETRY_MAX_WAIT),
        parallel=dict(type='int', default=DEFAULT_PARALLEL),
        rate_limit=dict(type='float'),
    )


def validate_connection_params(params):
    """Validate the connection options; return ``(kwargs for VobizClient, warnings)``.

    Raises ``VobizInputError`` naming the option. Sends nothing.
    """
    auth_id = params.get('auth_id')
    _check_header_value(auth_id, 'auth_id')
    _check_header_value(params.get('auth_token'), 'auth_token')
    api_url, warnings = validate_api_url(params.get('api_url', DEFAULT_API_URL))

    parallel = params.get('parallel', DEFAULT_PARALLEL)
    if parallel is None:
        parallel = DEFAULT_PARALLEL
    if isinstance(parallel, bool) or not isinstance(parallel, int) or not 1 <= parallel <= MAX_PARALLEL:
        raise VobizInputError('parallel must be an integer between 1 and {0}, got {1!r}'.format(MAX_PARALLEL, parallel), option='parallel')

    retries = params.get('retries', DEFAULT_RETRIES)
    if retries is None:
        retries = DEFAULT_RETRIES
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise VobizInputError('retries must be an integer between 0 and {0}, got {1!r}'.format(MAX_RETRIES, retries), option='retries')

    timeout = params.get('timeout', DEFAULT_TIMEOUT)
    timeout = _finite_number(DEFAULT_TIMEOUT if timeout is None else timeout, 'timeout')
    if timeout <= 0:
        raise VobizInputError('timeout must be greater than 0 seconds, got {0!r}'.format(timeout), option='timeout')

    retry_max_wait = params.get('retry_max_wait', DEFAULT_RETRY_MAX_WAIT)
    retry_max_wait = _finite_number(DEFAULT_RETRY_MAX_WAIT if retry_max_wait is None else retry_max_wait, 'retry_max_wait')
    if retry_max_wait < 0:
        raise VobizInputError('retry_max_wait must be 0 or more seconds, got {0!r}'.format(retry_max_wait), option='retry_max_wait')

    rate_limit = params.get('rate_limit')
    if rate_limit is not None:
        rate_limit = _finite_number(rate_limit, 'rate_limit')
        if rate_limit <= 0:
            raise VobizInputError('rate_limit must be greater than 0 requests per second, got {0!r}'.format(rate_limit), option='rate_limit')

    validate_certs = params.get('validate_certs', True)
    if validate_certs is None:
        validate_certs = True
    ca_path = params.get('ca_path')
    if ca_path is not None and not isinstance(ca_path, str):
        raise VobizInputError('ca_path must be a path', option='ca_path')
    if ca_path:
        if not os.path.exists(ca_path):
            raise VobizInputError('ca_path {0!r} does not exist'.format(ca_path), option='ca_path')
        if not validate_certs:
            warnings.append('ca_path is ignored because validate_certs is false.')
    if not validate_certs:
        warnings.append(
            'validate_certs is false: the certificate of {0} is not checked, and the auth token can be '
            'intercepted. Prefer ca_path for a private CA.'.format(api_url))

    kwargs = dict(
        auth_id=auth_id,
        auth_token=params.get('auth_token'),
        api_url=api_url,
        timeout=timeout,
        retries=retries,
        retry_max_wait=retry_max_wait,
        parallel=parallel,
        validate_certs=bool(validate_certs),
        ca_path=ca_path or None,
        rate_limit=rate_limit,
    )
    return kwargs, warnings


def client_from_module(module, **extra):
    """Build a ``VobizClient`` from the module's connection options.

    Fails the module (before any request) on a missing ``requests`` or bad input,
    and forwards the connection warnings (plain http, validate_certs false).
    """
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    try:
        kwargs, warnings = validate_connection_params(module.params)
    except VobizInputError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    kwargs.update(extra)
    return VobizClient(**kwargs)


# ---------------------------------------------------------------------------
# Answers


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


def is_conference_gone(status, body):
    """Did a member action fail because the conference does not exist (any more)?"""
    if status == 404:
        return True
    message = extract_error_message(body) if isinstance(body, dict) else None
    return bool(message) and message.strip().lower() == 'conference not found'


# Characters that could drive a terminal or reorder what the operator reads: C0 (TAB, LF, CR,
# ESC, BEL, ...), DEL, C1, the line and paragraph separators and the bidi embeddings/overrides/isolates.
_NAMED_ESCAPES = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}
_BIDI_CONTROLS = frozenset(chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)) + [0x2028, 0x2029])


def _escape_char(char):
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return '\\x{0:02x}'.format(code)
    if char in _BIDI_CONTROLS:
        return '\\u{0:04x}'.format(code)
    return char


def sanitize_text(text):
    """Escape control characters in server-provided text (``\\x1b``, ``\\n``, ``\\u202e``, ...).

    Applied to every server- or library-provided text before it reaches a message, a warning, a
    ``failures`` entry or the audit log, so that no answer can move the cursor, recolour, erase or
    forge lines (``"\\n[ERROR]: ..."``) on the operator's terminal.
    """
    if text is None:
        return None
    text = str(text)
    if all(' ' <= c < '\x7f' for c in text):
        return text
    return ''.join(_escape_char(c) for c in text)


def is_error_body(body, json_ok=True):
    """Does a parsed answer body say "error"? (``{"error": <non-empty>}`` or ``{"status": "error"}``, or not JSON)."""
    if not json_ok:
        return True
    if not isinstance(body, dict):
        return body is not None
    error = body.get('error')
    return error not in (None, '', {}, []) or str(body.get('status', '')).lower() == 'error'


def is_vobiz_not_found(body, json_ok=True):
    """Is a 404 body recognisably the conference API's own?

    An empty body, the flat shape ``{"error": "..."}`` (with at most an ``api_id`` besides), or the
    envelope ``{"status": "error", "error": {...}, ...}``. The gateway's ``{"message": "Not Found"}``,
    HTML and anything else are not: they answer a path the API does not know.
    """
    if not json_ok:
        return False
    if body is None:
        return True
    if not isinstance(body, dict):
        return False
    error = body.get('error')
    if isinstance(error, str) and error and set(body) <= {'error', 'api_id'}:
        return True
    return body.get('status') == 'error' and isinstance(error, dict)


def classify_answer(status, body, json_ok=True, problem=None):
    """The one reading of an HTTP answer that every operation uses.

    * ``success``: 200, 202 or 204 with an empty body, ``{}`` or a JSON object without an error;
    * ``not_found``: a 404 that is recognisably Vobiz's own (see ``is_vobiz_not_found``);
    * ``unknown_route``: any other 404 (the gateway's, HTML, ...): the path looks wrong;
    * ``error``: everything else, including a 2xx with an error body or a body that is not JSON,
      and an answer that could not be read at all (``problem``, e.g. too large).
    """
    if problem is not None:
        return ANSWER_ERROR
    if status == 404:
        return ANSWER_NOT_FOUND if is_vobiz_not_found(body, json_ok) else ANSWER_UNKNOWN_ROUTE
    if status in SUCCESS_STATUSES and not is_error_body(body, json_ok):
        return ANSWER_SUCCESS
    return ANSWER_ERROR


class _AttemptDeadline(Exception):
    """An attempt's answer did not arrive in full within ``timeout`` seconds (internal)."""


class ApiResponse(object):
    """One HTTP answer after retries."""

    __slots__ = ('status', 'body', 'text', 'json_ok', 'attempts', 'ambiguous', 'error_message', 'problem')

    def __init__(self, status, body, text, json_ok, attempts, ambiguous, error_message, problem=None):
        self.status = status
        #: Parsed JSON (``None`` for an empty or non-JSON body; see ``json_ok``).
        self.body = body
        #: The body as text (lossy decode), for messages only.
        self.text = text
        self.json_ok = json_ok
        #: Number of requests sent for this call (1 = no retry).
        self.attempts = attempts
        #: True when an earlier attempt may have reached the server (its reply was lost).
        self.ambiguous = ambiguous
        #: The server's error message, when it gave one.
        self.error_message = error_message
        #: Why the body could not be read at all (e.g. too large), else ``None``.
        self.problem = problem

    @property
    def kind(self):
        """``success``, ``not_found``, ``unknown_route`` or ``error`` (see ``classify_answer``)."""
        return classify_answer(self.status, self.body, self.json_ok, self.problem)

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
            return 'HTTP {0} with a body that is not JSON{1}'.format(
                self.status, ': ' + self.error_message if self.error_message else '')
        if self.error_message:
            return 'HTTP {0}: {1}'.format(self.status, self.error_message)
        return 'HTTP {0}'.format(self.status)

    def failure_text(self, unknown):
        """Why this answer is not a success; ``unknown`` says what is then not known (e.g. whether the room was hung up).

        A 2xx that cannot be read as a success, or a body that could not be read at all, leaves the
        outcome unknown: say so, rather than guess.
        """
        if self.unreadable_success:
            return '{0}: the answer could not be read as a success, so {1}'.format(self.describe(), unknown)
        if self.problem:
            return '{0}, so {1}'.format(self.describe(), unknown)
        return self.describe()

    def __repr__(self):
        return 'ApiResponse(status={0!r}, attempts={1!r}, ambiguous={2!r})'.format(self.status, self.attempts, self.ambiguous)


class Outcome(object):
    """What happened to one conference on a hang-up (or what check mode predicts)."""

    __slots__ = ('name', 'outcome', 'status', 'message', 'attempts', 'ambiguous')

    def __init__(self, name, outcome, status=None, message=None, attempts=0, ambiguous=False):
        self.name = name
        #: ``hung_up``, ``already_absent`` or ``failed``.
        self.outcome = outcome
        self.status = status
        self.message = message
        self.attempts = attempts
        self.ambiguous = ambiguous

    def failure(self):
        """The entry for a module's ``failures`` list: ``{name, status, message}``."""
        return dict(name=self.name, status=self.status, message=self.message)

    def __repr__(self):
        return 'Outcome({0!r}, {1!r}, status={2!r})'.format(self.name, self.outcome, self.status)


class Retrieved(object):
    """The answer to ``GET Conference/{name}/``: present, absent or unreadable."""

    __slots__ = ('name', 'state', 'status', 'conference', 'reason')

    def __init__(self, name, state, status=None, conference=None, reason=None):
        self.name = name
        #: ``present``, ``absent`` or ``unreadable``.
        self.state = state
        self.status = status
        #: The conference object when present.
        self.conference = conference
        #: Why it is unreadable.
        self.reason = reason

    @property
    def member_count(self):
        """The member count as an int, or ``None`` if unknown (the API sends counts as strings)."""
        if not isinstance(self.conference, dict):
            return None
        count = self.conference.get('conference_member_count')
        try:
            if count is not None and not isinstance(count, bool):
                return int(str(count).strip())
        except ValueError:
            pass
        members = self.conference.get('members')
        if isinstance(members, list):
            return len(members)
        return None

    def __repr__(self):
        return 'Retrieved({0!r}, {1!r}, status={2!r})'.format(self.name, self.state, self.status)


class MemberActionResult(object):
    """The answer to a member action (hang up, kick, mute, deaf, play, speak)."""

    __slots__ = ('conference', 'member', 'action', 'method', 'ok', 'status', 'body', 'conference_gone', 'message',
                 'attempts', 'ambiguous')

    def __init__(self, conference, member, action, method, ok, status, body, conference_gone, message, attempts,
                 ambiguous=False):
        self.conference = conference
        self.member = member
        self.action = action
        self.method = method
        #: 200, 202 or 204.
        self.ok = ok
        self.status = status
        self.body = body
        #: 404 or ``{"error": "conference not found"}``.
        self.conference_gone = conference_gone
        self.message = message
        self.attempts = attempts
        #: True when an earlier attempt's reply was lost: a 404 may then be this run's own doing.
        self.ambiguous = ambiguous

    def __repr__(self):
        return 'MemberActionResult({0!r}, {1!r}, {2!r}, status={3!r})'.format(self.conference, self.member, self.action, self.status)


# ---------------------------------------------------------------------------
# The client


def _summarise(reasons):
    """``['HTTP 503', 'HTTP 503', 'x']`` -> ``'HTTP 503 x2; x'``."""
    parts = []
    for reason in reasons:
        if parts and parts[-1][0] == reason:
            parts[-1][1] += 1
        else:
            parts.append([reason, 1])
    return '; '.join(r if n == 1 else '{0} x{1}'.format(r, n) for r, n in parts) or 'retried'


def _iter_causes(exc):
    """Walk an exception, its ``args``, ``reason``, ``__cause__`` and ``__context__``."""
    seen = set()
    stack = [exc]
    while stack:
        current = stack.pop()
        if current is None or id(current) in seen or not isinstance(current, BaseException):
            continue
        seen.add(id(current))
        yield current
        stack.append(getattr(current, 'reason', None))
        stack.append(current.__cause__)
        stack.append(current.__context__)
        stack.extend(a for a in getattr(current, 'args', ()) if isinstance(a, BaseException))


def _set_read_timeout(raw, seconds):
    """Bound the next socket read of a streamed urllib3 response by ``seconds`` (best effort)."""
    connection = getattr(raw, 'connection', None) or getattr(raw, '_connection', None)
    sock = getattr(connection, 'sock', None)
    if sock is not None:
        try:
            sock.settimeout(max(seconds, 0.001))
        except OSError:
            pass


def _as_requests_error(exc):
    """A urllib3 error raised while reading a body, as the ``requests`` exception ``_classify`` knows."""
    import socket
    from urllib3.exceptions import ProtocolError, ReadTimeoutError
    exceptions = requests.exceptions
    if isinstance(exc, (ReadTimeoutError, socket.timeout)):
        return exceptions.ReadTimeout(exc)
    if isinstance(exc, (ProtocolError, OSError)):
        return exceptions.ChunkedEncodingError(exc)
    return exceptions.ContentDecodingError(exc)


def _as_send_error(exc):
    """A urllib3 error from the connection pool as the ``requests`` exception ``HTTPAdapter.send`` raises for it.

    The client sends through the adapter's connection pool itself (see ``VobizClient._attempt``); this
    keeps the mapping ``_classify`` relies on. ``None`` for an error requests does not map either.
    """
    from urllib3 import exceptions as low
    exceptions = requests.exceptions
    if isinstance(exc, (low.ProtocolError, OSError)):
        return exceptions.ConnectionError(exc)
    if isinstance(exc, low.MaxRetryError):
        reason = exc.reason
        if isinstance(reason, low.ConnectTimeoutError) and not isinstance(reason, low.NewConnectionError):
            return exceptions.ConnectTimeout(exc)
        if isinstance(reason, low.ResponseError):
            return exceptions.RetryError(exc)
        if isinstance(reason, low.ProxyError):
            return exceptions.ProxyError(exc)
        if isinstance(reason, low.SSLError):
            return exceptions.SSLError(exc)
        return exceptions.ConnectionError(exc)
    if isinstance(exc, low.ClosedPoolError):
        return exceptions.ConnectionError(exc)
    if isinstance(exc, low.ProxyError):
        return exceptions.ProxyError(exc)
    if isinstance(exc, low.SSLError):
        return exceptions.SSLError(exc)
    if isinstance(exc, low.ReadTimeoutError):
        return exceptions.ReadTimeout(exc)
    if isinstance(exc, getattr(low, 'InvalidHeader', ())):
        return exceptions.InvalidHeader(exc)
    return None


def _is_cert_error(exc):
    import ssl
    for cause in _iter_causes(exc):
        if isinstance(cause, getattr(ssl, 'SSLCertVerificationError', ())) or isinstance(cause, getattr(ssl, 'CertificateError', ())):
            return True
        if 'CERTIFICATE_VERIFY_FAILED' in str(cause) or 'hostname mismatch' in str(cause).lower():
            return True
    return False


class _Outgoing(object):
    """A request as ``VobizClient._send`` sends it: a prepared request's method, headers and body, with its own URL."""

    __slots__ = ('method', 'url', 'headers', 'body')

    def __init__(self, method, headers, body, url=None):
        self.method = method
        self.headers = headers
        self.body = body
        self.url = url


class VobizClient(object):
    """The Vobiz API client shared by all modules of the collection.

    Thread-safe for the methods used by ``run_concurrently``. Nothing is sent at construction.
    """

    def __init__(self, auth_id, auth_token, api_url=DEFAULT_API_URL, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, retry_max_wait=DEFAULT_RETRY_MAX_WAIT, parallel=DEFAULT_PARALLEL,
                 validate_certs=True, ca_path=None, sleep=None, jitter=None, rate_limit=None, clock=None):
        if not HAS_REQUESTS:
            raise VobizError(missing_required_lib('requests'))
        self.auth_id = auth_id
        self._token = auth_token
        self.api_url = api_url.rstrip('/')
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.retry_max_wait = float(retry_max_wait)
        self.parallel = int(parallel)
        if sleep is not None and clock is None:
            # Fake sleeps (tests) move the pacer's clock, so a Retry-After waited is not waited again.
            clock = SleepClock(sleep)
            sleep = clock.sleep
        self._custom_sleep = sleep
        self._jitter = jitter or random.random

        self._lock = threading.Lock()
        self._abort = threading.Event()
        # Set by the first answer that is not 401/403: the credentials work, batches may fan out.
        self._answered = threading.Event()
        self._fatal_error = None
        # Set by ``interrupt`` (from ``InterruptGuard``'s watcher thread) when SIGINT or SIGTERM arrives.
        self._interrupted = None
        self._interrupt_count = 0
        self._warnings = []
        self._warned = set()
        # One pace for every worker: learned from 429s (and Retry-After), capped by rate_limit.
        self._pacer = Pacer(rate_limit=rate_limit, clock=clock, sleep=self._pace_wait, max_hold=self.retry_max_wait)

        session = requests.Session()
        # Ours are the only retries: urllib3 must never resend anything by itself
        # (a silent resend of a DELETE turns a lost reply into a false "already absent").
        adapter = HTTPAdapter(
            pool_connections=1,
            pool_maxsize=self.parallel,
            max_retries=Retry(total=0, connect=0, read=False, redirect=False, status=0, raise_on_status=False),
        )
        session.mount('https://', adapter)
        session.mount('http://', adapter)
        session.headers.update({
            'X-Auth-ID': auth_id,
            'X-Auth-Token': auth_token,
            'Content-Type': 'application/json',
            'Accept': 'application/json',
            'User-Agent': USER_AGENT,
        })
        self._session = session
        # Prepared requests per (method, no body), reused by _prepare (as _Outgoing).
        self._templates = {}

        # requests normalises the base once (IDNA host, quoting); the segments we append are exact.
        base = requests.Request('GET', self.api_url + '/').prepare().url
        self._account_url = '{0}Account/{1}/'.format(base, encode_segment(auth_id))

        verify = (ca_path or True) if validate_certs else False
        # Proxies, NO_PROXY and REQUESTS_CA_BUNDLE from the environment, resolved once for the host.
        settings = session.merge_environment_settings(self._account_url, {}, False, verify, None)
        if validate_certs and ca_path:
            settings['verify'] = ca_path
        self._send_kwargs = dict(
            timeout=self.timeout,
            allow_redirects=False,
            verify=settings.get('verify', verify),
            proxies=settings.get('proxies') or {},
            # Read streamed: the body is read by ``_receive`` with a deadline and a size cap.
            stream=True,
            cert=None,
        )
        self._adapter = adapter
        # The adapter's connection pool for the API host (through the proxy, with the TLS settings),
        # looked up on the first send (see ``_connection``) and used directly from then on.
        self._pool = None
        self._pool_prefix = None
        self._urllib3_timeout = None
        if not validate_certs:
            try:
                import urllib3
                urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
            except Exception:  # pragma: no cover, pylint: disable=broad-except
                pass

    def __repr__(self):
        return 'VobizClient(auth_id={0!r}, api_url={1!r}, parallel={2!r})'.format(self.auth_id, self.api_url, self.parallel)

    # -- plumbing -----------------------------------------------------------

    def close(self):
        self._session.close()

    def _token_variants(self):
        """The forms the token can take in a body: plain, percent-encoded, JSON-escaped, ``\\/``-escaped."""
        token = self._token
        if not token:
            return ()
        cached = self.__dict__.get('_variants_of')
        if cached is not None and cached[0] is token:
            # Every answer is redacted with these: computed once per token.
            return cached[1]
        variants = []
        for form in (token, quote(token, safe=''), quote(token), json.dumps(token)[1:-1],
                     json.dumps(token, ensure_ascii=False)[1:-1]):
            for variant in (form, form.replace('/', '\\/')):
                if variant and variant not in variants:
                    variants.append(variant)
        # Longest first, so that a longer form is not broken up by a shorter one.
        variants = tuple(sorted(variants, key=len, reverse=True))
        self._variants_of = (token, variants)
        return variants

    def redact(self, text):
        """Remove the token (in every form it can take in a body) from any text."""
        if text is None:
            return None
        text = str(text)
        for variant in self._token_variants():
            text = text.replace(variant, REDACTED)
        return text

    def _redact_tree(self, value):
        """``redact`` every string (keys too) in parsed JSON."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self._redact_tree(v) for v in value]
        if isinstance(value, dict):
            return dict((self._redact_tree(k), self._redact_tree(v)) for k, v in value.items())
        return value

    def _guard_token_pieces(self, text):
        """Belt and braces: no piece of ``TOKEN_PIECE`` characters of the token survives in ``text``."""
        token = self._token
        if not token or text is None:
            return text
        if len(token) < TOKEN_PIECE:
            return text.replace(token, REDACTED)
        cached = self.__dict__.get('_pieces_of')
        if cached is not None and cached[0] is token:
            pieces = cached[1]
        else:
            pieces = frozenset(token[i:i + TOKEN_PIECE] for i in range(len(token) - TOKEN_PIECE + 1))
            self._pieces_of = (token, pieces)
        for dummy in range(len(token)):
            found = [piece for piece in pieces if piece in text]
            if not found:
                break
            for piece in found:
                text = text.replace(piece, REDACTED)
        return text

    def outgoing(self, text):
        """Make a text fit to leave the client: token redacted (every form, then any piece) and control characters escaped."""
        if text is None:
            return None
        return sanitize_text(self._guard_token_pieces(self.redact(text)))

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
            self._warnings.append(self.outgoing(message))

    @property
    def aborted(self):
        """True once a fatal error (401/403, certificate) stopped the batch."""
        return self._abort.is_set()

    @property
    def fatal_error(self):
        return self._fatal_error

    def interrupt(self, signal_name='an interrupt'):
        """Stop the batch because of a signal: no new request starts, backoff waits end at once.

        Thread-safe; called from ``InterruptGuard``'s watcher thread, never from a signal handler.
        """
        with self._lock:
            self._interrupt_count += 1
            if self._interrupted is None:
                self._interrupted = VobizInterrupted(
                    'Interrupted by {0}: no request was started after it.'.format(signal_name), signal_name)
            error = self._interrupted
        self._set_fatal(error)

    @property
    def interrupted(self):
        """The ``VobizInterrupted`` error once a signal interrupted the run, else ``None``."""
        return self._interrupted

    def wait_unless_interrupted(self, seconds):
        """Sleep ``seconds``; return False at once when the run is interrupted (or stopped by a fatal error)."""
        return not self._abort.wait(seconds)

    def _set_fatal(self, error):
        with self._lock:
            if self._fatal_error is None:
                self._fatal_error = error
            self._abort.set()
        return error

    def _sleep(self, seconds):
        if self._custom_sleep is not None:
            self._custom_sleep(seconds)
        elif seconds > 0:
            # Interrupted at once when another thread hits a fatal error.
            self._abort.wait(seconds)

    def _pace_wait(self, seconds):
        """The pacer's wait before a send (a method of its own, so that tests of retries can tell it apart)."""
        self._sleep(seconds)

    def _backoff(self, attempt):
        """Jittered exponential backoff for the given attempt (1-based): between half and all of the step."""
        step = min(BACKOFF_CAP, BACKOFF_BASE * (2 ** (attempt - 1)))
        return step / 2.0 + self._jitter() * step / 2.0

    def url_for(self, *segments):
        """The exact URL for path segments below ``Account/{auth_id}/``; every segment fully encoded, trailing slash."""
        return self._account_url + ''.join(encode_segment(s) + '/' for s in segments)

    def path_for(self, *segments):
        """The exact request path (what the server receives) for path segments."""
        return urlsplit(self.url_for(*segments)).path

    def _prepare(self, method, url, body):
        """The ``PreparedRequest`` for ``url``: byte for byte what ``Session.prepare_request`` makes.

        Preparing costs about a third of the client's CPU per request (header and cookie merging,
        netrc lookup, URL parsing, JSON encoding), and apart from the URL its result is the same for
        every request to this host with the same method and no body or ``{}``. So that is prepared
        once per method and shared (an ``_Outgoing`` with this URL). Other bodies, and every request
        once the server has set a cookie (cookies are matched per URL), are prepared in full.
        """
        if (body is None or body == {}) and not self._session.cookies:
            key = (method, body is None)
            template = self._templates.get(key)
            if template is None:
                prepared = self._session.prepare_request(requests.Request(method, self._account_url, json=body))
                # A plain dict keeps the headers' order and case and is cheaper for urllib3 to copy and walk.
                template = self._templates[key] = _Outgoing(prepared.method, dict(prepared.headers.items()), prepared.body)
            # Shared: nothing on the send path changes a request's headers or body.
            return _Outgoing(template.method, template.headers, template.body, url)
        prepared = self._session.prepare_request(requests.Request(method, url, json=body))
        # requests re-quotes URLs in prepare_url (%2E becomes '.', and '..' is then normalised
        # away): put the exact URL back. urllib3 sends the path as it is.
        prepared.url = url
        return prepared

    def _auth_error(self, status, message, what):
        detail = ' (HTTP {0}{1})'.format(status, ': ' + message if message else '')
        if status == 403:
            # A 403 may concern one resource only: say which request was refused.
            text = ('Permission denied for auth_id {0!r} at API URL {1}{2}: the credentials were accepted but '
                    'may not do this: {3}. Check the account\'s permissions.').format(self.auth_id, self.api_url, detail, what)
        else:
            text = ('Authentication failed for auth_id {0!r} at API URL {1}{2}. Check auth_id and auth_token '
                    '(or VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN).').format(self.auth_id, self.api_url, detail)
        return VobizAuthError(self.outgoing(text), status=status)

    def _unknown_route_error(self, status, message, what):
        text = ('{0}: the server answered {1} Not Found for an API path it does not know{2}: check api_url '
                '(it is {3}; Vobiz\'s is {4}). The path looks wrong, so no answer of this run can be trusted; '
                'stopped.').format(what, status, ' (' + message + ')' if message else '', self.api_url, DEFAULT_API_URL)
        return VobizUnknownRouteError(self.outgoing(text), status=status)

    def _classify(self, exc):
        """Return ``(reason text, maybe_sent, retryable, fatal)`` for a requests exception."""
        exceptions = requests.exceptions
        if isinstance(exc, _AttemptDeadline):
            # Headers came, the body did not arrive in full: like a read timeout, the request may have been carried out.
            return 'no complete reply within {0:g} s (timeout; the answer was still arriving)'.format(self.timeout), True, True, False
        detail = self.outgoing(exc)
        if isinstance(exc, exceptions.SSLError):
            if _is_cert_error(exc):
                return 'TLS certificate verification failed: {0}'.format(detail), False, False, True
            return 'TLS error: {0}'.format(detail), True, True, False
        if isinstance(exc, exceptions.ConnectTimeout):
            return 'connect timeout after {0:g} s'.format(self.timeout), False, True, False
        if isinstance(exc, exceptions.ReadTimeout):
            return 'no reply within {0:g} s (read timeout)'.format(self.timeout), True, True, False
        if isinstance(exc, exceptions.ProxyError):
            return 'proxy error: {0}'.format(detail), False, True, False
        if isinstance(exc, exceptions.ConnectionError):
            first = exc.args[0] if exc.args else None
            if isinstance(first, MaxRetryError):
                # Only connect-phase errors reach us wrapped in MaxRetryError (read=False):
                # the request was never sent.
                return 'connection failed: {0}'.format(detail), False, True, False
            return 'connection lost before the reply: {0}'.format(detail), True, True, False
        if isinstance(exc, (exceptions.ChunkedEncodingError, exceptions.ContentDecodingError)):
            return 'reply broken off: {0}'.format(detail), True, True, False
        return 'request error: {0}'.format(detail), False, False, False

    # -- one request with retries --------------------------------------------

    def request(self, method, segments, body=None, key=None, what=None, retry_ambiguous=True):
        """Send one API request with our retries; return an ``ApiResponse``.

        ``segments``: path segments below ``Account/{auth_id}/`` (each one fully encoded here;
        the URL always ends in ``/``). ``body``: JSON-serialisable, or ``None`` for no body.
        ``key``/``what``: what the once-per-key retry warning is about (e.g. the conference name).
        ``retry_ambiguous``: retry after a lost reply (pass False for non-idempotent POSTs).

        Retries 429/500/502/503/504 and connection failures with jittered exponential backoff
        (Retry-After honoured), up to ``retries`` extra attempts and ``retry_max_wait`` seconds
        of waiting in total. Returns any other HTTP answer, and the last retryable one once the
        retries are used up. Raises ``VobizAuthError`` on 401/403 (and stops the batch),
        ``VobizTLSError`` on certificate errors (also stops the batch), ``VobizRequestError`` when
        no answer came, and ``VobizBatchAborted`` when the batch was stopped before this request.
        """
        if what is None:
            what = '{0} {1}'.format(method, '/'.join(str(s) for s in segments) or '/')
        return self.request_url(method, self.url_for(*segments), body=body, key=key, what=what,
                                retry_ambiguous=retry_ambiguous)

    def request_url(self, method, url, body=None, key=None, what=None, retry_ambiguous=True):
        """``request`` for an exact URL below this client's account URL (see ``url_for``)."""
        if not url.startswith(self._account_url):
            raise VobizError('internal error: {0} is outside the account URL'.format(url))
        what = what or '{0} {1}'.format(method, url)
        prepared = self._prepare(method, url, body)
        attempts = 0
        waited = 0.0
        ambiguous = False
        reasons = []
        try:
            while True:
                sent_at = self._pacer.acquire(self._abort.is_set)
                if self._abort.is_set():
                    raise VobizBatchAborted('{0}: not sent, the batch was stopped by an earlier error.'.format(what))
                attempts += 1
                try:
                    answer, response = self._attempt(prepared, attempts, ambiguous)
                except (requests.exceptions.RequestException, _AttemptDeadline) as exc:
                    reason, maybe_sent, retryable, fatal = self._classify(exc)
                    if fatal:
                        raise self._set_fatal(VobizTLSError(
                            '{0} at API URL {1}. Set ca_path to the CA bundle that signed the server '
                            'certificate.'.format(reason, self.api_url)))
                    ambiguous = ambiguous or maybe_sent
                    reasons.append(reason)
                    if not retryable or (maybe_sent and not retry_ambiguous) or attempts > self.retries:
                        raise VobizRequestError(self.outgoing(
                            '{0} failed after {1} attempt(s): {2}'.format(what, attempts, reason)),
                            attempts=attempts, ambiguous=ambiguous)
                    retry_after = None
                else:
                    self._pacer.answered(sent_at, answer.status == 429, self._retry_after(response) if answer.status == 429 else None)
                    if answer.status in (401, 403):
                        raise self._set_fatal(self._auth_error(answer.status, answer.error_message, what))
                    if answer.kind == ANSWER_UNKNOWN_ROUTE:
                        raise self._set_fatal(self._unknown_route_error(answer.status, answer.error_message, what))
                    self._answered.set()
                    if answer.status not in RETRY_STATUSES:
                        return answer
                    reasons.append('HTTP {0}'.format(answer.status))
                    if attempts > self.retries:
                        return answer
                    retry_after = self._retry_after(response)

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
                self.warn_once(key if key is not None else what, '{0}: needed {1} attempts ({2}).'.format(
                    what, attempts, _summarise(reasons)))

    def _attempt(self, prepared, attempts, ambiguous):
        """One attempt, connect to last byte within ``timeout``: ``(ApiResponse, requests response)``.

        Raises a ``requests`` exception, or ``_AttemptDeadline`` when the answer did not arrive in
        full in time (a server that trickles its body): a read timeout.
        """
        deadline = time.monotonic() + self.timeout
        response = self._send(prepared)
        try:
            content, problem = self._receive(response, deadline)
        except BaseException:
            # Half-read: the connection must not go back to the pool.
            self._discard(response)
            raise
        if problem is not None:
            self._discard(response)
        return self._read_response(response, attempts, ambiguous, content=content, problem=problem), response

    def _connection(self, prepared):
        """``(pool, request target prefix)``: what ``HTTPAdapter.send`` looks up for every request, once.

        Every request of this client goes to one host with the same proxy and TLS settings, so the
        adapter's pool (a proxy's for a proxied host: an absolute URL over HTTP, a CONNECT tunnel for
        HTTPS) and the target's form are the same for all. Looked up on the first send, like
        requests does, so that a bad proxy URL fails the request rather than the client's creation.
        """
        if self._pool is not None:
            return self._pool, self._pool_prefix
        with self._lock:
            if self._pool is None:
                kwargs = self._send_kwargs
                adapter = self._adapter
                template = requests.Request(prepared.method, self._account_url).prepare()
                template.url = self._account_url
                try:
                    get_connection = getattr(adapter, 'get_connection_with_tls_context', None)
                    if get_connection is not None:
                        pool = get_connection(template, kwargs['verify'], proxies=kwargs['proxies'], cert=None)
                    else:  # requests < 2.32.2
                        pool = adapter.get_connection(self._account_url, kwargs['proxies'])
                except ValueError as exc:  # urllib3's LocationValueError
                    raise requests.exceptions.InvalidURL(exc)
                adapter.cert_verify(pool, self._account_url, kwargs['verify'], None)
                self._pool_prefix = adapter.request_url(template, kwargs['proxies'])
                self._urllib3_timeout = Timeout(connect=self.timeout, read=self.timeout)
                self._pool = pool
            return self._pool, self._pool_prefix

    def _send(self, prepared):
        """Send through the connection pool: what ``Session.send`` does for our requests, minus the ``Response``.

        The same call as ``HTTPAdapter.send`` makes, through urllib3's ``request`` (no redirects, no
        urllib3 retries, the body streamed), its exceptions mapped the same way (``_as_send_error``), and a ``Set-Cookie``
        stored in the session's jar as requests stores it. Skipped: the per-request adapter, pool and
        proxy lookups, the ``Response`` object and the cookie extraction of every answer (about a
        third of the client's CPU per request).
        """
        pool, prefix = self._connection(prepared)
        url = prepared.url
        try:
            response = pool.request(
                prepared.method,
                prefix + url[len(self._account_url):],
                body=prepared.body,
                headers=prepared.headers,
                redirect=False,
                assert_same_host=False,
                preload_content=False,
                decode_content=False,
                retries=self._adapter.max_retries,
                timeout=self._urllib3_timeout,
                chunked=False,
            )
        except Exception as exc:  # pylint: disable=broad-except
            error = _as_send_error(exc)
            if error is None:
                raise
            raise error from exc
        headers = response.headers
        if 'Set-Cookie' in headers or 'Set-Cookie2' in headers:
            extract_cookies_to_jar(self._session.cookies, prepared, response)
        return response

    @staticmethod
    def _discard(response):
        """Close a half-read answer's connection and give its slot back to the pool (as ``Response.close``)."""
        response.close()
        release = getattr(response, 'release_conn', None)
        if release is not None:
            release()

    def _receive(self, response, deadline):
        """Read a streamed body within the deadline and ``MAX_ANSWER_BYTES``: ``(bytes, problem or None)``."""
        too_large = 'the answer was too large to read (over {0} bytes); it was not read, so what it says is unknown'.format(
            MAX_ANSWER_BYTES)
        length = response.headers.get('Content-Length')
        if length is not None and length.strip().isdigit() and int(length) > MAX_ANSWER_BYTES:
            return b'', too_large
        raw = response
        read = getattr(raw, 'read1', None) or raw.read
        chunks = []
        size = 0
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _AttemptDeadline()
            _set_read_timeout(raw, remaining)
            try:
                chunk = read(ANSWER_READ_CHUNK, decode_content=True)
            except Exception as exc:  # pylint: disable=broad-except
                # urllib3's own exceptions (the body is read below requests): map them to requests'.
                raise _as_requests_error(exc) from exc
            if not chunk:
                break
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                return b'', too_large
            chunks.append(chunk)
        return b''.join(chunks), None

    def _read_response(self, response, attempts, ambiguous, content=None, problem=None):
        """Read an answer: redact the raw text first, then parse, redact parsed strings again, then cut."""
        status = response.status
        if content is None:
            content = response.data or b''
        raw_text = self.redact(content.decode('utf-8', 'replace'))
        try:
            parsed = self._redact_tree(parse_json_body(raw_text))
            json_ok = True
        except ValueError:
            parsed = None
            json_ok = False
        error_message = None
        if problem is None and (status >= 300 or is_error_body(parsed, json_ok)):
            error_message = self.outgoing(extract_error_message(parsed if json_ok else None, raw_text))
        return ApiResponse(status, parsed, self.outgoing(raw_text), json_ok, attempts, ambiguous,
                           error_message, problem)

    @staticmethod
    def _retry_after(response):
        """Seconds from a Retry-After header (seconds or HTTP-date), or None."""
        header = response.headers.get('Retry-After')
        if not header:
            return None
        try:
            return max(float(Retry(total=0).parse_retry_after(header)), 0.0)
        except Exception:  # pylint: disable=broad-except
            return None

    # -- conference operations ----------------------------------------------

    def hangup(self, name):
        """Hang up one conference: exactly one ``DELETE Conference/{name}/`` when nothing fails.

        Returns an ``Outcome``: a success (``classify_answer``) -> ``hung_up``; Vobiz's own 404 ->
        ``already_absent``, unless an earlier attempt's reply was lost (then this run hung it up:
        ``hung_up``); anything else -> ``failed``, including a 2xx with an error body, a body that is
        not JSON and an answer too large to read (whether the room was hung up is then unknown).
        Raises ``VobizFatalError`` (also for a 404 from outside the API)/``VobizBatchAborted``.
        """
        label = 'Hang-up of conference {0!r}'.format(name)
        try:
            response = self.request('DELETE', ('Conference', name), body={}, key=('conference', name), what=label)
        except VobizRequestError as exc:
            return Outcome(name, OUTCOME_FAILED, status=None, message=exc.message, attempts=exc.attempts, ambiguous=exc.ambiguous)
        kind = response.kind
        if kind == ANSWER_SUCCESS:
            return Outcome(name, OUTCOME_HUNG_UP, response.status, 'hung up', response.attempts, response.ambiguous)
        if kind == ANSWER_NOT_FOUND:
            if response.ambiguous:
                return Outcome(name, OUTCOME_HUNG_UP, response.status,
                               'hung up by this run: the reply to an earlier attempt was lost and the retry found the room gone',
                               response.attempts, True)
            return Outcome(name, OUTCOME_ALREADY_ABSENT, response.status, 'not live', response.attempts, False)
        return Outcome(name, OUTCOME_FAILED, response.status, response.failure_text('whether the room was hung up is unknown'),
                       response.attempts, response.ambiguous)

    def hangup_all(self):
        """Hang up every live conference with one ``DELETE Conference/``; returns the ``ApiResponse``.

        Raises ``VobizRequestError`` if no answer came, ``VobizFatalError`` on 401/403.
        """
        return self.request('DELETE', ('Conference',), body={}, key=('all',), what='Hang-up of all conferences')

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
            raise VobizRequestError('Listing conferences failed: {0}'.format(response.describe()),
                                    status=response.status, attempts=response.attempts)
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
        with an error body or a body that is not JSON is not one), ``conference_gone`` for Vobiz's own
        404 or ``{"error": "conference not found"}``. Raises ``VobizRequestError`` when no answer came,
        ``VobizFatalError`` on 401/403 and on a 404 from outside the API.
        """
        member_segment = encode_member_spec(member)
        segments = ['Conference', conference]
        what = '{0} {1} of member(s) {2} in conference {3!r}'.format(method, action or 'hang-up', member, conference)
        # The member spec is pre-encoded (ids joined by literal commas): build the URL by hand.
        tail = ''.join(encode_segment(s) + '/' for s in ([action] if action else []))
        url = self.url_for(*segments) + 'Member/' + member_segment + '/' + tail
        response = self.request_url(method, url, body=body, key=('conference', conference), what=what,
                                    retry_ambiguous=retry_ambiguous)
        parsed = response.body
        ok = response.ok
        # A 404 from outside the API has raised VobizUnknownRouteError; an unreadable body tells nothing.
        gone = response.problem is None and is_conference_gone(response.status, parsed)
        if gone:
            ok = False
        message = None
        if not ok:
            if response.unreadable_success or response.problem:
                message = response.failure_text('whether the action was carried out is unknown')
            else:
                message = response.error_message or response.describe()
        return MemberActionResult(conference, member, action, method, ok, response.status, parsed, gone, message,
                                  response.attempts, response.ambiguous)

    # -- batches ----------------------------------------------------------------

    def run_concurrently(self, func, items, on_result=None, on_error=None):
        """Run ``func(item)`` for every item on ``parallel`` threads over the shared session.

        Returns the results in input order. ``on_result(item, result)`` is called in the calling
        thread as each result arrives (for audit logs), and only there: audit lines are never
        written by two threads or cut by a signal.

        One item never stops the batch: when ``func`` raises anything but a fatal error, the item's
        result is ``on_error(item, VobizItemError)`` (by default the ``VobizItemError`` itself), with a
        message naming what went wrong (``cannot be sent: the name is not valid Unicode``, or the
        exception type and its redacted text), and the batch goes on.

        When a fatal error (401/403, certificate, or a ``VobizFatalError`` raised by ``on_result``)
        happens, no further item is started, in-flight ones finish, and the ``VobizFatalError`` is
        raised with ``.results`` holding every finished item's result (``None`` = not run).

        When the run is interrupted (``interrupt``, see ``InterruptGuard``), no further item is
        started, and every item in flight gets at once the result ``on_error(item, VobizItemError(...,
        interrupted=True))`` (an unknown outcome, delivered to ``on_result`` like any other). Answers
        that still arrive within ``INTERRUPT_GRACE_SECONDS`` replace it (and are delivered too); then
        ``VobizInterrupted`` is raised with ``.results`` and ``.unanswered`` (the indices still unknown).
        The threads are daemon threads: a request still in flight then does not keep the process alive.
        """
        items = list(items)
        results = [None] * len(items)
        if self._abort.is_set():
            if self._fatal_error is None:
                raise VobizBatchAborted('Not started: the batch was stopped by an earlier error.')
            self._fatal_error.results = results
            raise self._fatal_error
        if not items:
            return results
        if on_error is None:
            on_error = _item_error_as_result
        callback_ok = on_result is not None
        workers = min(self.parallel, len(items))
        pool = _BatchPool(func, workers)
        in_flight = set()
        unknown = set()
        next_index = 0
        answered = False
        grace_ends = None
        try:
            while True:
                if self._interrupted is not None and grace_ends is None:
                    grace_ends = time.monotonic() + INTERRUPT_GRACE_SECONDS
                    # Record every request in flight as unknown at once; a later answer replaces it.
                    for index in sorted(in_flight):
                        unknown.add(index)
                        results[index] = on_error(items[index], VobizItemError(
                            'in flight when the run was interrupted by {0}; no answer came, so whether it was done '
                            'is unknown'.format(self._interrupted.signal_name), interrupted=True))
                        callback_ok = self._deliver(on_result if callback_ok else None, items[index], results[index])
                # Hand out work only as threads free up, so that nothing new starts once the
                # batch is stopped (a pre-filled queue would start the next item at once).
                # The first item goes alone until the server has answered anything but 401/403:
                # wrong credentials then cost one request, not ``parallel`` of them.
                answered = answered or self._answered.is_set()
                limit = workers if answered else 1
                while not self._abort.is_set() and next_index < len(items) and len(in_flight) < limit:
                    pool.submit(next_index, items[next_index])
                    in_flight.add(next_index)
                    next_index += 1
                if not in_flight:
                    break
                if grace_ends is not None and (time.monotonic() >= grace_ends or self._interrupt_count > 1):
                    break  # the grace is over (or a second signal asked to stop now)
                # While probing, look again shortly: an answer may come before the item finishes (it may be retrying).
                try:
                    index, ok, value = pool.answers.get(timeout=PROBE_POLL_SECONDS if not answered else BATCH_POLL_SECONDS)
                except queue.Empty:
                    continue
                answered = True
                in_flight.discard(index)
                if not ok:
                    if isinstance(value, (VobizFatalError, VobizBatchAborted)):
                        self._abort.set()
                        continue  # not done: the result stays None (or unknown, if recorded so)
                    value = on_error(items[index], self._item_error(items[index], value))
                unknown.discard(index)
                results[index] = value
                callback_ok = self._deliver(on_result if callback_ok else None, items[index], value)
        finally:
            pool.close()
        if self._interrupted is not None:
            self._interrupted.results = results
            self._interrupted.unanswered = sorted(unknown | in_flight)
            raise self._interrupted
        if self._fatal_error is not None:
            self._fatal_error.results = results
            raise self._fatal_error
        return results

    def _deliver(self, on_result, item, result):
        """Call ``on_result``; False once it failed (the batch is then stopped with a fatal error)."""
        if on_result is None:
            return False
        try:
            on_result(item, result)
        except VobizFatalError as exc:
            # e.g. the audit log cannot be written: stop, keep the results.
            self._set_fatal(exc)
            return False
        except Exception as exc:  # pylint: disable=broad-except
            self._set_fatal(VobizFatalError(self.redact(
                'Recording the outcome for {0!r} failed ({1}: {2}); stopped so that nothing goes unrecorded.'.format(
                    item, type(exc).__name__, exc))))
            return False
        return True

    def _item_error(self, item, exc):
        """The ``VobizItemError`` for an unexpected exception raised by a worker for ``item``."""
        if isinstance(exc, UnicodeError):
            reason = 'cannot be sent: the name is not valid Unicode'
        else:
            reason = 'unexpected error: {0}: {1}'.format(type(exc).__name__, self.redact(exc))
        return VobizItemError(reason, cause=exc)


def _item_error_as_result(item, error):  # pylint: disable=unused-argument
    return error


class _BatchPool(object):
    """``size`` daemon threads that run ``func(item)``; each answer comes back on ``answers``.

    ``answers`` receives ``(index, True, result)`` or ``(index, False, exception)``. Daemon threads,
    unlike ``concurrent.futures``' workers, do not hold the process at exit: after an interrupt the
    module exits while a request may still be in flight (its outcome has been recorded as unknown).
    """

    def __init__(self, func, size):
        self._func = func
        self._tasks = queue.Queue()
        self.answers = queue.Queue()
        self._threads = []
        for number in range(size):
            thread = threading.Thread(target=self._work, name='vobiz-batch-{0}'.format(number))
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def submit(self, index, item):
        self._tasks.put((index, item))

    def _work(self):
        while True:
            task = self._tasks.get()
            if task is None:
                return
            index, item = task
            try:
                result = self._func(item)
            except BaseException as exc:  # pylint: disable=broad-except
                self.answers.put((index, False, exc))
            else:
                self.answers.put((index, True, result))

    def close(self):
        """Let the threads end once their current item is done (without waiting for them)."""
        for dummy in self._threads:
            self._tasks.put(None)


class InterruptGuard(object):
    """While active, SIGINT and SIGTERM interrupt the client's work instead of killing the module at once.

    The Python-level handler only counts the signal: it raises nothing and takes no lock, so it
    can never cut an audit line in half or deadlock on a lock the main thread holds (Python runs
    handlers in the main thread, between any two bytecodes). The C-level handler also writes the
    signal number to a pipe (``signal.set_wakeup_fd``); a watcher thread reads it and calls
    ``client.interrupt``, which stops new requests at once. The batch runner then records the
    requests in flight, waits a short grace for their answers, and raises ``VobizInterrupted``;
    the module reports what was done and exits.

    Signals can only be handled in the main thread: elsewhere the guard does nothing.
    """

    def __init__(self, client, signals=INTERRUPT_SIGNALS):
        self.client = client
        self.signal_names = [name for name in signals if hasattr(signal, name)]
        self.received = []
        self._previous = {}
        self._previous_wakeup = None
        self._read_fd = None
        self._write_fd = None
        self._watcher = None

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        try:
            self._previous_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        except (TypeError, ValueError):  # pragma: no cover (Python < 3.7 or not the main thread)
            os.close(self._read_fd)
            os.close(self._write_fd)
            self._read_fd = self._write_fd = None
            return self
        for name in self.signal_names:
            signum = getattr(signal, name)
            self._previous[signum] = signal.signal(signum, self._handler)
        self._watcher = threading.Thread(target=self._watch, name='vobiz-interrupt-watcher')
        self._watcher.daemon = True
        self._watcher.start()
        return self

    def _handler(self, signum, frame):  # pylint: disable=unused-argument
        # Runs in the main thread between two bytecodes: no lock, no exception, no I/O here.
        self.received.append(signum)

    def _watch(self):
        while True:
            try:
                data = os.read(self._read_fd, 64)
            except OSError:
                return
            if not data:  # the write end was closed: the guard is done
                return
            for signum in bytearray(data):
                try:
                    name = signal.Signals(signum).name
                except ValueError:
                    name = 'signal {0}'.format(signum)
                if name in self.signal_names:
                    self.client.interrupt(name)

    def __exit__(self, *exc_info):
        if self._write_fd is None:
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(self._previous_wakeup if self._previous_wakeup is not None else -1)
        os.close(self._write_fd)  # wakes the watcher up (end of file)
        self._write_fd = None
        self._watcher.join(1.0)
        os.close(self._read_fd)
        self._read_fd = None


# ---------------------------------------------------------------------------
# Selection helpers shared by the modules


def normalize_name_list(value, option):
    """Normalise a ``type='raw'`` option holding conference names or globs.

    A string is ONE entry (commas are part of it: ``"Smith, John"`` is one name); a list must hold
    non-empty strings. Duplicates are dropped, order kept. ``None`` stays ``None``.
    Raises ``VobizInputError`` naming ``option``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        raise VobizInputError(
            '{0} must be a string or a list of strings, got {1} (quote names that look like numbers)'.format(
                option, type(value).__name__), option=option)
    if not values:
        raise VobizInputError('{0} must not be an empty list'.format(option), option=option)
    result = []
    seen = set()
    for index, entry in enumerate(values):
        if not isinstance(entry, str):
            raise VobizInputError(
                '{0}[{1}] must be a string, got {2} (quote names that look like numbers)'.format(
                    option, index, type(entry).__name__), option=option)
        if not entry:
            raise VobizInputError('{0} must not contain an empty string (entry {1})'.format(option, index), option=option)
        try:
            entry.encode('utf-8')
        except UnicodeEncodeError:
            raise VobizInputError('{0}[{1}] is not valid Unicode text'.format(option, index), option=option)
        if entry not in seen:
            seen.add(entry)
            result.append(entry)
    return result


def matches_any(name, patterns):
    """Shell-style, case-sensitive glob match (``fnmatch.fnmatchcase``); ``/`` is an ordinary character."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns or ())


#: Characters that do not show: zero-width space, non-joiner, joiner, word joiner, byte order mark.
INVISIBLE_CHARACTERS = ('\u200b', '\u200c', '\u200d', '\u2060', '\ufeff')


def normalize_for_exclude(text):
    """NFC-normalised ``text`` without invisible characters: how ``exclude`` also compares, to err on protecting."""
    text = unicodedata.normalize('NFC', text)
    for char in INVISIBLE_CHARACTERS:
        text = text.replace(char, '')
    return text


def exclusion_match(name, patterns):
    """How ``exclude`` protects ``name``: ``'exact'``, ``'normalized'`` or ``None`` (not protected).

    An entry protects a name it equals (even one with glob characters, such as ``room[1]``) or
    matches as a glob. When neither holds, both sides are compared again NFC-normalised and
    without invisible characters (``'normalized'``: worth a warning, the texts differ).
    """
    patterns = patterns or ()
    if name in patterns or matches_any(name, patterns):
        return 'exact'
    normalized = normalize_for_exclude(name)
    for pattern in patterns:
        other = normalize_for_exclude(pattern)
        if normalized == other or fnmatch.fnmatchcase(normalized, other):
            return 'normalized'
    return None


def normalized_exclude_warning(name):
    return ('Conference {0!r} is protected by exclude only when Unicode normalisation (NFC) and invisible characters '
            '(zero-width, BOM) are ignored: it was not touched. Check the spelling in exclude.').format(name)


def matches_every_name(pattern):
    """True for a glob made of wildcards alone (``*``, ``**``, ``?*``, ``*?*``...): it selects every room.

    Names are never empty, so any mix of ``*`` and ``?`` with at least one ``*`` and at most one ``?``
    matches every name; with more ``?`` it still matches every name but the shortest, which is the
    same mistake (an empty prefix before ``*``), so every such pattern counts.
    """
    return '*' in pattern and not pattern.strip('*?')


def refuse_match_everything(match, all_option='all'):
    """Raise ``VobizInputError`` when a ``match`` glob is wildcards alone: selecting everything is ``all``'s job."""
    for pattern in match:
        if matches_every_name(pattern):
            raise VobizInputError(
                'match {0!r} selects every conference (a glob made of wildcards alone, as "${{PREFIX}}*" becomes when '
                'the prefix is empty); refusing. To hang up every live conference, set {1}=true instead.'.format(
                    pattern, all_option), option='match')


class Selection(object):
    """Which conferences a module acts on: ``name`` + ``match`` + ``exclude`` (+ ``all``).

    * ``name``: exact, case-sensitive names;
    * ``match``: globs applied to the live list (one ``GET Conference/``);
    * ``exclude``: names or globs never touched, applied after ``match`` AND to explicit names; an
      entry equal to a name protects it even if it holds glob characters, and so does a match after
      NFC normalisation without invisible characters (then ``warnings`` says so);
    * ``all``: every live conference; exclusive with the other three.
    """

    def __init__(self, names=None, match=None, exclude=None, all_conferences=False):
        self.names = names or []
        self.match = match or []
        self.exclude = exclude or []
        self.all = bool(all_conferences)
        #: Warnings from the last ``resolve`` (names that only a normalised ``exclude`` comparison protected).
        self.warnings = []

    @classmethod
    def from_params(cls, params, name_option='name', all_option='all', policy=False):
        """Validate the selector options; raises ``VobizInputError`` naming the option. Sends nothing.

        ``policy``: a selection policy (``running_longer_than``, ``members_at_most``) filters the
        candidates, so without ``name`` or ``match`` every live conference is a candidate.
        """
        names = normalize_name_list(params.get(name_option), name_option)
        match = normalize_name_list(params.get('match'), 'match')
        exclude = normalize_name_list(params.get('exclude'), 'exclude')
        all_conferences = bool(params.get(all_option)) if all_option else False
        if all_conferences:
            for option, value in ((name_option, names), ('match', match), ('exclude', exclude)):
                if value is not None:
                    raise VobizInputError(
                        '{0}=true cannot be combined with {1}: {0} hangs up every live conference with one call'.format(
                            all_option, option), option=all_option)
        elif not names and not match and policy:
            # Not a user's glob (which may not select everything): the policy decides what is selected.
            return cls(None, ['*'], exclude, False)
        elif not names and not match:
            raise VobizInputError(
                'no conference selected: set {0} (exact names), match (globs on the live list){1}'.format(
                    name_option, ' or {0}=true'.format(all_option) if all_option else ''), option=name_option)
        if all_option and match:
            refuse_match_everything(match, all_option)
        return cls(names, match, exclude, all_conferences)

    @property
    def needs_list(self):
        """True when the live list must be read (``match`` or ``all``)."""
        return bool(self.match) or self.all

    def resolve(self, live_names=None):
        """Return ``(targets, excluded, excluded_explicit)``.

        ``targets``: explicit names then matched live names, without excluded ones, no duplicates;
        ``excluded``: every selected name that ``exclude`` protected; ``excluded_explicit``: those
        of them that were named explicitly (worth a warning). Names protected only by the normalised
        comparison get a warning in ``self.warnings``.
        """
        self.warnings = []
        targets = []
        excluded = []
        excluded_explicit = []
        seen = set()
        candidates = [(n, True) for n in self.names]
        if self.all:
            candidates.extend((n, False) for n in live_names or ())
        elif self.match:
            candidates.extend((n, False) for n in live_names or () if matches_any(n, self.match))
        for name, explicit in candidates:
            if name in seen:
                continue
            seen.add(name)
            protected = exclusion_match(name, self.exclude)
            if protected:
                if protected == 'normalized':
                    self.warnings.append(normalized_exclude_warning(name))
                excluded.append(name)
                if explicit:
                    excluded_explicit.append(name)
            else:
                targets.append(name)
        return targets, excluded, excluded_explicit


def excluded_name_warning(name, option='name'):
    return 'Conference {0!r} is listed in {1} but matches exclude: it was not touched.'.format(name, option)


def list_warning(problem, consequence):
    """The warning for an empty or unreadable conference list.

    ``problem``: ``'empty'`` or ``'unreadable'``. ``consequence``: what it means for this run,
    e.g. ``'match may have missed rooms.'``.
    """
    how = 'came back empty' if problem == 'empty' else 'could not be read (the answer held no list of names)'
    return LIST_MAY_LIE_WARNING.format(how=how, consequence=consequence)


def utc_timestamp():
    """ISO-8601 UTC time with milliseconds, e.g. ``2025-01-31T12:00:00.123Z``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%S.') + '{0:03d}Z'.format(now.microsecond // 1000)


def _write_audit(fd, data):
    """``os.write``, the one way audit lines reach the file (tests replace it to fake a full disk)."""
    return os.write(fd, data)


def new_run_id():
    """A random id shared by every audit line of one module run (and returned as ``run_id``)."""
    return uuid.uuid4().hex


#: Check-mode audit outcomes: what a real run would do, never what was done.
CHECK_MODE_OUTCOMES = {
    OUTCOME_HUNG_UP: 'would_hang_up',
    OUTCOME_ALREADY_ABSENT: 'would_be_absent',
    'announced': 'would_announce',
    'absent': 'would_be_absent',
}


def audit_option_spec():
    """The audit options shared by the modules that change something (documented in ``vobiz.voice.audit_log``)."""
    return dict(
        audit_log=dict(type='path'),
        change_id=dict(type='str'),
        reason=dict(type='str'),
    )


class AuditLog(object):
    """Append-only JSON-lines audit log: one ``write`` per line on an ``O_APPEND`` descriptor.

    Lines are written as outcomes arrive, so nothing done is lost if the run fails later.
    Each line: ``time`` (ISO-8601 UTC), ``run_id``, ``auth_id``, ``action``, ``name``, ``outcome``,
    ``status`` (HTTP), ``check_mode``, ``change_id`` and ``reason`` when given, plus any extra
    fields. Never the token. The format is documented in the ``vobiz.voice.audit_log`` doc fragment.

    The file is opened without following a symbolic link, and created with mode 0600. Every line
    starts on a fresh line: when the file does not end in a newline (a line cut short by an
    earlier full disk), or after a short or failed write in this run, the next line is preceded
    by ``\n``. A failed or short write raises ``VobizFatalError``, which stops the batch.
    ``writer`` (``os.write`` by default) is there for tests.
    """

    def __init__(self, path, auth_id, check_mode=False, action='hang_up', option='audit_log', run_id=None,
                 change_id=None, reason=None, writer=None):
        self.path = path
        self.auth_id = auth_id
        self.check_mode = bool(check_mode)
        self.action = action
        self.run_id = run_id or new_run_id()
        self.change_id = change_id
        self.reason = reason
        self._write = writer or _write_audit
        flags = os.O_APPEND | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOFOLLOW', 0)
        try:
            try:
                # Read access only to look at the last byte; fall back to write-only.
                self._fd = os.open(path, flags | os.O_RDWR, 0o600)
            except PermissionError:
                self._fd = os.open(path, flags | os.O_WRONLY, 0o600)
        except OSError as exc:
            if os.path.islink(path):
                raise VobizInputError(
                    '{0} {1!r} is a symbolic link; refusing to follow it: set {0} to the path of the file '
                    'itself'.format(option, path), option=option)
            raise VobizInputError('{0} {1!r} cannot be opened for appending: {2}'.format(
                option, path, exc.strerror or exc), option=option)
        self._needs_newline = not self._ends_with_newline()

    def _ends_with_newline(self):
        """False when the file holds a last line without its newline (cut short by an earlier full disk)."""
        try:
            size = os.fstat(self._fd).st_size
            if size <= 0:
                return True
            return os.pread(self._fd, 1, size - 1) in (b'\n', b'')
        except OSError:  # write-only, or not a regular file: nothing to look at
            return True

    def record(self, name, outcome, status=None, **extra):
        """Append one line; raises ``VobizFatalError`` if it cannot be written completely."""
        entry = dict(
            time=utc_timestamp(),
            run_id=self.run_id,
            auth_id=self.auth_id,
            action=self.action,
            name=name,
            outcome=outcome,
            status=status,
            check_mode=self.check_mode,
        )
        if self.change_id is not None:
            entry['change_id'] = self.change_id
        if self.reason is not None:
            entry['reason'] = self.reason
        for key, value in extra.items():
            if value is not None:
                entry[key] = value
        data = (json.dumps(entry, ensure_ascii=True) + '\n').encode('ascii')
        if self._needs_newline:
            data = b'\n' + data
        try:
            written = self._write(self._fd, data)
        except OSError as exc:
            # A failed write() wrote nothing: what comes next starts where this line would have.
            raise VobizFatalError('Writing the audit log {0!r} failed ({1}); stopped so that nothing goes '
                                  'unrecorded.'.format(self.path, exc.strerror or exc))
        if written != len(data):
            self._end_partial_line()
            raise VobizFatalError('Short write to the audit log {0!r} ({1} of {2} bytes); stopped so that '
                                  'nothing goes unrecorded.'.format(self.path, written, len(data)))
        self._needs_newline = False

    def _end_partial_line(self):
        """After a short write: end the partial line now if the disk allows, else start the next one with ``\n``.

        Rolling the partial line back is not safe with ``O_APPEND``: another writer may have appended since.
        """
        self._needs_newline = True
        try:
            if self._write(self._fd, b'\n') == 1:
                self._needs_newline = False
        except OSError:
            pass

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def audit_log_from_module(module, client, run_id, action='hang_up'):
    """The module's ``AuditLog`` (``audit_log``, ``change_id``, ``reason`` options), or ``None`` without ``audit_log``.

    Fails the module, naming ``audit_log``, when the file cannot be opened (before any request).
    """
    if not module.params.get('audit_log'):
        return None
    try:
        return AuditLog(module.params['audit_log'], client.auth_id, check_mode=module.check_mode, action=action,
                        run_id=run_id, change_id=module.params.get('change_id'), reason=module.params.get('reason'))
    except VobizInputError as exc:
        module.fail_json(msg=str(exc), run_id=run_id)


# ---------------------------------------------------------------------------
# Reading conference objects and member answers (added for the info, announce and member modules)


def is_member_not_found(status, body):
    """Did a member action fail because a member id is not in a live conference?

    ``MemberActionResult.conference_gone`` is true for every 404, but the API answers an unknown
    member id with 404 ``"member not found"`` while the room is live: use this to tell them apart.
    """
    if status != 404 or not isinstance(body, dict):
        return False
    message = extract_error_message(body)
    return bool(message) and message.strip().lower().startswith('member not found')


def _as_int(value):
    """``'42'``/``42`` -> ``42``; ``None`` when it is not a whole number (the API sends counts as strings)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        return None
    if math.isnan(number) or math.isinf(number) or number != int(number):
        return None
    return int(number)


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

    ``conference_run_time`` and ``conference_member_count`` (falls back to the number of members)
    become integers, ``members`` is always a list of dicts with ``member_id`` as a string,
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
        member['join_time'] = _as_int(member.get('join_time'))
        members.append(member)
    result['members'] = members
    result['conference_run_time'] = _as_int(conference.get('conference_run_time'))
    count = _as_int(conference.get('conference_member_count'))
    result['conference_member_count'] = len(members) if count is None else count
    return result
