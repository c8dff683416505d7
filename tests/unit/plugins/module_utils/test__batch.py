# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _batch: many requests on a few threads (input order, one bad item alone, the first request alone),
stopped at once by a fatal error or a signal (in flight: unknown, then their answers within the grace)."""

import datetime
import os
import threading

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _batch, _conference_api, _errors
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizAuthError, VobizItemError
from ansible_collections.vobiz.voice.tests.unit.plugins.module_utils.helpers import arrival, make_client
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import TOKEN


def test_run_concurrently_keeps_input_order(emulator):
    emulator.configure(latency_ms=5)
    client = make_client(emulator, parallel=8)
    names = ['z%02d' % i for i in range(30)]
    for name in names[::2]:
        emulator.add_conference(name)
    outcomes = client.run_concurrently(client.hangup, names)
    assert [o.name for o in outcomes] == names
    assert [o.outcome for o in outcomes] == ['hung_up', 'already_absent'] * 15


def test_run_concurrently_one_bad_item_fails_alone(emulator):
    client = make_client(emulator, parallel=2)
    delivered = []

    def work(item):
        if item == 1:
            raise KeyError('bug with ' + TOKEN)
        return item * 10

    results = client.run_concurrently(work, list(range(50)), on_result=lambda item, result: delivered.append(item))
    assert [r for i, r in enumerate(results) if i != 1] == [i * 10 for i in range(50) if i != 1]
    error = results[1]
    assert isinstance(error, VobizItemError) and not error.interrupted and isinstance(error.cause, KeyError)
    assert error.message.startswith('unexpected error: KeyError: ') and TOKEN not in error.message
    assert sorted(delivered) == list(range(50))  # the failure is delivered (audited) like any result


def test_run_concurrently_name_that_cannot_be_encoded_fails_alone(emulator):
    names = ['a1', 'a2', '\ud800x', 'a3', 'a4']
    for name in names:
        emulator.add_conference(name)
    client = make_client(emulator, parallel=1)
    results = client.run_concurrently(
        client.hangup,
        names,
        on_error=lambda name, error: _conference_api.Outcome(name, 'failed', message=error.message),
    )
    assert [o.outcome for o in results] == ['hung_up', 'hung_up', 'failed', 'hung_up', 'hung_up']
    assert results[2].name == '\ud800x' and results[2].message == 'cannot be sent: the name is not valid Unicode'
    assert emulator.live_names() == ['\ud800x']
    assert len(emulator.requests()) == 4


def test_run_concurrently_fatal_error_still_stops_the_batch(emulator):
    emulator.configure(forbidden=['f'])
    client = make_client(emulator, parallel=1)
    names = ['a', 'f', 'b', 'c']
    with pytest.raises(VobizAuthError) as info:
        client.run_concurrently(
            client.hangup, names, on_error=lambda name, error: ('item error', error.status, error.ambiguous)
        )
    # The refused item was sent: its result is its error (issue 23: "counted as sent"); the rest never started.
    assert [getattr(r, 'outcome', r) for r in info.value.results] == [
        'already_absent',
        ('item error', 403, False),
        None,
        None,
    ]
    assert len(emulator.requests()) == 2


def test_run_concurrently_on_result_bug_stops_with_fatal_error(emulator):
    client = make_client(emulator, parallel=1)

    def on_result(item, result):
        if item == 'b':
            raise ValueError('audit bug ' + TOKEN)

    with pytest.raises(_errors.VobizFatalError) as info:
        client.run_concurrently(client.hangup, ['a', 'b', 'c', 'd'], on_result=on_result)
    assert "Recording the outcome for 'b' failed (ValueError" in str(info.value) and TOKEN not in str(info.value)
    assert [getattr(r, 'name', None) for r in info.value.results] == ['a', 'b', None, None]


def test_batch_stops_on_auth_error_and_keeps_finished_results(emulator):
    names = ['n%d' % i for i in range(8)]
    for name in names:
        emulator.add_conference(name)
    emulator.configure(forbidden=['n3'])
    client = make_client(emulator, parallel=1)
    seen = []
    with pytest.raises(VobizAuthError) as info:
        client.run_concurrently(client.hangup, names, on_result=lambda item, result: seen.append(item))
    results = info.value.results
    assert [r.outcome if isinstance(r, _conference_api.Outcome) else r for r in results[:3] + results[4:]] == [
        'hung_up'
    ] * 3 + [None] * 4
    assert isinstance(results[3], _errors.VobizItemError) and results[3].status == 403 and not results[3].ambiguous
    assert seen == ['n0', 'n1', 'n2', 'n3']
    assert [e['conference'] for e in emulator.requests()] == ['n0', 'n1', 'n2', 'n3']
    assert emulator.live_names() == ['n3', 'n4', 'n5', 'n6', 'n7']


def test_batch_auth_error_with_parallel_requests_starts_no_new_ones(emulator):
    """The first request goes alone: a wrong token costs exactly one request, not ``parallel`` of them."""
    names = ['n%d' % i for i in range(60)]
    emulator.configure(latency_ms=50)  # the 401 comes back after a round trip, as over a real network
    client = make_client(emulator, parallel=4, auth_token='bad-token')
    with pytest.raises(VobizAuthError):
        client.run_concurrently(client.hangup, names)
    assert [(e['conference'], e['status']) for e in emulator.requests()] == [('n0', 401)]


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


def test_interrupt_records_in_flight_as_unknown_then_their_answers(emulator):
    names = ['i%02d' % i for i in range(40)]
    for name in names:
        emulator.add_conference(name)
    emulator.configure(latency_ms=100)
    client = make_client(emulator, parallel=4)
    delivered = []

    def on_result(name, outcome):
        delivered.append((name, outcome.outcome))
        if len(delivered) == 6:
            client.interrupt('SIGTERM')

    with pytest.raises(_errors.VobizInterrupted) as info:
        client.run_concurrently(
            client.hangup,
            names,
            on_result=on_result,
            on_error=lambda name, error: _conference_api.Outcome(
                name, 'unknown' if error.interrupted else 'failed', message=error.message
            ),
        )
    error = info.value
    assert error.signal_name == 'SIGTERM' and str(error).startswith('Interrupted by SIGTERM')
    unknown = [name for name, outcome in delivered if outcome == 'unknown']
    assert unknown, 'requests were in flight at the interrupt'
    # Each of them was recorded as unknown at once, then with its answer (which came within the grace).
    for name in unknown:
        assert delivered.index((name, 'unknown')) < delivered.index((name, 'hung_up'))
    assert error.unanswered == []
    sent = [entry['conference'] for entry in emulator.requests()]
    done = [r.name for r in error.results if r is not None]
    assert sorted(sent) == sorted(done) and len(sent) < len(names)
    assert all(r.outcome == 'hung_up' for r in error.results if r is not None)
    assert set(emulator.live_names()) == set(names) - set(sent)
    # Nothing starts after an interrupt.
    with pytest.raises(_errors.VobizInterrupted):
        client.run_concurrently(client.hangup, ['i39'])
    assert len(emulator.requests()) == len(sent)


def test_interrupt_grace_ends_and_the_outcome_stays_unknown(emulator, monkeypatch):
    monkeypatch.setattr(_batch, 'INTERRUPT_GRACE_SECONDS', 0.05)
    for name in ('a', 'b', 'slow', 'c'):
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': 'slow', 'delay': 3, 'match': 'slow'}])
    client = make_client(emulator, parallel=2)

    def on_result(name, outcome):
        if name == 'b':
            client.interrupt('SIGINT')

    # 'a' goes alone (the probe), then 'b' and 'slow' together; 'b' answers and the run is interrupted.
    with pytest.raises(_errors.VobizInterrupted) as info:
        client.run_concurrently(client.hangup, ['a', 'b', 'slow', 'c'], on_result=on_result)
    results = info.value.results
    assert [results[0].outcome, results[1].outcome, results[3]] == ['hung_up', 'hung_up', None]
    assert isinstance(results[2], VobizItemError) and results[2].interrupted
    assert 'interrupted by SIGINT' in results[2].message and 'unknown' in results[2].message
    assert info.value.unanswered == [2]
    assert 'c' not in [entry['conference'] for entry in emulator.requests()]


def test_interrupt_guard_turns_a_signal_into_an_interrupt(emulator):
    import signal

    client = make_client(emulator)
    before = signal.getsignal(signal.SIGTERM)
    with _batch.InterruptGuard(client) as guard:
        os.kill(os.getpid(), signal.SIGTERM)
        for dummy in range(30000):  # the watcher thread reacts at once; poll, do not time (the bound only ends a hang)
            if client.interrupted is not None:
                break
            threading.Event().wait(0.01)
    assert client.interrupted is not None and client.interrupted.signal_name == 'SIGTERM'
    assert guard.received == [signal.SIGTERM] and client.aborted
    assert signal.getsignal(signal.SIGTERM) is before
    assert signal.set_wakeup_fd(-1) == -1  # restored (and still unset)
