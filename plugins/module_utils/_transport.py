# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""HTTP transport of the vobiz.voice client: one attempt of one request, connect to last byte.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

``Transport`` owns one ``requests.Session`` (request preparation, proxy and TLS settings, cookies)
whose adapter's keep-alive pool, sized to the concurrency, it sends through directly: exact
percent-encoded URLs, no urllib3 retries (the client's are the only ones), the answer read within
the timeout and a size cap, and urllib3's errors mapped to the ``requests`` exceptions ``classify``
reads. The auth token is kept in the session headers only.
"""

import threading
import time
import traceback

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizError
from ansible_collections.vobiz.voice.plugins.module_utils._urls import encode_segment

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


USER_AGENT = 'ansible-collection-vobiz.voice'

#: The largest answer body read (bytes, after content decoding). Any Vobiz answer is a few KB;
#: a bigger one is unreadable for that request, and the connection is closed instead of buffering it.
MAX_ANSWER_BYTES = 256 * 1024
#: Bytes asked for per read of an answer body (the deadline is checked between reads).
ANSWER_READ_CHUNK = 16 * 1024


class _AttemptDeadline(Exception):
    """An attempt's answer did not arrive in full within ``timeout`` seconds (internal)."""


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
    """A urllib3 error raised while reading a body, as the ``requests`` exception ``Transport.classify`` knows."""
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

    The transport sends through the adapter's connection pool itself (see ``Transport._send``); this
    keeps the mapping ``Transport.classify`` relies on. ``None`` for an error requests does not map either.
    """
    from urllib3 import exceptions as low

    exceptions = requests.exceptions
    if isinstance(exc, low.MaxRetryError):  # the pool gave up: mapped by its reason
        reason = exc.reason
        if isinstance(reason, low.ConnectTimeoutError) and not isinstance(reason, low.NewConnectionError):
            return exceptions.ConnectTimeout(exc)
        by_reason = (
            (low.ResponseError, exceptions.RetryError),
            (low.ProxyError, exceptions.ProxyError),
            (low.SSLError, exceptions.SSLError),
        )
        mapped = next(
            (target for source, target in by_reason if isinstance(reason, source)), exceptions.ConnectionError
        )
        return mapped(exc)
    by_error = (
        ((low.ProtocolError, OSError, low.ClosedPoolError), exceptions.ConnectionError),
        (low.ProxyError, exceptions.ProxyError),
        (low.SSLError, exceptions.SSLError),
        (low.ReadTimeoutError, exceptions.ReadTimeout),
        (getattr(low, 'InvalidHeader', ()), exceptions.InvalidHeader),
    )
    mapped = next((target for source, target in by_error if isinstance(exc, source)), None)
    return mapped(exc) if mapped is not None else None


def _is_cert_error(exc):
    import ssl

    for cause in _iter_causes(exc):
        if isinstance(cause, getattr(ssl, 'SSLCertVerificationError', ())) or isinstance(
            cause, getattr(ssl, 'CertificateError', ())
        ):
            return True
        if 'CERTIFICATE_VERIFY_FAILED' in str(cause) or 'hostname mismatch' in str(cause).lower():
            return True
    return False


class _Outgoing:
    """A request as ``Transport._send`` sends it: a prepared request's method, headers and body, with its own URL."""

    __slots__ = ('method', 'url', 'headers', 'body')

    def __init__(self, method, headers, body, url=None):
        self.method = method
        self.headers = headers
        self.body = body
        self.url = url


class Transport:
    """Sends prepared requests to one account's API URL and reads their answers.

    Thread-safe; nothing is sent at construction. ``redactor`` makes library texts (exception
    messages) fit to leave the client.
    """

    def __init__(self, auth_id, auth_token, api_url, timeout, parallel, validate_certs, ca_path, redactor):
        if not HAS_REQUESTS:
            raise VobizError(missing_required_lib('requests'))
        self.timeout = timeout
        self._redactor = redactor
        self._lock = threading.Lock()
        session = requests.Session()
        # Ours are the only retries: urllib3 must never resend anything by itself
        # (a silent resend of a DELETE turns a lost reply into a false "already absent").
        adapter = HTTPAdapter(
            pool_connections=1,
            pool_maxsize=parallel,
            max_retries=Retry(total=0, connect=0, read=False, redirect=False, status=0, raise_on_status=False),
        )
        session.mount('https://', adapter)
        session.mount('http://', adapter)
        session.headers.update(
            {
                'X-Auth-ID': auth_id,
                'X-Auth-Token': auth_token,
                'Content-Type': 'application/json',
                'Accept': 'application/json',
                'User-Agent': USER_AGENT,
            }
        )
        self._session = session
        # Prepared requests per (method, no body), reused by prepare (as _Outgoing).
        self._templates = {}

        # requests normalises the base once (IDNA host, quoting); the segments we append are exact.
        base = requests.Request('GET', api_url + '/').prepare().url
        self.account_url = '{0}Account/{1}/'.format(base, encode_segment(auth_id))

        verify = (ca_path or True) if validate_certs else False
        # Proxies, NO_PROXY and REQUESTS_CA_BUNDLE from the environment, resolved once for the host.
        settings = session.merge_environment_settings(self.account_url, {}, False, verify, None)
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

    def close(self):
        self._session.close()

    def prepare(self, method, url, body):
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
                prepared = self._session.prepare_request(requests.Request(method, self.account_url, json=body))
                # A plain dict keeps the headers' order and case and is cheaper for urllib3 to copy and walk.
                template = self._templates[key] = _Outgoing(
                    prepared.method, dict(prepared.headers.items()), prepared.body
                )
            # Shared: nothing on the send path changes a request's headers or body.
            return _Outgoing(template.method, template.headers, template.body, url)
        prepared = self._session.prepare_request(requests.Request(method, url, json=body))
        # requests re-quotes URLs in prepare_url (%2E becomes '.', and '..' is then normalised
        # away): put the exact URL back. urllib3 sends the path as it is.
        prepared.url = url
        return prepared

    def classify(self, exc):
        """Return ``(reason text, maybe_sent, retryable, fatal)`` for a requests exception."""
        exceptions = requests.exceptions
        if isinstance(exc, _AttemptDeadline):
            # Headers came, the body did not arrive in full: like a read timeout, the request may have been carried out.
            return (
                'no complete reply within {0:g} s (timeout; the answer was still arriving)'.format(self.timeout),
                True,
                True,
                False,
            )
        detail = self._redactor.outgoing(exc)
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

    def exchange(self, prepared):
        """One attempt, connect to last byte within ``timeout``: ``(urllib3 response, body bytes, problem or None)``.

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
        return response, content, problem

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
                template = requests.Request(prepared.method, self.account_url).prepare()
                template.url = self.account_url
                try:
                    get_connection = getattr(adapter, 'get_connection_with_tls_context', None)
                    if get_connection is not None:
                        pool = get_connection(template, kwargs['verify'], proxies=kwargs['proxies'], cert=None)
                    else:  # requests < 2.32.2
                        pool = adapter.get_connection(self.account_url, kwargs['proxies'])
                except ValueError as exc:  # urllib3's LocationValueError
                    raise requests.exceptions.InvalidURL(exc)
                adapter.cert_verify(pool, self.account_url, kwargs['verify'], None)
                self._pool_prefix = adapter.request_url(template, kwargs['proxies'])
                self._urllib3_timeout = Timeout(connect=self.timeout, read=self.timeout)
                self._pool = pool
            return self._pool, self._pool_prefix

    def _send(self, prepared):
        """Send through the connection pool: what ``Session.send`` does for our requests, minus the ``Response``.

        The same call as ``HTTPAdapter.send`` makes, through urllib3's ``request`` (no redirects, no
        urllib3 retries, the body streamed), its exceptions mapped the same way (``_as_send_error``), and
        a ``Set-Cookie`` stored in the session's jar as requests stores it. Skipped: the per-request adapter, pool and
        proxy lookups, the ``Response`` object and the cookie extraction of every answer (about a
        third of the client's CPU per request).
        """
        pool, prefix = self._connection(prepared)
        url = prepared.url
        try:
            response = pool.request(
                prepared.method,
                prefix + url[len(self.account_url) :],
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
        too_large = (
            'the answer was too large to read (over {0} bytes); it was not read, so what it says is unknown'.format(
                MAX_ANSWER_BYTES
            )
        )
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

    @staticmethod
    def retry_after(response):
        """Seconds from a Retry-After header (seconds or HTTP-date), or None."""
        header = response.headers.get('Retry-After')
        if not header:
            return None
        try:
            return max(float(Retry(total=0).parse_retry_after(header)), 0.0)
        except Exception:  # pylint: disable=broad-except
            return None


#: What ``Transport.exchange`` raises for an attempt without a usable answer (``Transport.classify`` reads it).
ATTEMPT_ERRORS = (requests.exceptions.RequestException, _AttemptDeadline) if HAS_REQUESTS else (_AttemptDeadline,)
