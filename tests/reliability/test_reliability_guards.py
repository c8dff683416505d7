# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The environment a module runs in is honoured: HTTPS_PROXY, HTTP_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE.

Each test fails when the client ignores one of them (the defect is named in the docstring). What went
through the proxy is what the recording proxy logged; what was done is what the emulator logged.
"""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.tests.emulator.stand_ins import RecordingProxy
from ansible_collections.vobiz.voice.tests.reliability.helpers import run

PROXY_VARIABLES = ('HTTPS_PROXY', 'HTTP_PROXY', 'ALL_PROXY', 'NO_PROXY')


@pytest.fixture
def clean_env(monkeypatch, no_vobiz_env):  # pylint: disable=unused-argument
    """No proxy or CA bundle settings from the caller's environment (either spelling)."""
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    return monkeypatch


@pytest.fixture
def proxy():
    with RecordingProxy() as server:
        yield server


def test_http_proxy_from_the_environment_is_used(emu, proxy, clean_env):
    """Defect: proxy settings from the environment ignored. The request goes through HTTP_PROXY."""
    emu.add_conference('Board Room')
    clean_env.setenv('HTTP_PROXY', proxy.url)
    failed, result = run('vobiz_conference', emu, name='Board Room')
    assert not failed, result['msg']
    assert result['hung_up'] == ['Board Room']
    assert proxy.log == [dict(method='DELETE', target=emu.api_url + '/Account/MA_TEST/Conference/Board%20Room/')]
    assert [(e['method'], e['conference'], e['status']) for e in emu.requests()] == [('DELETE', 'Board Room', 204)]


def test_no_proxy_bypasses_the_proxy(emu, proxy, clean_env):
    """Defect: NO_PROXY ignored. A host listed in NO_PROXY is reached directly although HTTP_PROXY is set."""
    emu.add_conference('Board Room')
    clean_env.setenv('HTTP_PROXY', proxy.url)
    clean_env.setenv('NO_PROXY', 'example.com,127.0.0.1')
    failed, result = run('vobiz_conference', emu, name='Board Room')
    assert not failed, result['msg']
    assert result['hung_up'] == ['Board Room']
    assert proxy.log == []
    assert [(e['method'], e['conference'], e['status']) for e in emu.requests()] == [('DELETE', 'Board Room', 204)]


def test_https_proxy_from_the_environment_tunnels_tls(emulators, proxy, clean_env):
    """Defect: HTTPS_PROXY ignored. An https:// API is reached through a CONNECT tunnel of the proxy."""
    pytest.importorskip('trustme')
    emu = emulators(tls=True)
    emu.add_conference('Board Room')
    clean_env.setenv('HTTPS_PROXY', proxy.url)
    failed, result = run('vobiz_conference', emu, name='Board Room', ca_path=emu.ca_file)
    assert not failed, result['msg']
    assert result['hung_up'] == ['Board Room']
    assert proxy.log == [dict(method='CONNECT', target='127.0.0.1:{0}'.format(emu.port))]
    assert [(e['method'], e['conference'], e['status']) for e in emu.requests()] == [('DELETE', 'Board Room', 204)]


def test_requests_ca_bundle_is_trusted_without_ca_path(emulators, clean_env):
    """Defect: REQUESTS_CA_BUNDLE ignored. The bundle it names verifies the server without ca_path."""
    pytest.importorskip('trustme')
    emu = emulators(tls=True)
    emu.add_conference('Board Room')
    clean_env.setenv('REQUESTS_CA_BUNDLE', emu.ca_file)
    failed, result = run('vobiz_conference', emu, name='Board Room')
    assert not failed, result['msg']
    assert result['hung_up'] == ['Board Room'] and result['warnings'] == []
    assert [(e['method'], e['conference'], e['status']) for e in emu.requests()] == [('DELETE', 'Board Room', 204)]
