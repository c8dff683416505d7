"""Unit tests of the event source's HTTP entry (extensions/eda/plugins/event_source/conference_callbacks.py): it loads
the way ansible-rulebook loads it, answers over real sockets, and keeps its connections bounded.

The listener runs on an event loop in a background thread; the tests are its clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import resource
import runpy
import socket
import sys
import threading
import time
import urllib.parse

import pytest
import requests
import yaml

from ansible_collections.vobiz.voice.extensions.eda.plugins.event_source import conference_callbacks as source
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import (
    PARENT,
    TOKEN,
    URL,
    enter,
    sign,
    v3_headers,
)

PATH = '/vobiz/conference'


def test_it_loads_as_ansible_rulebook_loads_it(monkeypatch):
    """ansible-rulebook: runpy.run_path(file), outside any package; the units come in by path."""
    # ansible-rulebook's process has no ansible-core collection loader, whose path hook would make runpy take the file
    # for a package directory: run without it, as there.
    monkeypatch.setattr(sys, 'path_hooks', [hook for hook in sys.path_hooks if 'collection' not in repr(hook).lower()])
    monkeypatch.setattr(sys, 'path_importer_cache', {})
    module = runpy.run_path(source.__file__)
    assert asyncio.iscoroutinefunction(module['main'])
    assert module['units'].__name__ == source.UNITS and module['units'].CallbackService.__name__ == 'CallbackService'


def test_the_documented_options_are_the_arguments_with_their_defaults():
    settings = source.units.settings
    documented = yaml.safe_load(source.DOCUMENTATION)['options']
    options = set(settings.NUMBERS) | set(settings.TEXTS) | set(settings.LISTS) | set(settings.FLAGS)
    lists = set(settings.LISTS) | set(settings.SCHEDULES) | set(settings.CALLER_LISTS)
    assert set(documented) == options | lists | {'blocked_action'}
    assert documented['blocked_action']['choices'] == list(settings.BLOCKED_ACTIONS)
    defaults = {name: spec[0] for name, spec in settings.NUMBERS.items() if spec[0] is not None}
    defaults.update(settings.FLAGS, health_path=settings.HEALTH_PATH, blocked_action=settings.BLOCKED_ACTIONS[0])
    assert {name: documented[name].get('default') for name in documented if 'default' in documented[name]} == defaults
    assert {name for name, option in documented.items() if option['type'] == 'raw'} == set(settings.DURATIONS)
    assert {name for name, option in documented.items() if option['type'] == 'list'} == lists
    keys = {'description', 'type', 'default', 'required', 'elements', 'choices'}
    assert all(set(option) <= keys for option in documented.values())


class Listener:
    """``start_listener`` on a loop of its own thread; ``call(coroutine)`` runs one there."""

    def __init__(self, **args):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        args = dict({'port': 0, 'host': '127.0.0.1', 'public_url': URL, 'keep_state': False}, **args)
        self.service = self.call(self._make_service(args))
        self.server, self.runner, self.guard = self.call(source.start_listener(self.service))
        self.port = self.server.sockets[0].getsockname()[1]

    async def _make_service(self, args):
        return source.units.CallbackService(source.units.parse_args(args, environ={'VOBIZ_AUTH_TOKEN': TOKEN}))

    def call(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def url(self, path=PATH):
        return '%s://127.0.0.1:%d%s' % ('https' if self.service.settings.certfile else 'http', self.port, path)

    def events(self):
        return [event['vobiz'] for event in self.service.pending]

    def stop(self):
        async def close():
            self.server.close()
            await self.runner.cleanup()

        self.call(close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()
        self.loop.close()


@pytest.fixture
def listener():
    started = []

    def start(**args):
        started.append(Listener(**args))
        return started[-1]

    yield start
    for one in started:
        one.stop()


def post(listener, headers, fields=None, path=PATH, data=None, **tls):
    body = data if data is not None else fields or {}
    response = requests.post(listener.url(path), headers=headers, data=body, timeout=60, **tls)
    return response.status_code


def test_a_good_callback_is_answered_204_and_emitted(listener):
    served = listener()
    assert post(served, v3_headers('h-1'), enter('Board Room', '11', first=True)) == 204
    [event] = served.events()
    assert (event['type'], event['action'], event['conference_name'], event['members'], event['signature']) == (
        'callback',
        'enter',
        'Board Room',
        1,
        'v3',
    )


def test_unsigned_forged_replayed_and_nonce_less_callbacks_emit_nothing(listener):
    served = listener()
    assert post(served, {}, enter('r', '1', first=True)) == 401
    assert (
        post(served, {'X-Vobiz-Signature-V3': sign(TOKEN, URL + '.')}, enter('r', '1', first=True)) == 401
    )  # no nonce header
    assert post(served, v3_headers('h-2', token='forged'), enter('r', '1', first=True)) == 403
    assert post(served, v3_headers('h-3'), enter('r', '1', first=True)) == 204
    assert post(served, v3_headers('h-3'), enter('r', '2')) == 403
    assert [event['member_id'] for event in served.events()] == ['1']
    assert served.service.refusals.total == {
        'no signature this source can verify (401)': 1,
        'X-Vobiz-Signature-V3 without X-Vobiz-Signature-V3-Nonce (401)': 1,
        'invalid X-Vobiz-Signature-V3 (403)': 1,
        'replayed nonce (403)': 1,
    }


def test_other_paths_and_large_bodies_are_refused_without_using_a_nonce(listener):
    served = listener(max_body=2048)
    assert post(served, v3_headers('h-4'), enter('r', '1'), path='/other') == 404
    assert post(served, v3_headers('h-5'), data='ConferenceName=' + 'x' * 4096) == 413
    assert served.events() == [] and not served.service.nonces.seen('h-4')


def raw_connection(port, source_address='127.0.0.1'):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((source_address, 0))
    sock.connect(('127.0.0.1', port))
    return sock


def read_all(sock):
    chunks = []
    with contextlib.suppress(ConnectionResetError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b''.join(chunks)


def test_slow_headers_and_slow_bodies_are_cut_off(listener):
    served = listener(header_timeout=0.2, body_timeout=0.2)
    slow_headers = raw_connection(served.port)
    slow_headers.sendall(b'POST /vobiz/conference HTTP/1.1\r\nHost: x\r\n')  # and never the end of the headers
    headers = v3_headers('h-6')
    head = (
        'POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n'
        % PATH
    )
    head += ''.join('%s: %s\r\n' % item for item in headers.items()) + '\r\n'
    slow_body = raw_connection(served.port)
    slow_body.sendall(head.encode() + b'ConferenceName=a')  # 16 of the 100 bytes announced
    assert read_all(slow_headers) == b''  # closed by the server without an answer
    assert read_all(slow_body).startswith(b'HTTP/1.1 408')
    assert served.service.refusals.total == {
        'request headers not complete within header_timeout': 1,
        'body not complete within body_timeout': 1,
    }
    assert served.events() == []


@pytest.fixture
def many_file_handles():
    """Room for 5,000 client sockets and the listener's in this process (raises the soft limit up to the hard one)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 8000
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip('needs %d file handles, the hard limit is %d' % (wanted, hard))
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def wait_while_changing(value, target):
    """Wait until ``value()`` reaches ``target``; fail only when it stops changing (a watchdog on silence, not a
    clock)."""
    last, quiet = None, 0
    while value() < target:
        current = value()
        quiet = quiet + 1 if current == last else 0
        assert quiet < 400, 'stuck at %s of %s' % (current, target)
        last = current
        time.sleep(0.05)


