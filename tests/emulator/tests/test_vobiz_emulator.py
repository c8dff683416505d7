"""Tests of the Vobiz API emulator: routes, member actions, auth, names, switches, log and control endpoints.

Everything goes over real sockets (requests or http.client) to an emulator running in-process.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import (
    CALLBACK_DEFAULTS,
    DEFAULT_SWITCHES,
    Emulator,
    normalize_switch,
    parse_api_path,
)
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import HANG_GUARD_SECONDS as GUARD

MEMBER_KEYS = {'member_id', 'muted', 'deaf', 'from', 'to', 'caller_name', 'direction', 'call_uuid', 'join_time'}
CONFERENCE_KEYS = {'conference_name', 'conference_run_time', 'conference_member_count', 'members'}
LOG_KEYS = ['seq', 'time', 'method', 'raw_path', 'auth_id', 'conference', 'member', 'action', 'status', 'fault', 'body']


def member_ids(emu, name):
    """The member ids of a live conference, in order."""
    return [member['member_id'] for member in emu.conference(name)['members']]


# ----- list, retrieve, hang up


def test_list_empty_then_live_names(emulator, api):
    response = api.call('GET')
    assert response.status_code == 200
    assert response.json()['conferences'] == []
    assert response.json()['api_id']
    emulator.add_conference('Board Room')
    emulator.add_conference('ci-1')
    assert api.call('GET').json()['conferences'] == ['Board Room', 'ci-1']


def test_retrieve_returns_documented_conference_object(emulator, api):
    emulator.add_conference('Board Room', members=3)
    response = api.call('GET', 'Board Room')
    assert response.status_code == 200
    body = response.json()
    assert set(body) == CONFERENCE_KEYS | {'api_id'}
    assert body['conference_name'] == 'Board Room'
    assert body['conference_member_count'] == '3'
    assert isinstance(body['conference_run_time'], str) and body['conference_run_time'].isdigit()
    assert len(body['members']) == 3
    for member in body['members']:
        assert set(member) == MEMBER_KEYS
        assert isinstance(member['member_id'], str)
        assert member['muted'] is False and member['deaf'] is False
        assert member['direction'] in ('inbound', 'outbound')
        assert isinstance(member['join_time'], str) and member['join_time'].isdigit()
    assert [m['member_id'] for m in body['members']] == member_ids(emulator, 'Board Room')


def test_retrieve_missing_conference_is_404(api):
    response = api.call('GET', 'nobody here')
    assert response.status_code == 404
    assert response.json()['error'] == 'conference not found'
    assert response.json()['api_id']


def test_names_are_case_sensitive(emulator, api):
    emulator.add_conference('Board Room')
    assert api.call('GET', 'board room').status_code == 404
    assert api.call('DELETE', 'BOARD ROOM').status_code == 404
    assert emulator.live_names() == ['Board Room']


def test_hangup_answers_204_then_404(emulator, api):
    emulator.add_conference('Board Room')
    emulator.add_conference('ci-1')
    response = api.call('DELETE', 'Board Room')
    assert response.status_code == 204
    assert response.content == b''
    assert emulator.live_names() == ['ci-1']
    assert emulator.conference('Board Room') is None
    again = api.call('DELETE', 'Board Room')
    assert again.status_code == 404
    assert again.json()['error'] == 'conference not found'


def test_hangup_all_is_204_even_when_none_and_spares_other_accounts(emulator, api):
    assert api.call('DELETE').status_code == 204
    emulator.add_account('MA_OTHER', 'other-token')
    emulator.add_conference('Board Room')
    emulator.add_conference('ci-1')
    emulator.add_conference('theirs', auth_id='MA_OTHER')
    response = api.call('DELETE')
    assert response.status_code == 204 and response.content == b''
    assert emulator.live_names() == []
    assert emulator.live_names('MA_OTHER') == ['theirs']


def test_delete_with_empty_json_body_is_accepted(emulator, api):
    emulator.add_conference('Board Room')
    assert api.call('DELETE', 'Board Room', json={}).status_code == 204


# ----- member routes


@pytest.mark.parametrize('spec, kept', [('1', ['2', '3']), ('1,3', ['2']), ('all', [])])
def test_member_hangup_removes_members(emulator, api, spec, kept):
    emulator.add_conference('Board Room', members=['1', '2', '3'])
    response = api.call('DELETE', 'Board Room', 'Member', spec)
    assert response.status_code == 204 and response.content == b''
    assert member_ids(emulator, 'Board Room') == kept
    assert emulator.conference('Board Room')['conference_member_count'] == str(len(kept))


def test_unknown_member_is_404_and_changes_nothing(emulator, api):
    emulator.add_conference('Board Room', members=['1', '2'])
    for method, parts in (('DELETE', ()), ('POST', ('Kick',)), ('POST', ('Mute',))):
        response = api.call(method, 'Board Room', 'Member', '1,99', *parts, json={} if method == 'POST' else None)
        assert response.status_code == 404
        assert response.json()['error'] == 'member not found'
    assert member_ids(emulator, 'Board Room') == ['1', '2']
    assert not any(member['muted'] for member in emulator.conference('Board Room')['members'])


def test_kick_answers_202_with_member_list(emulator, api):
    emulator.add_conference('Board Room', members=['10', '15', '20'])
    response = api.call('POST', 'Board Room', 'Member', '10,15', 'Kick', json={})
    assert response.status_code == 202
    body = response.json()
    assert body['message'] == 'kicked'
    assert body['member_id'] == ['10', '15']
    assert body['api_id']
    assert member_ids(emulator, 'Board Room') == ['20']


def test_mute_unmute_deaf_undeaf_change_member_flags(emulator, api):
    emulator.add_conference('Board Room', members=['1', '2'])
    assert api.call('POST', 'Board Room', 'Member', '1', 'Mute', json={}).json()['message'] == 'muted'
    assert api.call('POST', 'Board Room', 'Member', 'all', 'Deaf').status_code == 202
    flags = {m['member_id']: (m['muted'], m['deaf']) for m in emulator.conference('Board Room')['members']}
    assert flags == {'1': (True, True), '2': (False, True)}
    assert api.call('DELETE', 'Board Room', 'Member', '1', 'Mute').status_code == 204
    assert api.call('DELETE', 'Board Room', 'Member', '2', 'Deaf').status_code == 204
    flags = {m['member_id']: (m['muted'], m['deaf']) for m in emulator.conference('Board Room')['members']}
    assert flags == {'1': (False, True), '2': (False, False)}


def test_play_and_speak_are_recorded_per_conference(emulator, api):
    emulator.add_conference('Board Room', members=['1', '2'])
    play = api.call('POST', 'Board Room', 'Member', 'all', 'Play', json={'url': 'https://example.com/bye.mp3'})
    assert play.status_code == 202
    assert play.json()['message'] == 'play started' and play.json()['member_id'] == ['1', '2']
    speak = api.call(
        'POST', 'Board Room', 'Member', '2', 'Speak', json={'text': 'Goodbye', 'voice': 'MAN', 'language': 'en-GB'}
    )
    assert speak.status_code == 202
    assert speak.json()['message'] == 'speak started' and speak.json()['member_id'] == ['2']
    assert api.call('DELETE', 'Board Room', 'Member', 'all', 'Play').status_code == 204
    assert api.call('DELETE', 'Board Room', 'Member', '2', 'Speak').status_code == 204
    assert api.call('DELETE', 'Board Room').status_code == 204
    events = emulator.announcements('Board Room')
    assert [(e['action'], e['member_id']) for e in events] == [
        ('play', ['1', '2']),
        ('speak', ['2']),
        ('stop_play', ['1', '2']),
        ('stop_speak', ['2']),
    ]
    assert events[0]['url'] == 'https://example.com/bye.mp3'
    assert (events[1]['text'], events[1]['voice'], events[1]['language']) == ('Goodbye', 'MAN', 'en-GB')
    state = api.control('GET', '/state').json()
    assert state['accounts']['MA_TEST']['announcements']['Board Room'] == events


def test_speak_defaults_and_length_limit(emulator, api):
    emulator.add_conference('Board Room')
    assert api.call('POST', 'Board Room', 'Member', 'all', 'Speak', json={'text': 'x' * 1000}).status_code == 202
    event = emulator.announcements('Board Room')[0]
    assert (event['voice'], event['language']) == ('WOMAN', 'en-US')


@pytest.mark.parametrize(
    'body',
    [
        {},
        {'text': ''},
        {'text': 'x' * 1001},
        {'text': 42},
        {'text': 'hello', 'voice': 'CHILD'},
        {'text': 'hello', 'voice': 'woman'},
        {'text': 'hello', 'language': 5},
    ],
)
def test_speak_rejects_bad_bodies(emulator, api, body):
    emulator.add_conference('Board Room')
    response = api.call('POST', 'Board Room', 'Member', 'all', 'Speak', json=body)
    assert response.status_code == 400
    assert response.json()['error']
    assert emulator.announcements('Board Room') == []


@pytest.mark.parametrize(
    'body',
    [{}, {'url': 'http://example.com/a.mp3'}, {'url': 'ftp://example.com/a.mp3'}, {'url': 'https://'}, {'url': 7}],
)
def test_play_needs_an_https_url(emulator, api, body):
    emulator.add_conference('Board Room')
    assert api.call('POST', 'Board Room', 'Member', 'all', 'Play', json=body).status_code == 400
    assert emulator.announcements('Board Room') == []


def test_record_start_stop_and_finalise_on_hangup(emulator, api):
    emulator.add_conference('Board Room')
    response = api.call(
        'POST', 'Board Room', 'Record', json={'file_format': 'wav', 'callback_url': 'https://example.com/cb'}
    )
    assert response.status_code == 202
    body = response.json()
    assert body['recording_id'] and body['url'].endswith('.wav') and body['message']
    assert api.call('POST', 'Board Room', 'Record', json={'file_format': 'ogg'}).status_code == 400
    assert api.call('DELETE', 'Board Room', 'Record').status_code == 204
    assert emulator.recordings('Board Room')[0]['stopped'] is not None
    second = api.call('POST', 'Board Room', 'Record').json()
    assert emulator.recordings('Board Room')[1]['stopped'] is None
    api.call('DELETE', 'Board Room')
    recordings = emulator.recordings('Board Room')
    assert [r['recording_id'] for r in recordings] == [body['recording_id'], second['recording_id']]
    assert all(r['stopped'] for r in recordings)


MEMBER_ROUTES = [
    ('DELETE', ('Member', '1')),
    ('POST', ('Member', '1', 'Kick')),
    ('POST', ('Member', 'all', 'Mute')),
    ('DELETE', ('Member', 'all', 'Mute')),
    ('POST', ('Member', '1', 'Deaf')),
    ('DELETE', ('Member', '1', 'Deaf')),
    ('POST', ('Member', 'all', 'Play')),
    ('DELETE', ('Member', 'all', 'Play')),
    ('POST', ('Member', 'all', 'Speak')),
    ('DELETE', ('Member', 'all', 'Speak')),
    ('POST', ('Record',)),
    ('DELETE', ('Record',)),
]


@pytest.mark.parametrize('method, parts', MEMBER_ROUTES)
def test_member_routes_on_missing_conference_are_404(api, method, parts):
    body = {'url': 'https://example.com/a.mp3', 'text': 'hi'} if method == 'POST' else None
    response = api.call(method, 'gone', *parts, json=body)
    assert response.status_code == 404
    assert response.json()['error'] == 'conference not found'


def test_member_action_status_switch(emulator, api):
    emulator.add_conference('Board Room', members=['1', '2'])
    emulator.configure(member_action_status=200)
    assert api.call('POST', 'Board Room', 'Member', '1', 'Mute', json={}).status_code == 200
    assert api.call('POST', 'Board Room', 'Member', '1', 'Kick', json={}).status_code == 200
    assert api.call('POST', 'Board Room', 'Record').status_code == 200
    assert api.call('DELETE', 'Board Room', 'Member', '2', 'Mute').status_code == 204


def test_member_action_on_empty_room_and_all(emulator, api):
    emulator.add_conference('empty', members=0)
    response = api.call('POST', 'empty', 'Member', 'all', 'Kick', json={})
    assert response.status_code == 202 and response.json()['member_id'] == []
    assert api.call('DELETE', 'empty', 'Member', 'all').status_code == 204
    assert emulator.live_names() == ['empty']


# ----- bodies, methods, gateway 404, trailing slash, lowercase


@pytest.mark.parametrize('data', [b'{not json', b'\xff\xfe{}', b'[' * 60000])
def test_bad_json_body_is_400(emulator, api, data):
    emulator.add_conference('Board Room')
    response = api.call(
        'POST', 'Board Room', 'Member', 'all', 'Mute', data=data, headers={'Content-Type': 'application/json'}
    )
    assert response.status_code == 400
    assert 'JSON' in response.json()['error']
    assert emulator.requests()[-1]['body'] is None
    assert not emulator.conference('Board Room')['members'][0]['muted']


def test_post_body_must_be_an_object(emulator, api):
    emulator.add_conference('Board Room')
    assert api.call('POST', 'Board Room', 'Member', 'all', 'Kick', json=[1, 2]).status_code == 400
    assert len(member_ids(emulator, 'Board Room')) == 2


@pytest.mark.parametrize(
    'method, parts, allowed',
    [
        ('PUT', (), 'DELETE, GET'),
        ('POST', (), 'DELETE, GET'),
        ('PATCH', ('Board Room',), 'DELETE, GET'),
        ('POST', ('Board Room',), 'DELETE, GET'),
        ('GET', ('Board Room', 'Member', '1', 'Kick'), 'POST'),
        ('DELETE', ('Board Room', 'Member', '1', 'Kick'), 'POST'),
        ('GET', ('Board Room', 'Member', '1'), 'DELETE'),
        ('GET', ('Board Room', 'Record'), 'DELETE, POST'),
    ],
)
def test_wrong_method_is_405(emulator, api, method, parts, allowed):
    emulator.add_conference('Board Room')
    response = api.call(method, *parts)
    assert response.status_code == 405
    assert response.headers['Allow'] == allowed
    assert response.json()['error']
    assert emulator.requests()[-1]['action'] == 'method_not_allowed'


def test_head_gets_405_without_body(emulator, api):
    status, headers, body = api.raw('HEAD', api.path())
    assert status == 405 and body == b''
    assert api.call('GET').status_code == 200


@pytest.mark.parametrize(
    'target',
    [
        '/',
        '/api/v1/',
        '/api/v1/Account/MA_TEST/',
        '/api/v2/Account/MA_TEST/Conference/',
        '/v1/Account/MA_TEST/Conference/',
        '/api/v1/Account/MA_TEST/Call/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Speak/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Play/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member/1/Shout/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member/1/Kick/extra/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member/',
        '/api/v1/Account/MA_TEST/Conference//',
        '/api/v1/Account//Conference/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member//Mute/',
    ],
)
def test_unknown_paths_get_the_gateway_404(emulator, api, target):
    emulator.add_conference('Board Room')
    emulator.configure(error_style='envelope')
    status, headers, body = api.raw('POST', target, body=b'{}')
    assert status == 404
    assert json.loads(body) == {'message': 'Not Found'}
    assert emulator.requests()[-1]['action'] == 'not_found'
    assert emulator.live_names() == ['Board Room']


def test_missing_trailing_slash_rejected_by_default_then_accepted(emulator, api):
    emulator.add_conference('Board Room')
    for target in ('/api/v1/Account/MA_TEST/Conference', '/api/v1/Account/MA_TEST/Conference/Board%20Room'):
        status, headers, body = api.raw('GET', target)
        assert status == 404 and json.loads(body) == {'message': 'Not Found'}
    emulator.configure(trailing_slash='accept')
    status, headers, body = api.raw('GET', '/api/v1/Account/MA_TEST/Conference')
    assert status == 200 and json.loads(body)['conferences'] == ['Board Room']
    status, headers, body = api.raw('DELETE', '/api/v1/Account/MA_TEST/Conference/Board%20Room')
    assert status == 204
    assert api.raw('GET', '/api/v1/Account/MA_TEST/Conference/')[0] == 200


@pytest.mark.parametrize(
    'target',
    [
        '/api/v1/account/MA_TEST/Conference/',
        '/api/v1/Account/MA_TEST/conference/',
        '/API/V1/Account/MA_TEST/Conference/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/member/1/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member/1/kick/',
        '/api/v1/Account/MA_TEST/Conference/Board%20Room/record/',
    ],
)
def test_lowercase_path_segments_are_401(emulator, api, target):
    emulator.add_conference('Board Room', members=['1'])
    method = 'POST' if target.endswith(('kick/', 'record/')) else 'DELETE'
    status, headers, body = api.raw(method, target, body=b'{}')
    assert status == 401
    assert json.loads(body)['error']
    assert member_ids(emulator, 'Board Room') == ['1']


# ----- auth


@pytest.mark.parametrize(
    'headers, path_id',
    [
        ({'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': 'wrong'}, 'MA_TEST'),
        ({'X-Auth-ID': 'MA_NOBODY', 'X-Auth-Token': 'unit-test-token-9f8e7d'}, 'MA_NOBODY'),
        ({'X-Auth-ID': 'MA_OTHER', 'X-Auth-Token': 'unit-test-token-9f8e7d'}, 'MA_OTHER'),
        ({}, 'MA_TEST'),
        ({'X-Auth-ID': 'MA_TEST'}, 'MA_TEST'),
        ({'X-Auth-Token': 'unit-test-token-9f8e7d'}, 'MA_TEST'),
        ({'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': ''}, 'MA_TEST'),
        ({'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': 'unit-test-token-9f8e7d'}, 'MA_OTHER'),
        ({'X-Auth-ID': 'MA_OTHER', 'X-Auth-Token': 'other-token'}, 'MA_TEST'),
    ],
)
def test_bad_credentials_are_401_and_do_nothing(emulator, api, headers, path_id):
    emulator.add_account('MA_OTHER', 'other-token')
    emulator.add_conference('Board Room')
    emulator.add_conference('Board Room', auth_id='MA_OTHER')
    for method in ('GET', 'DELETE'):
        response = api.call(method, 'Board Room', auth=False, headers=headers, auth_id=path_id)
        assert response.status_code == 401
        assert response.json()['error']
    assert emulator.live_names() == ['Board Room']
    assert emulator.live_names('MA_OTHER') == ['Board Room']


def test_second_account_sees_only_its_own_rooms(emulator, api):
    emulator.add_account('MA_OTHER', 'other-token')
    emulator.add_conference('mine')
    emulator.add_conference('theirs', auth_id='MA_OTHER')
    headers = {'X-Auth-ID': 'MA_OTHER', 'X-Auth-Token': 'other-token'}
    response = api.call('GET', auth=False, headers=headers, auth_id='MA_OTHER')
    assert response.json()['conferences'] == ['theirs']
    assert api.call('DELETE', 'mine', auth=False, headers=headers, auth_id='MA_OTHER').status_code == 404
    assert emulator.live_names() == ['mine']


def test_token_never_appears_in_log_state_or_config(tmp_path, make_emulator):
    secret = 'S3cret-token-that-must-not-leak'
    log_file = tmp_path / 'requests.jsonl'
    emu = make_emulator(auth_token=secret, conferences=['Board Room'], log_file=str(log_file))
    session = requests.Session()
    headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': secret}
    session.get(emu.api_url + '/Account/MA_TEST/Conference/', headers=headers, timeout=GUARD)
    session.delete(emu.api_url + '/Account/MA_TEST/Conference/Board%20Room/', headers=headers, timeout=GUARD)
    session.get(
        emu.api_url + '/Account/MA_TEST/Conference/',
        headers={'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': secret + 'x'},
        timeout=GUARD,
    )
    outputs = [json.dumps(emu.requests()), json.dumps(emu.state()), json.dumps(emu.config), log_file.read_text()]
    for name in ('/log', '/state', '/config'):
        outputs.append(session.get(emu.url + '/_emulator' + name, timeout=GUARD).text)
    emu.stop()
    outputs.append(log_file.read_text())
    assert len(log_file.read_text().splitlines()) == 3
    for text in outputs:
        assert secret not in text


# ----- names


NAMES = [
    'Board Room',
    'caf\u00e9 \u4f1a\u8bae \U0001f4de',
    'a/b',
    '..',
    '.',
    'what?',
    'room#1',
    '100%',
    'a+b',
    'tab\there',
    ' lead',
    'all',
]


@pytest.mark.parametrize('name', NAMES)
def test_awkward_names_round_trip_when_fully_encoded(emulator, api, name):
    emulator.add_conference(name)
    emulator.add_conference(name + '-other')
    status, headers, body = api.raw('GET', api.path(name))
    assert status == 200
    assert json.loads(body)['conference_name'] == name
    status, headers, body = api.raw('POST', api.path(name, 'Member', 'all', 'Mute'), body=b'{}')
    assert status == 202
    assert api.raw('DELETE', api.path(name))[0] == 204
    assert emulator.live_names() == [name + '-other']
    assert emulator.requests()[-1]['conference'] == name


def test_raw_slash_is_two_segments_and_encoded_slash_is_part_of_the_name(emulator, api):
    emulator.add_conference('a/b')
    emulator.add_conference('a')
    status, headers, body = api.raw('GET', '/api/v1/Account/MA_TEST/Conference/a/b/')
    assert status == 404 and json.loads(body) == {'message': 'Not Found'}
    assert api.raw('GET', '/api/v1/Account/MA_TEST/Conference/a%2Fb/')[0] == 200
    assert api.raw('GET', '/api/v1/Account/MA_TEST/Conference/a%2fb/')[0] == 200
    assert api.raw('DELETE', '/api/v1/Account/MA_TEST/Conference/a%2Fb/')[0] == 204
    assert emulator.live_names() == ['a']


def test_encoded_dots_are_a_name_and_nothing_is_normalised(emulator, api):
    emulator.add_conference('..')
    emulator.add_conference('x')
    status, headers, body = api.raw('GET', '/api/v1/Account/MA_TEST/Conference/%2E%2E/')
    assert status == 200 and json.loads(body)['conference_name'] == '..'
    status, headers, body = api.raw('DELETE', '/api/v1/Account/MA_TEST/Conference/x/%2E%2E/')
    assert status == 404 and json.loads(body) == {'message': 'Not Found'}
    assert api.raw('DELETE', '/api/v1/Account/MA_TEST/Conference/%2e%2e/')[0] == 204
    assert emulator.live_names() == ['x']
    assert emulator.requests()[-1]['raw_path'] == '/api/v1/Account/MA_TEST/Conference/%2e%2e/'


def test_query_string_is_ignored_and_unencoded_question_mark_ends_the_path(emulator, api):
    emulator.add_conference('what')
    emulator.add_conference('what?')
    status, headers, body = api.raw('GET', '/api/v1/Account/MA_TEST/Conference/what%3F/?x=1')
    assert status == 200 and json.loads(body)['conference_name'] == 'what?'
    assert api.raw('GET', '/api/v1/Account/MA_TEST/Conference/what?/')[0] == 404


def test_raw_utf8_bytes_in_the_path_are_decoded(emulator, api):
    emulator.add_conference('caf\u00e9')
    request = (
        'GET /api/v1/Account/MA_TEST/Conference/caf\u00e9/ HTTP/1.1\r\nHost: x\r\nX-Auth-ID: MA_TEST\r\n'
        'X-Auth-Token: unit-test-token-9f8e7d\r\nConnection: close\r\n\r\n'
    ).encode('utf-8')
    reply = api.raw_bytes(request)
    assert reply.startswith(b'HTTP/1.1 200 ')
    assert emulator.requests()[-1]['conference'] == 'caf\u00e9'


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=st.text(alphabet=st.characters(blacklist_categories=('Cs',)), min_size=1, max_size=24))
def test_any_name_round_trips(emulator, api, name):
    emulator.add_conference(name, members=1)
    try:
        status, headers, body = api.raw('GET', api.path(name))
        assert status == 200
        assert json.loads(body)['conference_name'] == name
    finally:
        emulator.remove_conference(name)


def test_parse_api_path_units():
    route = parse_api_path('/api/v1/Account/MA_X/Conference/a%2Fb/Member/1,2/Mute/?q=1')
    assert (route.kind, route.auth_id, route.conference, route.member) == ('api', 'MA_X', 'a/b', '1,2')
    assert route.actions == {'POST': 'mute', 'DELETE': 'unmute'}
    assert parse_api_path('/api/v1/Account/MA_X/Conference/x').slash is False
    assert parse_api_path('/api/v1/Account/MA_X/Conference/%FF/').kind == 'bad_path'
    assert parse_api_path('/api/v1/Account/MA_X/conference/').kind == 'lowercase'
    assert parse_api_path('http://host/api/v1/Account/MA_X/Conference/').kind == 'not_found'


# ----- deviation switches


def test_list_lies(make_emulator):
    emu = make_emulator(conferences=['Board Room'], list_lies=True)
    client_headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emu.auth_token}
    response = requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers=client_headers, timeout=GUARD)
    assert response.status_code == 200
    assert response.json() == {'conferences': []}
    retrieve = requests.get(
        emu.api_url + '/Account/MA_TEST/Conference/Board%20Room/', headers=client_headers, timeout=GUARD
    )
    assert retrieve.json()['conference_name'] == 'Board Room'


def test_list_omits_leaves_matching_rooms_out_of_the_list_only(make_emulator):
    emu = make_emulator(conferences=['Board Room', 'ci-1', 'ci-2'], list_omits=['ci-*'])
    client_headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emu.auth_token}
    listed = requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers=client_headers, timeout=GUARD)
    assert listed.json()['conferences'] == ['Board Room']
    retrieve = requests.get(emu.api_url + '/Account/MA_TEST/Conference/ci-1/', headers=client_headers, timeout=GUARD)
    assert retrieve.json()['conference_name'] == 'ci-1'
    hangup = requests.delete(emu.api_url + '/Account/MA_TEST/Conference/ci-2/', headers=client_headers, timeout=GUARD)
    assert hangup.status_code == 204 and emu.live_names() == ['Board Room', 'ci-1']


def test_retrieve_lies_for_live_rooms_only(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(retrieve_lies=True)
    response = api.call('GET', 'Board Room')
    assert response.status_code == 200 and response.json() == {'error': 'failed'}
    assert api.call('GET', 'gone').status_code == 404
    assert api.call('GET').json()['conferences'] == ['Board Room']


def test_retrieve_uuid_adds_the_instance_uuid_its_callbacks_carry(emulator, api):
    emulator.add_conference('Board Room')
    assert 'conference_uuid' not in api.call('GET', 'Board Room').json()  # the documented object has none
    emulator.configure(retrieve_uuid=True)
    first = api.call('GET', 'Board Room').json()['conference_uuid']
    assert first == emulator.conference_uuid('Board Room')
    emulator.add_conference('Board Room')  # a new instance of the same name
    assert api.call('GET', 'Board Room').json()['conference_uuid'] not in (first, None)
    assert emulator.conference_uuid('gone') is None


def test_retrieve_stale_shows_a_room_hung_up_for_that_many_reads(emulator, api):
    emulator.add_conference('Board Room', members=2)
    emulator.add_conference('Other')
    emulator.configure(retrieve_stale=2, retrieve_uuid=True)
    hung_up_uuid = emulator.conference_uuid('Board Room')
    assert api.call('DELETE', 'Board Room').status_code == 204
    assert emulator.live_names() == ['Other'] and api.call('GET').json()['conferences'] == ['Other']
    stale = [api.call('GET', 'Board Room') for dummy in range(2)]
    assert [response.status_code for response in stale] == [200, 200]
    assert {response.json()['conference_uuid'] for response in stale} == {hung_up_uuid}  # the instance hung up
    assert stale[0].json()['conference_member_count'] == '2'
    assert api.call('GET', 'Board Room').status_code == 404  # the reads are used up
    assert api.call('DELETE', 'Board Room').status_code == 404  # only retrieve is stale
    emulator.remove_conference('Other')  # a silent end is not stale
    assert api.call('GET', 'Other').status_code == 404
    assert api.call('DELETE', 'Other').status_code == 404


def test_retrieve_stale_ends_with_reset_and_a_new_instance(emulator, api):
    for name in ('a', 'b'):
        emulator.add_conference(name)
    emulator.add_conference('other')
    emulator.configure(retrieve_stale={'reads': 5, 'match': '[ab]'})
    assert emulator.config['retrieve_stale'] == {'reads': 5, 'match': '[ab]'}
    assert api.call('DELETE').status_code == 204  # the hang-up of all rooms too
    assert [api.call('GET', name).status_code for name in ('a', 'b', 'other')] == [200, 200, 404]
    emulator.add_conference('a', members=0)
    emulator.remove_conference('a')
    assert api.call('GET', 'a').status_code == 404
    emulator.reset()
    assert api.call('GET', 'b').status_code == 404


def test_recreate_after_hangup_starts_a_new_instance_under_the_name(emulator, api):
    emulator.add_conference('ci-1', members=3)
    emulator.add_conference('keep-1', members=1)
    emulator.configure(recreate_after_hangup=['ci-*'], retrieve_uuid=True)
    first = emulator.conference_uuid('ci-1')
    first_members = member_ids(emulator, 'ci-1')
    assert api.call('DELETE', 'ci-1').status_code == 204
    assert emulator.live_names() == ['ci-1', 'keep-1']
    again = api.call('GET', 'ci-1').json()
    assert again['conference_uuid'] == emulator.conference_uuid('ci-1') and again['conference_uuid'] != first
    assert again['conference_member_count'] == '3' and not set(member_ids(emulator, 'ci-1')) & set(first_members)
    assert api.call('DELETE', 'keep-1').status_code == 204 and emulator.live_names() == ['ci-1']
    assert api.call('DELETE').status_code == 204 and emulator.live_names() == ['ci-1']  # all: again re-created


def test_forbidden_conferences_answer_403_for_everything(emulator, api):
    emulator.add_conference('ci-1')
    emulator.add_conference('Board Room')
    emulator.configure(forbidden=['ci-1', 'never-existed'])
    for method, parts in (
        ('GET', ()),
        ('DELETE', ()),
        ('POST', ('Member', 'all', 'Kick')),
        ('DELETE', ('Member', 'all')),
    ):
        response = api.call(method, 'ci-1', *parts, json={} if method == 'POST' else None)
        assert response.status_code == 403
        assert response.json()['error']
    assert api.call('GET', 'never-existed').status_code == 403
    assert api.call('GET', 'Board Room').status_code == 200
    assert emulator.live_names() == ['Board Room', 'ci-1']
    assert len(member_ids(emulator, 'ci-1')) == 2


def envelope_cases(emu, api):
    """Requests that each produce one error status."""
    emu.add_conference('secret')
    emu.add_conference('Board Room')
    emu.configure(forbidden=['secret'])
    yield 401, api.call('GET', auth=False)
    yield 403, api.call('GET', 'secret')
    yield 404, api.call('GET', 'nothing')
    yield 400, api.call('POST', 'Board Room', 'Member', 'all', 'Speak', json={})
    yield 405, api.call('PUT')
    yield 413, api.call('POST', 'Board Room', 'Member', 'all', 'Mute', data=b'x' * (70 * 1024))
    for kind in ('429', '500', '502', '503', '504'):
        emu.configure(faults=[{'kind': kind}])
        yield int(kind), api.call('GET')
    emu.configure(faults=[], rate_limit={'requests': 1, 'per_seconds': 60})
    api.call('GET')
    yield 429, api.call('GET')


def test_error_style_envelope(emulator, api):
    emulator.configure(error_style='envelope')
    seen = []
    for status, response in envelope_cases(emulator, api):
        assert response.status_code == status
        body = response.json()
        assert set(body) == {'status', 'error', 'timestamp', 'requestId'}, body
        assert body['status'] == 'error'
        assert set(body['error']) == {'code', 'message', 'details'}
        assert body['error']['code'] and body['error']['message']
        seen.append(status)
    assert seen == [401, 403, 404, 400, 405, 413, 429, 500, 502, 503, 504, 429]


def test_error_style_flat_is_the_default(emulator, api):
    for status, response in envelope_cases(emulator, api):
        assert response.status_code == status
        body = response.json()
        assert set(body) == {'api_id', 'error'}, body
        assert isinstance(body['error'], str) and body['error']


@pytest.mark.parametrize(
    'shape, body',
    [
        ('gateway', b'{"message": "Not Found"}'),
        ('error', b'{"error": "not found"}'),
        ('empty', b''),
        ('html', b'<!DOCTYPE html>'),
    ],
)
def test_not_found_body_of_an_unknown_path(emulator, api, shape, body):
    """The 404 of a path the API does not know (an api_url ending in /Account/MA_X doubles the account part)."""
    emulator.add_conference('r')
    emulator.configure(not_found_body=shape)
    status, dummy, content = api.raw('DELETE', '/api/v1/Account/{0}/Account/{0}/Conference/r/'.format(emulator.auth_id))
    assert status == 404 and content.startswith(body) and (body or content == b'')
    assert emulator.live_names() == ['r'] and emulator.requests()[-1]['action'] == 'not_found'


def test_not_found_body_is_checked(emulator):
    with pytest.raises(ValueError, match='not_found_body'):
        emulator.configure(not_found_body='json')


def test_switches_at_construction(make_emulator):
    emu = make_emulator(
        conferences=['Board Room'],
        members=1,
        member_action_status=200,
        error_style='envelope',
        trailing_slash='accept',
        forbidden=['x'],
        latency_ms=1,
        seed=5,
    )
    config = emu.config
    assert config['member_action_status'] == 200 and config['error_style'] == 'envelope'
    assert config['trailing_slash'] == 'accept' and config['forbidden'] == ['x'] and config['seed'] == 5
    assert emu.conference('Board Room')['conference_member_count'] == '1'


@pytest.mark.parametrize(
    'name, value',
    [
        ('nonsense', 1),
        ('latency_ms', -1),
        ('latency_ms', 'fast'),
        ('jitter_ms', True),
        ('seed', 1.5),
        ('faults', {'kind': '500'}),
        ('faults', [{'kind': '418'}]),
        ('faults', [{'kind': '500', 'rate': 2}]),
        ('faults', [{'kind': '500', 'first_n': -1}]),
        ('faults', [{'kind': '500', 'colour': 'red'}]),
        ('faults', [{'kind': '429_retry_after', 'retry_after': 'soon'}]),
        ('faults', [{'kind': 'slow', 'delay': -1}]),
        ('rate_limit', 'lots'),
        ('rate_limit', {'requests': 0, 'per_seconds': 5}),
        ('list_lies', 'yes'),
        ('member_action_status', 201),
        ('member_action_status', True),
        ('error_style', 'xml'),
        ('trailing_slash', 'maybe'),
        ('forbidden', [1]),
        ('retrieve_stale', -1),
        ('retrieve_stale', True),
        ('retrieve_stale', {'reads': 1, 'glob': 'x'}),
        ('retrieve_stale', {'reads': 1, 'match': 7}),
        ('recreate_after_hangup', 'ci-*'),
        ('recreate_after_hangup', ['']),
        ('list_omits', 'ci-*'),
        ('list_omits', [3]),
    ],
)
def test_invalid_switches_are_rejected(emulator, name, value):
    before = emulator.config
    with pytest.raises(ValueError):
        emulator.configure(**{name: value})
    assert emulator.config == before


def test_switch_normalisation():
    assert normalize_switch('rate_limit', 'plivo') == {'requests': 300, 'per_seconds': 5}
    assert normalize_switch('rate_limit', '10/2') == {'requests': 10, 'per_seconds': 2.0}
    assert normalize_switch('rate_limit', 'off') is None
    assert normalize_switch('forbidden', 'x') == ['x']
    rule = normalize_switch('faults', [{'kind': 503, 'method': 'delete'}])[0]
    assert rule['kind'] == '503' and rule['method'] == 'DELETE' and rule['retry_after'] == 1 and rule['first_n'] is None
    # the callback switches have their own tests (test_vobiz_emulator_callbacks.py)
    assert set(DEFAULT_SWITCHES) - set(CALLBACK_DEFAULTS) == {
        'latency_ms',
        'jitter_ms',
        'seed',
        'faults',
        'rate_limit',
        'list_lies',
        'retrieve_lies',
        'retrieve_uuid',
        'retrieve_stale',
        'recreate_after_hangup',
        'list_omits',
        'member_action_status',
        'error_style',
        'trailing_slash',
        'forbidden',
        'not_found_body',
    }


# ----- request log


def test_log_entries_have_every_field_and_action_name(emulator, api):
    emulator.add_conference('Board Room', members=['1', '2', '3', '4'])
    emulator.add_conference('ci-1')
    calls = [
        ('GET', ()),
        ('GET', ('Board Room',)),
        ('POST', ('Board Room', 'Member', '1', 'Mute')),
        ('DELETE', ('Board Room', 'Member', '1', 'Mute')),
        ('POST', ('Board Room', 'Member', '1', 'Deaf')),
        ('DELETE', ('Board Room', 'Member', '1', 'Deaf')),
        ('POST', ('Board Room', 'Member', 'all', 'Play')),
        ('DELETE', ('Board Room', 'Member', 'all', 'Play')),
        ('POST', ('Board Room', 'Member', 'all', 'Speak')),
        ('DELETE', ('Board Room', 'Member', 'all', 'Speak')),
        ('POST', ('Board Room', 'Record')),
        ('DELETE', ('Board Room', 'Record')),
        ('POST', ('Board Room', 'Member', '2', 'Kick')),
        ('DELETE', ('Board Room', 'Member', '3,4')),
        ('DELETE', ('Board Room',)),
        ('DELETE', ()),
        ('PUT', ()),
    ]
    bodies = {'Play': {'url': 'https://example.com/a.mp3'}, 'Speak': {'text': 'bye'}}
    for method, parts in calls:
        body = bodies.get(parts[-1], {}) if method == 'POST' else None
        assert api.call(method, *parts, json=body).status_code < 500
    api.raw('GET', '/api/v1/Account/MA_TEST/Nope/')
    entries = emulator.requests()
    assert [entry['action'] for entry in entries] == [
        'list',
        'retrieve',
        'mute',
        'unmute',
        'deaf',
        'undeaf',
        'play',
        'stop_play',
        'speak',
        'stop_speak',
        'record',
        'stop_record',
        'kick',
        'member_hangup',
        'hangup',
        'hangup_all',
        'method_not_allowed',
        'not_found',
    ]
    assert [entry['seq'] for entry in entries] == list(range(1, len(entries) + 1))
    for entry in entries:
        assert list(entry) == LOG_KEYS
        assert entry['auth_id'] == 'MA_TEST'
        assert entry['fault'] is None
        assert entry['time'].endswith('Z')
    speak = entries[8]
    assert speak['method'] == 'POST' and speak['conference'] == 'Board Room' and speak['member'] == 'all'
    assert speak['body'] == {'text': 'bye'} and speak['status'] == 202
    assert speak['raw_path'] == '/api/v1/Account/MA_TEST/Conference/Board%20Room/Member/all/Speak/'
    assert entries[13]['member'] == '3,4'
    assert entries[-1]['conference'] is None and entries[-1]['status'] == 404
    assert [entry['action'] for entry in emulator.requests(method='delete')] == [
        'unmute',
        'undeaf',
        'stop_play',
        'stop_speak',
        'stop_record',
        'member_hangup',
        'hangup',
        'hangup_all',
    ]
    assert len(emulator.requests(action='hangup')) == 1
    assert json.loads(json.dumps(entries)) == entries


def test_log_file_gets_one_json_line_per_request(tmp_path, make_emulator):
    log_file = tmp_path / 'log.jsonl'
    log_file.write_text('{"earlier": true}\n')
    emu = make_emulator(conferences=['Board Room'], log_file=str(log_file))
    headers = {'X-Auth-ID': 'MA_TEST', 'X-Auth-Token': emu.auth_token}
    requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers=headers, timeout=GUARD)
    requests.delete(emu.api_url + '/Account/MA_TEST/Conference/Board%20Room/', headers=headers, timeout=GUARD)
    requests.get(emu.url + '/_emulator/state', timeout=GUARD)
    lines = [json.loads(line) for line in log_file.read_text().splitlines()]
    assert lines[0] == {'earlier': True}
    assert lines[1:] == emu.requests()
    assert [line['action'] for line in lines[1:]] == ['list', 'hangup']


# ----- control endpoints


def test_control_log_read_filter_and_clear(emulator, api):
    emulator.add_conference('Board Room')
    api.call('GET')
    api.call('DELETE', 'Board Room')
    body = api.control('GET', '/log').json()
    assert [entry['action'] for entry in body['requests']] == ['list', 'hangup']
    assert [e['action'] for e in api.control('GET', '/log?method=DELETE').json()['requests']] == ['hangup']
    assert api.control('GET', '/log?action=list').json()['requests'][0]['method'] == 'GET'
    assert api.control('DELETE', '/log').status_code == 204
    assert api.control('GET', '/log').json() == {'requests': []}
    assert emulator.requests() == []
    api.call('GET')
    assert emulator.requests()[0]['seq'] == 1


def test_control_state_shows_accounts_rooms_and_no_tokens(emulator, api):
    emulator.add_account('MA_OTHER', 'other-token')
    emulator.add_conference('Board Room', members=[{'member_id': 'm1', 'caller_name': 'Ann', 'direction': 'outbound'}])
    body = api.control('GET', '/state').json()
    assert set(body['accounts']) == {'MA_TEST', 'MA_OTHER'}
    mine = body['accounts']['MA_TEST']
    assert set(mine) == {'conferences', 'announcements', 'recordings'}
    member = mine['conferences']['Board Room']['members'][0]
    assert (member['member_id'], member['caller_name'], member['direction']) == ('m1', 'Ann', 'outbound')
    assert body['accounts']['MA_OTHER']['conferences'] == {}
    assert 'other-token' not in json.dumps(body) and emulator.auth_token not in json.dumps(body)


def test_control_add_and_remove_conferences(emulator, api):
    emulator.add_account('MA_OTHER', 'other-token')
    response = api.control(
        'POST', '/conferences', json={'name': 'Board Room', 'members': ['7', {'member_id': '8', 'muted': True}]}
    )
    assert response.status_code == 201
    assert [m['member_id'] for m in response.json()['members']] == ['7', '8']
    assert api.control('POST', '/conferences', json={'name': 'ci-1'}).json()['conference_member_count'] == '2'
    assert (
        api.control('POST', '/conferences', json={'name': 'x', 'members': 0, 'auth_id': 'MA_OTHER'}).status_code == 201
    )
    assert api.call('GET').json()['conferences'] == ['Board Room', 'ci-1']
    assert emulator.conference('Board Room')['members'][1]['muted'] is True
    assert emulator.live_names('MA_OTHER') == ['x']
    assert api.control('POST', '/conferences/remove', json={'name': 'Board Room'}).json() == {'removed': True}
    assert api.control('POST', '/conferences/remove', json={'name': 'Board Room'}).json() == {'removed': False}
    assert api.control('POST', '/conferences/remove', json={'name': 'x', 'auth_id': 'MA_OTHER'}).json() == {
        'removed': True
    }
    assert emulator.live_names() == ['ci-1'] and emulator.live_names('MA_OTHER') == []
    for bad in (
        {},
        {'name': ''},
        {'name': 'y', 'auth_id': 'MA_NOBODY'},
        {'name': 'y', 'members': 'many'},
        {'name': 'y', 'members': ['1', '1']},
        {'name': 'y', 'members': [{'shoe_size': 9}]},
    ):
        response = api.control('POST', '/conferences', json=bad)
        assert response.status_code == 400, bad
        assert response.json()['error']
    assert api.control('POST', '/conferences/remove', json={}).status_code == 400
    assert [entry['action'] for entry in emulator.requests()] == ['list']


def test_control_accounts(emulator, api):
    assert api.control('POST', '/accounts', json={'auth_id': 'MA_NEW', 'token': 'new-token'}).status_code == 201
    emulator.add_conference('r', auth_id='MA_NEW')
    response = api.call(
        'GET', auth=False, auth_id='MA_NEW', headers={'X-Auth-ID': 'MA_NEW', 'X-Auth-Token': 'new-token'}
    )
    assert response.json()['conferences'] == ['r']
    assert api.control('POST', '/accounts', json={'auth_id': 'MA_NEW'}).status_code == 400


def test_control_config_read_and_partial_update(emulator, api):
    assert api.control('GET', '/config').json() == DEFAULT_SWITCHES
    response = api.control(
        'POST', '/config', json={'list_lies': True, 'rate_limit': 'plivo', 'faults': [{'kind': '503', 'first_n': 1}]}
    )
    assert response.status_code == 200
    config = response.json()
    assert config['list_lies'] is True and config['rate_limit'] == {'requests': 300, 'per_seconds': 5}
    assert config['faults'][0]['kind'] == '503' and config['faults'][0]['first_n'] == 1
    assert config['error_style'] == 'flat'
    bad = api.control('POST', '/config', json={'error_style': 'xml', 'list_lies': False})
    assert bad.status_code == 400 and 'error_style' in bad.json()['error']
    assert api.control('POST', '/config', json={'bogus': 1}).status_code == 400
    assert emulator.config == config


def test_control_reset(emulator, api):
    emulator.add_conference('Board Room')
    emulator.configure(list_lies=True, faults=[{'kind': '500'}], error_style='envelope')
    assert api.call('GET').status_code == 500
    response = api.control('POST', '/reset')
    assert response.status_code == 200 and response.json() == DEFAULT_SWITCHES
    assert emulator.requests() == []
    assert api.call('GET').json()['conferences'] == ['Board Room']


def test_control_reset_with_rooms_makes_exactly_those_live(emulator, api):
    emulator.add_conference('stale')
    emulator.add_conference('kept', members=3)
    response = api.control('POST', '/reset', json={'conferences': ['kept', 'new one'], 'members': 1})
    assert response.status_code == 200
    assert emulator.live_names() == ['kept', 'new one']
    assert emulator.conference('kept')['conference_member_count'] == '3'
    assert emulator.conference('new one')['conference_member_count'] == '1'
    assert api.control('POST', '/reset', json={'conferences': 'kept'}).status_code == 400


def test_control_errors(emulator, api):
    assert api.control('GET', '/nothing').status_code == 404
    assert api.control('GET', '').status_code == 404
    response = api.control('PUT', '/log')
    assert response.status_code == 405 and response.headers['Allow'] == 'GET, DELETE'
    assert api.control('POST', '/config', data=b'{oops').status_code == 400
    assert api.control('POST', '/config', json=[1]).status_code == 400
    assert api.control('POST', '/config', data=b'x' * (70 * 1024)).status_code == 413
    assert api.control('GET', '/state').status_code == 200
    assert emulator.requests() == []


def test_control_shutdown(make_emulator):
    emu = make_emulator()
    response = requests.post(emu.url + '/_emulator/shutdown', timeout=GUARD)
    assert response.status_code == 200
    assert emu.wait(10)
    assert emu.stop_reason == 'shutdown request'
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.url + '/_emulator/state', timeout=GUARD)


# ----- Python API


def test_python_api_lifecycle_and_context_manager():
    with Emulator(auth_id='MA_CTX', auth_token='tok', conferences=['Board Room', 'ci-1'], members=2) as emu:
        assert emu.running
        assert emu.url == 'http://127.0.0.1:%d' % emu.port and emu.port > 0
        assert emu.api_url == emu.url + '/api/v1'
        assert emu.ca_file is None
        assert emu.live_names() == ['Board Room', 'ci-1']
        emu.add_conference('z', members=['a', 'b', 'c'])
        assert emu.conference('z')['conference_member_count'] == '3'
        assert emu.remove_conference('z') is True and emu.remove_conference('z') is False
        assert emu.conference('z') is None
        with pytest.raises(ValueError):
            emu.live_names('MA_NOBODY')
        with pytest.raises(ValueError):
            emu.add_conference('q', auth_id='MA_NOBODY')
        with pytest.raises(ValueError):
            emu.add_account('', 'x')
        assert emu.wait_for_log(1, timeout=0.01) is False
    assert not emu.running
    assert emu.wait(0)
    emu.stop()


def test_constructor_accounts_and_validation(make_emulator):
    emu = make_emulator(
        accounts={'MA_B': 'b-token', 'MA_C': {'token': 'c-token', 'conferences': ['c1', {'name': 'c2', 'members': 1}]}}
    )
    assert emu.live_names('MA_C') == ['c1', 'c2']
    assert emu.conference('c2', 'MA_C')['conference_member_count'] == '1'
    assert emu.live_names('MA_B') == []
    with pytest.raises(ValueError):
        Emulator(auth_id='MA_X', auth_token='t', members=-1)
    with pytest.raises(ValueError):
        Emulator(auth_id='MA_X', auth_token='t', accounts={'MA_Y': {'tok': 1}})
    with pytest.raises(ValueError):
        Emulator(auth_id='MA_X', auth_token='t', error_style='xml')
    assert Emulator(auth_id='MA_X').auth_token


def test_quote_of_names_matches_the_documented_example(emulator, api):
    emulator.add_conference('My Conf Room')
    assert urllib.parse.quote('My Conf Room', safe='') == 'My%20Conf%20Room'
    assert api.raw('DELETE', '/api/v1/Account/MA_TEST/Conference/My%20Conf%20Room/')[0] == 204
