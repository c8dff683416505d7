# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Request pacing for the vobiz.voice client: send at the rate the account allows instead of bouncing off 429s.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

Rate limits like Vobiz's (Plivo's: about 300 requests per 5 s per account) behave like a token bucket:
a burst up to the bucket's size, then a steady refill rate. A 429 means the bucket is empty at that
moment. Between two such moments the server accepted exactly what refilled in between, so

    refill rate = requests accepted between two 429 events / time between them

which is what this pacer measures (always from the first 429 event on, so the estimate sharpens as
the batch runs). It needs no header beyond ``Retry-After``.

* Until the first 429 it does not pace at all (or paces at ``rate_limit`` when the user set one).
* At the first 429 every worker holds until ``Retry-After`` has passed (the bucket refills meanwhile),
  then probes: it sends at about ``PROBE_IN_FLIGHT`` requests per round trip, so that the next 429
  (the bucket empty again) costs only a few refused requests; it speeds up while none comes.
* From the second 429 event on it knows the rate and sends at ``SAFETY`` (a little under) that rate.
  It does not creep back up: a 429 late in a batch costs its request a whole ``Retry-After``
  (at least a second), more than the last percent of speed gains. A limit lowered during the batch
  is found by its 429s; one raised is used from the next task on.
* A 429 for a request sent before the last event is old news (it was in flight when the bucket ran
  dry) and teaches nothing.

