# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The rulebook ``vobiz.voice.enforce_limits`` in the real ``ansible-rulebook``, against the emulator's callbacks.

The callbacks are signed over a public https URL that differs from the URL they are sent to, as behind a
TLS-terminating proxy. ``played`` plays one run out (once for this file: nox runs it with ``--dist loadfile``) and
the tests read what it left: the emulator's request log and callback log, the rulebook's output and the audit log.
"""

from __future__ import annotations

import collections
import json
import subprocess
import time
import types

import pytest
import requests

from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name
from ansible_collections.vobiz.voice.tests.emulator.ansible_runs import (
    BIN,
    JAVA_MISSING,
    Rulebook,
    ansible_env,
    deletes,
    free_port,
    java_home,
    parse_time,
)
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import (
    HANG_GUARD_SECONDS,
    Emulator,
    template_room_names,
)

pytestmark = pytest.mark.skipif(not java_home(), reason=JAVA_MISSING)

PUBLIC_URL = 'https://eda.example.test/vobiz/conference'
MAX_DURATION = 12


def limits(port: int, work) -> dict:
    return {
        'vobiz_callback_host': '127.0.0.1',
        'vobiz_callback_port': port,
        'vobiz_callback_public_url': PUBLIC_URL,
        'vobiz_max_duration': MAX_DURATION,
        'vobiz_lonely_after': '3s',  # the playbook's duration form
        'vobiz_check_interval': 1,
        'vobiz_replay_window': 600,
        'vobiz_audit_log': str(work / 'audit.jsonl'),
    }


def signed_emulator(make, port: int, **kwargs):
    """An emulator whose callbacks go to the source on ``port``, signed over PUBLIC_URL; retrieve gives the UUID."""
    url = 'http://127.0.0.1:%d/vobiz/conference' % port
    return make(members=0, callback_url=url, callback_signed_url=PUBLIC_URL, retrieve_uuid=True, **kwargs)


def post_callback(port: int, headers: dict, fields: dict) -> int:
    """POST a callback with exactly these signature headers and form fields; its status."""
    return requests.post(
        'http://127.0.0.1:%d/vobiz/conference' % port, data=fields, headers=headers, timeout=HANG_GUARD_SECONDS
    ).status_code


@pytest.fixture(scope='module')
def played(tmp_path_factory):
    """Overdue, lonely and template-named rooms, a room inside its limits, and refused callbacks, in one run."""
    work, port = tmp_path_factory.mktemp('rulebook'), free_port()
    emulator = signed_emulator(lambda **kwargs: Emulator(auth_id='MA_EDA', **kwargs).start(), port)
    canary, rulebook = work / 'canary', None
    hostile = template_room_names(str(canary))
    try:
        rulebook = Rulebook(work, emulator.api_url, emulator.auth_token, limits(port, work), 'MA_EDA', 'rulebook')
        rulebook.wait_listening()
        sender = emulator.callback_sender
        for signing, room in (('none', 'Unsigned Room'), ('wrong_key', 'Forged Room'), ('v2+v3', 'Overdue Room')):
            emulator.configure(callback_signing=signing)
            emulator.add_conference(room, members=3 if room == 'Overdue Room' else 1)
            sender.wait_idle()
        emulator.add_conference('Lonely Room', members=2)
        for name in hostile:
            emulator.add_conference(name, members=2)
        sender.wait_idle()
        emulator.leave_member('Lonely Room', emulator.conference('Lonely Room')['members'][1]['member_id'])
        sender.wait_idle()
        # a replay: a good callback's signature headers (they do not cover the body) with a body naming a live room
        emulator.configure(callback_url=None)
        emulator.add_conference('Replayed Room', members=1)  # live, but Vobiz never told the source
        stolen = next(entry for entry in sender.log() if entry['conference'] == 'Overdue Room')
        forged = dict(stolen['fields'], ConferenceName='Replayed Room', ConferenceUUID='replayed-uuid')
        replay_status = post_callback(port, stolen['headers'], dict(forged, ConferenceFirstMember='true'))
        emulator.configure(callback_url='http://127.0.0.1:%d/vobiz/conference' % port)
        inside_started = time.time()
        emulator.add_conference('Inside Room', members=2)
        sender.wait_idle()
        ended = {escape_name(room) for room in ['Overdue Room', 'Lonely Room', *hostile]}
        rulebook.wait_until(lambda: {line['conference'] for line in rulebook.outcomes()} >= ended or canary.exists())
    finally:
        if rulebook:
            rulebook.stop()
        emulator.stop()
    audit = work / 'audit.jsonl'
    return types.SimpleNamespace(
        emulator=emulator,
        rulebook=rulebook,
        hostile=hostile,
        canary=canary,
        inside_started=inside_started,
        replay_status=replay_status,
        audit=audit.read_text(encoding='utf-8') if audit.exists() else '',
    )


def test_overdue_and_lonely_rooms_are_hung_up_once_each(played):
    for room in ('Overdue Room', 'Lonely Room'):
        assert [entry['status'] for entry in deletes(played.emulator, room)] == [204], room
    assert 'Overdue Room' in played.audit and 'Lonely Room' in played.audit


def test_a_room_inside_its_limits_is_kept(played):
    assert ('Inside Room', 204) in {
        (entry['conference'], entry['status']) for entry in played.emulator.callback_sender.log()
    }
    for entry in deletes(played.emulator, 'Inside Room'):
        assert parse_time(entry['time']) >= played.inside_started + MAX_DURATION


def test_every_room_gets_one_action_at_most(played):
    actions = collections.Counter(line['conference'] for line in played.rulebook.outcomes())
    assert [room for room, count in actions.items() if count > 1] == []


def test_rooms_named_with_template_and_shell_syntax_are_ended_by_their_literal_names(played):
    assert not played.canary.exists(), 'a conference name was evaluated'
    for room in played.hostile:
        assert [entry['status'] for entry in deletes(played.emulator, room)] == [204], room
    reported = {line['conference'] for line in played.rulebook.outcomes()}
    assert {escape_name(room) for room in played.hostile} <= reported


def test_unsigned_forged_and_replayed_callbacks_cause_no_request(played):
    statuses = {(entry['conference'], entry['status']) for entry in played.emulator.callback_sender.log()}
    assert {('Unsigned Room', 401), ('Forged Room', 403), ('Overdue Room', 204), ('Lonely Room', 204)} <= statuses
    assert played.replay_status == 403
    named = {'Overdue Room', 'Lonely Room', 'Inside Room', *played.hostile}
    assert {entry['conference'] for entry in played.emulator.requests()} <= named
    assert 'Signatures are checked over public_url %s: check that it is the callback URL' % PUBLIC_URL in (
        played.rulebook.text()
    )


def test_the_token_is_in_no_output_and_no_audit_line(played):
    for text in (played.rulebook.text(), played.audit):
        assert played.emulator.auth_token not in text


def test_after_a_restart_a_stale_room_is_rechecked_and_its_new_instance_kept(make_emulator, start_rulebook, tmp_path):
    """A room ends unheard while the source is down and a new instance of its name starts: the restarted source
    loads the stale room from its state file, its ``overdue`` comes and the action leaves the new instance alone;
    the nonce of a callback sent just before the stop is still refused (the nonce journal beside the state file)."""
    port = free_port()
    emulator = signed_emulator(make_emulator, port)
    first = start_rulebook(emulator, limits(port, tmp_path), 'rulebook-1')
    first.wait_listening()
    emulator.add_conference('Standup', members=3)
    emulator.callback_sender.wait_idle()
    state_file = tmp_path / 'rooms.json'
    assert first.wait_until(lambda: state_file.exists() and 'Standup' in state_file.read_text(encoding='utf-8'))
    emulator.join_members('Standup', 1)
    emulator.callback_sender.wait_idle()
    # at SIGTERM the JVM ends the process without a last state file write: only the nonce journal keeps this nonce
    last = emulator.callback_sender.log()[-1]['headers']
    first.stop()
    old_uuid = emulator.conference_uuid('Standup')
    emulator.configure(callback_drop_rate=1.0)  # the source is down: Vobiz's callbacks are lost
    emulator.add_conference('Standup', members=2)  # the old instance ends, a new one of the same name starts
    emulator.callback_sender.wait_idle()
    second = start_rulebook(emulator, limits(port, tmp_path), 'rulebook-2')
    second.wait_listening()
    replayed = {'ConferenceAction': 'enter', 'ConferenceName': 'After Restart', 'ConferenceMemberID': '1'}
    assert post_callback(port, last, replayed) == 403
    assert second.wait_until(lambda: any(line['conference'] == 'Standup' for line in second.outcomes()))
    second.stop()
    assert deletes(emulator, 'Standup') == [], 'the new instance was hung up on a stale event (old UUID %s)' % old_uuid
    [standup] = [line for line in second.outcomes() if line['conference'] == 'Standup']
    assert standup['other_instance'] == ['Standup'] and standup['kept']


@pytest.mark.parametrize(
    'change, error',
    [
        ({'vobiz_state_file': '{work}/damaged.json'}, 'is damaged: nonces must be an object'),
        (
            {'vobiz_max_duration': None, 'vobiz_max_durration': '4h'},
            'unknown rulebook variable(s): vobiz_max_durration (did you mean vobiz_max_duration?)',
        ),
        ({'vobiz_audit_log': '{work}/a-file/a.log'}, 'cannot be written'),
    ],
    ids=['damaged state file', 'misspelt duration variable', 'unwritable audit log'],
)
def test_what_the_source_cannot_work_with_stops_it_before_it_listens(
    make_emulator, start_rulebook, tmp_path, change, error
):
    """With its one error naming the file or the variable, never a raw exception."""
    (tmp_path / 'damaged.json').write_text(
        '{"version": 1, "rooms": [], "ended": [], "nonces": ["a"]}', encoding='utf-8'
    )
    (tmp_path / 'a-file').write_text('', encoding='utf-8')
    variables = limits(free_port(), tmp_path)
    for key, value in change.items():
        if value is None:
            del variables[key]
        else:
            variables[key] = value.format(work=tmp_path)
    rulebook = start_rulebook(signed_emulator(make_emulator, variables['vobiz_callback_port']), variables)
    assert rulebook.wait_until(lambda: rulebook.proc.poll() is not None)
    assert rulebook.proc.returncode != 0
    output = rulebook.text()
    assert error in output
    for raw in ('Traceback (most recent call last)', 'AttributeError', 'TypeError', 'KeyError'):
        assert raw not in output


def test_the_member_who_takes_a_room_over_its_cap_is_removed_alone(make_emulator, start_rulebook, tmp_path):
    """vobiz_max_members 3: the fourth member to enter a room named with template syntax hears the notice and is
    kicked, nobody else; a room whose earlier enters the source never heard (its count unknown) and a room the API
    cannot read get no write at all."""
    port, canary = free_port(), tmp_path / 'canary'
    emulator = signed_emulator(make_emulator, port)
    capped = "Cap {{ lookup('pipe', 'touch %s') }}" % canary
    variables = dict(
        limits(port, tmp_path),
        vobiz_max_duration=0,
        vobiz_lonely_after=0,
        vobiz_max_members=3,
        vobiz_max_members_announcement='This room is full',
    )
    rulebook = start_rulebook(emulator, variables)
    rulebook.wait_listening()
    sender = emulator.callback_sender
    for room in (capped, 'Unreadable'):
        emulator.add_conference(room, members=3)
    sender.wait_idle()
    emulator.configure(callback_drop_rate=1.0)  # the source never hears this room's first enters
    emulator.add_conference('Unseen', members=3)
    sender.wait_idle()
    emulator.configure(callback_drop_rate=0.0, faults=[{'kind': '500', 'method': 'GET', 'match': 'Unreadable'}])
    newcomer = {room: emulator.join_members(room, 1)['members'][-1]['member_id'] for room in ('Unseen', capped)}
    sender.wait_idle()
    emulator.join_members('Unreadable', 1)
    sender.wait_idle()
    reported = {escape_name(capped), 'Unreadable'}
    assert rulebook.wait_until(lambda: {line['conference'] for line in rulebook.outcomes()} >= reported)
    rulebook.stop()

    def writes(room):
        return [
            (entry['method'], entry['action'], entry['member'])
            for entry in emulator.requests()
            if entry['conference'] == room and entry['method'] != 'GET'
        ]

    assert not canary.exists(), 'a conference name was evaluated'
    assert writes(capped) == [('POST', 'speak', newcomer[capped]), ('POST', 'kick', newcomer[capped])]
    assert len(emulator.conference(capped)['members']) == 3
    assert writes('Unseen') == [] and writes('Unreadable') == []
    assert {entry['conference'] for entry in emulator.requests()} == {capped, 'Unreadable'}
    lines = {line['conference']: line for line in rulebook.outcomes()}
    assert lines[escape_name(capped)]['kicked'] == [newcomer[capped]]
    assert lines['Unreadable']['kicked'] == [] and lines['Unreadable']['kept'] is True


def test_a_hang_up_whose_exit_callbacks_never_come_is_unverified_and_rechecked(make_emulator, start_rulebook, tmp_path):
    """Verified termination (vobiz_verify_within with vobiz_audit_log): two overdue rooms are hung up; one sends its
    exit callbacks (``verified``, in the audit log), the other's are dropped: ``unverified``, and the action finds it
    gone (the conference's own 404) and sends no second DELETE; nothing else is touched."""
    port = free_port()
    emulator = signed_emulator(make_emulator, port)
    variables = dict(limits(port, tmp_path), vobiz_max_duration=2, vobiz_lonely_after=0, vobiz_verify_within='10s')
    rulebook = start_rulebook(emulator, variables)
    rulebook.wait_listening()
    emulator.configure(callback_drop_hangup_exits={'match': 'Silent*', 'which': 'all'})
    uuids = {}
    for room in ('Confirmed', 'Silent {{ room }}'):
        emulator.add_conference(room, members=2)
        uuids[room] = emulator.conference_uuid(room)
    emulator.callback_sender.wait_idle()
    audit = tmp_path / 'audit.jsonl'

    def verifications():
        text = audit.read_text(encoding='utf-8') if audit.exists() else ''
        lines = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [line for line in lines if line.get('verified_by') == 'callbacks']

    def rechecked():
        return [line for line in rulebook.outcomes() if line['event'] == 'unverified']

    def settled():  # Confirmed verified (at last: a slow machine may deliver its exits after verify_within), Silent
        # unverified, and the action's re-check of it done
        done = {line['name']: line['verification'] for line in verifications()}
        return (
            done.get('Confirmed') == 'verified'
            and silent in done
            and any(line['conference'] == silent for line in rechecked())
        )

    silent = escape_name('Silent {{ room }}')
    assert rulebook.wait_until(settled), rulebook.text()[-4000:]
    rulebook.stop()
    assert [entry['status'] for entry in deletes(emulator, 'Confirmed')] == [204]
    assert [entry['status'] for entry in deletes(emulator, 'Silent {{ room }}')] == [204]  # no second DELETE
    assert {entry['conference'] for entry in emulator.requests()} == {'Confirmed', 'Silent {{ room }}'}
    confirmed = [line for line in verifications() if line['name'] == 'Confirmed'][-1]
    assert confirmed['verification'] == 'verified' and confirmed['conference_uuid'] == uuids['Confirmed']
    unverified = [line for line in verifications() if line['name'] == silent]
    assert unverified[0]['verification'] == 'unverified' and unverified[0]['emission'] == 1
    assert unverified[0]['conference_uuid'] == uuids['Silent {{ room }}']
    for line in rechecked():  # Silent's; Confirmed's too only if its exits came after verify_within
        assert line['outcome'] == 'gone' and line['already_absent'] == [line['conference']]


REGISTRY_PLAYBOOK = """
- name: Read the registry of the running source, and end a room only it knows of
  hosts: localhost
  gather_facts: false
  tasks:
    - name: The rooms of both sources
      vobiz.voice.vobiz_conference_info:
        registry: "{{ registry }}"
      register: known
    - name: End the Hidden rooms, also those the list omits
      vobiz.voice.vobiz_conference:
        match: Hidden *
        registry: "{{ registry }}"
      register: ended
    - name: Keep the results
      ansible.builtin.copy:
        dest: "{{ out }}"
        mode: "0600"
        content: "{{ dict(rooms=known.rooms, hung_up=ended.hung_up, from_registry=ended.from_registry) | to_json }}"
"""


def test_a_playbook_reads_the_registry_of_the_running_source(make_emulator, start_rulebook, tmp_path):
    """The state file the real source writes in ansible-rulebook, read by the modules' option registry in
    ansible-playbook: a room the list omits is known from the registry alone and hung up; nothing else is touched."""
    port = free_port()
    emulator = signed_emulator(make_emulator, port, list_omits=['Hidden *'])
    rulebook = start_rulebook(emulator, dict(limits(port, tmp_path), vobiz_max_duration='1h', vobiz_lonely_after=0))
    rulebook.wait_listening()
    for room in ('Hidden Room', 'Listed Room'):
        emulator.add_conference(room, members=2)
    emulator.callback_sender.wait_idle()
    state_file = tmp_path / 'rooms.json'  # the rulebook's vobiz_state_file (ansible_runs.Rulebook)

    def written():
        text = state_file.read_text(encoding='utf-8') if state_file.exists() else ''
        return 'Hidden Room' in text and 'Listed Room' in text

    assert rulebook.wait_until(written)
    playbook, out = tmp_path / 'registry.yml', tmp_path / 'registry-result.json'
    playbook.write_text(REGISTRY_PLAYBOOK, encoding='utf-8')
    env = ansible_env(
        tmp_path,
        VOBIZ_AUTH_ID=emulator.auth_id,
        VOBIZ_AUTH_TOKEN=emulator.auth_token,
        VOBIZ_API_URL=emulator.api_url,
    )
    extra = json.dumps({'registry': str(state_file), 'out': str(out)})
    run = subprocess.run(
        [str(BIN / 'ansible-playbook'), str(playbook), '-e', extra],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    result = json.loads(out.read_text(encoding='utf-8'))
    rooms = {room['name']: room for room in result['rooms']}
    assert rooms['Hidden Room']['known_from'] == ['registry'] and rooms['Hidden Room']['members'] == 2
    assert rooms['Listed Room']['known_from'] == ['list', 'registry']
    assert result['hung_up'] == ['Hidden Room'] and result['from_registry'] == ['Hidden Room']
    assert [entry['conference'] for entry in emulator.requests(method='DELETE')] == ['Hidden Room']
    assert emulator.live_names() == ['Listed Room'] and rulebook.outcomes() == []


def test_a_blocked_caller_who_joins_is_kicked_alone(make_emulator, start_rulebook, tmp_path):
    """vobiz_blocked_callers ['+1555*'] (kick, with a notice): the member who joins a room named with template syntax
    from +1 555 123 4567 hears the notice and is kicked, nobody else; a caller from another number, in another room,
    gets no write at all; no output, audit line or VOBIZ_ENFORCE_LIMITS line shows more than the number's last four
    digits."""
    port, canary = free_port(), tmp_path / 'canary'
    emulator = signed_emulator(make_emulator, port)
    room = "Blocked {{ lookup('pipe', 'touch %s') }}" % canary
    variables = dict(
        limits(port, tmp_path),
        vobiz_max_duration=0,
        vobiz_lonely_after=0,
        vobiz_blocked_callers=['+1555*'],
        vobiz_blocked_announcement='This number is blocked',
    )
    rulebook = start_rulebook(emulator, variables)
    rulebook.wait_listening()
    sender = emulator.callback_sender
    for name in (room, 'Bystanders'):
        emulator.add_conference(name, members=2)
    sender.wait_idle()
    blocked = emulator.join_members(room, [{'from': '+15551234567'}])['members'][-1]['member_id']
    emulator.join_members('Bystanders', [{'from': '+15561234567'}])
    sender.wait_idle()
    assert rulebook.wait_until(lambda: any(line['conference'] == escape_name(room) for line in rulebook.outcomes()))
    rulebook.stop()
    writes = [
        (entry['conference'], entry['method'], entry['action'], entry['member'])
        for entry in emulator.requests()
        if entry['method'] != 'GET'
    ]
    assert not canary.exists(), 'a conference name was evaluated'
    assert writes == [(room, 'POST', 'speak', blocked), (room, 'POST', 'kick', blocked)]
    assert {entry['conference'] for entry in emulator.requests()} == {room}
    assert len(emulator.conference(room)['members']) == 2 and len(emulator.conference('Bystanders')['members']) == 3
    [line] = rulebook.outcomes()
    assert (line['kicked'], line['caller'], line['kept']) == ([blocked], '+*******4567', False)
    audit = (tmp_path / 'audit.jsonl').read_text(encoding='utf-8')
    for text in (rulebook.text(), audit):
        assert '5551234567' not in text
