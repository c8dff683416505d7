"""Unit tests of the connection guard and the refusal log (vobiz_callbacks/connections.py), with fake transports and a
fake timer: no sockets, no real time."""

from __future__ import annotations

import logging

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.connections import (
    ConnectionGuard,
    RefusalLog,
)
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import FakeClock


class FakeTransport:
    def __init__(self, address):
        self.address = address
        self.aborted = self.closed = False

    def get_extra_info(self, name):
        return (self.address, 40000) if name == 'peername' else None

    def abort(self):
        self.aborted = True

    def close(self):
        self.closed = True


class FakeInner:
    """Stands in for aiohttp's protocol: records what reached it."""

    def __init__(self):
        self.events = []

    def connection_made(self, transport):
        self.events.append('made')

    def data_received(self, data):
        self.events.append(data)

    def connection_lost(self, exc):
        self.events.append('lost')


class FakeTimers:
    """``call_later`` whose callbacks the test fires."""

    def __init__(self):
        self.pending = []

    def __call__(self, delay, callback, *args):
        timer = _Timer(delay, callback, args)
        self.pending.append(timer)
        return timer

    def fire(self, delay):
        for timer in [t for t in self.pending if t.delay == delay and not t.cancelled]:
            timer.cancelled = True
            timer.callback(*timer.args)


class _Timer:
    def __init__(self, delay, callback, args):
        self.delay, self.callback, self.args, self.cancelled = delay, callback, args, False

    def cancel(self):
        self.cancelled = True


def guard(max_connections=10, per_address=3):
    timers, inners = FakeTimers(), []

    def factory():
        inners.append(FakeInner())
        return inners[-1]

    return (
        ConnectionGuard(
            factory,
            max_connections,
            per_address,
            idle_timeout=60,
            header_timeout=10,
            refusals=RefusalLog(),
            call_later=timers,
        ),
        timers,
        inners,
    )


def connect(the_guard, address):
    conn, transport = the_guard(), FakeTransport(address)
    conn.connection_made(transport)
    return conn, transport


def lose(conn):
    conn.connection_lost(None)


def test_the_excess_of_one_address_is_refused_before_any_byte_is_read():
    the_guard, timers, inners = guard(per_address=3)
    held = [connect(the_guard, '10.0.0.66') for dummy in range(5)]
    assert [transport.aborted for conn, transport in held] == [False, False, False, True, True]
    assert len(inners) == 3  # aiohttp never sees a refused connection
    good, transport = connect(the_guard, '10.0.0.1')
    assert not transport.aborted
    assert len(the_guard.open) == 4 and the_guard.counts['refused'] == 2
    assert the_guard.refusals.total == {'over max_connections_per_address': 2}
    lose(held[0][0])
    lose(held[3][0])  # a refused connection's end changes nothing
    assert the_guard.per_address['10.0.0.66'] == 2 and len(the_guard.open) == 3


def test_when_full_the_oldest_connection_waiting_for_a_request_makes_room():
    the_guard, timers, inners = guard(max_connections=3, per_address=3)
    busy, busy_transport = connect(the_guard, '10.0.0.1')
    the_guard.busy(busy_transport)  # its request is being handled: never closed for room
    waiting = [connect(the_guard, '10.0.0.%d' % n) for n in (2, 3)]
    newest, newest_transport = connect(the_guard, '10.0.0.4')
    assert (
        not busy_transport.aborted
        and waiting[0][1].aborted
        and not waiting[1][1].aborted
        and not newest_transport.aborted
    )
    assert the_guard.counts['evicted'] == 1 and len(the_guard.open) == 3
    the_guard.busy(waiting[1][1])
    the_guard.busy(newest_transport)
    refused, refused_transport = connect(the_guard, '10.0.0.5')  # every connection is busy: the new one is refused
    assert refused_transport.aborted and the_guard.refusals.total['over max_connections'] == 1


def test_headers_not_complete_within_header_timeout_close_the_connection():
    the_guard, timers, inners = guard()
    slow, slow_transport = connect(the_guard, '10.0.0.66')
    quick, quick_transport = connect(the_guard, '10.0.0.1')
    slow.data_received(b'POST /vobiz/conference HTTP/1.1\r\n')
    quick.data_received(b'POST /vobiz/conference HTTP/1.1\r\n\r\n')
    the_guard.busy(quick_transport)  # its headers are in: the handler runs
    timers.fire(10)
    assert slow_transport.aborted and not quick_transport.aborted
    assert the_guard.refusals.total == {'request headers not complete within header_timeout': 1}
    assert inners[0].events == ['made', b'POST /vobiz/conference HTTP/1.1\r\n']


def test_an_idle_connection_is_closed_after_idle_timeout_and_an_answered_one_waits_idle_again():
    the_guard, timers, inners = guard()
    idle, idle_transport = connect(the_guard, '10.0.0.1')
    served, served_transport = connect(the_guard, '10.0.0.2')
    served.data_received(b'POST / HTTP/1.1\r\n\r\n')
    the_guard.busy(served_transport)
    timers.fire(60)
    assert idle_transport.closed and not served_transport.closed
    the_guard.idle(served_transport)  # answered: the next request may take idle_timeout to come
    timers.fire(60)
    assert served_transport.closed and the_guard.counts['idle_closed'] == 2
    assert not the_guard.refusals.total  # idle connections closing is normal, not a refusal


def test_refusals_are_logged_as_one_line_per_interval(caplog):
    clock = FakeClock(0.0)
    log = RefusalLog(interval=60, clock=clock)
    caplog.set_level(logging.WARNING)
    for n in range(5000):
        log.count('invalid X-Vobiz-Signature-V3 (403)', '10.0.0.%d' % (n % 3))
    log.count('over max_connections_per_address', '10.0.0.9')
    line = log.report()
    assert (
        'Refused 5001 connection(s) or callback(s) since the start' in line
        and '5000 invalid X-Vobiz-Signature-V3 (403)' in line
    )
    for n in range(100):
        log.count('no signature this source can verify (401)')
    clock.advance(59)
    assert log.report() is None  # not before the interval is over
    clock.advance(1)
    assert 'Refused 100 connection(s) or callback(s) in the last 60 s' in log.report()
    assert log.report() is None  # nothing new
    assert len([record for record in caplog.records if record.levelno == logging.WARNING]) == 2
