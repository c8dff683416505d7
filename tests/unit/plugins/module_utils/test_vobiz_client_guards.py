# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Guards of the client that a single planted defect would break: what was sent, counted where it arrived.

Each test fails when one mistake is made in the client (the mistake is named in the docstring).
"""

import datetime
import threading

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizAuthError
from ansible_collections.vobiz.voice.tests.emulator.stand_ins import ScriptedServer
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


def make_client(api_url, **kwargs):
    options = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=api_url, retries=5, retry_max_wait=60, sleep=Sleeps())
    options.update(kwargs)
    return ConferenceApi(**options)


def arrival(entry):
    """When the emulator received a logged request (its own clock, milliseconds)."""
    return datetime.datetime.fromisoformat(entry['time'].replace('Z', '+00:00'))


@pytest.fixture
def scripted():
    """Factory of started ``ScriptedServer``; all stopped afterwards."""
    servers = []

    def factory(answer):
        server = ScriptedServer(answer).start()
        servers.append(server)
        return server

    try:
        yield factory
    finally:
        for server in servers:
            server.stop()


def test_delete_answered_400_is_sent_once(scripted):
    """Defect: a DELETE answered 400 is retried. A 400 is the server's final word: exactly one request."""
    server = scripted(lambda entry: (400, {}, {'api_id': 'x', 'error': 'invalid request'}))
    client = make_client(server.api_url, retries=5)
    outcome = client.hangup('Board Room')
    assert [(e['method'], e['path']) for e in server.log] == [('DELETE', PREFIX + 'Board%20Room/')]
    assert outcome.outcome == 'failed' and outcome.status == 400 and outcome.attempts == 1
    assert 'invalid request' in outcome.message
    assert client.warnings == []


@pytest.mark.parametrize('status', [301, 302, 303, 307, 308])
def test_redirect_is_not_followed(scripted, status):
    """Defect: redirects followed. A 3xx to another path is reported as a failure, and nothing else is sent."""

    def answer(entry):
        if entry['path'].endswith('/Elsewhere/'):
            return 204, {}, b''
        return status, {'Location': server.url + PREFIX + 'Elsewhere/'}, b''

    server = scripted(answer)
    client = make_client(server.api_url)
    outcome = client.hangup('Board Room')
    assert [(e['method'], e['path']) for e in server.log] == [('DELETE', PREFIX + 'Board%20Room/')]
    assert outcome.outcome == 'failed' and outcome.status == status


def stop_a_batch_with_a_403(emulator, client, busy_fault, guard):
    """Hang up ``busy`` (which meets ``busy_fault``) and ``secret`` (403) in one batch of two workers, in a thread.

    The 403 must stop the batch: the thread ends within ``guard`` seconds (a hang guard, never a speed
    test), the batch raises the 403, and each room got exactly one request.
    """
    emulator.add_conference('busy')
    emulator.add_conference('secret')
    emulator.configure(forbidden=['secret'], faults=[dict(busy_fault, match='busy')])
    outcome = {}

    def batch():
        try:
            client.run_concurrently(client.hangup, ['busy', 'secret'])
        except VobizAuthError as exc:
            outcome['error'] = exc

    worker = threading.Thread(target=batch, daemon=True)
    worker.start()
    worker.join(guard)
    assert not worker.is_alive(), 'a worker waiting to retry was not stopped by the 403'
    assert outcome['error'].status == 403
    assert sorted((e['conference'], e['status']) for e in emulator.requests()) == [('busy', 503), ('secret', 403)]


def test_fatal_error_ends_a_backoff_wait_at_once(emulator):
    """Defect: a backoff sleep is not cut short when another worker hits a fatal error.

    ``busy`` is told to come back in three minutes (503, Retry-After 180: a wait for that request
    alone; a 429's Retry-After would hold every worker in the pacer); while its worker waits,
    the next room gets a 403, which stops the batch. The waiting worker must stop at once without
    its retry. With the defect the batch waits the three minutes: the guard (a third of that, and
    thousands of times what a right client needs) fails it first.
    """
    client = make_client(emulator.api_url, parallel=2, retry_max_wait=600, sleep=None)
    stop_a_batch_with_a_403(emulator, client, {'kind': '503_retry_after', 'retry_after': 180}, guard=60)
    assert emulator.live_names() == ['busy', 'secret']


def test_no_retry_is_sent_once_the_batch_is_stopped(emulator):
    """Defect: a worker sends its retry after another worker's fatal error (injected sleep, no real wait)."""
    waits = []

    def sleep_until_the_batch_is_stopped(seconds):
        waits.append(seconds)
        # The "wait" lasts until the 403 has been answered and has stopped the batch (a real wait is cut short then).
        assert emulator.wait_for_log(2, timeout=HANG_GUARD)
        stopped.wait_for(lambda: client.aborted)

    stopped = Poll()
    client = make_client(emulator.api_url, parallel=2, retries=5, sleep=sleep_until_the_batch_is_stopped)
    stop_a_batch_with_a_403(emulator, client, {'kind': '503'}, guard=HANG_GUARD)
    assert len(waits) == 1


def test_first_request_goes_alone_before_the_batch_fans_out(emulator):
    """Defect: no single-request probe. With the right token, the first request is answered before any other arrives.

    Every other request arrives after the first one's answer, which the emulator sends no sooner than
    its latency after the first arrival: a lower bound on the spacing (load can only widen it),
    compared on the emulator's own clock (log timestamps in whole milliseconds).
    """
    latency = datetime.timedelta(milliseconds=200)
    names = ['room-%02d' % i for i in range(40)]
    for name in names:
        emulator.add_conference(name, members=0)
    emulator.configure(latency_ms=latency.total_seconds() * 1000)
    client = make_client(emulator.api_url, parallel=16)
    outcomes = client.run_concurrently(client.hangup, names)
    assert [o.outcome for o in outcomes] == ['hung_up'] * 40
    arrivals = sorted(arrival(e) for e in emulator.requests())
    assert len(arrivals) == 40
    assert arrivals[1] - arrivals[0] >= latency - datetime.timedelta(milliseconds=1)
