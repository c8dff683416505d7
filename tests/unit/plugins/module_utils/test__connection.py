# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _connection: the connection options, their defaults and their checks."""

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils._connection import (
    validate_connection_params,
    vobiz_argument_spec,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._urls import validate_api_url
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID, BAD_CONNECTION_VALUES, TOKEN


def _params(**kwargs):
    params = dict(
        auth_id=AUTH_ID,
        auth_token=TOKEN,
        api_url='https://api.vobiz.ai/api/v1',
        validate_certs=True,
        ca_path=None,
        timeout=10.0,
        retries=5,
        retry_max_wait=60.0,
        parallel=16,
    )
    params.update(kwargs)
    return params


@pytest.mark.parametrize('override, option', BAD_CONNECTION_VALUES)
def test_bad_connection_params_name_the_option(override, option):
    with pytest.raises(VobizInputError) as info:
        validate_connection_params(_params(**override))
    assert info.value.option == option and option in str(info.value)
    assert TOKEN not in str(info.value) and 's3cr3t' not in str(info.value)


def test_connection_warnings():
    kwargs, warnings = validate_connection_params(_params(api_url='http://api.example.com/api/v1/'))
    assert kwargs['api_url'] == 'http://api.example.com/api/v1'
    assert len(warnings) == 1 and 'http://' in warnings[0]
    assert validate_connection_params(_params(api_url='http://127.0.0.1:8080/api/v1'))[1] == []
    assert validate_connection_params(_params(api_url='http://[::1]:8080/api/v1'))[1] == []
    assert validate_connection_params(_params(api_url='http://localhost/api/v1'))[1] == []
    warnings = validate_connection_params(_params(validate_certs=False))[1]
    assert len(warnings) == 1 and 'validate_certs' in warnings[0]


def test_argument_spec():
    spec = vobiz_argument_spec()
    assert spec['auth_token']['no_log'] is True and spec['auth_id']['no_log'] is False
    assert spec['auth_id']['fallback'][1] == ['VOBIZ_AUTH_ID']
    assert spec['auth_token']['fallback'][1] == ['VOBIZ_AUTH_TOKEN']
    assert spec['api_url']['fallback'][1] == ['VOBIZ_API_URL']
    assert spec['parallel']['default'] == 16 and spec['retries']['default'] == 5
    assert validate_api_url('https://api.vobiz.ai/api/v1/') == ('https://api.vobiz.ai/api/v1', [])


@pytest.mark.parametrize('value', [0, -1, float('nan'), 'fast'])
def test_rate_limit_option_must_be_a_positive_number(value):
    params = dict(auth_id='MA_X', auth_token='token', api_url='https://api.vobiz.ai/api/v1', rate_limit=value)
    with pytest.raises(VobizInputError) as caught:
        validate_connection_params(params)
    assert caught.value.option == 'rate_limit'
