#!/usr/bin/env python
"""``make bench``: what tearing down N conferences costs, against the Vobiz emulator (bench/README.md).

One run, one machine state. Every play is an ``ansible-playbook`` run against an emulator reset to exactly the play's
rooms, and is checked (rooms gone, one DELETE answered 204 each, the task reported them) before it counts as a timing.
Timed plays run ``--reps`` times round robin and give medians. Prints every figure, then each goal beside its figure,
and writes ``bench/results.json``; exit 0 when every goal is met, 1 when one is missed, 2 when a run went wrong, 130 on
Ctrl+C.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import concurrent.futures
import dataclasses
import datetime
import hashlib
import hmac
import io
import json
import math
import operator
import os
import pathlib
import platform
import random
import re
import runpy
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import aiohttp
from ansible.release import __version__ as ANSIBLE_CORE

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
import ansible_runs  # noqa: E402  pylint: disable=wrong-import-position,import-error
from vobiz_emulator.launch import start_emulator_process  # noqa: E402  pylint: disable=wrong-import-position,import-error

RESULTS_FILE, BIN = ROOT / 'bench' / 'results.json', pathlib.Path(sys.executable).parent
AUTH_ID, TOKEN = 'MA_BENCH', secrets.token_hex(16)
URI_N, SMALL_N, OUR_NS, COUNT_N, CPU_N, RATE_LIMIT_N, CEILING_N = 30, 30, (300, 1000), 300, 1000, 1000, 3000
LATENCIES_MS, PARALLELS, DEFAULT_PARALLEL = (20, 50), (8, 16, 32, 64), 16
PLIVO = (300, 5.0)  # the emulator's --rate-limit plivo: 300 requests per 5 s; the module runs with its defaults
ACCOUNT_RUNS, ACCOUNT_ROOMS = ((1, 1), (20, 1), (20, 5), (20, 20)), 100  # (accounts, forks); ci-* rooms per account
BASELINE_REFS = ('0.1.0', 'ffbb1db')  # the release tag when there is one, else the commit before issue 17's work
EVENT_SOURCE = ROOT / 'extensions' / 'eda' / 'plugins' / 'event_source' / 'conference_callbacks.py'
EVENT_ROOMS, EVENT_CALLBACKS, EVENT_CONCURRENCY = 10000, 6000, 16  # live rooms, timed callbacks, at a time
PUBLIC_URL = 'https://eda.example.test/vobiz/conference'  # what the callbacks' signatures cover
PING = {'name': 'one module start', 'ansible.builtin.ping': {}}
OPERATORS = {'>=': operator.ge, '<=': operator.le, '<': operator.lt, '==': operator.eq}

# The module interpreter of the CPU runs: runs the real one as its child and appends the child's own CPU accounting,
# so that neither ansible-playbook nor this wrapper is counted.
RUSAGE_WRAPPER = """#!{python}
import json, os, sys
pid = os.fork()
if pid == 0:
    os.execv({python!r}, [{python!r}] + sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
with open(os.environ['BENCH_RUSAGE_FILE'], 'a') as handle:
    handle.write(json.dumps(usage.ru_utime + usage.ru_stime) + '\\n')
sys.exit(os.waitstatus_to_exitcode(status))
"""


class BenchError(Exception):
    """A run that went wrong (not a missed goal): the bench stops and exits 2."""


def rooms(n: int, tag: str) -> list:
    return [f'bench-{tag}-{i:04d}' for i in range(n)]


def ours_tasks(parallel: int | None = None) -> list:
    options = {'name': '{{ rooms }}', **({'parallel': parallel} if parallel else {})}
    return [{'name': 'Hang up the conferences (one task)', 'vobiz.voice.vobiz_conference': options}]


def uri_tasks() -> list:
    env = "{{ lookup('env', '%s') }}"
    uri = {
        'url': env % 'VOBIZ_API_URL' + '/Account/' + env % 'VOBIZ_AUTH_ID' + '/Conference/{{ item | urlencode }}/',
        'method': 'DELETE',
        'headers': {'X-Auth-ID': env % 'VOBIZ_AUTH_ID', 'X-Auth-Token': env % 'VOBIZ_AUTH_TOKEN'},
        'status_code': [204, 404],
    }
    return [{'name': 'Hang up each (uri loop)', 'ansible.builtin.uri': uri, 'loop': '{{ rooms }}'}]


def raw_hang_up(port: int, names: list) -> list:
    """Hang up ``names`` over one keep-alive connection, the request written and the answer read by hand.

    About 0.06 ms of CPU per request (http.client: 0.15 ms, requests: 0.7-1 ms), so that what the ceiling measures is
    the emulator (about 0.35 ms per request), not the client.
    """
    statuses, path = [], f'/api/v1/Account/{AUTH_ID}/Conference/%s/'
    with socket.create_connection(('127.0.0.1', port)) as conn, conn.makefile('rb') as reader:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for name in names:
            head = f'DELETE {path % name} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Auth-ID: {AUTH_ID}\r\nX-Auth-Token: {TOKEN}'
            conn.sendall((head + '\r\nContent-Length: 0\r\n\r\n').encode())
            statuses.append(int(reader.readline().split()[1]))
            length = 0
            while (line := reader.readline()) not in (b'\r\n', b''):
                key, _sep, value = line.partition(b':')
                length = int(value) if key.strip().lower() == b'content-length' else length
            reader.read(length)
    return statuses


def signed(token: str) -> dict:
    """The signature headers Vobiz sends with a callback to PUBLIC_URL."""
    nonce = secrets.token_hex(10)
    digest = hmac.new(token.encode(), f'{PUBLIC_URL}.{nonce}'.encode(), hashlib.sha256).digest()
    return {'X-Vobiz-Signature-V3': base64.b64encode(digest).decode(), 'X-Vobiz-Signature-V3-Nonce': nonce}


async def event_source_run(keep_state: bool, workdir: pathlib.Path) -> dict:
    """The event source listening in this process (as ansible-rulebook runs it), and a client in this process sending
    it signed callbacks over keep-alive connections, EVENT_CONCURRENCY at a time: one ``enter`` for each of EVENT_ROOMS
    rooms (not timed), then EVENT_CALLBACKS members entering and leaving random live rooms, timed."""
    source, token = runpy.run_path(str(EVENT_SOURCE)), secrets.token_hex(8)  # loaded as ansible-rulebook loads it
    args = {'port': 0, 'public_url': PUBLIC_URL, 'auth_token': token, 'max_duration': 14400, 'check_interval': 5}
    args.update({'state_file': str(workdir / 'rooms.json')} if keep_state else {'keep_state': False})
    service = source['units'].CallbackService(source['units'].parse_args(args))
    server, runner, _guard = await source['start_listener'](service)
    url, events, times = f'http://127.0.0.1:{server.sockets[0].getsockname()[1]}/vobiz/conference', asyncio.Queue(), []

    async def drain() -> None:  # what ansible-rulebook does with the events
        while True:
            await events.get()

    tasks = [asyncio.ensure_future(service.run(events)), asyncio.ensure_future(drain())]

    async def send(session: aiohttp.ClientSession, jobs: list, timed: bool) -> None:
        for fields in jobs:
            started = time.perf_counter()
            async with session.post(url, data=fields, headers=signed(token)) as response:
                if response.status != 204:
                    raise BenchError(f'the event source answered {response.status}: {await response.text()}')
            times.extend([time.perf_counter() - started] if timed else [])

    def callback(action: str, room: int, member: int, **more) -> dict:
        return dict(ConferenceAction=action, ConferenceName=f'room-{room:05d}', ConferenceMemberID=f'm{member}', **more)

    rng, width = random.Random(22), EVENT_CONCURRENCY
    rooms_live = [callback('enter', n, 0, ConferenceFirstMember='true') for n in range(EVENT_ROOMS)]
    members = [
        callback(rng.choice(('enter', 'exit')), rng.randrange(EVENT_ROOMS), n) for n in range(1, EVENT_CALLBACKS + 1)
    ]
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=width)) as session:
            for jobs, timed in ((rooms_live, False), (members, True)):
                started = time.perf_counter()
                await asyncio.gather(*(send(session, jobs[i::width], timed) for i in range(width)))
                elapsed = time.perf_counter() - started
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        server.close()
        await runner.cleanup()
        await service.close()
    times.sort()
    live, writes = len(service.registry.rooms), service.state.writes if service.state is not None else 0
    p50, p99 = times[len(times) // 2] * 1000, times[int(len(times) * 0.99) - 1] * 1000
    return dict(per_s=len(times) / elapsed, p50_ms=p50, p99_ms=p99, live_rooms=live, state_writes=writes)


class Emulator:
    """The emulator in its own process, through tests/emulator's launcher (it stops with the bench, however it ends)."""

    def __init__(self, workdir: pathlib.Path, latency_ms: int, rate_limit: str | None = None):
        self.switches = {'latency_ms': latency_ms, 'rate_limit': rate_limit}
        self.process = start_emulator_process(['--auth-id', AUTH_ID, '--auth-token', TOKEN], workdir=workdir)
        self.api_url, self.control, self.stop = self.process.api_url, self.process.control, self.process.stop

    def prepare(self, names: list) -> None:
        """Exactly ``names`` live, empty log, full bucket; reset drops the switches, so they are set again."""
        self.control('POST', '/reset', {'conferences': names, 'members': 1, 'auth_id': AUTH_ID})
        if self.control('POST', '/config', self.switches)['latency_ms'] != self.switches['latency_ms']:
            raise BenchError(f'the emulator did not take {self.switches}')

    def log(self) -> tuple:
        """The request log, and when each request started (sorted)."""
        log = self.control('GET', '/log')['requests']
        return log, sorted(datetime.datetime.fromisoformat(entry['time']).timestamp() for entry in log)


@dataclasses.dataclass
class Play:
    """A one-play playbook, and how each run of it is checked."""

    path: pathlib.Path
    emu: Emulator
    live: list  # made live (and nothing else) before each run
    hangs_up: bool = True  # every live room gone, one DELETE each (204) and nothing else, the task reported them
    strict: bool = True  # a failed play stops the bench; else (the rate-limited run) its failure is a figure
    check: bool = False  # ansible-playbook --check
    cpu: bool = False  # the module runs under RUSAGE_WRAPPER: its CPU time is a figure
    env: dict = dataclasses.field(default_factory=dict)


class Bench:
    """Scratch directory, emulators (one per latency and rate limit), plays and figures; the phases are its methods."""

    def __init__(self, workdir: pathlib.Path, reps: int):
        self.workdir, self.reps, self.emulators, self.data = workdir, reps, {}, {}
        (workdir / 'collections' / 'ansible_collections' / 'vobiz').mkdir(parents=True)
        (workdir / 'collections' / 'ansible_collections' / 'vobiz' / 'voice').symlink_to(ROOT)
        self.env = {key: value for key, value in os.environ.items() if not key.startswith(('ANSIBLE_', 'VOBIZ_'))}
        self.env.update(
            ANSIBLE_COLLECTIONS_PATH=str(workdir / 'collections'),
            ANSIBLE_PYTHON_INTERPRETER=str(BIN / 'python'),
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_STDOUT_CALLBACK='minimal',  # "localhost | CHANGED => {result}": the bench checks what it reported
            ANSIBLE_NOCOLOR='true',
            ANSIBLE_RETRY_FILES_ENABLED='false',
            ANSIBLE_HOME=str(workdir / 'ansible_home'),
            PATH=str(BIN) + os.pathsep + os.environ.get('PATH', ''),
            VOBIZ_AUTH_ID=AUTH_ID,
            VOBIZ_AUTH_TOKEN=TOKEN,
        )

    def emulator(self, latency_ms: int, rate_limit: str | None = None) -> Emulator:
        if (latency_ms, rate_limit) not in self.emulators:
            self.emulators[(latency_ms, rate_limit)] = Emulator(self.workdir, latency_ms, rate_limit)
        return self.emulators[(latency_ms, rate_limit)]

    def play(self, name, tasks, emu, live=(), directory=None, play_vars=None, **options) -> Play:
        """Write a playbook (JSON is YAML) of one play on implicit localhost, the room names in its vars."""
        play = {'name': name, 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}
        play['vars'] = {'rooms': list(live), **(play_vars or {})}
        path = (directory or self.workdir) / f'{name}.yml'
        path.write_text(json.dumps([play]) + '\n', encoding='utf-8')
        return Play(path, emu, list(live), **options)

    def run(self, play: Play) -> dict:
        """One ansible-playbook run of ``play``, checked: its wall time and what the task and the emulator's log say."""
        usage_file = self.workdir / 'rusage.jsonl'
        usage_file.unlink(missing_ok=True)
        env = dict(self.env, BENCH_RUSAGE_FILE=str(usage_file), VOBIZ_API_URL=play.emu.api_url, **play.env)
        play.emu.prepare(play.live)
        cmd = [str(BIN / 'ansible-playbook'), str(play.path), *(['--check'] if play.check else [])]
        clock = time.perf_counter()
        proc = subprocess.run(cmd, cwd=self.workdir, env=env, capture_output=True, text=True, check=False)
        wall, (log, starts) = time.perf_counter() - clock, play.emu.log()
        task = json.JSONDecoder().raw_decode(proc.stdout.partition(' => ')[2] or '{}')[0]
        gets = collections.Counter(entry['conference'] for entry in log if entry['method'] == 'GET')
        limited = collections.Counter(entry['conference'] for entry in log if entry['status'] == 429)
        deletes = [entry['status'] for entry in log if entry['method'] == 'DELETE']
        http = starts[-1] - starts[0] + play.emu.switches['latency_ms'] / 1000 if starts else 0  # first to last + RTT
        live = set(play.emu.control('GET', '/state')['accounts'][AUTH_ID]['conferences'])
        cpu = usage_file.read_text(encoding='utf-8').split() if play.cpu and usage_file.exists() else []
        run = dict(wall_s=wall, rc=proc.returncode, changed=task.get('changed'), requests=len(log), http_phase_s=http)
        run.update(server_rate=len(log) / http if http else 0, rooms_left=len(live & set(play.live)))
        run.update(deleted=deletes.count(204), statuses=sorted(set(deletes)), writes=len(log) - gets.total())
        run.update(max_gets_per_name=max(gets.values(), default=0), rate_limited=limited.total())
        run.update(max_429_per_name=max(limited.values(), default=0), cpu_s=float(cpu[0]) if cpu else None)
        if play.cpu and len(cpu) != 1:
            raise BenchError(f'{play.path.stem}: {len(cpu)} module processes accounted, expected 1')
        if play.strict and proc.returncode:
            raise BenchError(f'{play.path.stem}: ansible-playbook exited {proc.returncode}\n{proc.stdout[-2000:]}')
        reported = len(task.get('hung_up', task.get('results', ())))  # results: the uri loop's items
        if play.hangs_up and (run['rooms_left'] or reported != len(play.live) or deletes != [204] * len(play.live)):
            raise BenchError(f'{play.path.stem}: {reported} reported hung up, DELETEs answered {deletes[:20]}')
        return run

    def timed(self, plays: dict, reps: int | None = None) -> dict:
        """Each play ``reps`` times round robin (a burst of other work spreads over all): medians and the median run."""
        runs = {key: [] for key in plays}
        for _rep in range(reps or self.reps):
            for key, play in plays.items():
                runs[key].append(self.run(play))
        figures = {}
        for key, samples in runs.items():
            walls, cpus = [run['wall_s'] for run in samples], [run['cpu_s'] for run in samples]
            run = figures[key] = dict(sorted(samples, key=lambda run: run['wall_s'])[len(samples) // 2], walls=walls)
            run.update(n=len(plays[key].live), wall_s=statistics.median(walls))
            run['server_rate'] = max(sample['server_rate'] for sample in samples)  # the busiest, for the headroom
            text = f"  {key:<18} {run['wall_s']:6.2f} s (" + ' '.join(f'{wall:.2f}' for wall in walls) + ')'
            if run['requests']:
                text += f", {run['requests']} requests, HTTP {run['http_phase_s']:.2f} s, {run['server_rate']:.0f}/s"
            if plays[key].cpu:
                run.update(cpus=cpus, cpu_s=statistics.median(cpus))
                text += f", module CPU {run['cpu_s']:.3f} s (" + ' '.join(f'{cpu:.3f}' for cpu in cpus) + ')'
            print(text)
        return figures

    # -- the phases, in PHASES order; each returns its figures (results.json keeps them under its name)

    def ceiling(self) -> dict:
        """Requests/s the emulator serves at each latency, with far more requests in flight than it can serve."""
        figures = {}
        for latency, threads in zip(LATENCIES_MS, (128, 256)):
            emu, names = self.emulator(latency), rooms(CEILING_N, 'ceil')
            emu.prepare(names)
            with concurrent.futures.ThreadPoolExecutor(threads) as pool:
                parts = pool.map(raw_hang_up, [emu.process.port] * threads, [names[i::threads] for i in range(threads)])
                statuses = [status for part in parts for status in part]
            starts = emu.log()[1]
            if statuses != [204] * CEILING_N or len(starts) != CEILING_N:
                raise BenchError(f'ceiling at {latency} ms: {len(starts)} requests logged, answers {set(statuses)}')
            figures[latency] = CEILING_N / (starts[-1] - starts[0] + latency / 1000)
            print(f'  {latency} ms: {figures[latency]:.0f} requests/s ({threads} raw keep-alive clients)')
        return figures

    def floor(self) -> dict:
        emu, debug = self.emulator(20), {'name': 'floor', 'ansible.builtin.debug': {'msg': 'floor'}}
        return self.timed(
            {key: self.play(key, tasks, emu) for key, tasks in (('empty', []), ('debug', [debug]), ('ping', [PING]))}
        )

    def uri(self) -> dict:
        return self.timed({'uri': self.play('uri', uri_tasks(), self.emulator(20), rooms(URI_N, 'uri'))}, reps=1)['uri']

    def ours(self, latency: int, configs: list) -> dict:
        """One task with N names for each (N, parallel) at ``latency``: figures keyed ``N_parallel``."""
        emu = self.emulator(latency)
        plays = {
            f'{n}_{p}': self.play(f'ours_{latency}_{n}_{p}', ours_tasks(p), emu, rooms(n, 'ours')) for n, p in configs
        }
        figures = self.timed(plays)
        for (n, parallel), run in zip(configs, figures.values()):
            run.update(parallel=parallel, http_phase_ideal_s=math.ceil(n / parallel) * latency / 1000)
        return figures

    def counts(self) -> dict:
        """Requests per conference, N=COUNT_N: check mode (rooms live), normal mode, rerun (rooms already gone)."""
        emu, names, plays = self.emulator(20), rooms(COUNT_N, 'count'), {}
        plays['check'] = self.play('check', ours_tasks(), emu, names, check=True, hangs_up=False)
        plays['normal'] = self.play('normal', ours_tasks(), emu, names)
        plays['rerun'] = self.play('rerun', ours_tasks(), emu, (), play_vars={'rooms': names}, hangs_up=False)
        return self.timed(plays, reps=1)

    def cpu(self) -> dict:
        """CPU (user + system) of the module process: ping, ours with 1 and CPU_N rooms, this tree and the baseline."""
        emu, wrapper = self.emulator(20), self.workdir / 'rusage_python'
        wrapper.write_text(RUSAGE_WRAPPER.format(python=str(BIN / 'python')), encoding='utf-8')
        wrapper.chmod(0o755)
        ref, commit, baseline = self.baseline()
        interpreter = {'ansible_python_interpreter': str(wrapper)}  # a play variable overrides implicit localhost's
        plays = {'cpu_ping': self.play('cpu_ping', [PING], emu, (), None, interpreter, cpu=True)}
        # ansible-playbook looks for collections next to the playbook first: the baseline's plays live elsewhere.
        for where, tree in (('current', None), ('baseline', baseline.parent)):
            env = {'ANSIBLE_COLLECTIONS_PATH': str(baseline)} if tree else {}
            for n in (1, CPU_N):
                play = self.play(f'cpu_{n}', ours_tasks(), emu, rooms(n, 'cpu'), tree, interpreter, cpu=True, env=env)
                plays[f'cpu_{where}_{n}'] = play
        return dict(self.timed(plays), baseline_ref=ref, baseline_commit=commit)  # interleaved: one machine state

    def baseline(self) -> tuple:
        """(ref, commit, a collections dir holding the baseline's tree as ansible_collections/vobiz/voice)."""
        for ref in BASELINE_REFS:
            git = ['git', '-C', str(ROOT), 'rev-parse', '--verify', '--quiet', ref + '^{commit}']
            probe = subprocess.run(git, capture_output=True, text=True, check=False)
            if probe.returncode == 0:
                break
        else:
            raise BenchError('no baseline for the CPU goal: none of %s is a commit here' % ', '.join(BASELINE_REFS))
        commit, target = probe.stdout.strip(), self.workdir / 'baseline' / 'collections'
        archive = subprocess.run(['git', '-C', str(ROOT), 'archive', commit], capture_output=True, check=True).stdout
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(target / 'ansible_collections' / 'vobiz' / 'voice', filter='data')
        return ref, commit[:12], target

    def ratelimit(self) -> dict:
        """N=RATE_LIMIT_N under the plivo limit with the module's defaults, as a user who copied the README runs it."""
        names = rooms(RATE_LIMIT_N, 'rl')
        play = self.play('rate_limited', ours_tasks(), self.emulator(20, 'plivo'), names, hangs_up=False, strict=False)
        return self.timed({'rate_limited': play}, reps=1)['rate_limited']  # a failure is a figure: a goal says none

    def accounts(self) -> dict:
        """ci_teardown over one inventory host per account (the fleet of tests/emulator/ansible_runs.py), by forks."""
        walls = {}
        for accounts, forks in ACCOUNT_RUNS:
            rundir = self.workdir / f'accounts-{accounts}-forks-{forks}'
            rundir.mkdir()
            fleet = ansible_runs.build_fleet(accounts, ACCOUNT_ROOMS, bad=0)
            (rundir / 'emulator.json').write_text(json.dumps(fleet.emulator_config()), encoding='utf-8')
            args = ['--config', rundir / 'emulator.json', '--latency-ms', 20]
            with start_emulator_process(args, workdir=rundir) as emu:
                paths, clock = fleet.write(rundir, emu.api_url, secrets.token_hex(8)), time.perf_counter()
                result = ansible_runs.run_ci_teardown(rundir, paths, forks=forks)
                wall, live = time.perf_counter() - clock, emu.control('GET', '/state')['accounts'].values()
            left = sum(name.startswith('ci-') for account in live for name in account['conferences'])
            if result.returncode or left:
                raise BenchError(
                    f'ci_teardown, {accounts} accounts, forks {forks}: rc {result.returncode}, {left} left'
                )
            walls[f'{accounts}_{forks}'] = wall
            print(f'  {accounts:2d} account(s) x {ACCOUNT_ROOMS} rooms, forks {forks:2d}: {wall:6.2f} s')
        return walls

    def events(self) -> dict:
        """The event source at EVENT_ROOMS live rooms, without and with its state file, each in turn: the medians."""
        runs = {'without_state': [], 'with_state': []}
        for _rep in range(self.reps):
            for key, reps in runs.items():
                reps.append(asyncio.run(event_source_run(key == 'with_state', self.workdir)))
        figures = {
            key: {name: statistics.median(run[name] for run in reps) for name in reps[0]} for key, reps in runs.items()
        }
        for key, m in figures.items():
            text = f"{m['per_s']:.0f} callbacks/s, p50 {m['p50_ms']:.2f} ms, p99 {m['p99_ms']:.2f} ms"
            print(f"  {key}: {text}, {m['live_rooms']:.0f} live rooms, {m['state_writes']:.0f} state file writes")
        return dict(figures, runs=runs)


PHASES = {  # in this order
    'ceiling': Bench.ceiling,
    'floor': Bench.floor,
    'uri': Bench.uri,
    'ours20': lambda bench: bench.ours(20, [(SMALL_N, DEFAULT_PARALLEL)] + [(n, p) for n in OUR_NS for p in PARALLELS]),
    'counts': Bench.counts,
    'cpu': Bench.cpu,
    'ours50': lambda bench: bench.ours(50, [(n, p) for n in OUR_NS for p in PARALLELS]),
    'ratelimit': Bench.ratelimit,
    'accounts': Bench.accounts,
    'events': Bench.events,
}


def figures(data: dict, load: int) -> list:
    """The figures of a full run, (name, figure, goal): ``goal`` is '' for information. bench/README.md says why."""
    rows, floor, counts, rl = [], data['floor']['debug']['wall_s'], data['counts'], data['ratelimit']

    def add(name: str, figure: float, goal: str = '') -> None:
        rows.append((name, figure, goal))

    start, uri = max(data['floor']['ping']['wall_s'] - floor, 0), (data['uri']['wall_s'] - floor) / URI_N
    add('one module start: ping play - debug play (s)', start)
    add('uri loop: per conference (ms)', uri * 1000)
    for n in (SMALL_N, *OUR_NS):
        ours = (data['ours20'][f'{n}_{DEFAULT_PARALLEL}']['wall_s'] - floor) / n
        add(f'uri loop / ours per conference, N={n}, 20 ms', uri / ours, '>= 100x' if n >= 300 else '')
    # wall / limit (debug play + ceil(N / parallel) x RTT); under --load one module start counts in the limit (issue 17)
    for parallel, with_start in ((parallel, with_start) for parallel in PARALLELS for with_start in (False, True)):
        run, gated = data['ours50'][f'1000_{parallel}'], parallel == DEFAULT_PARALLEL and with_start == bool(load)
        name = f"wall / {'(limit + one start)' if with_start else 'limit'}, N=1000, 50 ms, parallel {parallel}"
        limit = floor + run['http_phase_ideal_s'] + (start if with_start else 0)
        add(name, run['wall_s'] / limit, '<= 1.3x' if gated else '')
    add(f'normal mode: requests per conference, N={COUNT_N}', counts['normal']['requests'] / COUNT_N, '== 1')
    add('check mode: GETs for one name, at most', counts['check']['max_gets_per_name'], '<= 1')
    add('check mode: writes', counts['check']['writes'], '== 0')
    add('check mode: rooms still live', counts['check']['rooms_left'], f'== {COUNT_N}')
    add('rerun (rooms gone): requests per conference', counts['rerun']['requests'] / COUNT_N)
    add('rerun (rooms gone): changed', int(bool(counts['rerun']['changed'])))
    minimum = floor + (RATE_LIMIT_N - PLIVO[0]) / (PLIVO[0] / PLIVO[1])  # what the rate limit allows at best
    hung_up = min(rl['deleted'], RATE_LIMIT_N - rl['rooms_left'])  # DELETEs answered 204 and rooms gone
    add('rate-limited: rooms hung up', 100 * hung_up / RATE_LIMIT_N, '== 100 %')
    add(f'rate-limited: wall / minimum ({minimum:.2f} s)', rl['wall_s'] / minimum, '<= 1.1x')
    add('rate-limited: ansible-playbook exit status', rl['rc'], '== 0')
    add('rate-limited: requests answered 429', 100 * rl['rate_limited'] / max(rl['requests'], 1), '<= 2 %')
    add('rate-limited: 429 answers for one room, at most', rl['max_429_per_name'])
    cpu = {tree: data['cpu'][f'cpu_{tree}_{CPU_N}']['cpu_s'] / CPU_N * 1000 for tree in ('current', 'baseline')}
    add('module CPU of one start: ansible.builtin.ping (s)', data['cpu']['cpu_ping']['cpu_s'])
    add('module CPU of one start: ours with 1 room, this tree (s)', data['cpu']['cpu_current_1']['cpu_s'])
    add(f'module CPU per conference, N={CPU_N}, this tree (ms)', cpu['current'])
    add(f"module CPU per conference, N={CPU_N}, baseline {data['cpu']['baseline_ref']} (ms)", cpu['baseline'])
    add(f'module CPU per conference, N={CPU_N}, this tree / baseline', cpu['current'] / cpu['baseline'], '<= 0.5x')
    for ms in LATENCIES_MS:
        busiest = max(run['server_rate'] for run in data[f'ours{ms}'].values() if run['n'] >= 300)
        add(f'emulator headroom at {ms} ms: busiest contender / ceiling', 100 * busiest / data['ceiling'][ms], '< 80 %')
    for forks in (1, 5, 20):
        add(
            f'ci_teardown, 20 accounts / 1 account, forks {forks}',
            data['accounts'][f'20_{forks}'] / data['accounts']['1_1'],
        )
    state, stateless = data['events']['with_state'], data['events']['without_state']
    add('event source with / without state file: throughput', state['per_s'] / stateless['per_s'], '>= 0.8x')
    add('event source with / without state file: p99 answer time', state['p99_ms'] / stateless['p99_ms'], '<= 2x')
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--reps', type=int, default=3, help='repetitions of each timed play (median; default 3)')
    parser.add_argument('--keep', action='store_true', help='keep the scratch directory (playbooks, emulator output)')
    parser.add_argument('--load', type=int, default=0, metavar='N', help='N busy CPU workers during the phases')
    parser.add_argument('--only', default=','.join(PHASES), metavar='PHASE[,...]', help='these phases only (no goals)')
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # each line as it comes, also into a pipe or a file
    only = [name.strip() for name in args.only.split(',') if name.strip()]
    if set(only) - set(PHASES) or args.load < 0:
        parser.error(f"--load must be 0 or more, --only of {', '.join(PHASES)}")
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))  # unwinds like Ctrl+C
    cpuinfo = pathlib.Path('/proc/cpuinfo').read_text(encoding='utf-8').splitlines()
    cpu = next((line.split(':', 1)[1].strip() for line in cpuinfo if line.startswith('model name')), '?')
    info = dict(nproc=os.cpu_count(), cpu=cpu, python=platform.python_version(), ansible_core=ANSIBLE_CORE)
    load, cpus, started = [os.getloadavg()[0]], os.cpu_count() or 1, time.perf_counter()
    print(f'vobiz.voice bench: {info}')
    workdir, busy = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-bench-')), []
    bench = Bench(workdir, args.reps)
    try:
        busy = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _worker in range(args.load)]
        for name in (name for name in PHASES if name in only):
            print(f'Phase {name}')
            bench.data[name] = PHASES[name](bench)
    except (BenchError, OSError) as exc:  # OSError: an emulator did not start or its control endpoint refused
        print(f'\nBENCH FAILED: {exc}')
        return 2
    except KeyboardInterrupt:
        print('\ninterrupted')
        return 130
    finally:
        for worker in busy:
            worker.kill()
            worker.wait()
        for emulator in bench.emulators.values():  # SIGTERM, then SIGKILL
            emulator.stop()
        print(f'scratch directory kept: {workdir}') if args.keep else shutil.rmtree(workdir, ignore_errors=True)
    load.append(os.getloadavg()[0])
    print(
        f'\nBench time {time.perf_counter() - started:.0f} s; load average {load[0]:.1f} before, {load[1]:.1f} after.'
    )
    if max(load) > 0.75 * cpus:
        print(f'WARNING: load average above {0.75 * cpus:g} on {cpus} CPUs: other work inflated the wall times.')
    if set(only) != set(PHASES):
        return 0  # some phases only: their figures are above
    rows = []
    print(f"\n  {'Figure (each goal beside its figure; bench/README.md)':<68} {'value':>9}  goal")
    for name, figure, goal in figures(bench.data, args.load):
        op, target, _unit = re.fullmatch(r'([<>=]=?) ([\d.]+)(x| %|)', goal).groups() if goal else (None, 0, '')
        passed = OPERATORS[op](round(figure, 6), float(target)) if op else None
        rows.append(dict(name=name, figure=figure, goal=goal, passed=passed))
        print(f"  {name:<68} {figure:9.4g}  {goal:<9} {({True: 'PASS', False: 'MISS'}).get(passed, '')}".rstrip())
    goals = [row['passed'] for row in rows if row['passed'] is not None]
    print(f'{sum(goals)} of {len(goals)} goals met. Wrote bench/{RESULTS_FILE.name}.')
    data = dict(bench.data, machine=info, load_workers=args.load, load_average=load, figures=rows, date=time.ctime())
    RESULTS_FILE.write_text(json.dumps(data, indent=1) + '\n', encoding='utf-8')
    return 0 if all(goals) else 1


if __name__ == '__main__':
    sys.exit(main())