def test_5000_slow_connections_do_not_stop_a_signed_callback(listener, many_file_handles):
    served = listener(max_connections=1024, max_connections_per_address=64, header_timeout=3600, idle_timeout=3600)
    slow = []
    try:
        for dummy in range(5000):  # one host holding connections open with a partial request line
            sock = raw_connection(served.port, source_address='127.0.0.2')
            with contextlib.suppress(OSError):
                sock.sendall(b'POST /vobiz/conference HTTP/1.1\r\n')
            slow.append(sock)
        counts = served.guard.counts
        wait_while_changing(lambda: counts['admitted'] + counts['refused'], 5000)
        assert (
            counts['admitted'] == 64 and counts['refused'] == 4936
        )  # the excess refused at once, before any byte is read
        assert len(served.guard.open) == 64  # so the listener holds 64 file handles for them, not 5,000
        assert post(served, v3_headers('good'), enter('Board Room', '1', first=True)) == 204
        assert [event['conference_name'] for event in served.events()] == ['Board Room']
        assert served.service.refusals.total == {'over max_connections_per_address': 4936}
    finally:
        for sock in slow:
            sock.close()


def test_a_restart_keeps_the_nonces_of_the_window(tmp_path):
    args = {'public_url': URL, 'state_file': str(tmp_path / 'rooms.json'), 'auth_token': TOKEN}

    def run_once(send):
        async def scenario():
            port = free_port()
            queue = asyncio.Queue()
            task = asyncio.ensure_future(source.main(queue, dict(args, port=port)))
            await wait_listening(port)
            statuses = [
                await asyncio.get_running_loop().run_in_executor(None, post_to, port, headers) for headers in send
            ]
            task.cancel()  # ansible-rulebook cancels its sources when it stops
            await asyncio.gather(task, return_exceptions=True)
            return statuses

        return asyncio.run(scenario())

    captured = v3_headers('before-restart')
    assert run_once([captured]) == [204]
    assert run_once([captured, v3_headers('after-restart')]) == [403, 204]


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


