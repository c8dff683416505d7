"""Unit tests of the event source vobiz.voice.conference_callbacks: signatures, replay, registry, timers.

The registry and the verifier get a fake clock; the HTTP tests run the aiohttp application in-process.
Expected signatures are computed here from the documented formula (or were computed with openssl),
never with the source's own helper.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import stat
import threading

import pytest
import requests

from ansible_collections.vobiz.voice.extensions.eda.plugins.event_source import conference_callbacks as source
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator

URL = 'https://eda.example.com/vobiz/conference'
TOKEN = 'tok-ABC'
PARENT = 'parent-XYZ'


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def sign(token, message):
    return base64.b64encode(hmac.new(token.encode(), message.encode(), hashlib.sha256).digest()).decode()


def v3_headers(nonce='n-1', token=TOKEN, url=URL, prefix='X-Vobiz-Signature-V3'):
    return {prefix: sign(token, url + '.' + nonce), prefix + '-Nonce': nonce}


def v2_headers(nonce='n-2', token=TOKEN, url=URL, prefix='X-Vobiz-Signature-V2'):
    return {prefix: sign(token, url + nonce), prefix + '-Nonce': nonce}


# ----- signatures


def test_signatures_match_vectors_computed_with_openssl():
    # printf '%s' 'https://eda.example.com/vobiz/conference.nonce-123' | openssl dgst -sha256 -hmac tok-ABC -binary | base64
    assert source.compute_signature('tok-ABC', URL, 'nonce-123', 'v3') == 'hf11TyVVKFFLqvqbV0W3B/WeDlHmt2XdYLKUS3fSEPs='
    assert source.compute_signature('tok-ABC', URL, 'nonce-123', 'v2') == 'qV2NZ1RTfFUegvL5uVLYN/E8KcpkoNj9OhFz283ah5w='


def test_signed_url_drops_the_query_string():
    assert source.signed_url(URL + '?room=a&x=1#frag') == URL


@pytest.mark.parametrize('headers', [v3_headers(), v2_headers(), dict(v3_headers('a'), **v2_headers('b'))])
def test_good_signatures_are_accepted(headers):
    verifier = source.SignatureVerifier(URL, TOKEN, clock=FakeClock())
    assert verifier.check(headers)[0] is None


def test_verification_uses_the_public_url_without_query():
    verifier = source.SignatureVerifier(URL + '?tenant=7', TOKEN, clock=FakeClock())
    assert verifier.check(v3_headers(url=URL))[0] is None
    other = source.SignatureVerifier('http://127.0.0.1:5050/vobiz/conference', TOKEN, clock=FakeClock())
    assert other.check(v3_headers(url=URL)) == (403, 'invalid X-Vobiz-Signature-V3')


@pytest.mark.parametrize(
    'headers, expected',
    [
        ({}, 401),
        ({'X-Vobiz-Signature': 'legacy-v1-only'}, 401),
        (v3_headers(token='wrong'), 403),
        ({'X-Vobiz-Signature-V3': sign(TOKEN, URL + '.n-1')}, 403),  # no nonce
        (dict(v3_headers(), **{'X-Vobiz-Signature-V3-Nonce': 'other'}), 403),  # nonce swapped
        (dict(v3_headers(), **v2_headers(token='wrong')), 403),  # every signature present must hold
    ],
)
def test_missing_or_bad_signatures_are_refused(headers, expected):
    verifier = source.SignatureVerifier(URL, TOKEN, clock=FakeClock())
    assert verifier.check(headers)[0] == expected
    assert verifier.nonces == {}


def test_v2_alone_is_refused_when_not_accepted():
    verifier = source.SignatureVerifier(URL, TOKEN, accept_v2=False, clock=FakeClock())
    assert verifier.check(v2_headers())[0] == 401
    assert verifier.check(v3_headers())[0] is None


def test_ma_signatures_are_checked_with_the_parent_token():
    verifier = source.SignatureVerifier(URL, TOKEN, parent_auth_token=PARENT, clock=FakeClock())
    good_ma = v3_headers('m-1', token=PARENT, prefix='X-Vobiz-Signature-MA-V3')
    assert verifier.check(good_ma)[0] is None
    assert verifier.check(dict(v3_headers('m-2'), **v3_headers('m-3', token=TOKEN, prefix='X-Vobiz-Signature-MA-V3')))[0] == 403
    # without a parent token the MA headers are not checkable: they alone are not enough
    plain = source.SignatureVerifier(URL, TOKEN, clock=FakeClock())
    assert plain.check(v3_headers('m-4', token=PARENT, prefix='X-Vobiz-Signature-MA-V3'))[0] == 401


def test_a_nonce_is_refused_within_the_window_and_forgotten_after():
    clock = FakeClock()
    verifier = source.SignatureVerifier(URL, TOKEN, replay_window=300, clock=clock)
    assert verifier.check(v3_headers('n-7'))[0] is None
    clock.advance(299)
    assert verifier.check(v3_headers('n-7')) == (403, 'replayed nonce')
    clock.advance(2)
    assert verifier.check(v3_headers('n-7'))[0] is None


def test_the_token_is_not_in_the_repr():
    assert TOKEN not in repr(source.SignatureVerifier(URL, TOKEN, PARENT))
    assert PARENT not in repr(source.SignatureVerifier(URL, TOKEN, PARENT))


# ----- registry


def callback(action, name, member, uuid, flag, value):
    """A conference callback's form fields; ``flag`` is the action's own true/false field."""
    return {
        'ConferenceAction': action,
        'ConferenceName': name,
        'ConferenceUUID': uuid,
        'ConferenceMemberID': member,
        flag: 'true' if value else 'false',
    }


def enter(name, member, first=False, uuid='U1'):
    return callback('enter', name, member, uuid, 'ConferenceFirstMember', first)


def leave(name, member, last=False, uuid='U1'):
    return callback('exit', name, member, uuid, 'ConferenceLastMember', last)


def registry(clock, **kwargs):
    kwargs.setdefault('max_duration', 60)
    kwargs.setdefault('lonely_after', 30)
    return source.RoomRegistry(clock=clock, **kwargs)


def kinds(events):
    return sorted((event['type'], event['conference_name']) for event in events)


def test_members_are_counted_despite_duplicates_and_reordering():
    reg = registry(FakeClock())
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('r', '1', first=True))  # duplicate
    reg.apply(leave('r', '2'))  # delivered before its enter
    assert reg.apply(enter('r', '2'))['members'] == 1  # the late enter does not bring 2 back
    assert reg.apply(enter('r', '3'))['members'] == 2
    assert reg.rooms['r'].present == {'1', '3'}


def test_last_member_exit_ends_the_room_and_late_callbacks_are_ignored():
    reg = registry(FakeClock())
    reg.apply(enter('r', '1', first=True))
    assert reg.apply(leave('r', '1', last=True))['ended'] is True
    assert 'r' not in reg.rooms
    assert reg.apply(enter('r', '1', first=True))['ignored']  # duplicate of the old enter, delivered late
    assert 'r' not in reg.rooms
    reg.apply(enter('r', '9', first=True, uuid='U2'))  # a new instance of the same name
    assert reg.rooms['r'].uuid == 'U2'


def test_without_uuids_a_late_callback_of_an_ended_room_is_recognised_by_member():
    reg = registry(FakeClock())
    reg.apply(enter('r', '1', first=True, uuid=''))
    reg.apply(leave('r', '1', last=True, uuid=''))
    assert reg.apply(enter('r', '1', uuid=''))['ignored']
    reg.apply(enter('r', '2', first=True, uuid=''))
    assert 'r' in reg.rooms


def test_a_new_instance_replaces_one_whose_end_was_missed():
    clock = FakeClock()
    reg = registry(clock)
    reg.apply(enter('r', '1', first=True, uuid='U1'))
    clock.advance(100)
    reg.apply(enter('r', '5', first=True, uuid='U2'))
    assert reg.rooms['r'].first_seen == clock.now
    assert reg.apply(leave('r', '1', uuid='U1'))['ignored']
    assert reg.rooms['r'].present == {'5'}


def test_overdue_once_then_again_only_after_repeat_after():
    clock = FakeClock()
    reg = registry(clock, lonely_after=0, repeat_after=100, max_emissions=2)
    reg.apply(enter('long', '1', first=True))
    reg.apply(enter('long', '2'))
    clock.advance(59)
    assert reg.due_events() == []
    clock.advance(1)
    events = reg.due_events()
    assert events == [
        {'type': 'overdue', 'conference_name': 'long', 'conference_uuid': 'U1', 'live_seconds': 60, 'members': 2, 'max_duration': 60, 'emission': 1}
    ]
    clock.advance(99)
    assert reg.due_events() == []
    clock.advance(1)
    assert [event['emission'] for event in reg.due_events()] == [2]
    clock.advance(1000)
    assert reg.due_events() == []  # max_emissions reached


def test_an_ended_room_is_never_overdue():
    clock = FakeClock()
    reg = registry(clock)
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('r', '2'))
    reg.apply(leave('r', '1'))
    reg.apply(leave('r', '2', last=True))
    clock.advance(1000)
    assert reg.due_events() == []


def test_lonely_after_the_room_drops_to_one_member():
    clock = FakeClock()
    reg = registry(clock, max_duration=0)
    reg.apply(enter('r', '1', first=True))
    reg.apply(enter('r', '2'))
    clock.advance(100)
    assert reg.due_events() == []  # two members: not lonely however long
    reg.apply(leave('r', '2'))
    clock.advance(29)
    assert reg.due_events() == []
    clock.advance(1)
    events = reg.due_events()
    assert kinds(events) == [('lonely', 'r')]
    assert events[0]['lonely_seconds'] == 30 and events[0]['live_seconds'] == 130 and events[0]['members'] == 1
    clock.advance(5)
    assert reg.due_events() == []
    # a second member comes and goes: a new lonely spell, reported afresh
    reg.apply(enter('r', '3'))
    reg.apply(leave('r', '3'))
    clock.advance(30)
    assert [event['emission'] for event in reg.due_events()] == [1]


def test_a_room_whose_first_member_was_not_seen_is_never_lonely():
    clock = FakeClock()
    reg = registry(clock)
    reg.apply(leave('old', '7'))  # started before we listened: unknown members may be present
    clock.advance(59)
    assert reg.due_events() == []
    clock.advance(1)
    events = reg.due_events()
    assert kinds(events) == [('overdue', 'old')] and events[0]['members'] is None


def test_the_first_member_callback_may_arrive_late():
    clock = FakeClock()
    reg = registry(clock, max_duration=0)
    reg.apply(enter('r', '2'))
    reg.apply(enter('r', '1', first=True))
    reg.apply(leave('r', '2'))
    clock.advance(30)
    assert kinds(reg.due_events()) == [('lonely', 'r')]


def test_callbacks_that_are_not_enter_or_exit_are_ignored():
    reg = registry(FakeClock())
    assert reg.apply({'ConferenceAction': 'record', 'ConferenceName': 'r'})['ignored']
    assert reg.apply({'ConferenceAction': 'enter'})['ignored']
    assert reg.rooms == {}


# ----- state file


def test_the_state_file_keeps_rooms_and_nonces_but_not_member_trust(tmp_path):
    clock = FakeClock()
    path = str(tmp_path / 'rooms.json')
    reg, verifier = registry(clock), source.SignatureVerifier(URL, TOKEN, clock=clock)
    verifier.check(v3_headers('n-9'))
    reg.apply(enter('r', '1', first=True))
    source.save_state(path, reg, verifier)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert TOKEN not in open(path, encoding='utf-8').read()

    clock.advance(60)
    reg2, verifier2 = registry(clock), source.SignatureVerifier(URL, TOKEN, clock=clock)
    assert source.load_state(path, reg2, verifier2) is True
    assert verifier2.check(v3_headers('n-9')) == (403, 'replayed nonce')
    assert kinds(reg2.due_events()) == [('overdue', 'r')]  # age survives the restart
    clock.advance(1000)
    assert all(event['type'] != 'lonely' for event in reg2.due_events())


def test_a_damaged_state_file_names_the_argument(tmp_path):
    path = tmp_path / 'rooms.json'
    path.write_text('{"version": 1, "rooms": [{"first_seen": 1}]}')
    with pytest.raises(source.ConfigError, match='state_file'):
        source.load_state(str(path), registry(FakeClock()), source.SignatureVerifier(URL, TOKEN))
    assert source.load_state(str(tmp_path / 'none.json'), registry(FakeClock()), source.SignatureVerifier(URL, TOKEN)) is False


# ----- arguments


def test_arguments_are_validated_by_name():
    with pytest.raises(source.ConfigError, match='public_url'):
        source.parse_args({'port': 1}, environ={'VOBIZ_AUTH_TOKEN': TOKEN})
    with pytest.raises(source.ConfigError, match='auth_token'):
        source.parse_args({'port': 1, 'public_url': URL}, environ={})
    with pytest.raises(source.ConfigError, match='max_duration'):
        source.parse_args({'port': 1, 'public_url': URL, 'max_duration': -1}, environ={'VOBIZ_AUTH_TOKEN': TOKEN})
    with pytest.raises(source.ConfigError, match='unknown argument'):
        source.parse_args({'port': 1, 'public_url': URL, 'max_duraton': 5}, environ={'VOBIZ_AUTH_TOKEN': TOKEN})
    settings = source.parse_args({'port': '5050', 'public_url': URL + '?q=1'}, environ={'VOBIZ_AUTH_TOKEN': TOKEN})
    assert settings['path'] == '/vobiz/conference' and settings['auth_token'] == TOKEN and settings['port'] == 5050


# ----- HTTP


@pytest.fixture
def served(tmp_path):
    """Run the listener's aiohttp app on a free port; yields (post(headers, fields, path=None) -> status, listener)."""
    aiohttp = pytest.importorskip('aiohttp', reason='aiohttp (a dependency of ansible-rulebook) is not installed')
    from aiohttp import web

    loop = asyncio.new_event_loop()
    settings = source.parse_args(
        {'port': 0, 'public_url': URL, 'max_body': 2048, 'state_file': str(tmp_path / 'state.json')}, environ={'VOBIZ_AUTH_TOKEN': TOKEN}
    )
    listener = source.CallbackListener(settings)
    runner = web.AppRunner(listener.app())
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, '127.0.0.1', 0)
    loop.run_until_complete(site.start())
    port = runner.addresses[0][1]

    def post(headers, fields=None, path='/vobiz/conference', data=None):
        async def go():
            async with aiohttp.ClientSession() as session:
                async with session.post('http://127.0.0.1:%d%s' % (port, path), headers=headers, data=data if data is not None else fields or {}) as response:
                    return response.status

        return loop.run_until_complete(go())

    try:
        yield post, listener
    finally:
        loop.run_until_complete(runner.cleanup())
        loop.close()


