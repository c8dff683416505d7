# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 4: wrong token, wrong auth_id and 403 fail at once, with one request and an actionable message."""

from __future__ import annotations

import json

import pytest

from ansible_collections.vobiz.voice.tests.reliability.helpers import (
    AUTH_ID,
    TOKEN,
    run,
    run_module_process,
    timed,
)

WRONG_TOKEN = 'wrong-token-3c1f9a77e2'
OTHER_TOKEN = 'other-account-token-77aa01'

#: Every module, each way it can be asked to act (the arguments besides the connection).
CALLS = [
    ('vobiz_conference', dict(name=['Board Room']), False),
    ('vobiz_conference', dict(name=['Board Room']), True),
    ('vobiz_conference', dict(match='Board*'), False),
    ('vobiz_conference', dict(all=True), False),
    ('vobiz_conference_info', dict(), False),
    ('vobiz_conference_info', dict(name='Board Room'), False),
    ('vobiz_conference_announce', dict(name='Board Room', text='Closing now.'), False),
    ('vobiz_conference_announce', dict(name='Board Room', url='https://media.example.com/a.mp3'), True),
    ('vobiz_conference_member', dict(conference='Board Room', member_id=['all'], state='muted'), False),
    ('vobiz_conference_member', dict(conference='Board Room', member_id=['1'], state='absent'), True),
]

CREDENTIALS = [
    (
        'wrong token',
        dict(auth_token=WRONG_TOKEN),
        401,
        ["auth_id 'MA_TEST'", 'Check auth_id and auth_token', 'HTTP 401'],
    ),
    (
        'wrong auth_id',
        dict(auth_id='MA_NOBODY'),
        401,
        ["auth_id 'MA_NOBODY'", 'Check auth_id and auth_token', 'HTTP 401'],
    ),
]


def assert_no_token(result, *extra):
    text = json.dumps(result) + ''.join(extra)
    for token in (TOKEN, WRONG_TOKEN, OTHER_TOKEN):
        assert token not in text


@pytest.mark.parametrize('module, args, check_mode', CALLS, ids=lambda v: str(v)[:40])
@pytest.mark.parametrize('label, creds, status, wanted', CREDENTIALS, ids=[c[0] for c in CREDENTIALS])
def test_bad_credentials_one_request_fast_actionable(
    emu, sleeps, figures, module, args, check_mode, label, creds, status, wanted
):
    emu.add_conference('Board Room')
    kwargs = dict(args, retries=20, **creds)
    seconds, (failed, result) = timed(run, module, emu, check_mode=check_mode, **kwargs)
    log = emu.requests()

    assert failed
    assert len(log) == 1 and log[0]['status'] == status
    assert sleeps == []  # fast: failed on the first answer, without a single backoff wait
    for text in wanted + [emu.api_url]:
        assert text in result['msg']
    assert 'Authentication failed' in result['msg']
    assert emu.live_names() == ['Board Room']
    assert_no_token(result)
    if module == 'vobiz_conference' and not check_mode and 'name' in args:
        figures.record('4a', 'auth: ' + label, '1 room, retries=20', 'HTTP 401', len(log), 0, 0, 0, seconds)


@pytest.mark.parametrize('module, args, check_mode', CALLS[:2] + CALLS[5:], ids=lambda v: str(v)[:40])
def test_forbidden_one_request_fast_actionable(emu, sleeps, figures, module, args, check_mode):
    emu.add_conference('Board Room')
    emu.configure(forbidden=['Board Room'])
    seconds, (failed, result) = timed(run, module, emu, check_mode=check_mode, retries=20, **args)
    log = emu.requests()

    assert failed
    assert [e['status'] for e in log] == [403]
    assert sleeps == []  # fast: failed on the first answer, without a single backoff wait
    assert 'Permission denied' in result['msg'] and "auth_id 'MA_TEST'" in result['msg']
    assert 'permissions' in result['msg']
    assert emu.live_names() == ['Board Room']
    assert_no_token(result)
    if module == 'vobiz_conference' and not check_mode:
        figures.record('4b', 'auth: 403 on a room', '1 room, retries=20', 'HTTP 403', len(log), 0, 0, 0, seconds)


def test_another_accounts_credentials_touch_nothing_here(emu):
    """Valid credentials of another account: its own (empty) account is addressed, ours stays untouched."""
    emu.add_account('MA_OTHER', OTHER_TOKEN)
    emu.add_conference('Board Room')
    failed, result = run('vobiz_conference', emu, name='Board Room', auth_id='MA_OTHER', auth_token=OTHER_TOKEN)
    assert not failed and result['already_absent'] == ['Board Room']
    assert emu.live_names() == ['Board Room']
    assert [e['auth_id'] for e in emu.requests()] == ['MA_OTHER']
    assert_no_token(result)


def test_bad_token_in_a_batch_sends_one_request(emu, sleeps, figures):
    """A wrong token with many rooms: the batch's first request goes alone, so the 401 stops it after one request."""
    names = ['room-{0:02d}'.format(i) for i in range(60)]
    for name in names:
        emu.add_conference(name, members=0)
    emu.configure(latency_ms=50)  # like a real network: the 401 comes back after a round trip
    seconds, (failed, result) = timed(
        run, 'vobiz_conference', emu, name=names, auth_token=WRONG_TOKEN, parallel=16, retries=20
    )
    log = emu.requests()
    assert failed and 'Authentication failed' in result['msg']
    assert len(log) == 1 and log[0]['status'] == 401
    assert sleeps == []
    assert result['hung_up'] == [] and len(emu.live_names()) == 60
    assert_no_token(result)
    figures.record(
        '4c',
        'auth: wrong token, 60-room batch',
        '60 rooms, parallel=16, 50 ms latency',
        'HTTP 401 (wrong token)',
        len(log),
        0,
        0,
        0,
        seconds,
    )


def test_forbidden_names_the_room(emu):
    """Vobiz may forbid single conferences: the 403 message says which request was refused."""
    emu.add_conference('Board Room')
    emu.add_conference('Secret Room')
    emu.configure(forbidden=['Secret Room'])
    failed, result = run('vobiz_conference', emu, name=['Secret Room'], parallel=1)
    assert failed
    assert "conference 'Secret Room'" in result['msg'] and 'Permission denied' in result['msg']
    assert emu.live_names() == ['Board Room', 'Secret Room']


def test_wrong_token_in_a_real_process_never_prints_a_token(emu, figures):
    """The same, across a real process boundary: stdout and stderr of the module process."""
    emu.add_conference('Board Room')
    args = dict(
        auth_id=AUTH_ID,
        auth_token=WRONG_TOKEN,
        api_url=emu.api_url,
        name=['Board Room'],
        retries=20,
        _ansible_verbosity=4,
        _ansible_debug=True,
    )
    proc = run_module_process('vobiz_conference', args)
    assert proc.returncode == 1, proc.stderr
    assert proc.result['failed'] is True and 'Authentication failed' in proc.result['msg']
    assert len(emu.requests()) == 1  # retries=20, yet the 401 was not retried
    for token in (TOKEN, WRONG_TOKEN):
        assert token not in proc.stdout and token not in proc.stderr
    figures.record(
        '4d', 'auth: wrong token, module process', '1 room', 'HTTP 401', len(emu.requests()), 0, 0, 0, proc.seconds
    )