async def wait_listening(port):
    while True:
        try:
            reader, writer = await asyncio.open_connection('127.0.0.1', port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return


def post_to(port, headers):
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=60)
    try:
        body = urllib.parse.urlencode(enter('r', '1', first=True))
        conn.request(
            'POST', PATH, body=body, headers=dict(headers, **{'Content-Type': 'application/x-www-form-urlencoded'})
        )
        return conn.getresponse().status
    finally:
        conn.close()


# ----- the emulator's callbacks through the real listener


@pytest.mark.parametrize(
    'switches',
    [
        {},
        {'callback_signing': 'v3', 'callback_reorder': True},
        {'callback_signing': 'v2', 'callback_duplicate': True},
    ],
)
def test_the_emulators_callbacks_build_the_registry(listener, switches):
    served = listener(parent_auth_token=PARENT)
    with Emulator(
        auth_id='MA_X',
        auth_token=TOKEN,
        callback_url=served.url(),
        callback_signed_url=URL,
        callback_parent_token=PARENT,
        **switches,
    ) as emu:
        emu.add_conference('Kept', members=['1', '2'])
        emu.add_conference('Ended', members=['3', '4', '5'])
        emu.leave_member('Kept', '2')
        emu.remove_conference('Ended')  # silent: no callbacks
        emu.add_conference('Hung', members=['6', '7'])
        headers = {'X-Auth-ID': 'MA_X', 'X-Auth-Token': TOKEN}
        assert (
            requests.delete(emu.api_url + '/Account/MA_X/Conference/Hung/', headers=headers, timeout=60).status_code
            == 204
        )
        assert emu.callback_sender.wait_idle(60)
        log = emu.callback_sender.log()
    assert {entry['status'] for entry in log} == {204}
    rooms = served.service.registry.rooms
    assert sorted(rooms) == ['Ended', 'Kept']  # Hung ended by its exits; Ended never said so
    assert rooms['Kept'].present == {'1'} and rooms['Kept'].members_known
    assert rooms['Ended'].present == {'3', '4', '5'}


