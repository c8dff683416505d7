# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 10: a server that accepts connections and never answers.

Every task must fail (or, in check mode, predict) after ``retries + 1`` attempts per request, each
ended by ``timeout``, with backoff waits of at most ``retry_max_wait`` in all per request; it names
the rooms and never hangs the play. Attempts are counted by the server (connections accepted) and
the waits by an injected sleep (``sleeps`` fixture); run times only go to the figures table.
"""

from __future__ import annotations

import json
import threading

import pytest

from ansible_collections.vobiz.voice.tests.emulator.stand_ins import RawListener
from ansible_collections.vobiz.voice.tests.reliability.helpers import (
    HANG_GUARD_SECONDS,
    MODULES,
    TOKEN,
    run_module_process,
    timed,
)
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import module_args, run_module

TIMEOUT, RETRIES, RETRY_MAX_WAIT = 0.2, 2, 0.1
BOUND = TIMEOUT * (RETRIES + 1) + RETRY_MAX_WAIT


class SilentServer(RawListener):
    """Accepts TCP connections on 127.0.0.1 and never answers (the kernel buffers what clients send)."""

    backlog = 512

    def __init__(self):
        super().__init__()
        self.accepted = 0
        self._connections = []
        self._lock = threading.Lock()
        self._accepted_changed = threading.Condition(self._lock)
        self.start()

    def on_connection(self, connection):
        with self._lock:
            self.accepted += 1
            self._connections.append(connection)
            self._accepted_changed.notify_all()

    def accepted_when(self, expected, guard=HANG_GUARD_SECONDS):
        """The connections accepted, once ``expected`` are (the kernel may hold the last ones briefly).

        ``guard`` only keeps a broken run from waiting forever; the count is what gets asserted.
        """
        with self._lock:
            self._accepted_changed.wait_for(lambda: self.accepted >= expected, guard)
            return self.accepted

    def stop(self):
        self.close()
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
    args = module_args(server, timeout=TIMEOUT, retries=RETRIES, retry_max_wait=RETRY_MAX_WAIT)
    args.update(kwargs)
    return timed(run_module, MODULES[module], args, check_mode=check_mode)


def assert_bounded_waits(sleeps, requests):
    """``RETRIES`` waits per request that timed out, and at most ``RETRY_MAX_WAIT`` of waiting per request."""
    assert len(sleeps) == requests * RETRIES, sleeps
    assert sum(sleeps) <= requests * RETRY_MAX_WAIT + 1e-9, sleeps


def test_hangup_fails_within_the_bound_naming_every_room(silent, sleeps, figures):
    names = ['stuck-{0}'.format(i) for i in range(8)]
    seconds, (failed, result) = call(silent, 'vobiz_conference', name=names, parallel=8)
    assert failed
    assert sorted(f['name'] for f in result['failures']) == names
    assert all('read timeout' in f['message'] and f['status'] is None for f in result['failures'])
    # Every DELETE was sent and none was answered: whether a room was hung up is unknown.
    assert sorted(result['uncertain']) == names and '8 uncertain' in result['msg']
    for name in names:
        assert repr(name) in result['msg']
    assert result['hung_up'] == [] and result['changed'] is False
    assert silent.accepted_when(len(names) * (RETRIES + 1)) == len(names) * (RETRIES + 1)  # every attempt, and no more
    assert_bounded_waits(sleeps, len(names))
    assert TOKEN not in json.dumps(result)
    figures.record(
        '10a',
        'silent server, hang-up',
        '8 rooms, timeout {0} s, retries {1}'.format(TIMEOUT, RETRIES),
        'no reply ever (bound {0:.1f} s)'.format(BOUND),
        silent.accepted,
        0,
        0,
        0,
        seconds,
    )


def test_batch_larger_than_parallel_tries_every_room_within_the_bound(silent, sleeps):
    names = ['stuck-{0}'.format(i) for i in range(6)]
    dummy, (failed, result) = call(silent, 'vobiz_conference', name=names, parallel=3)
    assert failed and sorted(f['name'] for f in result['failures']) == names
    assert all('read timeout' in f['message'] for f in result['failures'])
    assert silent.accepted_when(len(names) * (RETRIES + 1)) == len(names) * (RETRIES + 1)
    assert_bounded_waits(sleeps, len(names))


def test_announce_is_not_resent_after_a_timeout(silent, sleeps, figures):
    seconds, (failed, result) = call(silent, 'vobiz_conference_announce', name=['stuck-1', 'stuck-2'], text='Closing.')
    assert failed
    assert sorted(f['name'] for f in result['failures']) == ['stuck-1', 'stuck-2']
    assert all('may have started' in f['message'] for f in result['failures'])
    assert silent.accepted_when(2) == 2  # a POST whose reply may be lost is never sent twice
    assert sleeps == []  # nothing to wait for: no retry
    figures.record('10b', 'silent server, announce', '2 rooms', 'no reply ever', silent.accepted, 0, 0, 0, seconds)


def test_check_mode_predicts_instead_of_failing(silent, sleeps):
    dummy, (failed, result) = call(silent, 'vobiz_conference', check_mode=True, name=['stuck-1', 'stuck-2'])
    assert not failed and result['changed'] is True
    assert sorted(result['uncertain']) == ['stuck-1', 'stuck-2']
    assert silent.accepted_when(2 * (RETRIES + 1)) == 2 * (RETRIES + 1)
    assert_bounded_waits(sleeps, 2)


@pytest.mark.parametrize(
    'module, args, requests',
    [
        ('vobiz_conference', dict(match='stuck-*'), 1),
        ('vobiz_conference', dict(all=True), 1),
        ('vobiz_conference_info', dict(), 1),
        # member: one GET (unreadable), then the DELETE: two bounded requests one after the other.
        ('vobiz_conference_member', dict(conference='stuck-1', member_id=['1'], state='absent'), 2),
    ],
    ids=['match', 'all', 'info', 'member'],
)
def test_every_module_fails_within_the_bound(silent, sleeps, module, args, requests):
    dummy, (failed, result) = call(silent, module, **args)
    assert failed
    assert 'timeout' in result['msg']
    assert silent.accepted_when(requests * (RETRIES + 1)) == requests * (RETRIES + 1)
    assert_bounded_waits(sleeps, requests)


def test_module_process_never_hangs(silent):
    args = module_args(silent, name=['stuck-1'], timeout=TIMEOUT, retries=RETRIES, retry_max_wait=RETRY_MAX_WAIT)
    # What is checked is that the process ended by itself, failed, and made exactly its attempts (a hang would be
    # ended by the gate's silence watchdog).
    proc = run_module_process('vobiz_conference', args)
    assert proc.returncode == 1 and proc.result['failed'] is True
    assert "'stuck-1'" in proc.result['msg'] and 'read timeout' in proc.result['msg']
    assert silent.accepted_when(RETRIES + 1) == RETRIES + 1
