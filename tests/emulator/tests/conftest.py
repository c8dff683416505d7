"""Helpers for the emulator's own tests: a real-socket HTTP client bound to the ``emulator`` fixture."""

from __future__ import annotations

import http.client
import socket
import urllib.parse

import pytest
import requests

# pytest finds fixtures by their names in a conftest module, so importing them is how they are shared.
from ansible_collections.vobiz.voice.tests.emulator.pytest_fixtures import emulator, make_emulator  # noqa: F401  pylint: disable=unused-import
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import HANG_GUARD_SECONDS as GUARD


class ApiClient:
    """Talks to an Emulator over real sockets.

    ``call`` uses requests (as the collection does); ``raw`` uses http.client, which sends the
    request target exactly as given (requests would re-quote some escapes such as ``%2E``).
    """

    def __init__(self, emu):
        self.emu = emu
        self.session = requests.Session()
        self.headers = {'X-Auth-ID': emu.auth_id, 'X-Auth-Token': emu.auth_token}

    def path(self, *parts, auth_id=None) -> str:
        """/api/v1/Account/{auth_id}/Conference/ followed by the fully encoded parts, with a trailing slash."""
        segments = ['api', 'v1', 'Account', auth_id or self.emu.auth_id, 'Conference']
        segments += [urllib.parse.quote(str(part), safe='') for part in parts]
        return '/' + '/'.join(segments) + '/'

    def call(self, method, *parts, auth_id=None, headers=None, auth=True, timeout=GUARD, **kwargs) -> requests.Response:
        """One API request on Conference/{parts...}/ with the account's credentials."""
        all_headers = dict(self.headers) if auth else {}
        all_headers.update(headers or {})
        return self.session.request(
            method, self.emu.url + self.path(*parts, auth_id=auth_id), headers=all_headers, timeout=timeout, **kwargs
        )

    def raw(self, method, target, body=None, headers=None, auth=True, timeout=GUARD):
        """Send ``target`` byte for byte on a fresh connection; returns (status, headers, body bytes)."""
        conn = http.client.HTTPConnection('127.0.0.1', self.emu.port, timeout=timeout)
        try:
            all_headers = dict(self.headers) if auth else {}
            all_headers.update(headers or {})
            conn.request(method, target, body=body, headers=all_headers)
            response = conn.getresponse()
            return response.status, response.headers, response.read()
        finally:
            conn.close()

    def raw_bytes(self, data: bytes, timeout: float = GUARD) -> bytes:
        """Send raw bytes on a new connection and read until the server closes it."""
        chunks = []
        with socket.create_connection(('127.0.0.1', self.emu.port), timeout=timeout) as sock:
            try:
                sock.sendall(data)
                while True:
                    chunk = sock.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
            except (ConnectionResetError, BrokenPipeError):
                pass  # the server may refuse the rest of an oversized request
        return b''.join(chunks)

    def control(self, method, name, **kwargs) -> requests.Response:
        """A request to a control endpoint, /_emulator{name}."""
        kwargs.setdefault('timeout', GUARD)
        return self.session.request(method, self.emu.url + '/_emulator' + name, **kwargs)


@pytest.fixture
def api(emulator):  # noqa: F811  (the fixture imported above, by name)
    """An ApiClient for the ``emulator`` fixture."""
    client = ApiClient(emulator)
    try:
        yield client
    finally:
        client.session.close()


@pytest.fixture
def client_for():
    """Factory: an ApiClient for any emulator (e.g. one from make_emulator)."""
    clients = []

    def factory(emu):
        client = ApiClient(emu)
        clients.append(client)
        return client

    try:
        yield factory
    finally:
        for client in clients:
            client.session.close()
