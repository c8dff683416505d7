# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 10: a server that accepts connections and never answers.

Every task must fail (or, in check mode, predict) within ``timeout x (retries + 1)`` plus the
backoff waits (at most ``retry_max_wait``), name the rooms, and never hang the play.
"""

from __future__ import annotations

import json
import socket
import threading

import pytest

from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import run_module
from ansible_collections.vobiz.voice.tests.unit.reliability.helpers import (
    AUTH_ID,
    MODULES,
    TOKEN,
    run_module_process,
    timed,
)

TIMEOUT, RETRIES, RETRY_MAX_WAIT = 0.2, 2, 0.1
BOUND = TIMEOUT * (RETRIES + 1) + RETRY_MAX_WAIT
SLACK = 2.0  # thread scheduling and coverage on a loaded 2-core CI machine


class SilentServer:
    """Accepts TCP connections on 127.0.0.1 and never answers (the kernel buffers what clients send)."""

    def __init__(self):
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.bind(('127.0.0.1', 0))
        self._listener.listen(512)
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._connections = []
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name='silent-server', daemon=True)
        self._thread.start()

    @property
    def api_url(self):
        return 'http://127.0.0.1:{0}/api/v1'.format(self.port)

    def _serve(self):
        while True:
            try:
                connection, dummy = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._connections.append(connection)

    def stop(self):
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._listener.close()
        self._thread.join(5)
        with self._lock:
            for connection in self._connections:
                connection.close()


@pytest.fixture
def silent():
    server = SilentServer()
    try:
        yield server
    finally:
        server.stop()


def call(server, module, check_mode=False, **kwargs):
    args = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=server.api_url, timeout=TIMEOUT, retries=RETRIES,
                retry_max_wait=RETRY_MAX_WAIT)
    args.update(kwargs)
    return timed(run_module, MODULES[module], args, check_mode=check_mode)


def test_hangup_fails_within_the_bound_naming_every_room(silent, figures):
    names = ['stuck-{0}'.format(i) for i in range(8)]
    seconds, (failed, result) = call(silent, 'vobiz_conference', name=names, parallel=8)
    assert failed
    assert sorted(f['name'] for f in result['failures']) == names
    assert all('read timeout' in f['message'] and f['status'] is None for f in result['failures'])
    for name in names:
        assert repr(name) in result['msg']
    assert result['hung_up'] == [] and result['changed'] is False
    assert seconds < BOUND + SLACK, seconds
    assert silent.accepted == len(names) * (RETRIES + 1)  # every attempt, and no more
    assert TOKEN not in json.dumps(result)
    figures.record('10a', 'silent server, hang-up', '8 rooms, timeout {0} s, retries {1}'.format(TIMEOUT, RETRIES),
                   'no reply ever (bound {0:.1f} s)'.format(BOUND), silent.accepted, 0, 0, 0, seconds)


def test_batch_larger_than_parallel_takes_one_bound_per_wave(silent):
    names = ['stuck-{0}'.format(i) for i in range(6)]
    seconds, (failed, result) = call(silent, 'vobiz_conference', name=names, parallel=3)
    assert failed and len(result['failures']) == 6
    assert seconds < 2 * BOUND + SLACK, seconds


def test_announce_is_not_resent_after_a_timeout(silent, figures):
    seconds, (failed, result) = call(silent, 'vobiz_conference_announce', name=['stuck-1', 'stuck-2'], text='Closing.')
    assert failed
    assert sorted(f['name'] for f in result['failures']) == ['stuck-1', 'stuck-2']
    assert all('may have started' in f['message'] for f in result['failures'])
    assert silent.accepted == 2  # a POST whose reply may be lost is never sent twice
    assert seconds < TIMEOUT + SLACK
    figures.record('10b', 'silent server, announce', '2 rooms', 'no reply ever', silent.accepted, 0, 0, 0, seconds)


def test_check_mode_predicts_instead_of_failing(silent):
    seconds, (failed, result) = call(silent, 'vobiz_conference', check_mode=True, name=['stuck-1', 'stuck-2'])
    assert not failed and result['changed'] is True
    assert sorted(result['uncertain']) == ['stuck-1', 'stuck-2']
    assert seconds < BOUND + SLACK


@pytest.mark.parametrize('module, args', [
    ('vobiz_conference', dict(match='stuck-*')),
    ('vobiz_conference', dict(all=True)),
    ('vobiz_conference_info', dict()),
    ('vobiz_conference_member', dict(conference='stuck-1', member_id=['1'], state='absent')),
], ids=['match', 'all', 'info', 'member'])
def test_every_module_fails_within_the_bound(silent, module, args):
    seconds, (failed, result) = call(silent, module, **args)
    assert failed
    assert 'timeout' in result['msg']
    # member: one GET (unreadable), then the DELETE: two bounded requests one after the other.
    assert seconds < (2 if module == 'vobiz_conference_member' else 1) * BOUND + SLACK, seconds


def test_module_process_never_hangs(silent):
    args = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=silent.api_url, name=['stuck-1'], timeout=TIMEOUT,
                retries=RETRIES, retry_max_wait=RETRY_MAX_WAIT)
    proc = run_module_process('vobiz_conference', args, timeout=30)
    assert proc.returncode == 1 and proc.result['failed'] is True
    assert "'stuck-1'" in proc.result['msg']
    assert proc.seconds < BOUND + 5.0  # includes the interpreter and ansible start-up