def drain(listener):
    events = []
    while not listener.pending.empty():
        events.append(listener.pending.get_nowait())
    return events


def test_http_good_callback_is_emitted_and_answered_204(served):
    post, listener = served
    assert post(v3_headers('h-1'), enter('Board Room', '11', first=True)) == 204
    [event] = drain(listener)
    assert event['vobiz']['type'] == 'callback' and event['vobiz']['action'] == 'enter'
    assert event['vobiz']['conference_name'] == 'Board Room' and event['vobiz']['members'] == 1
    assert event['vobiz']['signature'] == 'v3' and event['vobiz']['first_member'] is True
    saved = json.loads(open(listener.settings['state_file'], encoding='utf-8').read())
    assert [room['name'] for room in saved['rooms']] == ['Board Room']


def test_http_unsigned_forged_and_replayed_callbacks_emit_nothing(served):
    post, listener = served
    assert post({}, enter('r', '1', first=True)) == 401
    assert post(v3_headers('h-2', token='forged'), enter('r', '1', first=True)) == 403
    assert post(v3_headers('h-3'), enter('r', '1', first=True)) == 204
    assert post(v3_headers('h-3'), enter('r', '2')) == 403
    assert [event['vobiz']['member_id'] for event in drain(listener)] == ['1']
    assert listener.registry.rooms['r'].present == {'1'}
    assert listener.counts == {'accepted': 1, 'unsigned': 1, 'forbidden': 2}