Pure logic: the clock and the sleep are injected, and every method is thread-safe.
"""

import threading
import time

#: Pace at this share of the learned rate (a little under it, so the server's bucket never runs dry).
SAFETY = 0.985
#: After the first 429, probe with about this many requests per round trip.
PROBE_IN_FLIGHT = 2.0
#: While probing and no 429 comes, the probe rate grows by this factor per second.
PROBE_GROWTH_PER_SECOND = 1.5
#: Hold after the first 429 when the answer carries no Retry-After (seconds).
DEFAULT_HOLD = 1.0
#: Longest hold the pacer imposes on all workers (seconds), unless told otherwise. A longer Retry-After
#: (a quota rather than a rate) holds nobody: each request honours it or gives up on its own, as before.
MAX_HOLD = 60.0
#: Requests that may go back to back after a pause (the burst allowance), at any rate.
BURST = 2.0
#: Round trip assumed before the first answer (seconds).
INITIAL_RTT = 0.05


class Pacer:
    """Shared by every worker of one client: ``acquire()`` before each send, ``answered()`` after each answer.

    ``rate_limit``: requests per second the user says the account allows (``None``: learn it from 429s).
    ``max_hold``: the longest Retry-After that holds every worker (the client passes its ``retry_max_wait``).
    ``clock``: monotonic seconds; ``sleep(seconds)``: the wait (both injected for tests).
    """

    def __init__(self, rate_limit=None, clock=None, sleep=None, max_hold=MAX_HOLD):
        if rate_limit is not None and not rate_limit > 0:
            raise ValueError('rate_limit must be greater than 0')
        self.rate_limit = float(rate_limit) if rate_limit is not None else None
        self.max_hold = max_hold
        self.clock = clock or time.monotonic
        self._sleep = sleep or time.sleep
        self._lock = threading.Lock()
        # The pace: None = unpaced. _rate_since is when the probe started (its rate grows from then on).
        self._rate = self.rate_limit
        self._rate_since = None
        self._probing = False
        # Virtual schedule (GCRA): the earliest time of the next send, and the hold after a 429 event.
        self._next_send = None
        self._hold_until = None
        # 429 events: the first one's time and accepted count (the estimate's baseline), the last one's time.
        self._first_event = None
        self._last_event_at = None
        self._events = 0
        self._epoch = 0
        self._accepted = 0
        self._limited = 0
        self._rtt = None

    # -- what the client calls ---------------------------------------------------------------------

    def acquire(self, should_stop=None):
        """Wait until this request may go; return the send time to pass to ``answered``.

        ``should_stop()``: checked after each wait (e.g. the batch was aborted): return at once when true.
        """
        while True:
            with self._lock:
                now = self.clock()
                delay, epoch = self._reserve(now)
            if delay <= 0:
                return now
            self._sleep(delay)
            if should_stop is not None and should_stop():
                return self.clock()
            with self._lock:
                if epoch == self._epoch:
                    return self.clock()
            # A 429 event re-planned the schedule while this worker waited: take a new slot.

    def answered(self, sent_at, limited, retry_after=None):
        """Report an answer: ``limited`` for a 429, with its ``Retry-After`` in seconds (or None)."""
        with self._lock:
            now = self.clock()
            rtt = max(now - sent_at, 0.0)
            self._rtt = rtt if self._rtt is None else 0.8 * self._rtt + 0.2 * rtt
            if not limited:
                self._accepted += 1
                return
            self._limited += 1
            if self._last_event_at is not None and sent_at < self._last_event_at:
                return  # in flight when the bucket ran dry: old news
            self._event(now, retry_after)

    # -- state, for tests and the bench -----------------------------------------------------------

    @property
    def rate(self):
        """The pace in requests per second now (None: unpaced)."""
        with self._lock:
            return self._current_rate(self.clock())

    @property
    def events(self):
        """How many 429 events (bucket found empty) taught the pacer."""
        with self._lock:
            return self._events

    @property
    def limited(self):
        """How many 429 answers were reported."""
        with self._lock:
            return self._limited

    # -- inside the lock ---------------------------------------------------------------------------

    def _current_rate(self, now):
        rate = self._rate
        if rate is None:
            return None
        if self._probing:
            rate *= PROBE_GROWTH_PER_SECOND ** max(now - self._rate_since, 0.0)
        if self.rate_limit is not None:
            rate = min(rate, self.rate_limit)
        return rate

    def _reserve(self, now):
        """Take the next slot: (seconds to wait, epoch)."""
        if self._hold_until is not None and now < self._hold_until:
            start = self._hold_until
        else:
            start = now
        rate = self._current_rate(max(now, start))
        if rate is None:
            return start - now, self._epoch
        interval = 1.0 / rate
        if self._next_send is None:
            slot = start
        else:
            # Idle time earns at most BURST back-to-back sends.
            slot = max(self._next_send, start - (BURST - 1.0) * interval)
        self._next_send = slot + interval
        return slot - now, self._epoch

    def _event(self, now, retry_after):
        """The bucket was empty at ``now``: learn the rate, re-plan the schedule."""
        self._events += 1
        self._epoch += 1
        self._last_event_at = now
        if self._first_event is None:
            self._first_event = (now, self._accepted)
            hold = DEFAULT_HOLD if retry_after is None else max(retry_after, 0.0)
            self._hold_until = now + hold if hold <= self.max_hold else now
            if self.rate_limit is None:
                # Probe: a few requests per round trip, so the next empty bucket costs few refusals.
                self._rate = PROBE_IN_FLIGHT / max(self._rtt or INITIAL_RTT, 0.001)
                self._probing = True
            else:
                self._rate = self.rate_limit * SAFETY
            self._rate_since = self._hold_until
            self._next_send = None
            return
        first_at, first_accepted = self._first_event
        span = now - first_at
        if span > 0:
            measured = (self._accepted - first_accepted) / span
            if measured > 0:
                self._rate = measured * SAFETY
                self._probing = False
        # The bucket is empty now: the next send waits one interval of the new pace (no burst).
        rate = self._current_rate(now)
        self._next_send = now + (1.0 / rate if rate else 0.0)


class SleepClock:
    """A monotonic clock that also moves by what an injected (test) sleep function was asked to wait.

    A client given a fake ``sleep`` but no clock paces on this clock, so that a wait it did not really
    wait (a Retry-After, a backoff) still counts as time gone by for the pace.
    """

    def __init__(self, sleep, clock=None):
        self._wrapped_sleep = sleep
        self._clock = clock or time.monotonic
        self._lock = threading.Lock()
        self._offset = 0.0

    def sleep(self, seconds):
        self._wrapped_sleep(seconds)
        with self._lock:
            self._offset += max(seconds, 0.0)

    def __call__(self):
        with self._lock:
            return self._clock() + self._offset
