# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _urls: every path segment encoded exactly, the member spec, the API URL checks."""

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._urls import encode_member_spec, encode_segment
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN, TRICKY


def test_encode_segment_table():
    for name, encoded in TRICKY.items():
        assert encode_segment(name) == encoded
    assert encode_segment('ci-7_x~') == 'ci-7_x~'


def test_encode_member_spec():
    assert encode_member_spec('all') == 'all'
    assert encode_member_spec(15) == '15'
    assert encode_member_spec(['10', 15]) == '10,15'
    assert encode_member_spec('10,15') == '10,15'
    assert encode_member_spec(['a/b', '.']) == 'a%2Fb,%2E'
    with pytest.raises(VobizInputError):
        encode_member_spec([])
    with pytest.raises(VobizInputError):
        encode_member_spec('10,,15')


def test_auth_id_is_encoded_too():
    client = ConferenceApi('MA/../x', TOKEN, api_url='http://127.0.0.1:9/api/v1')
    assert client.url_for('Conference', 'a') == 'http://127.0.0.1:9/api/v1/Account/MA%2F%2E%2E%2Fx/Conference/a/'
