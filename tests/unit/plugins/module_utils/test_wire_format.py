# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The client's requests, byte for byte, against golden bytes captured from release 0.1.0's client.

A loopback socket server records the raw bytes of each kind of request the client sends. The API URL
names a fixed host and port; the test routes every connection to the loopback server, so the Host
header and every other byte are the same on every run. The one value that differs between
environments is requests' default ``Accept-Encoding`` (it lists ``br``/``zstd`` when those
decoders are installed): the golden file holds a placeholder for it, filled in from requests.
"""

import base64
import json
import os
import threading

import pytest
import requests

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api
from ansible_collections.vobiz.voice.tests.emulator.stand_ins import RawListener

GOLDEN = os.path.join(os.path.dirname(__file__), 'fixtures', 'wire_golden.json')
API_URL = 'http://vobiz.test:8080/api/v1'
AUTH_ID = 'MA_WIRE'
TOKEN = 'wire-token-0123456789'
ACCEPT_ENCODING_PLACEHOLDER = b'<requests.utils.DEFAULT_ACCEPT_ENCODING>'
ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'
NOT_FOUND_BODY = b'{"error": "conference not found"}'  # the API's own 404, not the gateway's
# What the server answers to a request for the room named "set-cookie": later requests carry the cookie.
COOKIE_ANSWER = b'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nSet-Cookie: lb=node7; Path=/\r\nContent-Length: %d\r\n\r\n%s' % (
    len(NOT_FOUND_BODY),
    NOT_FOUND_BODY,
)


class RecordingServer(RawListener):
    """Accepts loopback connections and records each request's raw bytes (head and body)."""

    def __init__(self):
        super().__init__()
        self.requests = []
        self._lock = threading.Lock()
        self.start()

    def on_connection(self, connection):
        threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, conn):
        buffer = b''
        with conn:
            while True:
                while b'\r\n\r\n' not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _sep, rest = buffer.partition(b'\r\n\r\n')
                length = 0
                for line in head.split(b'\r\n')[1:]:
                    key, _colon, value = line.partition(b':')
                    if key.strip().lower() == b'content-length':
                        length = int(value.strip())
                while len(rest) < length:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    rest += chunk
                with self._lock:
                    self.requests.append(head + b'\r\n\r\n' + rest[:length])
                buffer = rest[length:]
                conn.sendall(COOKIE_ANSWER if b'/Conference/set-cookie/ ' in head else ANSWER)


def open_wire(monkeypatch):
    """(client, server): the client's connections to vobiz.test:8080 all reach the recording server."""
    import urllib3.util.connection

    server = RecordingServer()
    real_create_connection = urllib3.util.connection.create_connection

    def to_loopback(address, *args, **kwargs):
        assert address == ('vobiz.test', 8080), address
        return real_create_connection(('127.0.0.1', server.port), *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, 'create_connection', to_loopback)
    for key in ('HTTP_PROXY', 'http_proxy', 'HTTPS_PROXY', 'https_proxy', 'ALL_PROXY', 'all_proxy', 'NO_PROXY', 'no_proxy'):
        monkeypatch.delenv(key, raising=False)
    return _conference_api.ConferenceApi(AUTH_ID, TOKEN, api_url=API_URL, parallel=1, retries=0), server


@pytest.fixture
def wire(monkeypatch):
    client, server = open_wire(monkeypatch)
    try:
        yield client, server
    finally:
        client.close()
        server.close()


def send_each_kind(client):
    """One request of each kind the modules send; returns the kinds in order."""
    client.hangup('room one')
    client.list_names()
    client.retrieve('room/two')
    client.member_action('POST', 'room one', ['10', '15'], action='Speak', body={'text': 'bye', 'voice': 'WOMAN'})
    client.member_action('DELETE', 'room one', 'all')
    client.hangup_all()
    client.member_action('POST', 'room one', '10', action='Mute', body={})
    client.retrieve('set-cookie')
    client.hangup('room three')
    client.retrieve('room four')
    return [
        'hangup',
        'list',
        'retrieve',
        'member_speak_post',
        'member_hangup_delete',
        'hangup_all',
        'member_mute_post',
        'retrieve_setting_a_cookie',
        'hangup_with_cookie',
        'retrieve_with_cookie',
    ]


def captured(client, server):
    kinds = send_each_kind(client)
    assert len(server.requests) == len(kinds)
    return dict(zip(kinds, server.requests))


def test_requests_are_byte_identical_to_the_golden_capture(wire):
    client, server = wire
    with open(GOLDEN) as handle:
        golden = json.load(handle)
    got = captured(client, server)
    assert sorted(got) == sorted(golden)
    accept_encoding = requests.utils.DEFAULT_ACCEPT_ENCODING.encode('ascii')
    for kind, raw in got.items():
        assert raw == base64.b64decode(golden[kind]).replace(ACCEPT_ENCODING_PLACEHOLDER, accept_encoding), kind


def test_repeated_requests_stay_identical(wire):
    """What the client reuses between requests (per host) must not leak from one request into the next."""
    client, server = wire
    client._transport._session.cookies.clear()
    first = captured(client, server)
    del server.requests[:]
    client._transport._session.cookies.clear()
    assert captured(client, server) == first


if __name__ == '__main__':  # pragma: no cover
    # Regenerate the golden file (only from a client whose wire format is known good):
    # python -m ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.test_wire_format
    import _pytest.monkeypatch

    patcher = _pytest.monkeypatch.MonkeyPatch()
    capture_client, capture_server = open_wire(patcher)
    header = b'\r\nAccept-Encoding: %s\r\n' % requests.utils.DEFAULT_ACCEPT_ENCODING.encode('ascii')
    result = {}
    for capture_kind, capture_raw in captured(capture_client, capture_server).items():
        assert capture_raw.count(header) == 1
        capture_raw = capture_raw.replace(header, b'\r\nAccept-Encoding: %s\r\n' % ACCEPT_ENCODING_PLACEHOLDER)
        result[capture_kind] = base64.b64encode(capture_raw).decode('ascii')
    with open(GOLDEN, 'w') as out:
        json.dump(result, out, indent=1, sort_keys=True)
        out.write('\n')
    patcher.undo()
