"""Tests of the emulator's conference callbacks: members joining and leaving, signed enter/exit POSTs, faults."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.server
import threading
import urllib.parse

import pytest
import requests

from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import HANG_GUARD_SECONDS as GUARD
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator, template_room_names


def parse_time(stamp):
    return datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00')).timestamp()


class Receiver:
    """A callback receiver on 127.0.0.1 that records every POST (path, headers, form) and answers 204."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get('Content-Length') or 0)
                form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode('ascii')))
                receiver.received.append({'path': self.path, 'headers': dict(self.headers), 'form': form})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = 'http://127.0.0.1:%d/vobiz/conference' % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    rec = Receiver()
    try:
        yield rec
    finally:
        rec.close()


@pytest.fixture
def emu(receiver):
    emulator = Emulator(auth_id='MA_CB', auth_token='cb-token', callback_url=receiver.url + '?tenant=1').start()
    try:
        yield emulator
    finally:
        emulator.stop()


def expected(token, message):
    return base64.b64encode(hmac.new(token.encode(), message.encode(), hashlib.sha256).digest()).decode()


def control(emu, method, path, **body):
    return requests.request(method, emu.url + '/_emulator' + path, json=body or None, timeout=GUARD)


def actions(receiver):
    return [(item['form']['ConferenceAction'], item['form']['ConferenceMemberID']) for item in receiver.received]


def test_join_and_leave_send_signed_enter_and_exit_callbacks(emu, receiver):
    emu.add_conference('Board Room', members=['1'])
    assert control(emu, 'POST', '/conferences/Board%20Room/members', members=['2']).status_code == 201
    assert control(emu, 'DELETE', '/conferences/Board%20Room/members/2').json()['conference_ended'] is False
    assert emu.callback_sender.wait_idle()
    assert actions(receiver) == [('enter', '1'), ('enter', '2'), ('exit', '2')]
    first, second, leave = (item['form'] for item in receiver.received)
    assert first['ConferenceFirstMember'] == 'true' and second['ConferenceFirstMember'] == 'false'
    assert leave['ConferenceLastMember'] == 'false' and leave['Event'] == 'ConferenceExit'
    assert first['ConferenceName'] == 'Board Room' and first['ConferenceUUID'] == leave['ConferenceUUID']
    assert {'CallUUID', 'From', 'To', 'Direction', 'CallStatus'} <= set(first)
    for item in receiver.received:
        headers = item['headers']
        assert item['path'] == '/vobiz/conference?tenant=1'
        assert headers['Content-Type'] == 'application/x-www-form-urlencoded'
        # signed over the URL without its query string
        assert headers['X-Vobiz-Signature-V3'] == expected(
            'cb-token', receiver.url + '.' + headers['X-Vobiz-Signature-V3-Nonce']
        )
        assert headers['X-Vobiz-Signature-V2'] == expected(
            'cb-token', receiver.url + headers['X-Vobiz-Signature-V2-Nonce']
        )
    nonces = [item['headers']['X-Vobiz-Signature-V3-Nonce'] for item in receiver.received]
    assert len(set(nonces)) == len(nonces)


def test_the_last_member_leaving_ends_the_room(emu, receiver):
    emu.add_conference('r', members=['1'])
    assert control(emu, 'DELETE', '/conferences/r/members/1').json()['conference_ended'] is True
    assert emu.live_names() == []
    assert emu.callback_sender.wait_idle()
    assert receiver.received[-1]['form']['ConferenceLastMember'] == 'true'


def test_a_hang_up_sends_an_exit_for_every_member_the_last_flagged(emu, receiver):
    emu.add_conference('r', members=['1', '2', '3'])
    headers = {'X-Auth-ID': 'MA_CB', 'X-Auth-Token': 'cb-token'}
    assert (
        requests.delete(emu.api_url + '/Account/MA_CB/Conference/r/', headers=headers, timeout=GUARD).status_code == 204
    )
    assert emu.callback_sender.wait_idle()
    exits = [item['form'] for item in receiver.received if item['form']['ConferenceAction'] == 'exit']
    assert [(form['ConferenceMemberID'], form['ConferenceLastMember']) for form in exits] == [
        ('1', 'false'),
        ('2', 'false'),
        ('3', 'true'),
    ]