def test_forged_and_replayed_emulator_callbacks_are_refused(listener):
    served = listener()
    with Emulator(auth_id='MA_X', auth_token=TOKEN, callback_url=served.url(), callback_signed_url=URL) as emu:
        # the sender reads the switches when it sends: let each batch go before changing them
        emu.configure(callback_signing='wrong_key')
        emu.add_conference('Forged', members=1)
        assert emu.callback_sender.wait_idle(60)
        emu.configure(callback_signing='none')
        emu.add_conference('Unsigned', members=1)
        assert emu.callback_sender.wait_idle(60)
        emu.configure(
            callback_signing='v2+v3',
            callback_replay=True,
            callback_replay_body={'ConferenceName': 'Replayed {{ 7 * 7 }}'},
        )
        emu.add_conference('Real', members=1)
        assert emu.callback_sender.wait_idle(60)
        statuses = [(entry['conference'], entry['kind'], entry['status']) for entry in emu.callback_sender.log()]
    assert statuses == [
        ('Forged', 'sent', 403),
        ('Unsigned', 'sent', 401),
        ('Real', 'sent', 204),
        ('Real', 'replay', 403),
        ('Replayed {{ 7 * 7 }}', 'replay_body', 403),  # a captured signature with another body, inside the window
    ]
    assert sorted(served.service.registry.rooms) == ['Real']


def test_after_the_window_a_captured_signature_carries_another_body_and_only_names_a_room(listener):
    """What the guide says a captured signature still allows: a hint, which the action re-checks against the API."""
    served = listener(replay_window=1)
    with Emulator(auth_id='MA_X', auth_token=TOKEN, callback_url=served.url(), callback_signed_url=URL) as emu:
        emu.configure(callback_replay_body={'ConferenceName': 'Not A Room'}, callback_replay_delay_ms=2500)
        emu.add_conference('Real', members=1)
        assert emu.callback_sender.wait_idle(60)
        statuses = [(entry['conference'], entry['kind'], entry['status']) for entry in emu.callback_sender.log()]
    assert statuses == [('Real', 'sent', 204), ('Not A Room', 'replay_body', 204)]
    assert sorted(served.service.registry.rooms) == ['Not A Room', 'Real']


def test_the_health_route_answers_without_a_signature_and_touches_nothing(listener):
    served = listener()
    response = requests.get(served.url('/healthz'), timeout=60)
    assert (response.status_code, response.text, response.headers['Connection']) == (200, 'ok\n', 'close')
    assert requests.head(served.url('/healthz'), timeout=60).status_code == 200
    assert requests.get(served.url(PATH), timeout=60).status_code == 405  # the callback path stays POST-only
    assert post(served, v3_headers('h-health'), enter('r', '1', first=True), path='/healthz') == 405
    assert served.events() == [] and served.service.registry.rooms == {} and len(served.service.nonces) == 0
    assert served.service.refusals.total == {}
    assert requests.get(listener(health_path='').url('/healthz'), timeout=60).status_code == 404


def test_the_health_route_gets_no_connection_of_its_own(listener):
    """A prober cannot get round the caps: over its address's share, the health route is refused like a callback."""
    served = listener(max_connections=8, max_connections_per_address=2, idle_timeout=3600, header_timeout=3600)
    held = [raw_connection(served.port), raw_connection(served.port)]
    try:
        wait_while_changing(lambda: served.guard.counts['admitted'], 2)
        with pytest.raises(requests.ConnectionError):
            requests.get(served.url('/healthz'), timeout=60)
        assert served.service.refusals.total == {'over max_connections_per_address': 1}
    finally:
        for sock in held:
            sock.close()


