# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Client and shared helpers for the vobiz.voice modules.

PRIVATE: this module_util belongs to the vobiz.voice collection alone (hence
the leading underscore). It is not a public API and may change in any release
without a deprecation period. Do not import it from other collections.

What lives here:

* ``VobizClient``: one ``requests.Session`` with a keep-alive pool sized to the
  concurrency, exact percent-encoded URLs, explicit bounded retries, error
  mapping, batch abort on authentication errors, and ``run_concurrently``.
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
import random
import threading
import traceback

from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from urllib.parse import quote, urlsplit

from ansible.module_utils.basic import env_fallback, missing_required_lib

REQUESTS_IMPORT_ERROR = None
try:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.exceptions import MaxRetryError
    from urllib3.util.retry import Retry
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

STATE_PRESENT = 'present'
STATE_ABSENT = 'absent'
STATE_UNREADABLE = 'unreadable'

LIST_MAY_LIE_WARNING = (
    'The Vobiz conference list {how}. Vobiz has been seen listing no rooms while some were live, '
    'so {consequence}'
)

# How often a batch still probing with its first item looks for an answer (seconds).
PROBE_POLL_SECONDS = 0.02


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


class VobizBatchAborted(VobizError):
    """A request that was not started because a fatal error stopped the batch."""


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


class ApiResponse(object):
    """One HTTP answer after retries."""

    __slots__ = ('status', 'body', 'text', 'json_ok', 'attempts', 'ambiguous', 'error_message')

    def __init__(self, status, body, text, json_ok, attempts, ambiguous, error_message):
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

    @property
    def ok(self):
        return self.status in SUCCESS_STATUSES

    def describe(self):
        """``'HTTP 503: Service Unavailable'``."""
        if self.error_message:
            return 'HTTP {0}: {1}'.format(self.status, self.error_message)
        return 'HTTP {0}'.format(self.status)

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


def _is_cert_error(exc):
    import ssl
    for cause in _iter_causes(exc):
        if isinstance(cause, getattr(ssl, 'SSLCertVerificationError', ())) or isinstance(cause, getattr(ssl, 'CertificateError', ())):
            return True
        if 'CERTIFICATE_VERIFY_FAILED' in str(cause) or 'hostname mismatch' in str(cause).lower():
            return True
    return False


