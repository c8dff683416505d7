# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _transport: the session and its pool, one attempt within ``timeout`` and the size cap, urllib3's
errors, TLS; and the client's requests byte for byte against golden bytes captured from release 0.1.0's client.

The golden bytes: a loopback socket server records the raw bytes of each kind of request the client sends. The API
URL names a fixed host and port; the test routes every connection to the loopback server, so the Host header and
every other byte are the same on every run. The one value that differs between environments is requests' default
``Accept-Encoding`` (it lists ``br``/``zstd`` when those decoders are installed): the golden file holds a placeholder
for it, filled in from requests.
"""

import base64
import json
import os
import threading

import pytest
import requests

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api, _errors, _transport
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizTLSError
from ansible_collections.vobiz.voice.tests.emulator.stand_ins import RawListener
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator
from ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.helpers import make_client
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID, PREFIX, TOKEN


def test_session_pool_headers_and_no_urllib3_retries(emulator):
    client = make_client(emulator, parallel=7)
    adapter = client._transport._session.get_adapter(emulator.api_url)
    assert adapter._pool_maxsize == 7
    assert adapter.max_retries.total == 0
    assert adapter.max_retries.read is False
    assert (
        client._transport._session.get_adapter('https://api.vobiz.ai') is adapter
        or client._transport._session.get_adapter('https://api.vobiz.ai').max_retries.total == 0
    )
    headers = client._transport._session.headers
    assert headers['X-Auth-ID'] == AUTH_ID
    assert headers['X-Auth-Token'] == TOKEN
    assert headers['Content-Type'] == 'application/json'
    assert TOKEN not in repr(client)


def test_keep_alive_connections_are_reused(emulator):
    client = make_client(emulator, parallel=4)
    names = ['room-%d' % i for i in range(40)]
    for name in names:
        emulator.add_conference(name)
    outcomes = client.run_concurrently(client.hangup, names)
    assert [o.name for o in outcomes] == names
    assert all(o.outcome == 'hung_up' for o in outcomes)
    assert emulator.connection_count <= 4
    assert emulator.live_names() == []


def test_requests_missing_is_reported(monkeypatch):
    monkeypatch.setattr(_transport, 'HAS_REQUESTS', False)
    with pytest.raises(_errors.VobizError) as info:
        ConferenceApi(AUTH_ID, TOKEN)
    assert 'requests' in str(info.value)


def test_tls_with_ca_path():
    with Emulator(auth_id=AUTH_ID, auth_token=TOKEN, conferences=['r'], tls=True) as emu:
        client = make_client(emu, ca_path=emu.ca_file)
        assert client.hangup('r').outcome == 'hung_up'
        with pytest.raises(VobizTLSError) as info:
            make_client(emu).hangup('x')
        assert 'ca_path' in str(info.value)
        assert len(emu.requests()) == 1
        assert make_client(emu, validate_certs=False).hangup('x').outcome == 'already_absent'


def test_trickled_body_ends_the_attempt_at_the_timeout(emulator):
    """``timeout`` bounds a whole attempt: at 1 byte / 0.2 s and timeout 1, about 5 bytes arrive, not 60 (a timeout per
    read would never fire). How many exactly depends on the machine's speed, so less than half is asserted."""
    emulator.add_conference('room')
    emulator.configure(faults=[{'kind': 'trickle', 'interval': 0.2, 'size': 60, 'method': 'DELETE', 'first_n': 1}])
    client = make_client(emulator, timeout=1, retries=1)
    outcome = client.hangup('room', seen_live=True)
    log = emulator.requests()
    assert [e['fault'] for e in log] == ['trickle', None] and log[1]['status'] == 404
    for dummy in range(
        12000
    ):  # the emulator notes the bytes it wrote once the client has hung up (the bound ends a hang)
        if 'bytes_written' in emulator.requests()[0]:
            break
        threading.Event().wait(0.025)
    trickled = emulator.requests()[0]
    assert trickled['client_hung_up'] is True
    assert 1 <= trickled['bytes_written'] < trickled['body_size'] // 2
    assert len(trickled['write_times']) == trickled['bytes_written']
    # The first attempt hung the room (seen live) up; its answer never arrived in full, so the 404 on the retry is this
    # run's doing.
    assert outcome.outcome == _conference_api.OUTCOME_HUNG_UP and outcome.ambiguous and outcome.attempts == 2
    assert any('no complete reply within 1 s' in w for w in client.warnings)


