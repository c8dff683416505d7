# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Small loopback servers for answers the emulator does not give: a scripted HTTP server, a recording proxy,
and a bare TCP listener for tests that work below HTTP.

They log what reached them, so that tests assert on requests seen, never on time.
"""

from __future__ import annotations

import http.client
import http.server
import json
import selectors
import socket
import threading
import urllib.parse

HOST = '127.0.0.1'


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    owner = None  # the stand-in that serves: its handlers log to it


class _Base:
    handler = None

    def __init__(self):
        self.log = []
        self._lock = threading.Lock()
        self._server = _Server((HOST, 0), self.handler)
        self._server.owner = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name=type(self).__name__, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(30)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.stop()

    def record(self, entry):
        with self._lock:
            self.log.append(entry)

    @property
    def url(self):
        return 'http://{0}:{1}'.format(HOST, self.port)


class _ScriptedHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def _handle(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else b''
        owner = self.server.owner
        entry = dict(method=self.command, path=self.path, headers=dict(self.headers.items()), body=body)
        owner.record(entry)
        status, headers, payload = owner.answer(entry)
        if isinstance(payload, (dict, list)):
            payload = json.dumps(payload).encode('utf-8')
            headers = dict({'Content-Type': 'application/json'}, **headers)
        elif isinstance(payload, str):
            payload = payload.encode('utf-8')
        payload = payload or b''
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        if payload and self.command != 'HEAD':
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _handle


class ScriptedServer(_Base):
    """Answers every request with ``answer(entry) -> (status, headers, body)``; ``log`` holds each request.

    ``entry``: ``method``, ``path`` (as received), ``headers``, ``body`` (bytes). A dict or list body is sent as JSON.
    """

    handler = _ScriptedHandler

    def __init__(self, answer):
        super().__init__()
        self.answer = answer

    @property
    def api_url(self):
        return self.url + '/api/v1'


def _pipe(one, other):
    """Copy bytes both ways until either side closes."""
    with selectors.DefaultSelector() as selector:
        selector.register(one, selectors.EVENT_READ, other)
        selector.register(other, selectors.EVENT_READ, one)
        while True:
            for key, dummy in selector.select(timeout=60):
                try:
                    data = key.fileobj.recv(65536)
                except OSError:
                    return
                if not data:
                    return
                key.data.sendall(data)


class _ProxyHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def do_CONNECT(self):  # pylint: disable=invalid-name
        self.server.owner.record(dict(method='CONNECT', target=self.path))
        host, dummy, port = self.path.rpartition(':')
        try:
            upstream = socket.create_connection((host, int(port)), timeout=30)
        except OSError:
            self.send_error(502)
            return
        self.send_response(200, 'Connection established')
        self.end_headers()
        self.wfile.flush()
        try:
            _pipe(self.connection, upstream)
        finally:
            upstream.close()
            self.close_connection = True

    def _forward(self):
        """A plain-HTTP request in absolute form: forward it, relay the answer, close."""
        self.server.owner.record(dict(method=self.command, target=self.path))
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length) if length else None
        parts = urllib.parse.urlsplit(self.path)
        headers = {
            k: v for k, v in self.headers.items() if k.lower() not in ('proxy-connection', 'connection', 'keep-alive')
        }
        upstream = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        try:
            upstream.request(
                self.command, parts.path + ('?' + parts.query if parts.query else ''), body=body, headers=headers
            )
            answer = upstream.getresponse()
            payload = answer.read()
            self.send_response(answer.status, answer.reason)
            for name, value in answer.getheaders():
                if name.lower() not in ('connection', 'keep-alive', 'transfer-encoding', 'content-length'):
                    self.send_header(name, value)
            self.send_header('Content-Length', str(len(payload)))
            self.send_header('Connection', 'close')
            self.end_headers()
            if payload and self.command != 'HEAD':
                self.wfile.write(payload)
        finally:
            upstream.close()
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = _forward


class RecordingProxy(_Base):
    """A forward proxy (plain HTTP forwarded, HTTPS tunnelled by CONNECT); ``log`` holds ``method`` and ``target``."""

    handler = _ProxyHandler


class RawListener:
    """A bare TCP listener on 127.0.0.1; its accept thread hands each connection to ``on_connection``.

    For the tests below HTTP (a server that never answers, one that records raw bytes). A subclass sets
    ``backlog``, defines ``on_connection(connection)``, and calls ``start()`` once its own state is set.
    """

    backlog = 8

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind((HOST, 0))
        self._listener.listen(self.backlog)
        self.port = self._listener.getsockname()[1]
        self._thread = threading.Thread(target=self._accept, name=type(self).__name__, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def _accept(self):
        while True:
            try:
                connection, dummy = self._listener.accept()
            except OSError:
                return
            self.on_connection(connection)

    def on_connection(self, connection):
        raise NotImplementedError

    def close(self):
        """Stop accepting (``shutdown`` wakes the blocked ``accept``)."""
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)

    @property
    def api_url(self):
        return 'http://{0}:{1}/api/v1'.format(HOST, self.port)