def test_callback_drop_hangup_exits_drops_the_exits_of_a_matching_hang_up_all_or_the_last(emu, receiver):
    emu.configure(callback_drop_hangup_exits={'match': 'quiet-*', 'which': 'all'})
    for name in ('quiet-1', 'loud', 'quiet-2'):
        emu.add_conference(name, members=['1', '2'])
    headers = {'X-Auth-ID': 'MA_CB', 'X-Auth-Token': 'cb-token'}
    for name in ('quiet-1', 'loud'):
        url = emu.api_url + '/Account/MA_CB/Conference/%s/' % name
        assert requests.delete(url, headers=headers, timeout=GUARD).status_code == 204
    emu.configure(callback_drop_hangup_exits={'match': None, 'which': 'last'})
    url = emu.api_url + '/Account/MA_CB/Conference/quiet-2/'
    assert requests.delete(url, headers=headers, timeout=GUARD).status_code == 204
    assert emu.callback_sender.wait_idle()
    exits = [item['form'] for item in receiver.received if item['form']['ConferenceAction'] == 'exit']
    assert [(form['ConferenceName'], form['ConferenceLastMember']) for form in exits] == [
        ('loud', 'false'),
        ('loud', 'true'),
        ('quiet-2', 'false'),  # only the last member's exit was dropped
    ]
    dropped = [
        (entry['conference'], entry['member']) for entry in emu.callback_sender.log() if entry['kind'] == 'dropped'
    ]
    assert dropped == [('quiet-1', '1'), ('quiet-1', '2'), ('quiet-2', '2')]
    assert emu.live_names('MA_CB') == []  # the rooms ended all the same
    with pytest.raises(ValueError, match='which must be'):
        emu.configure(callback_drop_hangup_exits={'which': 'some'})


def test_kick_sends_an_exit(emu, receiver):
    emu.add_conference('r', members=['1', '2'])
    headers = {'X-Auth-ID': 'MA_CB', 'X-Auth-Token': 'cb-token'}
    requests.post(emu.api_url + '/Account/MA_CB/Conference/r/Member/2/Kick/', headers=headers, json={}, timeout=GUARD)
    assert emu.callback_sender.wait_idle()
    assert actions(receiver)[-1] == ('exit', '2')


def test_reorder_duplicate_replay_and_drop(emu, receiver):
    emu.configure(callback_reorder=True)
    emu.add_conference('r', members=['1', '2'])
    assert emu.callback_sender.wait_idle()
    assert actions(receiver) == [('enter', '2'), ('enter', '1')]

    receiver.received.clear()
    emu.configure(callback_reorder=False, callback_duplicate=True, callback_replay=True)
    emu.join_members('r', ['3'])
    assert emu.callback_sender.wait_idle()
    sent, replay, duplicate = receiver.received
    assert replay['headers']['X-Vobiz-Signature-V3'] == sent['headers']['X-Vobiz-Signature-V3']
    assert duplicate['headers']['X-Vobiz-Signature-V3-Nonce'] != sent['headers']['X-Vobiz-Signature-V3-Nonce']
    assert [entry['kind'] for entry in emu.callback_sender.log()[-3:]] == ['sent', 'replay', 'duplicate']

    receiver.received.clear()
    emu.configure(callback_duplicate=False, callback_replay=False, callback_drop_rate=1.0)
    emu.join_members('r', ['4'])
    assert emu.callback_sender.wait_idle()
    assert receiver.received == []
    assert emu.callback_sender.log()[-1]['kind'] == 'dropped'


def test_a_replay_with_another_body_keeps_the_signature_headers(emu, receiver):
    emu.configure(callback_replay_body={'ConferenceName': 'Forged {{ 7 * 7 }}', 'ConferenceFirstMember': 'true'})
    emu.add_conference('r', members=['1'])
    assert emu.callback_sender.wait_idle()
    sent, replay = receiver.received
    assert replay['headers']['X-Vobiz-Signature-V3'] == sent['headers']['X-Vobiz-Signature-V3']
    assert replay['headers']['X-Vobiz-Signature-V3-Nonce'] == sent['headers']['X-Vobiz-Signature-V3-Nonce']
    assert replay['form'] == dict(sent['form'], ConferenceName='Forged {{ 7 * 7 }}', ConferenceFirstMember='true')
    assert [(entry['kind'], entry['conference']) for entry in emu.callback_sender.log()] == [
        ('sent', 'r'),
        ('replay_body', 'Forged {{ 7 * 7 }}'),
    ]


