# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Guards of vobiz_conference that a single planted defect would break (the defect is named in each docstring)."""

import functools
import json
from urllib.parse import quote

import pytest

from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference
from ansible_collections.vobiz.voice.tests.emulator.stand_ins import ScriptedServer
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import run_against

run = functools.partial(run_against, vobiz_conference.main)


def read_lines(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_a_room_both_named_and_matched_gets_one_delete(emulator):
    """Defect: no de-duplication between ``name`` and ``match``. The room is hung up with exactly one DELETE."""
    for name in ['Board Room', 'Board Annex', 'Lobby']:
        emulator.add_conference(name)
    failed, result = run(emulator, name=['Board Room', 'Lobby'], match='Board*')
    assert not failed, result['msg']
    assert sorted(result['hung_up']) == ['Board Annex', 'Board Room', 'Lobby']
    deletes = [e['conference'] for e in emulator.requests(method='DELETE')]
    assert sorted(deletes) == ['Board Annex', 'Board Room', 'Lobby']


def test_check_mode_audit_line_keeps_uncertain(emulator, tmp_path):
    """Defect: the check-mode audit line drops ``uncertain``. A room that could not be read is audited as uncertain."""
    for name in ['live', 'unreadable']:
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '503', 'match': 'unreadable'}])
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, check_mode=True, name=['live', 'unreadable', 'gone'], retries=1, audit_log=str(audit))
    assert not failed and result['uncertain'] == ['unreadable']
    lines = {line['name']: line for line in read_lines(audit)}
    assert {name: (line['outcome'], line['check_mode'], line.get('uncertain')) for name, line in lines.items()} == {
        'live': ('would_hang_up', True, None),
        'unreadable': ('would_hang_up', True, True),
        'gone': ('would_be_absent', True, None),
    }
    assert emulator.requests(method='DELETE') == []


@pytest.mark.parametrize('status', [400, 401])
def test_token_echoed_percent_encoded_is_redacted(tmp_path, status):
    """Defect: the percent-encoded token is not redacted. A server that echoes it so leaks it nowhere."""
    token = 'Tok/en+9&y=z%:~#'
    encoded = quote(token, safe='')
    assert encoded != token

    def answer(entry):
        echoed = quote(entry['headers'].get('X-Auth-Token', ''), safe='')
        return status, {}, {'api_id': 'x', 'error': 'invalid token ' + echoed}

    audit = tmp_path / 'audit.jsonl'
    with ScriptedServer(answer) as server:
        failed, result = run(server, auth_token=token, name=['Board Room'], retries=0, audit_log=str(audit))
    assert [e['headers']['X-Auth-Token'] for e in server.log] == [token]
    assert failed and 'invalid token' in result['msg']
    outputs = json.dumps(result) + (audit.read_text() if audit.exists() else '')
    assert encoded not in outputs and token not in outputs
    if status == 400:
        assert read_lines(audit)[0]['outcome'] == 'failed' and 'invalid token' in read_lines(audit)[0]['message']


# --- issue 23: the three defects the suite missed, and the 404 of a wrong api_url ------------------------------


def test_a_retrieve_answering_another_room_is_never_this_room(emulator):
    """Defect: retrieve accepts a 200 object of another conference as this one's. Check mode must not read the
    other room's state as this room's, and a policy must not act on another room's age or size."""
    emulator.add_conference('target', members=5)
    emulator.add_conference('other', members=0, started_ago=7200)
    emulator.configure(faults=[{'kind': 'other_conference', 'match': 'target'}])
    failed, result = run(emulator, check_mode=True, diff=True, name=['target'])
    assert not failed and result['uncertain'] == ['target']
    assert result['diff']['before']['conferences'] == {'target': {'member_count': None}}
    assert any("another conference ('other')" in warning for warning in result['warnings'])
    failed, result = run(emulator, name=['target'], running_longer_than='1h', members_at_most=0)
    assert not failed and result['unreadable'] == ['target'] and result['hung_up'] == []
    assert emulator.requests(method='DELETE') == [] and emulator.live_names() == ['other', 'target']


def test_a_retry_warning_is_redacted(emulator):
    """Defect: a retry warning leaves the client without the redactor. Its text names the conference, which may hold
    the token (here a name that carries it); the warning must hold neither the token nor a piece of it."""
    from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN

    name = 'echo ' + TOKEN
    emulator.add_conference(name)
    emulator.configure(faults=[{'kind': '503', 'first_n': 1}])
    failed, result = run(emulator, name=[name])
    assert not failed and len(emulator.requests()) == 2
    retry = [warning for warning in result['warnings'] if 'needed 2 attempts' in warning]
    assert len(retry) == 1 and TOKEN not in retry[0] and TOKEN[:6] not in retry[0] and '********' in retry[0]


def test_json_keys_of_an_answer_are_redacted(tmp_path):
    """Defect: the keys of a parsed answer are not redacted. A key that spells the token with JSON escapes passes the
    raw-text redaction and must be caught after parsing (here through vobiz_conference_info, which returns the keys)."""
    from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference_info
    from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN

    escaped = ''.join('\\u{0:04x}'.format(ord(char)) for char in TOKEN)
    body = '{{"conference_name": "r", "conference_run_time": "1", "conference_member_count": "0", "members": [], "{0}": "x"}}'.format(escaped)

    def answer(entry):
        return 200, {'Content-Type': 'application/json'}, body.encode('ascii')

    with ScriptedServer(answer) as server:
        failed, result = run_against(vobiz_conference_info.main, server, name=['r'], retries=0)
    assert not failed and result['conferences'][0]['conference_name'] == 'r'
    assert TOKEN not in json.dumps(result) and '********' in result['conferences'][0]
