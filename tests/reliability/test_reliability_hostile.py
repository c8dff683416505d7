# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 14: hostile answers. The result must say what happened, whatever the server (or the way to it) answers.

A wrong ``api_url`` (the gateway's unknown-route 404), 2xx answers with error bodies, bodies that
trickle or never end, and error texts that echo the token or carry terminal control characters.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.vobiz.voice.tests.reliability.helpers import (
    AUTH_ID,
    read_audit,
    run,
    run_module_process,
    timed,
)

#: Every module, each way it can be asked to act (the arguments besides the connection), and whether in check mode.
CALLS = [
    ('vobiz_conference', dict(name=['Board Room', 'Side Room']), False),
    ('vobiz_conference', dict(name=['Board Room', 'Side Room']), True),
    ('vobiz_conference', dict(match='*Room'), False),
    ('vobiz_conference', dict(all=True), False),
    ('vobiz_conference_info', dict(name=['Board Room', 'Side Room']), False),
    ('vobiz_conference_info', dict(), False),
    ('vobiz_conference_announce', dict(name=['Board Room', 'Side Room'], text='Closing now.'), False),
    ('vobiz_conference_announce', dict(name=['Board Room'], text='Closing now.'), True),
    ('vobiz_conference_member', dict(conference='Board Room', member_id=['all'], state='kicked'), False),
    ('vobiz_conference_member', dict(conference='Board Room', member_id=['1'], state='absent'), False),
    ('vobiz_conference_member', dict(conference='Board Room', member_id=['1'], state='muted'), True),
]

#: Result keys that would claim a room done or gone.
CLAIMS = ('hung_up', 'already_absent', 'absent', 'announced', 'members', 'already', 'names', 'conferences')


@pytest.mark.parametrize('module, args, check_mode', CALLS, ids=lambda v: str(v)[:40])
def test_wrong_api_url_fails_naming_api_url_and_touches_nothing(emu, figures, tmp_path, module, args, check_mode):
    """``api_url`` with ``/api/v2``: the gateway answers every path ``404 {"message": "Not Found"}``."""
    for name in ('Board Room', 'Side Room'):
        emu.add_conference(name, members=2)
    members_before = dict((name, emu.conference(name)['members']) for name in emu.live_names())
    api_url = emu.api_url.replace('/api/v1', '/api/v2')
    extra = (
        dict(audit_log=str(tmp_path / 'audit.jsonl'))
        if module in ('vobiz_conference', 'vobiz_conference_announce')
        else {}
    )
    seconds, (failed, result) = timed(
        run, module, emu, check_mode=check_mode, api_url=api_url, retries=5, **dict(args, **extra)
    )
    log = emu.requests()

    assert failed
    assert 'api_url' in result['msg'] and api_url in result['msg'] and 'does not know' in result['msg']
    for key in CLAIMS:
        assert not result.get(key), (key, result.get(key))
    assert result.get('conference_absent', False) is False
    assert result['changed'] is False
    assert len(log) == 1 and log[0]['status'] == 404 and log[0]['action'] == 'not_found'
    assert sorted(emu.live_names()) == ['Board Room', 'Side Room']
    assert dict((name, emu.conference(name)['members']) for name in emu.live_names()) == members_before
    if extra:
        assert [
            line for line in read_audit(extra['audit_log']) if line['outcome'] in ('hung_up', 'already_absent')
        ] == []
    figures.record(
        '14a',
        'hostile: wrong api_url (gateway 404), {0}{1}'.format(module, ' check' if check_mode else ''),
        '2 rooms',
        'gateway 404',
        len(log),
        0,
        0,
        0,
        seconds,
    )


ECHO_TOKEN = 'Ech0/"tok\\en-0123456789abcdefghij-XYZ'


def pieces(token):
    return [token[i : i + 6] for i in range(len(token) - 5)]


def test_echoed_token_never_leaves_a_module_process(emulators, figures, tmp_path):
    """Error texts echo the request's token at every offset around the cuts; nothing of it reaches stdout, stderr or
    the audit log."""
    emu = emulators(auth_token=ECHO_TOKEN)
    rules = []
    names = []
    # (shape, size of the error text, offsets): around the 300-character cut of envelope details,
    # the 200-character cut of text bodies, and in short flat errors.
    plan = [
        ('envelope', 340, range(250, 310)),
        ('text', 240, range(150, 210)),
        ('flat', 60, range(0, 30)),
        ('envelope', 60, range(0, 30, 3)),
        ('text', 60, range(0, 30, 3)),
    ]
    for shape, size, offsets in plan:
        for offset in offsets:
            name = 'echo-{0}-{1}-{2}'.format(shape, size, offset)
            names.append(name)
            rules.append(dict(kind='echo_token', match=name, shape=shape, size=size, offset=offset, status=503))
    for name in names:
        emu.add_conference(name, members=0)
    emu.configure(faults=rules)
    audit = str(tmp_path / 'audit.jsonl')
    args = dict(
        auth_id=AUTH_ID,
        auth_token=ECHO_TOKEN,
        api_url=emu.api_url,
        name=names,
        retries=1,
        retry_max_wait=0,
        audit_log=audit,
        _ansible_verbosity=4,
        _ansible_debug=True,
    )
    proc = run_module_process('vobiz_conference', args)

    assert proc.returncode == 1, proc.stderr[-2000:]
    assert len(proc.result['failures']) == len(names) and proc.result['hung_up'] == []
    with open(audit, encoding='ascii') as handle:
        audit_text = handle.read()
    assert audit_text.count('\n') == len(names)
    outputs = (proc.stdout, proc.stderr, audit_text, json.dumps(proc.result, ensure_ascii=False))
    for piece in pieces(ECHO_TOKEN):
        for escaped in (piece, json.dumps(piece)[1:-1]):
            for text in outputs:
                assert escaped not in text
    assert len(emu.requests()) == 2 * len(names)
    figures.record(
        '14b',
        'hostile: token echoed at every offset, module process -vvvv',
        '{0} rooms'.format(len(names)),
        'echo_token',
        len(emu.requests()),
        0,
        0,
        0,
        proc.seconds,
    )


#: A module process that reads 50 MB answers on 4 connections must stay about as small as one that reads none.
MAX_PEAK_KB = 100 * 1024


@pytest.mark.parametrize('declare_length', [True, False], ids=['declared', 'streamed'])
def test_huge_answers_are_not_buffered(emulators, figures, declare_length):
    """A module process that gets four 50 MB answers at once stays small: bodies are read streamed up to the size cap.
    (What such an answer means, uncertain and a failure, is a unit test: test__conference_api.py.)"""
    emu = emulators()
    names = ['huge-{0}'.format(i) for i in range(4)]
    for name in names:
        emu.add_conference(name, members=0)
    emu.configure(
        faults=[dict(kind='huge_body', size=50 * 1024 * 1024, declare_length=declare_length, method='DELETE')]
    )
    args = dict(auth_id=AUTH_ID, auth_token='unit-test-token-9f8e7d', api_url=emu.api_url, name=names, parallel=4)
    proc = run_module_process('vobiz_conference', args)

    assert proc.returncode == 1, proc.stderr[-2000:]
    assert sorted(proc.result['uncertain']) == names and len(emu.requests()) == len(names)  # each answer came, unread
    assert proc.peak_rss_kb is not None and proc.peak_rss_kb < MAX_PEAK_KB, proc.peak_rss_kb
    figures.record(
        '14c',
        'hostile: 50 MB answers ({0}), peak RSS {1:.1f} MiB'.format(
            'declared' if declare_length else 'streamed', proc.peak_rss_kb / 1024.0
        ),
        '4 rooms, parallel 4',
        'huge_body',
        len(emu.requests()),
        0,
        len(names),
        0,
        proc.seconds,
    )