def _urlopen_errors():
    """What urllib3's ``urlopen`` raises (no urllib3 retries), and how the client must read each one."""
    import ssl

    from urllib3 import exceptions as low

    refused = low.NewConnectionError(None, 'Failed to establish a new connection: [Errno 111] Connection refused')
    cert = low.SSLError(ssl.SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed'))
    return [
        # (error, reason starts with, maybe sent, retryable, fatal)
        (low.MaxRetryError(None, '/x/', refused), 'connection failed', False, True, False),
        (
            low.MaxRetryError(None, '/x/', low.ConnectTimeoutError(None, 'connect timed out')),
            'connect timeout',
            False,
            True,
            False,
        ),
        (
            low.MaxRetryError(None, '/x/', low.ProxyError('Unable to connect to proxy', OSError('refused'))),
            'proxy error',
            False,
            True,
            False,
        ),
        (low.MaxRetryError(None, '/x/', cert), 'TLS certificate verification failed', False, False, True),
        (
            low.ProtocolError('Connection aborted.', ConnectionResetError(104, 'Connection reset by peer')),
            'connection lost before the reply',
            True,
            True,
            False,
        ),
        (ConnectionResetError(104, 'Connection reset by peer'), 'connection lost before the reply', True, True, False),
        (low.ReadTimeoutError(None, '/x/', 'Read timed out.'), 'no reply within', True, True, False),
    ]


@pytest.mark.parametrize('error, reason, maybe_sent, retryable, fatal', _urlopen_errors())
def test_urlopen_errors_are_read_as_requests_maps_them(error, reason, maybe_sent, retryable, fatal):
    """The client calls urllib3's ``urlopen`` itself: its errors still mean what they meant through ``requests``."""
    client = ConferenceApi(AUTH_ID, TOKEN, api_url='http://127.0.0.1:9/api/v1')
    mapped = _transport._as_send_error(error)
    got = client._transport.classify(mapped)
    assert got[0].startswith(reason), got[0]
    assert got[1:] == (maybe_sent, retryable, fatal)


def test_urlopen_errors_requests_does_not_map_stay_as_they_are():
    assert _transport._as_send_error(RuntimeError('boom')) is None


@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_redirect_is_not_followed(scripted, status):
    """Defect: redirects followed. A 3xx to another path is reported as a failure, and nothing else is sent."""

    def answer(entry):
        if entry['path'].endswith('/Elsewhere/'):
            return 204, {}, b''
        return status, {'Location': server.url + PREFIX + 'Elsewhere/'}, b''

    server = scripted(answer)
    client = make_client(server.api_url)
    outcome = client.hangup('Board Room')
    assert [(e['method'], e['path']) for e in server.log] == [('DELETE', PREFIX + 'Board%20Room/')]
    assert outcome.outcome == 'failed' and outcome.status == status


GOLDEN = os.path.join(os.path.dirname(__file__), 'fixtures', 'wire_golden.json')


WIRE_API_URL = 'http://vobiz.test:8080/api/v1'


WIRE_AUTH_ID = 'MA_WIRE'


WIRE_TOKEN = 'wire-token-0123456789'


ACCEPT_ENCODING_PLACEHOLDER = b'<requests.utils.DEFAULT_ACCEPT_ENCODING>'


ANSWER = b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}'


NOT_FOUND_BODY = b'{"error": "conference not found"}'  # the API's own 404, not the gateway's


# What the server answers to a request for the room named "set-cookie": later requests carry the cookie.
COOKIE_ANSWER = (
    b'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n'
    b'Set-Cookie: lb=node7; Path=/\r\nContent-Length: %d\r\n\r\n%s'
    % (
        len(NOT_FOUND_BODY),
        NOT_FOUND_BODY,
    )
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
    for key in (
        'HTTP_PROXY',
        'http_proxy',
        'HTTPS_PROXY',
        'https_proxy',
        'ALL_PROXY',
        'all_proxy',
        'NO_PROXY',
        'no_proxy',
    ):
        monkeypatch.delenv(key, raising=False)
    return _conference_api.ConferenceApi(WIRE_AUTH_ID, WIRE_TOKEN, api_url=WIRE_API_URL, parallel=1, retries=0), server


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
    # python -m ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.test__transport
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
