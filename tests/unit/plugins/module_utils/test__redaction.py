# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _redaction: the token in every form, control characters, names as results carry them."""

import json
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils import _redaction
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.helpers import ECHO_TOKEN
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID


def test_redact_covers_every_form_of_the_token():
    client = ConferenceApi(AUTH_ID, ECHO_TOKEN, api_url='http://127.0.0.1:9/api/v1')
    for form in (
        ECHO_TOKEN,
        quote(ECHO_TOKEN, safe=''),
        json.dumps(ECHO_TOKEN)[1:-1],
        json.dumps(ECHO_TOKEN)[1:-1].replace('/', '\\/'),
    ):
        assert client.redactor.redact('a ' + form + ' b') == 'a ******** b'
    half = ECHO_TOKEN[: len(ECHO_TOKEN) // 2]
    assert half not in client.redactor.outgoing('cut: ' + half)


def test_sanitize_text_escapes_every_control_character():
    controls = [
        chr(c)
        for c in list(range(0x20)) + list(range(0x7F, 0xA0)) + list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A))
    ]
    cleaned = _redaction.sanitize_text('a' + ''.join(controls) + 'é☎ z')
    assert not any(c in cleaned for c in controls)
    assert cleaned.startswith('a\\x00') and cleaned.endswith('é☎ z') and '\\n' in cleaned and '\\t' in cleaned


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.text(st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=20))
def test_escaped_names_are_printable_and_give_the_name_back(name):
    escaped = _redaction.escape_name(name)
    assert escaped.isprintable() and len(escaped.splitlines()) <= 1
    escaped.encode('utf-8')  # Ansible can carry it
    assert _redaction.unescape_name(escaped) == name
    assert (escaped == name) is (name.isprintable() and '\\' not in name)


@pytest.mark.parametrize('text', ['a\\', 'a\\q', '\\x4', '\\u12', '\\UFFFFFFFF', '\\xzz'])
def test_unescape_refuses_a_backslash_that_starts_no_escape(text):
    with pytest.raises(ValueError):
        _redaction.unescape_name(text)
