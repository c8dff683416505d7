# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 9: the emulator in HTTPS mode with a throw-away CA (trustme)."""

from __future__ import annotations

import json

import pytest

from ansible_collections.vobiz.voice.tests.reliability.helpers import TOKEN, run, timed

pytest.importorskip('trustme')

CALLS = [
    ('vobiz_conference', dict(name='Board Room'), False),
    ('vobiz_conference', dict(name='Board Room'), True),
    ('vobiz_conference_info', dict(name='Board Room'), False),
    ('vobiz_conference_announce', dict(name='Board Room', text='Closing.'), False),
    ('vobiz_conference_member', dict(conference='Board Room', member_id=['all'], state='muted'), False),
]


@pytest.fixture
def tls_emu(emulators, no_vobiz_env):  # pylint: disable=unused-argument
    emu = emulators(tls=True)
    emu.add_conference('Board Room')
    assert emu.api_url.startswith('https://127.0.0.1:')
    return emu


@pytest.mark.parametrize('module, args, check_mode', CALLS, ids=lambda v: str(v)[:30])
def test_default_validation_fails_with_a_clear_certificate_message(tls_emu, sleeps, figures, module, args, check_mode):
    seconds, (failed, result) = timed(run, module, tls_emu, check_mode=check_mode, retries=5, **args)
    assert failed
    assert 'TLS certificate verification failed' in result['msg']
    assert 'ca_path' in result['msg'] and tls_emu.api_url in result['msg']
    # A certificate error is never retried: one handshake, no backoff wait, and no request reached the API.
    assert sleeps == []
    assert tls_emu.connection_count == 1
    assert tls_emu.requests() == []
    assert tls_emu.live_names() == ['Board Room']
    assert TOKEN not in json.dumps(result)
    if module == 'vobiz_conference' and not check_mode:
        figures.record(
            '9a', 'TLS, default validate_certs', '1 room', 'certificate from an unknown CA', 0, 0, 0, 0, seconds
        )


def test_a_different_ca_fails_too(tls_emu, emulators):
    other = emulators(tls=True)
    failed, result = run('vobiz_conference', tls_emu, name='Board Room', ca_path=other.ca_file)
    assert failed and 'TLS certificate verification failed' in result['msg']
    assert tls_emu.live_names() == ['Board Room']


def test_ca_path_succeeds(tls_emu, figures):
    seconds, (failed, result) = timed(run, 'vobiz_conference', tls_emu, name='Board Room', ca_path=tls_emu.ca_file)
    assert not failed, result['msg']
    assert result['hung_up'] == ['Board Room'] and result['warnings'] == []
    assert tls_emu.live_names() == []
    figures.record('9b', 'TLS, ca_path = throw-away CA', '1 room', 'none', len(tls_emu.requests()), 1, 1, 0, seconds)


def test_validate_certs_false_succeeds_with_a_warning(tls_emu, figures):
    seconds, (failed, result) = timed(run, 'vobiz_conference', tls_emu, name='Board Room', validate_certs=False)
    assert not failed, result['msg']
    assert result['hung_up'] == ['Board Room']
    assert any('validate_certs is false' in w and 'ca_path' in w for w in result['warnings'])
    assert tls_emu.live_names() == []
    figures.record(
        '9c', 'TLS, validate_certs=false', '1 room', 'none (warned)', len(tls_emu.requests()), 1, 1, 0, seconds
    )


def test_ca_path_with_validate_certs_false_warns_that_it_is_ignored(tls_emu):
    failed, result = run('vobiz_conference', tls_emu, name='Board Room', validate_certs=False, ca_path=tls_emu.ca_file)
    assert not failed
    assert any('ca_path is ignored' in w for w in result['warnings'])