@pytest.fixture(scope='module')
def tls_files(tmp_path_factory):
    """A CA, the listener's certificate (key in a file of its own, encrypted) and a client certificate of that CA."""
    trustme = pytest.importorskip('trustme')
    from cryptography.hazmat.primitives import serialization  # pylint: disable=import-outside-toplevel

    work = tmp_path_factory.mktemp('tls')
    ca = trustme.CA()
    server = ca.issue_cert('127.0.0.1')
    client = ca.issue_cert('vobiz-proxy')
    ca.cert_pem.write_to_path(str(work / 'ca.pem'))
    server.cert_chain_pems[0].write_to_path(str(work / 'cert.pem'))
    key = serialization.load_pem_private_key(server.private_key_pem.bytes(), password=None)
    locked = serialization.BestAvailableEncryption(b'key-pass')
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, locked)
    (work / 'key.pem').write_bytes(encrypted)
    client.private_key_and_cert_chain_pem.write_to_path(str(work / 'client.pem'))
    return {name: str(work / (name + '.pem')) for name in ('ca', 'cert', 'key', 'client')}


def server_tls(files):
    return {'certfile': files['cert'], 'keyfile': files['key'], 'password': 'key-pass'}


def test_tls_serves_callbacks_and_the_health_route(listener, tls_files):
    served = listener(**server_tls(tls_files))
    assert post(served, v3_headers('t-1'), enter('Board Room', '1', first=True), verify=tls_files['ca']) == 204
    assert requests.get(served.url('/healthz'), verify=tls_files['ca'], timeout=60).text == 'ok\n'
    with pytest.raises(requests.ConnectionError):
        requests.get(served.url('/healthz').replace('https:', 'http:'), timeout=60)  # no plain HTTP on a TLS listener
    assert [event['conference_name'] for event in served.events()] == ['Board Room']


def test_with_a_client_ca_only_clients_with_its_certificates_get_in(listener, tls_files):
    served = listener(**server_tls(tls_files), cafile=tls_files['ca'])
    with pytest.raises(requests.ConnectionError):  # TLS 1.3: refused after the client finished
        post(served, v3_headers('t-2'), enter('r', '1', first=True), verify=tls_files['ca'])
    with_cert = {'verify': tls_files['ca'], 'cert': tls_files['client']}
    assert post(served, v3_headers('t-3'), enter('r', '1', first=True), **with_cert) == 204
    assert [event['member_id'] for event in served.events()] == ['1']
    wait_while_changing(lambda: sum(served.service.refusals.total.values()), 1)
    assert [reason for reason in served.service.refusals.total if reason.startswith('TLS handshake failed')]


def test_a_tls_handshake_never_finished_holds_a_counted_slot_for_header_timeout_only(listener, tls_files):
    served = listener(**server_tls(tls_files), max_connections_per_address=2, header_timeout=0.3)
    silent = [raw_connection(served.port) for dummy in range(3)]  # TCP only: no ClientHello
    try:
        assert read_all(silent[2]) == b''  # over the address's share: refused at once
        assert read_all(silent[0]) == b'' and read_all(silent[1]) == b''  # closed after header_timeout
        refused = {'over max_connections_per_address': 1, 'TLS handshake not complete within header_timeout': 2}
        assert served.service.refusals.total == refused
        assert served.guard.open == {}
        assert post(served, v3_headers('t-4'), enter('r', '1', first=True), verify=tls_files['ca']) == 204
    finally:
        for sock in silent:
            sock.close()


def test_a_certificate_that_cannot_be_loaded_stops_the_source_with_one_error(tls_files):
    args = dict({'port': 0, 'public_url': URL, 'keep_state': False}, **dict(server_tls(tls_files), password='wrong'))
    service = source.units.CallbackService(source.units.parse_args(args, environ={'VOBIZ_AUTH_TOKEN': TOKEN}))
    message = r'certfile .*cert.pem with keyfile .*key.pem cannot be used: .*Nothing was started'
    with pytest.raises(source.units.ConfigError, match=message):
        asyncio.run(source.start_listener(service))


def test_a_callback_signed_over_the_url_it_reached_is_refused_and_the_log_says_to_check_public_url(listener, caplog):
    served = listener()
    reached = 'http://127.0.0.1:%d%s' % (served.port, PATH)
    assert post(served, v3_headers('w-1', url=reached), enter('r', '1', first=True)) == 403
    served.service.refusals.report()
    assert "but one was signed over '%s', the URL it reached: set public_url" % reached in caplog.text
