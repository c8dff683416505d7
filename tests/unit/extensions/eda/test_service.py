"""Unit tests of the source without its HTTP side (vobiz_callbacks/service.py): bounded memory under a flood of
signed callbacks, and events that reach the rules engine."""

from __future__ import annotations

import asyncio
import tracemalloc

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import service as service_unit
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import parse_args
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import TOKEN, URL, FakeClock, enter, v3_headers

ENV = {'VOBIZ_AUTH_TOKEN': TOKEN}


def make_service(clock, **args):
    settings = parse_args(dict({'port': 1, 'public_url': URL, 'keep_state': False}, **args), environ=ENV)
    return service_unit.CallbackService(settings, clock=clock, monotonic=clock)


def signed_flood(service, clock, start, count):
    """``count`` signed callbacks, each for a room of its own, 100 a second."""
    for number in range(start, start + count):
        status, version = service.check(v3_headers('flood-%d' % number))
        assert status is None
        service.accept(enter('room-%d' % number, '1', first=True, uuid='U%d' % number), version)
        if number % 100 == 99:
            clock.advance(1)
            service.tick()


def test_a_flood_of_signed_callbacks_for_distinct_rooms_keeps_memory_bounded(monkeypatch):
    monkeypatch.setattr(service_unit, 'MAX_PENDING_CALLBACK_EVENTS', 500)  # nobody drains the events here
    clock = FakeClock()
    service = make_service(clock, max_rooms=1000, replay_window=10)
    tracemalloc.start()
    try:
        signed_flood(service, clock, 0, 5000)
        after_half = tracemalloc.get_traced_memory()[0]
        signed_flood(service, clock, 5000, 5000)
        after_all = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert service.accepted == 10000
    assert len(service.registry.rooms) == 1000 and service.registry.forgotten == 9000
    assert len(service.nonces) <= 1200  # the replay window's worth (10 s at 100 a second), not 10,000
    assert len(service.pending) == 500 and service.dropped.total['callback'] == 9500
    assert after_all - after_half < 512 * 1024, 'the second 5,000 callbacks grew memory by %d bytes' % (after_all - after_half)


def test_overdue_and_lonely_events_are_never_dropped(monkeypatch):
    monkeypatch.setattr(service_unit, 'MAX_PENDING_CALLBACK_EVENTS', 2)
    clock = FakeClock()
    service = make_service(clock, max_duration=60)
    for number in range(5):
        service.check(v3_headers('n-%d' % number))
        service.accept(enter('r-%d' % number, '1', first=True), 'v3')
    clock.advance(61)
    service.tick()
    types = [event['vobiz']['type'] for event in service.pending]
    assert types == ['callback', 'callback'] + ['overdue'] * 5


def test_events_reach_the_queue_in_order():
    clock = FakeClock()
    service = make_service(clock, max_duration=60, check_interval=3600)

    async def scenario():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(service.run(queue))
        service.accept(enter('a', '1', first=True), 'v3')
        service.accept(enter('b', '1', first=True), 'v2')
        received = [await queue.get(), await queue.get()]
        clock.advance(61)
        service.tick()
        received += [await queue.get(), await queue.get()]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return received

    received = asyncio.run(scenario())
    assert [(event['vobiz']['type'], event['vobiz']['conference_name']) for event in received] == [
        ('callback', 'a'),
        ('callback', 'b'),
        ('overdue', 'a'),
        ('overdue', 'b'),
    ]
    assert service.pending_callbacks == 0