class VobizClient(object):
    """The Vobiz API client shared by all modules of the collection.

    Thread-safe for the methods used by ``run_concurrently``. Nothing is sent at construction.
    """

    def __init__(self, auth_id, auth_token, api_url=DEFAULT_API_URL, timeout=DEFAULT_TIMEOUT,
                 retries=DEFAULT_RETRIES, retry_max_wait=DEFAULT_RETRY_MAX_WAIT, parallel=DEFAULT_PARALLEL,
                 validate_certs=True, ca_path=None, sleep=None, jitter=None):
        if not HAS_REQUESTS:
            raise VobizError(missing_required_lib('requests'))
        self.auth_id = auth_id
        self._token = auth_token
        self.api_url = api_url.rstrip('/')
        self.timeout = float(timeout)
        self.retries = int(retries)
        self.retry_max_wait = float(retry_max_wait)
        self.parallel = int(parallel)
        self._custom_sleep = sleep
        self._jitter = jitter or random.random

        self._lock = threading.Lock()
        self._abort = threading.Event()
        # Set by the first answer that is not 401/403: the credentials work, batches may fan out.
        self._answered = threading.Event()
        self._fatal_error = None
        self._warnings = []
        self._warned = set()

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
            stream=False,
            cert=None,
        )
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

    def redact(self, text):
        """Remove the token from any text."""
        if text is None:
            return None
        text = str(text)
        token = self._token
        if token:
            for variant in (token, quote(token, safe='')):
                if variant:
                    text = text.replace(variant, '********')
        return text

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
            self._warnings.append(self.redact(message))

    @property
    def aborted(self):
        """True once a fatal error (401/403, certificate) stopped the batch."""
        return self._abort.is_set()

    @property
    def fatal_error(self):
        return self._fatal_error

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

    def _auth_error(self, status, message, what):
        detail = ' (HTTP {0}{1})'.format(status, ': ' + message if message else '')
        if status == 403:
            # A 403 may concern one resource only: say which request was refused.
            text = ('Permission denied for auth_id {0!r} at API URL {1}{2}: the credentials were accepted but '
                    'may not do this: {3}. Check the account\'s permissions.').format(self.auth_id, self.api_url, detail, what)
        else:
            text = ('Authentication failed for auth_id {0!r} at API URL {1}{2}. Check auth_id and auth_token '
                    '(or VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN).').format(self.auth_id, self.api_url, detail)
        return VobizAuthError(self.redact(text), status=status)

    def _classify(self, exc):
        """Return ``(reason text, maybe_sent, retryable, fatal)`` for a requests exception."""
        exceptions = requests.exceptions
        detail = self.redact(exc)
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
        request = requests.Request(method, url, json=body)
        prepared = self._session.prepare_request(request)
        # requests re-quotes URLs in prepare_url (%2E becomes '.', and '..' is then normalised
        # away): put the exact URL back. urllib3 sends the path as it is.
        prepared.url = url
        attempts = 0
        waited = 0.0
        ambiguous = False
        reasons = []
        try:
            while True:
                if self._abort.is_set():
                    raise VobizBatchAborted('{0}: not sent, the batch was stopped by an earlier error.'.format(what))
                attempts += 1
                try:
                    response = self._session.send(prepared, **self._send_kwargs)
                except requests.exceptions.RequestException as exc:
                    reason, maybe_sent, retryable, fatal = self._classify(exc)
                    if fatal:
                        raise self._set_fatal(VobizTLSError(
                            '{0} at API URL {1}. Set ca_path to the CA bundle that signed the server '
                            'certificate.'.format(reason, self.api_url)))
                    ambiguous = ambiguous or maybe_sent
                    reasons.append(reason)
                    if not retryable or (maybe_sent and not retry_ambiguous) or attempts > self.retries:
                        raise VobizRequestError(
                            '{0} failed after {1} attempt(s): {2}'.format(what, attempts, reason),
                            attempts=attempts, ambiguous=ambiguous)
                    retry_after = None
                else:
                    answer = self._read_response(response, attempts, ambiguous)
                    if answer.status in (401, 403):
                        raise self._set_fatal(self._auth_error(answer.status, answer.error_message, what))
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

    def _read_response(self, response, attempts, ambiguous):
        status = response.status_code
        content = response.content or b''
        text = self.redact(content.decode('utf-8', 'replace'))
        try:
            parsed = parse_json_body(content)
            json_ok = True
        except ValueError:
            parsed = None
            json_ok = False
        error_message = None
        if status >= 300 or (isinstance(parsed, dict) and 'error' in parsed):
            error_message = self.redact(extract_error_message(parsed if json_ok else None, text))
        return ApiResponse(status, parsed, text, json_ok, attempts, ambiguous, error_message)

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

        Returns an ``Outcome``: 2xx -> ``hung_up``; 404 -> ``already_absent``, unless an earlier
        attempt's reply was lost (then this run hung it up: ``hung_up``); anything else -> ``failed``.
        Raises ``VobizFatalError``/``VobizBatchAborted``.
        """
        label = 'Hang-up of conference {0!r}'.format(name)
        try:
            response = self.request('DELETE', ('Conference', name), body={}, key=('conference', name), what=label)
        except VobizRequestError as exc:
            return Outcome(name, OUTCOME_FAILED, status=None, message=exc.message, attempts=exc.attempts, ambiguous=exc.ambiguous)
        if response.ok:
            return Outcome(name, OUTCOME_HUNG_UP, response.status, 'hung up', response.attempts, response.ambiguous)
        if response.status == 404:
            if response.ambiguous:
                return Outcome(name, OUTCOME_HUNG_UP, response.status,
                               'hung up by this run: the reply to an earlier attempt was lost and the retry found the room gone',
                               response.attempts, True)
            return Outcome(name, OUTCOME_ALREADY_ABSENT, response.status, 'not live', response.attempts, False)
        return Outcome(name, OUTCOME_FAILED, response.status, response.describe(), response.attempts, response.ambiguous)

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
        if response.status == 404:
            return Retrieved(name, STATE_ABSENT, 404)
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
        Returns a ``MemberActionResult``: ``ok`` for 200/202/204, ``conference_gone`` for 404 or
        ``{"error": "conference not found"}``. Raises ``VobizRequestError`` when no answer came.
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
        ok = response.status in SUCCESS_STATUSES and not (isinstance(parsed, dict) and 'error' in parsed)
        gone = is_conference_gone(response.status, parsed)
        if gone:
            ok = False
        message = response.error_message if not ok else None
        if not ok and not message:
            message = response.describe()
        return MemberActionResult(conference, member, action, method, ok, response.status, parsed, gone, message,
                                  response.attempts, response.ambiguous)

    # -- batches ----------------------------------------------------------------

    def run_concurrently(self, func, items, on_result=None):
        """Run ``func(item)`` for every item on ``parallel`` threads over the shared session.

        Returns the results in input order. ``on_result(item, result)`` is called in the calling
        thread as each result arrives (for audit logs). When a fatal error (401/403, certificate,
        or a ``VobizFatalError`` raised by ``on_result``) happens, no further item is started,
        in-flight ones finish, and the ``VobizFatalError`` is raised with ``.results`` holding
        every finished item's result (``None`` = not run). Any other exception from ``func`` or
        ``on_result`` also stops the batch and is re-raised once the in-flight items have finished.
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
        unexpected = None
        callback_ok = on_result is not None
        workers = min(self.parallel, len(items))
        executor = ThreadPoolExecutor(max_workers=workers)
        futures = {}
        pending = set()
        next_index = 0
        answered = False
        try:
            while True:
                # Hand out work only as threads free up, so that nothing new starts once the
                # batch is stopped (a pre-filled queue would start the next item at once).
                # The first item goes alone until the server has answered anything but 401/403:
                # wrong credentials then cost one request, not ``parallel`` of them.
                answered = answered or self._answered.is_set()
                in_flight = workers if answered else 1
                while not self._abort.is_set() and next_index < len(items) and len(pending) < in_flight:
                    future = executor.submit(func, items[next_index])
                    futures[future] = next_index
                    pending.add(future)
                    next_index += 1
                if not pending:
                    break
                # While probing, look again shortly: an answer may come before the item finishes (it may be retrying).
                done, pending = wait(pending, timeout=None if answered else PROBE_POLL_SECONDS, return_when=FIRST_COMPLETED)
                answered = answered or bool(done)
                for future in sorted(done, key=futures.get):
                    index = futures[future]
                    error = future.exception()
                    if error is None:
                        results[index] = future.result()
                        if callback_ok:
                            try:
                                on_result(items[index], results[index])
                            except VobizFatalError as exc:
                                # e.g. the audit log cannot be written: stop, keep the results.
                                callback_ok = False
                                self._set_fatal(exc)
                            except Exception as exc:  # pylint: disable=broad-except
                                callback_ok = False
                                unexpected = unexpected or exc
                                self._abort.set()
                    elif isinstance(error, (VobizFatalError, VobizBatchAborted)):
                        self._abort.set()
                    elif unexpected is None:
                        unexpected = error
                        self._abort.set()
        finally:
            executor.shutdown(wait=True)
        if unexpected is not None:
            raise unexpected
        if self._fatal_error is not None:
            self._fatal_error.results = results
            raise self._fatal_error
        return results


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
    * ``exclude``: globs never touched, applied after ``match`` AND to explicit names;
    * ``all``: every live conference; exclusive with the other three.
    """

    def __init__(self, names=None, match=None, exclude=None, all_conferences=False):
        self.names = names or []
        self.match = match or []
        self.exclude = exclude or []
        self.all = bool(all_conferences)

    @classmethod
    def from_params(cls, params, name_option='name', all_option='all'):
        """Validate the selector options; raises ``VobizInputError`` naming the option. Sends nothing."""
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
        of them that were named explicitly (worth a warning).
        """
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
            if matches_any(name, self.exclude):
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


