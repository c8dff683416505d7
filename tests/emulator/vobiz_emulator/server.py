"""The Emulator: lifecycle, the HTTP server on 127.0.0.1 and the request log."""

from __future__ import annotations

import copy
import http.server
import itertools
import json
import os
import random
import secrets
import selectors
import socket
import socketserver
import ssl
import sys
import tempfile
import threading
import time

from .callbacks import CallbackSender
from .config import API_PREFIX, DEFAULT_SWITCHES, HANG_GUARD_SECONDS, HOST, OWNER_POLL_SECONDS, atomic_write
from .faults import _FaultsMixin
from .handler import _Handler
from .owner import identify, is_running
from .routes import _RoutesMixin
from .state import _StateMixin


class Emulator(_StateMixin, _FaultsMixin, _RoutesMixin):
    """The Vobiz API emulator, serving HTTP (or HTTPS) on 127.0.0.1 from background threads.

    ``switches`` are the behaviour switches (see DEFAULT_SWITCHES); ``accounts`` maps further
    auth ids to a token or to ``{"token": ..., "conferences": [...]}``.

    The methods come by concern: state.py (accounts, conferences, switches), faults.py (latency, rate
    limit, fault rules), routes.py (the API actions); this file holds the lifecycle and the request log.
    """

    def __init__(
        self,
        auth_id: str = 'MA_DEMO',
        auth_token: str | None = None,
        conferences=(),
        members: int = 2,
        *,
        accounts: dict | None = None,
        tls: bool = False,
        ca_file: str | None = None,
        port: int = 0,
        idle_timeout: float | None = None,
        owner_pid: int | None = None,
        socket_timeout: float = 30.0,
        log_file: str | None = None,
        verbose: bool = False,
        **switches,
    ):
        if not isinstance(members, int) or isinstance(members, bool) or members < 0:
            raise ValueError('members must be an integer >= 0')
        self.auth_id = auth_id
        self.auth_token = auth_token if auth_token is not None else secrets.token_hex(16)
        self.members = members
        self.tls = bool(tls)
        self.ca_file = ca_file
        self.port = port
        self.idle_timeout = idle_timeout if idle_timeout else None
        # Stop once this process has ended (the test that started the emulator); raises ProcessLookupError if it has.
        self._owner = identify(owner_pid) if owner_pid else None
        self.socket_timeout = socket_timeout
        self.log_file = log_file
        self.verbose = verbose
        self.stop_reason = None
        self._lock = threading.RLock()
        self._accounts = {}
        self._member_ids = itertools.count(1)
        self._config = copy.deepcopy(DEFAULT_SWITCHES)
        self._fault_lock = threading.Lock()
        self._fault_counts = {}
        self._fault_rng = random.Random(0)
        self._jitter_rng = random.Random(0)
        self._buckets = {}
        self._log = []
        self._log_cond = threading.Condition()
        self._log_handle = None
        self._activity_lock = threading.Lock()
        self._last_activity = time.monotonic()
        self._inflight = 0
        self._server = None
        self._thread = None
        self._owns_ca_file = False
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self.callback_sender = CallbackSender(self)
        self.configure(**switches)
        self.add_account(auth_id, self.auth_token)
        for conf in conferences:
            self._add_conference_spec(conf, auth_id)
        for other_id, spec in (accounts or {}).items():
            if isinstance(spec, str):
                spec = {'token': spec}
            if (
                not isinstance(spec, dict)
                or not isinstance(spec.get('token'), str)
                or set(spec) - {'token', 'conferences'}
            ):
                raise ValueError('account %r needs {"token": str, "conferences": [...]}' % other_id)
            self.add_account(other_id, spec['token'])
            for conf in spec.get('conferences') or ():
                self._add_conference_spec(conf, other_id)

    # ----- lifecycle

    def start(self) -> Emulator:
        """Bind to 127.0.0.1 and serve from a background thread; returns self."""
        if self._server is not None:
            return self
        if self.log_file:
            self._log_handle = open(self.log_file, 'a', encoding='utf-8')
        try:
            context = self._tls_context() if self.tls else None
            server = _Server(self, context, self.port)
        except BaseException:
            self._release_files()
            raise
        self._server = server
        self.port = server.server_address[1]
        self._touch()
        self._thread = threading.Thread(target=server.serve, name='vobiz-emulator', daemon=True)
        self._thread.start()
        self.callback_sender.start()
        if self.idle_timeout:
            threading.Thread(target=self._watch_idle, name='vobiz-emulator-idle', daemon=True).start()
        if self._owner is not None:
            threading.Thread(target=self._watch_owner, name='vobiz-emulator-owner', daemon=True).start()
        return self

    def stop(self, reason: str = 'stopped') -> None:
        """Stop serving, close open connections and remove a temporary CA file (idempotent)."""
        with self._stop_lock:
            if self._server is None or self._stopped.is_set():
                return
            if self.stop_reason is None:
                self.stop_reason = reason
            server = self._server
            server.stop_serving()
            if self._thread is not None:
                self._thread.join(5)
            server.server_close()
            server.close_connections()
            self.callback_sender.stop()
            self._release_files()
            self._stopped.set()

    def _release_files(self) -> None:
        """Close the log file and remove a CA file this emulator created itself."""
        with self._log_cond:
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
        if self._owns_ca_file and self.ca_file and os.path.exists(self.ca_file):
            os.unlink(self.ca_file)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the emulator has stopped (or timeout); True when stopped."""
        return self._stopped.wait(timeout)

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._server is not None and not self._stopped.is_set()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return '%s://%s:%d' % ('https' if self.tls else 'http', HOST, self.port)

    @property
    def api_url(self) -> str:
        """The API base URL (what VOBIZ_API_URL should be set to)."""
        return self.url + API_PREFIX

    @property
    def connection_count(self) -> int:
        """How many TCP connections the server accepted so far."""
        return self._server.accepted if self._server is not None else 0

    def _tls_context(self) -> ssl.SSLContext:
        try:
            import trustme
        except ImportError:
            raise RuntimeError('TLS needs the trustme package (pip install trustme)')
        authority = trustme.CA()
        cert = authority.issue_cert(HOST, 'localhost')
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        if not self.ca_file:
            fd, self.ca_file = tempfile.mkstemp(prefix='vobiz-emulator-ca-', suffix='.pem')
            os.close(fd)
            self._owns_ca_file = True
        atomic_write(self.ca_file, authority.cert_pem.bytes())
        return context

    def _touch(self) -> None:
        with self._activity_lock:
            self._last_activity = time.monotonic()

    def _begin_request(self) -> None:
        with self._activity_lock:
            self._inflight += 1
            self._last_activity = time.monotonic()

    def _end_request(self) -> None:
        with self._activity_lock:
            self._inflight -= 1
            self._last_activity = time.monotonic()

    def _watch_idle(self) -> None:
        while not self._stopped.is_set():
            with self._activity_lock:
                remaining = self.idle_timeout - (time.monotonic() - self._last_activity)
                busy = self._inflight
            if remaining <= 0 and not busy:
                self.stop(reason='idle timeout')
                return
            self._stopped.wait(max(remaining, 0.05))

    def _watch_owner(self) -> None:
        while not self._stopped.wait(OWNER_POLL_SECONDS):
            if not is_running(self._owner):
                self.stop(reason='owner pid %d ended' % self._owner[0])
                return

    # ----- request log

    def requests(self, method: str | None = None, action: str | None = None) -> list:
        """Copies of the logged API requests, oldest first, optionally filtered."""
        with self._log_cond:
            entries = copy.deepcopy(self._log)
        if method is not None:
            entries = [entry for entry in entries if entry['method'] == method.upper()]
        if action is not None:
            entries = [entry for entry in entries if entry['action'] == action]
        return entries

    def clear_log(self) -> None:
        """Forget all logged requests (sequence numbers start again at 1)."""
        with self._log_cond:
            self._log = []

    def wait_for_log(self, count: int, timeout: float = HANG_GUARD_SECONDS) -> bool:
        """Block until at least ``count`` requests are logged; False on timeout."""
        with self._log_cond:
            return self._log_cond.wait_for(lambda: len(self._log) >= count, timeout)

    def _record(self, entry: dict) -> None:
        with self._log_cond:
            entry['seq'] = len(self._log) + 1
            self._log.append(entry)
            self._log_cond.notify_all()
            line = json.dumps(entry)
            if self._log_handle is not None:
                self._log_handle.write(line + '\n')
                self._log_handle.flush()
        if self.verbose:
            sys.stderr.write(
                '%s %s -> %s%s\n'
                % (
                    entry['method'],
                    entry['raw_path'],
                    entry['status'],
                    ' [%s]' % entry['fault'] if entry['fault'] else '',
                )
            )
            sys.stderr.flush()

    def _update_entry(self, entry: dict, **fields) -> None:
        """Add fields to a logged entry after the fact (the trickle and huge_body faults' bytes written)."""
        with self._log_cond:
            entry.update(fields)
            self._log_cond.notify_all()


class _Server(http.server.ThreadingHTTPServer):
    """Thread-per-connection server bound to 127.0.0.1, optionally wrapping connections in TLS."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, emulator: Emulator, ssl_context: ssl.SSLContext | None, port: int):
        self.emulator = emulator
        self.ssl_context = ssl_context
        self.socket_timeout = emulator.socket_timeout
        self.accepted = 0
        self._connections = set()
        self._connections_lock = threading.Lock()
        self._closing = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            super().__init__((HOST, port), _Handler)
        except BaseException:
            self._wake_reader.close()
            self._wake_writer.close()
            raise

    def serve(self):
        """Accept connections until stop_serving(); unlike serve_forever() it stops at once, without polling."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._closing.is_set():
                for key, dummy in selector.select():
                    if key.fileobj is self and not self._closing.is_set():
                        self._handle_request_noblock()

    def stop_serving(self):
        """Make serve() return (from any thread)."""
        self._closing.set()
        try:
            self._wake_writer.send(b'x')
        except OSError:
            pass

    def server_close(self):
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self):
        """Bind without the reverse DNS lookup HTTPServer does."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: TLS handshake, then the handler."""
        with self._connections_lock:
            self.accepted += 1
        request.settimeout(self.socket_timeout)
        connection = request
        if self.ssl_context is not None:
            try:
                connection = self.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                return
        with self._connections_lock:
            self._connections.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            if connection is not request:
                try:
                    connection.close()
                except OSError:
                    pass

    def close_connections(self):
        """Shut down every open connection, so no handler thread outlives the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """Connection-level errors (resets, TLS failures) are normal here; report only when verbose."""
        if self.emulator.verbose:
            super().handle_error(request, client_address)
