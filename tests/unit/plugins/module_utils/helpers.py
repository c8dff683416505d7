# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""What the module_utils unit tests share: a client of the test account, recorded sleeps, polls, names."""

import datetime
import json
import socket
import threading
from urllib.parse import quote

from ansible_collections.vobiz.voice.plugins.module_utils import _errors, _urls
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID, PREFIX, TOKEN

#: Guards the suite against a hang only (the tests never wait this long when the client is right).
HANG_GUARD = 120


class Sleeps(list):
    """Injected sleep: records the requested delays instead of waiting."""

    def __call__(self, seconds):
        self.append(seconds)


class Poll:
    """Wait for a condition of the client that has no event to wait on (bounded by ``HANG_GUARD``)."""

    def wait_for(self, condition):
        ticks = threading.Event()
        for dummy in range(int(HANG_GUARD / 0.01)):
            if condition():
                return
            ticks.wait(0.01)
        raise AssertionError('condition not met')


def make_client(server, sleeps=None, **kwargs):
    """A ``ConferenceApi`` of the test account for ``server`` (the emulator, a stand-in, or an API URL); its sleeps
    are recorded in ``sleeps`` (or a new ``Sleeps``), not slept, unless ``sleep`` says otherwise."""
    api_url = server if isinstance(server, str) else server.api_url
    sleep = sleeps if sleeps is not None else Sleeps()
    options = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=api_url, retries=5, retry_max_wait=60, sleep=sleep)
    options.update(kwargs)
    return ConferenceApi(**options)


def expected_path(name):
    return PREFIX + quote(name, safe='').replace('.', '%2E') + '/'


def free_port():
    sock = socket.socket()
    sock.bind(('127.0.0.1', 0))
    port = sock.getsockname()[1]
    sock.close()
    return port


def arrival(entry):
    """When the emulator received a logged request (its own clock, milliseconds)."""
    return datetime.datetime.fromisoformat(entry['time'].replace('Z', '+00:00'))


def wrong_prefix_client(emu, **kwargs):
    """A client whose api_url has the wrong version prefix: every path is unknown to the emulator."""
    return make_client(emu, api_url=emu.api_url.replace('/api/v1', '/api/v2'), **kwargs)


def assert_unknown_route(exc_info, api_url):
    error = exc_info.value
    assert type(error).__name__ == 'VobizUnknownRouteError' and isinstance(error, _errors.VobizFatalError)
    assert 'api_url' in str(error) and api_url in str(error) and _urls.DEFAULT_API_URL in str(error)
    assert 'does not know' in str(error) and error.status == 404


ECHO_TOKEN = 'Tk/"x\\y-0123456789abcdef-QRSTUV'


def token_pieces(token=ECHO_TOKEN):
    return [token[i : i + 6] for i in range(len(token) - 5)]


def assert_no_token_piece(*texts):
    joined = json.dumps(texts)  # also the JSON-escaped forms
    for text in (joined,) + tuple(str(t) for t in texts):
        for piece in token_pieces():
            assert piece not in text
            assert json.dumps(piece)[1:-1] not in text