def test_a_delayed_replay_is_sent_after_the_delay_and_waited_for(emu, receiver):
    emu.configure(callback_replay_body={'ConferenceName': 'Later'}, callback_replay_delay_ms=300)
    emu.add_conference('r', members=['1', '2'])
    assert emu.callback_sender.wait_idle()  # idle only once the delayed replays are sent too
    log = emu.callback_sender.log()
    assert [entry['kind'] for entry in log] == ['sent', 'sent', 'replay_body', 'replay_body']
    sent_at = parse_time(log[0]['time'])
    assert all(parse_time(entry['time']) >= sent_at + 0.3 for entry in log[2:])  # the emulator's own timestamps
    with pytest.raises(ValueError, match='callback_replay_body'):
        emu.configure(callback_replay_body={'ConferenceName': 7})


def test_template_rooms_for_tests_of_literal_names(emu, receiver):
    canary = '/nonexistent/canary'
    response = control(emu, 'POST', '/conferences/template_names', canary=canary, members=1, started_ago=60)
    names = response.json()['conferences']
    assert (
        response.status_code == 201
        and names == template_room_names(canary)
        and sorted(emu.live_names()) == sorted(names)
    )
    assert (
        any('{{' in name for name in names)
        and any('{%' in name for name in names)
        and any('\n' in name for name in names)
    )
    assert all(canary in name for name in names[:3])
    assert emu.callback_sender.wait_idle()
    assert sorted(item['form']['ConferenceName'] for item in receiver.received) == sorted(
        names
    )  # callbacks carry them as they are
    assert control(emu, 'POST', '/conferences/template_names').status_code == 400


@pytest.mark.parametrize(
    'signing, present',
    [
        ('v3', {'X-Vobiz-Signature-V3'}),
        ('v2', {'X-Vobiz-Signature-V2'}),
        ('none', set()),
    ],
)
def test_signing_switch(emu, receiver, signing, present):
    emu.configure(callback_signing=signing)
    emu.add_conference('r', members=['1'])
    assert emu.callback_sender.wait_idle()
    headers = receiver.received[0]['headers']
    assert {name for name in headers if name.startswith('X-Vobiz-Signature') and not name.endswith('Nonce')} == present


def test_wrong_key_and_parent_token(emu, receiver):
    emu.configure(callback_signing='wrong_key', callback_parent_token='parent-tok')
    emu.add_conference('r', members=['1'])
    assert emu.callback_sender.wait_idle()
    headers = receiver.received[0]['headers']
    nonce = headers['X-Vobiz-Signature-V3-Nonce']
    assert headers['X-Vobiz-Signature-V3'] != expected('cb-token', receiver.url + '.' + nonce)
    ma_nonce = headers['X-Vobiz-Signature-MA-V3-Nonce']
    assert headers['X-Vobiz-Signature-MA-V3'] == expected('parent-tok', receiver.url + '.' + ma_nonce)


def test_no_callback_url_no_callbacks(receiver):
    with Emulator(auth_id='MA_CB', auth_token='cb-token') as emulator:
        emulator.add_conference('r', members=['1'])
        emulator.join_members('r', ['2'])
        assert emulator.callback_sender.wait_idle()
        assert emulator.callback_sender.log() == []
    assert receiver.received == []


def test_started_ago_sets_the_run_time(emu):
    assert control(emu, 'POST', '/conferences', name='old', members=1, started_ago=3600).status_code == 201
    assert 3600 <= int(emu.conference('old')['conference_run_time']) < 3700
    assert int(emu.conference('old')['members'][0]['join_time']) >= 3600


def test_control_errors(emu):
    assert control(emu, 'POST', '/conferences/none/members', count=1).status_code == 404
    emu.add_conference('r', members=['1'])
    assert control(emu, 'DELETE', '/conferences/r/members/9').status_code == 404
    assert control(emu, 'POST', '/conferences/r/members', count=0).status_code == 400
    assert control(emu, 'GET', '/conferences/r/members').status_code == 405
    with pytest.raises(ValueError, match='callback_signing'):
        emu.configure(callback_signing='v4')
    with pytest.raises(ValueError, match='callback_url'):
        emu.configure(callback_url='ftp://x')
    assert control(emu, 'GET', '/callbacks').json()['callbacks'][0]['action'] == 'enter'


def test_signed_url_differs_from_the_target(emu, receiver):
    emu.configure(callback_signed_url='https://eda.example.com/hook?x=1')
    emu.add_conference('r', members=['1'])
    assert emu.callback_sender.wait_idle()
    headers = receiver.received[0]['headers']
    assert receiver.received[0]['path'] == '/vobiz/conference?tenant=1'
    nonce = headers['X-Vobiz-Signature-V3-Nonce']
    assert headers['X-Vobiz-Signature-V3'] == expected('cb-token', 'https://eda.example.com/hook.' + nonce)
    assert emu.callback_sender.log()[0]['headers']['X-Vobiz-Signature-V3-Nonce'] == nonce
