"""``make bench`` phase ``events``: what the state file costs the event source ``conference_callbacks``.

The source listens in this process (``start_listener``, as ansible-rulebook runs it) and a client in the same
process sends it signed callbacks, ``CONCURRENCY`` at a time, over keep-alive connections. First ``ROOMS`` rooms
are made live (one ``enter`` each, not timed); then ``CALLBACKS`` more callbacks (members entering and leaving
random live rooms) are timed: the throughput, and the answer time of each request (its p50 and p99). The same run
with the state file kept and without one, ``REPS`` times each in turn, gives the ratios of the medians. Goals
(issue 22): with the state file, at least 0.8x the throughput and a p99 within 2x of the run without it.

    .venv/bin/python bench/bench.py --only events
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import pathlib
import random
import runpy
import secrets
import statistics
import tempfile
import time

import aiohttp

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / 'extensions' / 'eda' / 'plugins' / 'event_source' / 'conference_callbacks.py'
PUBLIC_URL = 'https://eda.example.test/vobiz/conference'
ROOMS = 10000
CALLBACKS = 6000
CONCURRENCY = 16
REPS = 3  # each configuration, round robin (a burst of other work spreads over both); the medians are reported
THROUGHPUT_GOAL, P99_GOAL = 0.8, 2.0


def _signed(token: str) -> dict:
    nonce = secrets.token_hex(10)
    digest = hmac.new(token.encode(), (PUBLIC_URL + '.' + nonce).encode(), hashlib.sha256).digest()
    return {'X-Vobiz-Signature-V3': base64.b64encode(digest).decode(), 'X-Vobiz-Signature-V3-Nonce': nonce}


async def _run(keep_state: bool, workdir: pathlib.Path) -> dict:
    source = runpy.run_path(str(SOURCE))  # as ansible-rulebook loads it
    units, token = source['units'], 'bench-' + secrets.token_hex(8)
    args = {'port': 0, 'public_url': PUBLIC_URL, 'auth_token': token, 'max_duration': 14400, 'check_interval': 5}
    args.update(state_file=str(workdir / 'rooms.json')) if keep_state else args.update(keep_state=False)
    service = units.CallbackService(units.parse_args(args))
    server, runner, guard = await source['start_listener'](service)
    url = 'http://127.0.0.1:%d/vobiz/conference' % server.sockets[0].getsockname()[1]
    drain = asyncio.Queue()
    background = asyncio.ensure_future(service.run(drain))
    drainer = asyncio.ensure_future(_drain(drain))
    rng = random.Random(22)
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:

            async def send(fields, times=None):
                started = time.perf_counter()
                async with session.post(url, data=fields, headers=_signed(token)) as response:
                    await response.read()
                    if response.status != 204:
                        raise RuntimeError('the source answered %d' % response.status)
                if times is not None:
                    times.append(time.perf_counter() - started)

            async def worker(jobs, times=None):
                for fields in jobs:
                    await send(fields, times)

            rooms = [
                {
                    'ConferenceAction': 'enter',
                    'ConferenceName': 'room-%05d' % n,
                    'ConferenceMemberID': 'm0',
                    'ConferenceFirstMember': 'true',
                }
                for n in range(ROOMS)
            ]
            await asyncio.gather(*(worker(rooms[i::CONCURRENCY]) for i in range(CONCURRENCY)))
            jobs = [
                {
                    'ConferenceAction': action,
                    'ConferenceName': 'room-%05d' % rng.randrange(ROOMS),
                    'ConferenceMemberID': 'm%d' % n,
                }
                for n, action in ((n, rng.choice(('enter', 'exit'))) for n in range(1, CALLBACKS + 1))
            ]
            times = []
            started = time.perf_counter()
            await asyncio.gather(*(worker(jobs[i::CONCURRENCY], times) for i in range(CONCURRENCY)))
            elapsed = time.perf_counter() - started
        live = len(service.registry.rooms)
    finally:
        background.cancel()
        drainer.cancel()
        await asyncio.gather(background, drainer, return_exceptions=True)
        server.close()
        await runner.cleanup()
        await service.close()
    times.sort()
    return {
        'state_file': keep_state,
        'live_rooms': live,
        'callbacks': len(times),
        'per_s': len(times) / elapsed,
        'p50_ms': statistics.median(times) * 1000,
        'p99_ms': times[int(len(times) * 0.99) - 1] * 1000,
        'state_writes': service.state.writes if service.state is not None else 0,
    }


async def _drain(queue) -> None:
    while True:
        await queue.get()


def measure(say) -> dict:
    """Both configurations, without and with the state file, ``REPS`` times each in turn; prints and returns the
    medians."""
    say(
        'Phase events: the event source at %d live rooms, %d timed signed callbacks, %d at a time, client in-process'
        % (ROOMS, CALLBACKS, CONCURRENCY)
    )
    runs = {False: [], True: []}
    with tempfile.TemporaryDirectory(prefix='vobiz-bench-events-') as workdir:
        for _rep in range(REPS):
            for keep_state in (False, True):
                runs[keep_state].append(asyncio.run(_run(keep_state, pathlib.Path(workdir))))
    results = {}
    for keep_state, reps in runs.items():
        median = {
            key: statistics.median(run[key] for run in reps)
            for key in ('per_s', 'p50_ms', 'p99_ms', 'state_writes', 'live_rooms')
        }
        results['with_state' if keep_state else 'without_state'] = dict(median, reps=reps)
        say(
            '  %-20s %6.0f callbacks/s  p50 %6.2f ms  p99 %6.2f ms  (medians of %d; %d live rooms, %d state file '
            'writes)'
            % (
                'with state file' if keep_state else 'without state file',
                median['per_s'],
                median['p50_ms'],
                median['p99_ms'],
                REPS,
                median['live_rooms'],
                median['state_writes'],
            )
        )
    return results


def evaluate(results: dict, goal) -> list:
    """Table lines for the bench's summary; ``goal(name, figure, target, passed)`` records each goal."""
    without, with_state = results['without_state'], results['with_state']
    throughput = with_state['per_s'] / without['per_s']
    p99 = with_state['p99_ms'] / without['p99_ms']
    return [
        'Event source at %d live rooms (signed callbacks, client in-process)' % with_state['live_rooms'],
        '  %-44s %8.0f /s  p99 %7.2f ms' % ('without a state file', without['per_s'], without['p99_ms']),
        '  %-44s %8.0f /s  p99 %7.2f ms' % ('with the state file', with_state['per_s'], with_state['p99_ms']),
        '  %-44s %8.2fx  %s'
        % (
            'throughput with / without',
            throughput,
            goal(
                'event source throughput with / without state file',
                round(throughput, 2),
                '>= %.1f' % THROUGHPUT_GOAL,
                throughput >= THROUGHPUT_GOAL,
            ),
        ),
        '  %-44s %8.2fx  %s'
        % (
            'p99 answer time with / without',
            p99,
            goal('event source p99 with / without state file', round(p99, 2), '<= %.1f' % P99_GOAL, p99 <= P99_GOAL),
        ),
        '',
    ]


if __name__ == '__main__':
    figures = measure(print)
    print('\n'.join(evaluate(figures, lambda name, figure, target, passed: 'PASS' if passed else 'MISS')))