def test_http_other_paths_and_large_bodies_are_refused(served):
    post, listener = served
    assert post(v3_headers('h-4'), enter('r', '1'), path='/other') == 404
    assert (
        post(
            v3_headers('h-5'),
            data='ConferenceName=' + 'x' * 4096,
        )
        == 413
    )
    assert drain(listener) == []


# ----- the emulator's callbacks through the real listener


@pytest.fixture
def listening(tmp_path):
    """The listener on a free port, served from a background event loop; yields (url, listener)."""
    pytest.importorskip('aiohttp', reason='aiohttp (a dependency of ansible-rulebook) is not installed')
    from aiohttp import web

    loop = asyncio.new_event_loop()
    settings = source.parse_args(
        {'port': 0, 'public_url': URL, 'parent_auth_token': PARENT, 'max_duration': 60, 'lonely_after': 30}, environ={'VOBIZ_AUTH_TOKEN': TOKEN}
    )
    listener = source.CallbackListener(settings)
    runner = web.AppRunner(listener.app())
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, '127.0.0.1', 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield 'http://127.0.0.1:%d/vobiz/conference' % port, listener
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.run_until_complete(runner.cleanup())
        loop.close()


@pytest.mark.parametrize(
    'switches',
    [
        {},
        {'callback_signing': 'v3', 'callback_reorder': True},
        {'callback_signing': 'v2', 'callback_duplicate': True},
    ],
)
def test_the_emulators_callbacks_build_the_registry(listening, switches):
    url, listener = listening
    with Emulator(auth_id='MA_X', auth_token=TOKEN, callback_url=url, callback_signed_url=URL, callback_parent_token=PARENT, **switches) as emu:
        emu.add_conference('Kept', members=['1', '2'])
        emu.add_conference('Ended', members=['3', '4', '5'])
        emu.leave_member('Kept', '2')
        emu.remove_conference('Ended')  # silent: no callbacks
        emu.add_conference('Hung', members=['6', '7'])
        headers = {'X-Auth-ID': 'MA_X', 'X-Auth-Token': TOKEN}
        assert requests.delete(emu.api_url + '/Account/MA_X/Conference/Hung/', headers=headers, timeout=5).status_code == 204
        assert emu.callback_sender.wait_idle()
        log = emu.callback_sender.log()
    assert {entry['status'] for entry in log} == {204}
    rooms = listener.registry.rooms
    assert sorted(rooms) == ['Ended', 'Kept']  # Hung ended by its exits; Ended never said so
    assert rooms['Kept'].present == {'1'} and rooms['Kept'].members_known
    assert rooms['Ended'].present == {'3', '4', '5'}


def test_forged_and_replayed_emulator_callbacks_are_refused(listening):
    url, listener = listening
    with Emulator(auth_id='MA_X', auth_token=TOKEN, callback_url=url, callback_signed_url=URL) as emu:
        # the sender reads the switches when it sends: let each batch go before changing them
        emu.configure(callback_signing='wrong_key')
        emu.add_conference('Forged', members=1)
        assert emu.callback_sender.wait_idle()
        emu.configure(callback_signing='none')
        emu.add_conference('Unsigned', members=1)
        assert emu.callback_sender.wait_idle()
        emu.configure(callback_signing='v2+v3', callback_replay=True)
        emu.add_conference('Real', members=1)
        assert emu.callback_sender.wait_idle()
        statuses = [(entry['conference'], entry['kind'], entry['status']) for entry in emu.callback_sender.log()]
    assert statuses == [('Forged', 'sent', 403), ('Unsigned', 'sent', 401), ('Real', 'sent', 204), ('Real', 'replay', 403)]
    assert sorted(listener.registry.rooms) == ['Real']