class AuditLog(object):
    """Append-only JSON-lines audit log: one ``write`` per line on an ``O_APPEND`` descriptor.

    Lines are written as outcomes arrive, so nothing done is lost if the run fails later.
    Each line: ``time`` (ISO-8601 UTC), ``auth_id``, ``action``, ``name``, ``outcome``,
    ``status`` (HTTP), ``check_mode``, plus any extra fields. Never the token.
    """

    def __init__(self, path, auth_id, check_mode=False, action='hang_up', option='audit_log'):
        self.path = path
        self.auth_id = auth_id
        self.check_mode = bool(check_mode)
        self.action = action
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0)
        try:
            self._fd = os.open(path, flags, 0o600)
        except OSError as exc:
            raise VobizInputError('{0} {1!r} cannot be opened for appending: {2}'.format(
                option, path, exc.strerror or exc), option=option)

    def record(self, name, outcome, status=None, **extra):
        """Append one line; raises ``VobizFatalError`` if it cannot be written completely."""
        entry = dict(
            time=utc_timestamp(),
            auth_id=self.auth_id,
            action=self.action,
            name=name,
            outcome=outcome,
            status=status,
            check_mode=self.check_mode,
        )
        for key, value in extra.items():
            if value is not None:
                entry[key] = value
        data = (json.dumps(entry, ensure_ascii=True) + '\n').encode('ascii')
        try:
            written = os.write(self._fd, data)
        except OSError as exc:
            raise VobizFatalError('Writing the audit log {0!r} failed ({1}); stopped so that nothing goes '
                                  'unrecorded.'.format(self.path, exc.strerror or exc))
        if written != len(data):
            raise VobizFatalError('Short write to the audit log {0!r} ({1} of {2} bytes); stopped so that '
                                  'nothing goes unrecorded.'.format(self.path, written, len(data)))

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


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
