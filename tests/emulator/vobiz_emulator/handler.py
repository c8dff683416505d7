"""The connection handler: reads requests, applies the gateway (latency, rate limit, faults) and answers."""

from __future__ import annotations

import http.server
import socket
import struct
import time
from typing import TYPE_CHECKING

from .config import CONTROL_PREFIX, DRAIN_LIMIT, MAX_BODY, TRICKLE_PAD_DEFAULT, __version__, utc_now
from .control import _ControlMixin
from .reply import Reply, parse_json_body
from .routes import Route, parse_api_path

if TYPE_CHECKING:
    from .server import Emulator


class _Handler(_ControlMixin, http.server.BaseHTTPRequestHandler):
    """One connection; requests are dispatched to the API or to the control endpoints."""

    protocol_version = 'HTTP/1.1'
    server_version = 'VobizEmulator/' + __version__
    sys_version = ''
    # one send per reply (buffered writer, flushed once) and no Nagle delay: no 40 ms delayed-ACK stalls
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    _linger = False

    def setup(self):
        self.timeout = self.server.socket_timeout
        super().setup()

    def handle_expect_100(self):
        """Send "100 Continue" at once (the writer is buffered)."""
        result = super().handle_expect_100()
        self.wfile.flush()
        return result

    def log_message(self, format, *args):
        """Silence the default per-request stderr lines (the emulator keeps its own log)."""

    def do_GET(self):
        """Every method goes through the same dispatcher."""
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self):
        emulator = self.server.emulator
        emulator._begin_request()
        try:
            words = self.requestline.split()
            target = words[1] if len(words) >= 2 else self.path
            path = target.split('?', 1)[0]
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + '/'):
                self._control(emulator, target)
            else:
                self._api(emulator, target)
        finally:
            emulator._end_request()

    # ----- body and reply helpers

    def _read_body(self):
        """Return (body bytes, None) or (None, (status, message)); never reads more than DRAIN_LIMIT."""
        encoding = self.headers.get('Transfer-Encoding', '')
        if 'chunked' in encoding.lower():
            return self._read_chunked()
        length = self.headers.get('Content-Length')
        if length is None:
            return b'', None
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = self._linger = True
            return None, (400, 'invalid Content-Length')
        if size > MAX_BODY:
            self.close_connection = self._linger = True
            if size <= DRAIN_LIMIT:
                self._drain(size)
            return None, (413, 'the request body is larger than %d bytes' % MAX_BODY)
        return self.rfile.read(size), None

    def _drain(self, size):
        try:
            while size > 0:
                chunk = self.rfile.read(min(size, 65536))
                if not chunk:
                    return
                size -= len(chunk)
        except OSError:
            return

    def _read_chunked(self):
        data = bytearray()
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                break
            try:
                size = int(line.split(b';', 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = self._linger = True
                return None, (400, 'invalid chunked encoding')
            if size == 0:
                while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                    pass
                break
            total += size
            if total > DRAIN_LIMIT:
                self.close_connection = self._linger = True
                return None, (413, 'the request body is larger than %d bytes' % MAX_BODY)
            chunk = self.rfile.read(size)
            self.rfile.readline(1024)
            if total <= MAX_BODY:
                data += chunk
        if total > MAX_BODY:
            self.close_connection = True
            return None, (413, 'the request body is larger than %d bytes' % MAX_BODY)
        return bytes(data), None

    def _send(self, reply: Reply) -> None:
        body = reply.body_bytes()
        try:
            self.send_response(reply.status)
            if reply.status != 204:
                self.send_header('Content-Type', reply.content_type)
                self.send_header('Content-Length', str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header('Connection', 'close')
            self.end_headers()
            if body and self.command != 'HEAD' and reply.status != 204:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        if self._linger:
            self._linger_close()

    # ----- hostile replies (faults)

    def _send_head(self, status: int, content_type: str, length: int | None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if length is not None:
            self.send_header('Content-Length', str(length))
        else:
            self.close_connection = True  # the body ends when the connection does
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.flush()

    def _send_trickle(self, emulator: Emulator, entry: dict, reply: Reply, rule: dict) -> None:
        """The real reply, its body written one byte every ``interval`` seconds; logs the bytes written."""
        body = reply.body_bytes()
        status = reply.status
        if not body:  # a 204 has nothing to trickle: answer 200 with an empty JSON object padded with spaces
            status, body = 200, b'{}'.ljust(rule['size'] if rule['size'] is not None else TRICKLE_PAD_DEFAULT)
        self.close_connection = True
        written = 0
        times = []
        hung_up = False
        try:
            self._send_head(status, reply.content_type, len(body) if rule['declare_length'] else None)
            for index in range(len(body)):
                if index:
                    time.sleep(rule['interval'])
                self.connection.sendall(body[index : index + 1])
                written += 1
                times.append(utc_now())
        except OSError:
            hung_up = True
        if not hung_up:
            hung_up = self._client_gone()
        emulator._update_entry(
            entry, status=status, bytes_written=written, body_size=len(body), write_times=times, client_hung_up=hung_up
        )

    def _send_huge(self, emulator: Emulator, entry: dict, reply: Reply, rule: dict | None) -> None:
        """``reply.huge`` bytes of a JSON-looking error text, generated chunk by chunk; logs the bytes written."""
        size = reply.huge
        declare = rule['declare_length'] if rule is not None else True
        chunk = (b'{"error": "' + b'x' * 65536)[:65536]
        written = 0
        hung_up = False
        self.close_connection = True
        try:
            self._send_head(reply.status, 'application/json', size if declare else None)
            while written < size:
                piece = chunk[: min(len(chunk), size - written)]
                if written:
                    piece = b'x' * len(piece)
                self.connection.sendall(piece)
                written += len(piece)
        except OSError:
            hung_up = True
        emulator._update_entry(entry, bytes_written=written, body_size=size, client_hung_up=hung_up)

    def _client_gone(self) -> bool:
        """After the reply: did the client close its end (EOF or reset) rather than keep the connection?"""
        raw = self.connection
        try:
            raw.settimeout(0.5)
            return socket.socket.recv(raw, 1, socket.MSG_PEEK) == b''
        except socket.timeout:
            return False
        except OSError:
            return True

    def _reset_connection(self) -> None:
        """Close with a TCP reset (SO_LINGER 0) instead of an orderly close."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            socket.socket.close(self.connection)
        except OSError:
            pass

    def _linger_close(self):
        """Half-close, then discard what the client still sends (bounded), so it reads our answer instead of a reset."""
        raw = self.connection
        try:
            socket.socket.shutdown(raw, socket.SHUT_WR)
            raw.settimeout(min(self.server.socket_timeout, 2.0))
            left = DRAIN_LIMIT
            while left > 0:
                chunk = socket.socket.recv(raw, min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    # ----- API requests

    def _api(self, emulator: Emulator, target: str) -> None:
        method = self.command
        entry = {
            'seq': None,
            'time': utc_now(),
            'method': method,
            'raw_path': target,
            'auth_id': self.headers.get('X-Auth-ID'),
            'conference': None,
            'member': None,
            'action': None,
            'status': None,
            'fault': None,
            'body': None,
        }
        reply = None
        rule = None
        send = True
        try:
            cfg = emulator.config
            route = parse_api_path(target)
            if route.kind == 'api' and not route.slash and cfg['trailing_slash'] == 'reject':
                route = Route('not_found')
            if route.kind in ('api', 'lowercase'):
                entry.update(
                    auth_id=route.auth_id,
                    conference=route.conference,
                    member=route.member,
                    action=route.actions.get(method, 'method_not_allowed'),
                )
            else:
                entry['action'] = 'not_found' if route.kind == 'not_found' else 'bad_path'
            try:
                raw, read_error = self._read_body()
            except OSError:  # the client stalled or vanished mid-body: nobody to answer
                self.close_connection = True
                emulator._record(entry)
                return
            if read_error:
                reply = emulator._error(read_error[0], read_error[1], cfg)
            else:
                body, body_error = parse_json_body(raw)
                entry['body'] = body
                emulator._sleep_latency(cfg)
                retry = emulator._take_token(self.headers.get('X-Auth-ID') or '', cfg['rate_limit'])
                rule = None
                if retry is not None:
                    entry['fault'] = 'rate_limit'
                    reply = emulator._error(429, 'rate limit exceeded', cfg, {'Retry-After': str(retry)})
                else:
                    rule = emulator._pick_fault(
                        cfg, method, target.split('?', 1)[0], route.conference, route.actions.get(method)
                    )
                kind = rule['kind'] if rule else None
                if kind:
                    entry['fault'] = kind
                if kind in ('drop', 'reset'):
                    send = False
                elif kind == 'other_conference' and route.actions.get(method) == 'retrieve':
                    reply = emulator._other_conference_reply(route, cfg)
                elif kind is not None and kind not in ('slow', 'lost_reply', 'trickle', 'other_conference'):
                    if rule['processed']:  # the API acts, then the gateway in front of it answers the error
                        emulator._process(method, route, self.headers, body, body_error, cfg)
                    reply = emulator._fault_reply(rule, cfg, self.headers)
                elif reply is None:
                    if kind == 'slow':
                        time.sleep(rule['delay'])
                    reply = emulator._process(method, route, self.headers, body, body_error, cfg)
                    if kind == 'lost_reply':
                        send = False
        except Exception as exc:  # the emulator must keep serving whatever happens
            reply = emulator._error(500, 'internal emulator error: %s' % type(exc).__name__)
            send = True
            self.close_connection = True
        # log first: a client that has its answer (or a closed connection) must find the entry
        if send and reply is not None:
            entry['status'] = reply.status
            emulator._record(entry)
            if entry['fault'] == 'trickle' and rule is not None:
                self._send_trickle(emulator, entry, reply, rule)
            elif reply.huge is not None:
                self._send_huge(emulator, entry, reply, rule)
            else:
                self._send(reply)
        else:
            self.close_connection = True
            emulator._record(entry)
            if entry['fault'] == 'reset':
                self._reset_connection()
