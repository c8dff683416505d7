# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a client can hold of the listener: ``ConnectionGuard`` caps open connections and times out slow ones;
``RefusalLog`` counts what was refused and logs it as one line a minute.

aiohttp bounds the size of a request line, header and body, but not how many connections stay open nor how
long a client may take to send its headers (its keep-alive timer alone does not cover a client trickling a
header line). So the guard wraps aiohttp's protocol factory: it refuses a connection at once (before reading a
byte) when its address, or the listener, holds its share; when the listener is full it first closes the oldest
connection still waiting for a request; and it closes a connection idle for ``idle_timeout`` seconds, or whose
request headers are not complete ``header_timeout`` seconds after their first byte.

With TLS (``tls_context``) the guard admits the TCP connection first and only then runs the TLS handshake on it
(``loop.start_tls``), within ``header_timeout``: a client that never finishes its handshake holds a counted slot
for that long, exactly as one that never finishes its headers.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import ssl
import time
from typing import Callable

LOGGER = logging.getLogger('vobiz.voice.conference_callbacks')

IDLE, HEADERS, BUSY, HANDSHAKE = 'idle', 'headers', 'busy', 'handshake'


def tls_context(certfile: str, keyfile: str | None = None, password: str | None = None, cafile: str | None = None):
    """The listener's TLS: TLS 1.2 or later, the certificate chain of ``certfile`` (its key in ``keyfile`` or in
    ``certfile``, decrypted with ``password``); with ``cafile``, a client certificate signed by one of its CAs is
    required (mutual TLS). Raises ``ValueError`` naming the file that cannot be used."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(certfile, keyfile, password)
    except (OSError, ssl.SSLError) as exc:
        with_key = ' with keyfile %s' % keyfile if keyfile else ''
        raise ValueError('certfile %s%s cannot be used: %s' % (certfile, with_key, exc)) from None
    if cafile:
        try:
            context.load_verify_locations(cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError('cafile %s cannot be used: %s' % (cafile, exc)) from None
        context.verify_mode = ssl.CERT_REQUIRED
    return context


class RefusalLog:
    """Counts of refused connections and requests by reason, reported as one WARNING per ``interval`` seconds."""

    def __init__(
        self,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        logger: logging.Logger = LOGGER,
        headline: str = 'Refused {count} connection(s) or callback(s) {since}: {reasons}{top}',
    ):
        self.interval = interval
        self.headline = headline
        self.clock = clock
        self.logger = logger
        self.total: collections.Counter = collections.Counter()  # since the start, by reason
        self._reasons: collections.Counter = collections.Counter()  # since the last report
        self._addresses: collections.Counter = collections.Counter()
        self._last_report: float | None = None
        self._note: str | None = None

    def count(self, reason: str, address: str | None = None) -> None:
        self.total[reason] += 1
        self._reasons[reason] += 1
        if address is not None:
            self._addresses[address] += 1

    def note(self, text: str) -> None:
        """A sentence for the next report (what to check), kept until that report."""
        self._note = text

    def has_note(self) -> bool:
        return self._note is not None

    def report(self) -> str | None:
        """Log (and return) one line for what was refused since the last report, at most once per ``interval``."""
        now = self.clock()
        if not self._reasons or (self._last_report is not None and now - self._last_report < self.interval):
            return None
        since = 'since the start' if self._last_report is None else 'in the last %d s' % (now - self._last_report)
        reasons = ', '.join('%d %s' % (n, reason) for reason, n in self._reasons.most_common())
        top = ', '.join('%s (%d)' % item for item in self._addresses.most_common(3))
        line = self.headline.format(
            count=sum(self._reasons.values()), since=since, reasons=reasons, top='; most from %s' % top if top else ''
        )
        if self._note:
            line += '. ' + self._note
        self.logger.warning('%s', line)
        self._reasons.clear()
        self._addresses.clear()
        self._note = None
        self._last_report = now
        return line


class GuardedConnection(asyncio.Protocol):
    """One connection: aiohttp's protocol behind the guard's admission and timers."""

    def __init__(self, guard: ConnectionGuard):
        self.guard = guard
        self.inner = None  # aiohttp's protocol, made only for an admitted connection (after its TLS handshake)
        self.transport = None
        self.address = None
        self.state = IDLE
        self._timer = None
        self._early: list[bytes] = []  # with TLS: request bytes decrypted before the handshake's task resumed
        self._task = None  # with TLS: the handshake

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info('peername')
        self.address = str(peer[0]) if isinstance(peer, (tuple, list)) and peer else str(peer)
        if not self.guard.admit(self):
            transport.abort()
            return
        if self.guard.tls is not None:
            self.wait(HANDSHAKE)
            self._task = asyncio.ensure_future(self._handshake(transport))
            return
        self._serve(transport)

    def _serve(self, transport) -> None:
        self.inner = self.guard.factory()
        self.inner.connection_made(transport)
        self.wait(IDLE)
        for data in self._early:
            self.data_received(data)
        self._early = []

    async def _handshake(self, raw) -> None:
        try:
            loop = asyncio.get_running_loop()
            deadline = self.guard.header_timeout
            tls = await loop.start_tls(raw, self, self.guard.tls, server_side=True, ssl_handshake_timeout=deadline)
        except (OSError, ssl.SSLError, asyncio.TimeoutError, RuntimeError) as exc:  # start_tls has closed ``raw``
            if self in self.guard.open:
                self.guard.refuse(self, 'TLS handshake failed (%s)' % type(exc).__name__)
            return
        if self not in self.guard.open or tls is None:  # timed out (header_timeout) or closed meanwhile
            if tls is not None:
                tls.abort()
            return
        self.guard.moved(self, tls)
        self._serve(tls)

    def data_received(self, data: bytes) -> None:
        if self.inner is None:
            if self.state == HANDSHAKE:
                self._early.append(data)
            return
        if self.state == IDLE:
            self.wait(HEADERS)
        self.inner.data_received(data)

    def eof_received(self):
        return self.inner.eof_received() if self.inner is not None else None

    def connection_lost(self, exc) -> None:
        self._cancel()
        self.guard.release(self)
        if self.inner is not None:
            self.inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self.inner is not None:
            self.inner.pause_writing()

    def resume_writing(self) -> None:
        if self.inner is not None:
            self.inner.resume_writing()

    def wait(self, state: str) -> None:
        """Enter ``state``: IDLE and HEADERS run their timeout, BUSY (a request being handled) none."""
        self._cancel()
        self.state = state
        guard = self.guard
        timeout = {IDLE: guard.idle_timeout, HEADERS: guard.header_timeout, HANDSHAKE: guard.header_timeout}.get(state)
        if timeout is not None:
            self._timer = self.guard.call_later(timeout, self._expire, state)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expire(self, state: str) -> None:
        self._timer = None
        if state == HANDSHAKE:
            self.guard.refuse(self, 'TLS handshake not complete within header_timeout')
        elif state == HEADERS:
            self.guard.refuse(self, 'request headers not complete within header_timeout')
        else:
            self.guard.counts['idle_closed'] += 1
            self.transport.close()


class ConnectionGuard:
    """A protocol factory for ``loop.create_server`` around aiohttp's (``runner.server``)."""

    def __init__(
        self,
        factory: Callable[[], asyncio.Protocol] | None,
        max_connections: int,
        max_per_address: int,
        idle_timeout: float,
        header_timeout: float,
        refusals: RefusalLog,
        call_later: Callable | None = None,
        tls: ssl.SSLContext | None = None,
    ):
        self.factory = factory
        self.tls = tls
        self.max_connections = max_connections
        self.max_per_address = max_per_address
        self.idle_timeout = idle_timeout
        self.header_timeout = header_timeout
        self.refusals = refusals
        self._call_later = call_later
        self.open: collections.OrderedDict[GuardedConnection, None] = collections.OrderedDict()  # oldest first
        self.per_address: collections.Counter = collections.Counter()
        self.by_transport: dict = {}
        self.counts: collections.Counter = collections.Counter()  # admitted, refused, evicted, idle_closed

    def __call__(self) -> GuardedConnection:
        return GuardedConnection(self)

    def call_later(self, delay: float, callback, *args):
        if self._call_later is not None:
            return self._call_later(delay, callback, *args)
        return asyncio.get_running_loop().call_later(delay, callback, *args)

    def admit(self, conn: GuardedConnection) -> bool:
        if self.per_address[conn.address] >= self.max_per_address:
            self.refuse(conn, 'over max_connections_per_address')
            return False
        if len(self.open) >= self.max_connections:
            waiting = next((other for other in self.open if other.state != BUSY), None)
            if waiting is None:
                self.refuse(conn, 'over max_connections')
                return False
            self.counts['evicted'] += 1
            self.refuse(waiting, 'closed for a newer connection (max_connections)')
        self.open[conn] = None
        self.per_address[conn.address] += 1
        self.by_transport[conn.transport] = conn
        self.counts['admitted'] += 1
        return True

    def refuse(self, conn: GuardedConnection, reason: str) -> None:
        """Count the refusal; an admitted connection is also released and aborted at once."""
        self.counts['refused'] += 1
        self.refusals.count(reason, conn.address)
        if conn in self.open:
            conn.transport.abort()  # connection_lost follows, which releases it
            self.release(conn)

    def moved(self, conn: GuardedConnection, transport) -> None:
        """The connection now speaks through ``transport`` (its TLS transport, after the handshake)."""
        self.by_transport.pop(conn.transport, None)
        conn.transport = transport
        self.by_transport[transport] = conn

    def release(self, conn: GuardedConnection) -> None:
        if conn in self.open:
            del self.open[conn]
            self.per_address[conn.address] -= 1
            if not self.per_address[conn.address]:
                del self.per_address[conn.address]
            self.by_transport.pop(conn.transport, None)

    def busy(self, transport) -> None:
        """A request's headers are in (its handler starts): no timeout while it is handled (the body has its own)."""
        conn = self.by_transport.get(transport)
        if conn is not None:
            conn.wait(BUSY)

    def idle(self, transport) -> None:
        """The request was answered: the connection may wait ``idle_timeout`` for the next one."""
        conn = self.by_transport.get(transport)
        if conn is not None and conn.state == BUSY:
            conn.wait(IDLE)
