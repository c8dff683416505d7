# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The pacer's logic on a fake clock: nothing here sleeps or reads the wall clock."""

import threading

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _pacing
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ConferenceApi
from ansible_collections.vobiz.voice.plugins.module_utils._connection import validate_connection_params
from ansible_collections.vobiz.voice.plugins.module_utils._pacing import Pacer, SleepClock
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator


class FakeClock:
    """Time moves only when someone sleeps."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class TokenBucket:
    """The emulator's limiter (tests/emulator/vobiz_emulator/faults.py ``_take_token``) on the fake clock."""

    def __init__(self, clock, requests, per_seconds):
        self.clock = clock
        self.capacity = float(requests)
        self.rate = requests / float(per_seconds)
        self.tokens = self.capacity
        self.last = clock()

    def take(self):
        """None when accepted, else the Retry-After in whole seconds (at least 1)."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return max(1, int(-(-(1 - self.tokens) // self.rate)))


def pacer_on(clock, **kwargs):
    return Pacer(clock=clock, sleep=clock.sleep, **kwargs)


def test_unpaced_until_the_first_429():
    clock = FakeClock()
    pacer = pacer_on(clock)
    for _request in range(1000):
        sent_at = pacer.acquire()
        pacer.answered(sent_at, limited=False)
    assert clock.sleeps == [] and pacer.rate is None and pacer.events == 0


def test_rate_limit_paces_from_the_first_request():
    clock = FakeClock()
    pacer = pacer_on(clock, rate_limit=10)
    sends = [pacer.acquire() for _request in range(21)]
    assert sends[0] == 0.0
    assert sends[20] == pytest.approx(2.0)
    assert all(later - earlier == pytest.approx(0.1) for earlier, later in zip(sends, sends[1:]))


def test_idle_time_earns_only_the_burst_allowance():
    clock = FakeClock()
    pacer = pacer_on(clock, rate_limit=10)
    pacer.acquire()
    clock.now = 100.0  # a long pause
    sends = [pacer.acquire() for _request in range(5)]
    back_to_back = sum(1 for send in sends if send == 100.0)
    assert back_to_back == int(_pacing.BURST)
    assert sends[-1] == pytest.approx(100.0 + (5 - _pacing.BURST) * 0.1)


@pytest.mark.parametrize('retry_after, hold', [(3.0, 3.0), (None, _pacing.DEFAULT_HOLD), (_pacing.MAX_HOLD + 1, 0.0)])
def test_the_first_429_holds_every_worker_until_retry_after(retry_after, hold):
    """A Retry-After longer than max_hold (a quota, not a rate) holds nobody: each request deals with its own."""
    clock = FakeClock()
    pacer = pacer_on(clock)
    clock.now = 5.0
    pacer.answered(4.99, limited=True, retry_after=retry_after)
    assert pacer.events == 1
    assert pacer.acquire() == pytest.approx(5.0 + hold)


def test_answers_in_flight_when_the_bucket_ran_dry_teach_nothing():
    clock = FakeClock()
    pacer = pacer_on(clock)
    clock.now = 1.0
    pacer.answered(0.98, limited=True, retry_after=1)
    rate_after_first = pacer.rate
    for sent_at in (0.981, 0.99, 0.999):  # sent before the first 429 came back
        pacer.answered(sent_at, limited=True, retry_after=1)
    assert pacer.events == 1 and pacer.limited == 4
    assert pacer.rate == rate_after_first


def test_rate_learned_from_requests_accepted_between_two_429_events():
    clock = FakeClock()
    pacer = pacer_on(clock)
    clock.now = 2.0
    pacer.answered(1.98, limited=True, retry_after=1)
    for _request in range(150):  # accepted while the bucket refilled: 150 in 3 s
        pacer.answered(clock.now, limited=False)
    clock.now = 5.0
    pacer.answered(4.98, limited=True, retry_after=1)
    assert pacer.events == 2
    assert pacer.rate == pytest.approx(50.0 * _pacing.SAFETY)


def test_a_learned_rate_never_exceeds_rate_limit():
    clock = FakeClock()
    pacer = pacer_on(clock, rate_limit=20)
    clock.now = 1.0
    pacer.answered(0.99, limited=True, retry_after=1)
    for _request in range(100):
        pacer.answered(clock.now, limited=False)
    clock.now = 2.0
    pacer.answered(1.99, limited=True, retry_after=1)
    assert pacer.rate == 20.0


def test_against_a_token_bucket_it_learns_the_rate_and_stops_bouncing():
    """300 per 5 s, one request at a time: the burst, two 429 events, then a steady pace just under 60/s."""
    clock = FakeClock()
    bucket = TokenBucket(clock, 300, 5.0)
    pacer = pacer_on(clock)
    accepted_at = []
    limited = 0
    while len(accepted_at) < 1500:
        sent_at = pacer.acquire()
        retry_after = bucket.take()
        pacer.answered(sent_at, retry_after is not None, retry_after)
        if retry_after is None:
            accepted_at.append(sent_at)
        else:
            limited += 1
    assert limited == pacer.limited == 2
    assert pacer.events == 2
    assert 60 * 0.97 <= pacer.rate <= 60.0
    # After the second event nothing is refused, and the pace uses the rate: within 3 % of what the bucket allows.
    finish = accepted_at[-1]
    assert finish <= (1500 - 300) / 60.0 * 1.03


def test_a_worker_waiting_for_its_slot_takes_a_new_one_when_a_429_replans():
    clock = FakeClock()
    pacer = pacer_on(clock, rate_limit=10)
    pacer.acquire()
    pacer.acquire()
    arrived = []

    def sleep_while_a_429_arrives(seconds):
        clock.sleep(seconds)
        if not arrived:
            arrived.append(clock.now)
            pacer.answered(clock.now, limited=True, retry_after=5)

    pacer._sleep = sleep_while_a_429_arrives
    sent_at = pacer.acquire()
    assert arrived == [pytest.approx(0.2)]
    assert sent_at == pytest.approx(0.2 + 5.0)


def test_should_stop_ends_the_wait():
    clock = FakeClock()
    pacer = pacer_on(clock, rate_limit=1)
    pacer.acquire()
    stop = threading.Event()
    stop.set()
    assert pacer.acquire(stop.is_set) == pytest.approx(1.0)
    assert len(clock.sleeps) == 1


def test_concurrent_workers_each_get_their_own_slot():
    clock = FakeClock()
    slots = []
    lock = threading.Lock()

    def record(seconds):
        with lock:
            slots.append(seconds)

    pacer = Pacer(rate_limit=100, clock=clock, sleep=record)  # the clock stands still: slots are the waits
    threads = [threading.Thread(target=lambda: [pacer.acquire() for _send in range(50)]) for _worker in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(round(slot, 6) for slot in slots) == [round(i / 100.0, 6) for i in range(1, 400)]


def test_sleep_clock_moves_with_the_fake_sleeps():
    clock = FakeClock()
    waited = []
    sleep_clock = SleepClock(waited.append, clock=clock)
    sleep_clock.sleep(20)
    sleep_clock.sleep(1.5)
    assert waited == [20, 1.5] and sleep_clock() == 21.5


def test_pacer_refuses_a_rate_limit_that_is_not_positive():
    with pytest.raises(ValueError):
        Pacer(rate_limit=0)


def test_rate_limit_option_reaches_the_client():
    params = dict(auth_id='MA_X', auth_token='token', api_url='https://api.vobiz.ai/api/v1', rate_limit='12.5')
    kwargs, _warnings = validate_connection_params(params)
    assert kwargs['rate_limit'] == 12.5


def test_the_client_paces_every_request_of_a_batch_at_rate_limit():
    """Wiring: one pacer for all workers of a client, before every send (the clock is fake, the HTTP is real)."""

    names = ['room-%d' % index for index in range(6)]
    clock = FakeClock()
    with Emulator(auth_id='MA_PACE', auth_token='pace-token', conferences=names) as emu:
        client = ConferenceApi(
            'MA_PACE', 'pace-token', api_url=emu.api_url, parallel=1, rate_limit=4, sleep=clock.sleep, clock=clock
        )
        outcomes = client.run_concurrently(client.hangup, names)
        assert [outcome.outcome for outcome in outcomes] == ['hung_up'] * 6
        assert len(emu.requests()) == 6
    # The first request goes at once, each later one a quarter of a second after the one before.
    assert clock.sleeps == [pytest.approx(0.25)] * 5


def test_a_request_waiting_for_its_pace_is_not_sent_once_the_batch_is_stopped():
    from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizBatchAborted

    clock = FakeClock()
    clients = []

    def stop_the_batch_while_waiting(seconds):
        clock.sleep(seconds)
        clients[0]._control.stopped.set()  # what a fatal error in another worker does

    with Emulator(auth_id='MA_PACE', auth_token='pace-token', conferences=['a', 'b']) as emu:
        client = ConferenceApi(
            'MA_PACE',
            'pace-token',
            api_url=emu.api_url,
            parallel=1,
            rate_limit=1,
            sleep=stop_the_batch_while_waiting,
            clock=clock,
        )
        clients.append(client)
        assert client.hangup('a').outcome == 'hung_up'
        with pytest.raises(VobizBatchAborted):
            client.hangup('b')
        assert [entry['conference'] for entry in emu.requests()] == ['a']
    assert clock.sleeps == [pytest.approx(1.0)]
