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
