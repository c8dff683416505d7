#!/usr/bin/env python
"""``make bench``: what tearing down N conferences costs, against the Vobiz emulator.

Contenders, all measured in one run so that every figure is a ratio on the same machine state:

* the floor: an empty play and a play with one ``ansible.builtin.debug``;
* what users write today: an ``ansible.builtin.uri`` DELETE loop (N = 30, 20 ms latency);
* ours: one ``vobiz.voice.vobiz_conference`` task with N names, at several ``parallel`` values
  and two latencies;
* the limit: debug-play time + ceil(N / parallel) x RTT;
* requests per conference (normal, check mode, rerun), from the emulator's request log;
* a run under the emulator's ``plivo`` rate limit (300 requests per 5 s);
* the emulator's own throughput ceiling, measured with a plain client, so that the bench can fail
  loudly when the emulator, not the contender, sets the pace;
* load-independent figures: the CPU time (user + system) of the module process, per conference
  (N = 1000) for this tree and for a baseline commit, and for one ``ansible.builtin.ping`` start,
  and the share of requests answered 429 under the rate limit.

``--load N`` starts N busy CPU workers for the timed phases; ``--only`` runs some phases only.

Prints a table with every goal beside its figure, writes ``bench/results.json`` and the plot
``bench/bulk.png``, and exits non-zero when a goal is missed. See bench/README.md.
"""

from __future__ import annotations

import argparse
import datetime
import io
import json
import math
import os
import pathlib
import platform
import secrets
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
import event_phase  # noqa: E402  pylint: disable=wrong-import-position,import-error
from vobiz_emulator.launch import EmulatorStartError, start_emulator_process  # noqa: E402  pylint: disable=wrong-import-position,import-error

RESULTS_FILE = ROOT / 'bench' / 'results.json'
PLOT_FILE = ROOT / 'bench' / 'bulk.png'
AUTH_ID = 'MA_BENCH'
VENV_BIN = pathlib.Path(sys.executable).parent

# What is measured. Every figure that a goal uses comes from this run.
URI_N = 30
OUR_NS = (300, 1000)
SMALL_N = 30  # ours at the uri loop's N (default parallel only), for a same-N comparison
LATENCIES_MS = (20, 50)
PARALLELS = (8, 16, 32, 64)
DEFAULT_PARALLEL = 16  # the module's default
COUNT_N = 300  # the requests-per-conference runs
RATE_LIMIT_N = 1000
RATE_LIMIT_LATENCY_MS = 20
PLIVO = {'requests': 300, 'per_seconds': 5.0}
# Module options of the rate-limited run: the defaults (retries 5, retry_max_wait 60 s, parallel 16),
# which is what a CI user who copied the README example has. Stated in the output.
RATE_LIMIT_OPTIONS: dict = {}

# Goals.
GOAL_PER_CONFERENCE_RATIO = 100.0  # ours at least this many times cheaper per conference than the uri loop (20 ms)
GOAL_LIMIT_RATIO = 1.3  # 1000 conferences at 50 ms: wall time within this factor of the limit
# ... for these parallel values. The others are shown beside them, for information: at parallel 32/64 the
# limit (debug play + 0.8 s at 64) leaves no room for the one module start (~0.3 s) that any module pays.
GOAL_LIMIT_PARALLELS = (DEFAULT_PARALLEL,)
GOAL_RATE_LIMIT_RATIO = 1.10  # rate-limited run: within this factor of the limit's minimum
GOAL_RATE_LIMIT_429_SHARE = 0.02  # rate-limited run: at most this share of all requests answered 429
GOAL_CPU_RATIO = 0.5  # module CPU per conference (N = CPU_N): at most this share of the baseline's
CPU_N = 1000  # the CPU-time runs: N rooms at 20 ms, default parallel
# The baseline of the CPU goal: the release tag when there is one, else the commit before issue 17's work.
BASELINE_REFS = ('0.1.0', 'ffbb1db')
PHASES = ('ceiling', 'floor', 'uri', 'ours20', 'counts', 'cpu', 'ours50', 'ratelimit', 'accounts', 'events')
EMULATOR_HEADROOM = 0.8  # a contender at >= 80 % of the emulator's ceiling means the emulator is the bottleneck

CALLBACK = r'''
# Written by bench/bench.py: records each task result in the JSON file named by BENCH_RESULT_FILE.
import json
import os

from ansible.plugins.callback import CallbackBase

KEEP = ('changed', 'failed', 'msg', 'hung_up', 'already_absent', 'failures', 'uncertain', 'warnings', 'status')


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'aggregate'
    CALLBACK_NAME = 'bench_results'
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.tasks = []

    def _add(self, result, outcome):
        raw = getattr(result, 'result', None)
        if raw is None:
            raw = result._result
        entry = dict((k, raw[k]) for k in KEEP if k in raw)
        entry['outcome'] = outcome
        entry['task'] = result.task_name if hasattr(result, 'task_name') else result._task.get_name()
        if isinstance(raw.get('results'), list):
            entry['items'] = [dict(status=r.get('status'), failed=bool(r.get('failed')), changed=bool(r.get('changed')))
                              for r in raw['results'] if isinstance(r, dict)]
        self.tasks.append(entry)

    def v2_runner_on_ok(self, result):
        self._add(result, 'ok')

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._add(result, 'failed')

    def v2_runner_on_unreachable(self, result):
        self._add(result, 'unreachable')

    def v2_playbook_on_stats(self, stats):
        with open(os.environ['BENCH_RESULT_FILE'], 'w') as handle:
            json.dump(self.tasks, handle)
'''


# The module interpreter for the CPU runs: runs the real interpreter as its child and appends the child's
# own CPU accounting (os.wait4) to BENCH_RUSAGE_FILE. The wrapper's own start is not in the figure.
RUSAGE_WRAPPER = r'''#!{python}
import json, os, sys
REAL = {python!r}
pid = os.fork()
if pid == 0:
    os.execv(REAL, [REAL] + sys.argv[1:])
_pid, status, usage = os.wait4(pid, 0)
with open(os.environ['BENCH_RUSAGE_FILE'], 'a') as handle:
    handle.write(json.dumps(dict(script=os.path.basename(sys.argv[-1]) if len(sys.argv) > 1 else '',
                                 user_s=usage.ru_utime, system_s=usage.ru_stime)) + '\n')
sys.exit(os.waitstatus_to_exitcode(status) if hasattr(os, 'waitstatus_to_exitcode') else status >> 8)
'''

BUSY_WORKER = 'while True:\n    pass\n'


class BenchError(Exception):
    """A run that went wrong (not a missed goal): the bench stops and exits non-zero."""


def say(text: str = '') -> None:
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def parse_time(stamp: str) -> float:
    return datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00')).timestamp()


def room_names(n: int, tag: str) -> list:
    return ['bench-%s-%04d' % (tag, i) for i in range(n)]


# ---------------------------------------------------------------------------------------------
# the emulator


class Emulator:
    """One emulator process (the emulator package's launcher), stopped for sure by stop()."""

    def __init__(self, workdir: pathlib.Path, latency_ms: float, rate_limit: str | None = None):
        self.workdir = workdir
        self.latency_ms = latency_ms
        self.rate_limit = rate_limit
        self.token = secrets.token_hex(16)
        self.proc = None
        self.url = None
        self.session = requests.Session()

    @property
    def api_url(self) -> str:
        return self.url + '/api/v1'

    @property
    def switches(self) -> dict:
        """What the command line set; /_emulator/reset drops switches, so they are applied again after it."""
        return {'latency_ms': self.latency_ms, 'rate_limit': self.rate_limit}

    def start(self) -> Emulator:
        args = ['--auth-id', AUTH_ID, '--auth-token', self.token, '--latency-ms', str(self.latency_ms)]
        if self.rate_limit:
            args += ['--rate-limit', self.rate_limit]
        try:
            self.proc = start_emulator_process(args, workdir=self.workdir)
        except EmulatorStartError as exc:
            raise BenchError(str(exc)) from exc
        self.url = self.proc.url
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()
        self.session.close()

    def control(self, method: str, path: str, body=None):
        response = self.session.request(method, self.url + '/_emulator' + path, json=body, timeout=60)
        if response.status_code >= 300:
            raise BenchError('emulator %s %s: HTTP %s %s' % (method, path, response.status_code, response.text[:200]))
        return response.json() if response.content else None

    def prepare(self, names: list) -> None:
        """Exactly ``names`` live (one caller each), empty log, full rate-limit bucket, the launch switches."""
        self.control('POST', '/reset', {'conferences': names, 'members': 1, 'auth_id': AUTH_ID})
        config = self.control('POST', '/config', self.switches)
        if config['latency_ms'] != self.latency_ms:
            raise BenchError('the emulator did not take latency_ms=%s' % self.latency_ms)
        # the bucket is full again: configure() cleared it after reset did (and the rooms were set without requests)

    def log(self) -> list:
        return self.control('GET', '/log')['requests']

    def live(self) -> set:
        return set(self.control('GET', '/state')['accounts'][AUTH_ID]['conferences'])


def server_rate(log: list, latency_s: float) -> float | None:
    """Requests per second the emulator served: n / (last start - first start + one latency)."""
    starts = sorted(parse_time(entry['time']) for entry in log)
    if len(starts) < 2:
        return None
    return len(starts) / (starts[-1] - starts[0] + latency_s)


# ---------------------------------------------------------------------------------------------
# the emulator's own ceiling, with plain clients

# The frame both plain clients share: argv, the names on stdin, the shared queue of names, "ready" on stdout, the "go"
# line, the count of answers other than 204 on stdout. Each client adds its own worker().
_CLIENT_HEAD = r"""
import sys, threading
port, auth_id, token, conc = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
names = sys.stdin.readline().split()
it = iter(names)
lock = threading.Lock()
bad = []
def next_name():
    with lock:
        return next(it, None)
"""
_CLIENT_TAIL = r"""
threads = [threading.Thread(target=worker) for _ in range(conc)]
sys.stdout.write('ready\n')  # imports done: the clock may start
sys.stdout.flush()
sys.stdin.readline()          # go
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
sys.stdout.write('%d\n' % len(bad))
"""

# Threads, each with one keep-alive connection, writing the request and reading the answer by hand:
# about 0.05 ms of CPU per request, so the emulator (about 0.35 ms per request) is what it measures.
RAW_CLIENT = (
    _CLIENT_HEAD
    + r"""
import socket
def worker():
    conn = socket.create_connection(('127.0.0.1', port))
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    reader = conn.makefile('rb')
    while True:
        name = next_name()
        if name is None:
            conn.close()
            return
        conn.sendall(('DELETE /api/v1/Account/%s/Conference/%s/ HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-Auth-ID: %s\r\n'
                      'X-Auth-Token: %s\r\nContent-Length: 0\r\n\r\n' % (auth_id, name, port, auth_id, token)).encode())
        status = int(reader.readline().split()[1])
        length = 0
        while True:
            line = reader.readline()
            if line in (b'\r\n', b''):
                break
            key, _sep, value = line.partition(b':')
            if key.strip().lower() == b'content-length':
                length = int(value)
        reader.read(length)
        if status != 204:
            bad.append(status)
"""
    + _CLIENT_TAIL
)

# Threads, each with its own requests.Session: what a Python client built on requests can drive.
REQUESTS_CLIENT = (
    _CLIENT_HEAD
    + r"""
import requests
def worker():
    session = requests.Session()
    session.headers.update({'X-Auth-ID': auth_id, 'X-Auth-Token': token})
    while True:
        name = next_name()
        if name is None:
            return
        status = session.delete('http://127.0.0.1:%d/api/v1/Account/%s/Conference/%s/' % (port, auth_id, name)).status_code
        if status != 204:
            bad.append(status)
"""
    + _CLIENT_TAIL
)


def drive(emulator: Emulator, code: str, processes: int, threads: int, n: int) -> dict:
    """Hang up n rooms with a plain client: ``processes`` x ``threads``, all released at once."""
    names = room_names(n, 'ceil')
    emulator.prepare(names)
    port = emulator.url.rsplit(':', 1)[1]
    children = []
    try:
        for index in range(processes):
            child = subprocess.Popen(
                [sys.executable, '-c', code, port, AUTH_ID, emulator.token, str(threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
            )
            children.append(child)
            child.stdin.write(' '.join(names[index::processes]) + '\n')
            child.stdin.flush()
        for child in children:  # imports done before the clock starts, however long they take on a loaded machine
            if child.stdout.readline() != 'ready\n':
                raise BenchError('a plain client did not start: exit %s' % child.wait())
        start = time.perf_counter()
        for child in children:
            child.stdin.write('go\n')
            child.stdin.flush()
        failures = 0
        for child in children:
            out, _err = child.communicate()
            failures += int(out.strip() or n)
        wall = time.perf_counter() - start
    finally:
        for child in children:
            if child.poll() is None:
                child.kill()
                child.wait()
    log = emulator.log()
    if failures or len(log) != n:
        raise BenchError('ceiling run: %d non-204 answers, %d requests logged of %d' % (failures, len(log), n))
    return dict(processes=processes, threads_per_process=threads, requests=n, wall_s=wall, server_rate=server_rate(log, emulator.latency_ms / 1000.0))


def measure_ceiling(emulator: Emulator) -> dict:
    """The emulator's throughput ceiling at its latency.

    ``rate`` (what the headroom check uses) comes from the raw keep-alive client, with enough
    connections to keep far more requests in flight than the emulator can serve. ``requests_rate``
    is the same with requests sessions (2 processes of 64 threads); on a 2-core machine that client
    runs out of CPU first, so it is shown, not used.
    """
    threads = 128 if emulator.latency_ms <= 20 else 256
    raw = drive(emulator, RAW_CLIENT, 1, threads, 3000)
    with_requests = drive(emulator, REQUESTS_CLIENT, 2, 64, 3000)
    return dict(latency_ms=emulator.latency_ms, rate=raw['server_rate'], raw=raw, requests_rate=with_requests['server_rate'], requests=with_requests)


# ---------------------------------------------------------------------------------------------
# playbooks


class Runner:
    """Writes playbooks into a scratch dir and runs ansible-playbook against an emulator."""

    def __init__(self, workdir: pathlib.Path):
        self.workdir = workdir
        collections = workdir / 'collections'
        (collections / 'ansible_collections' / 'vobiz').mkdir(parents=True)
        (collections / 'ansible_collections' / 'vobiz' / 'voice').symlink_to(ROOT)
        callbacks = workdir / 'callback_plugins'
        callbacks.mkdir()
        (callbacks / 'bench_results.py').write_text(CALLBACK, encoding='utf-8')
        self.base_env = dict(os.environ)
        for key in [k for k in self.base_env if k.startswith('ANSIBLE_') or k.startswith('VOBIZ_')]:
            del self.base_env[key]
        self.base_env.update(
            ANSIBLE_COLLECTIONS_PATH=str(collections),
            ANSIBLE_PYTHON_INTERPRETER=str(VENV_BIN / 'python'),
            ANSIBLE_LOCALHOST_WARNING='false',
            ANSIBLE_CALLBACK_PLUGINS=str(callbacks),
            ANSIBLE_CALLBACKS_ENABLED='bench_results',
            ANSIBLE_NOCOLOR='true',
            ANSIBLE_RETRY_FILES_ENABLED='false',
            ANSIBLE_HOME=str(workdir / 'ansible_home'),
            PATH=str(VENV_BIN) + os.pathsep + os.environ.get('PATH', ''),
        )
        self.count = 0

    def write(self, name: str, tasks: list, play_vars: dict | None = None, directory: pathlib.Path | None = None) -> pathlib.Path:
        play = {'name': name, 'hosts': 'localhost', 'connection': 'local', 'gather_facts': False, 'tasks': tasks}
        if play_vars:
            play['vars'] = play_vars
        path = (directory or self.workdir) / ('%s.yml' % name)
        path.write_text(json.dumps([play], indent=1) + '\n', encoding='utf-8')  # JSON is YAML
        return path

    def run(self, playbook: pathlib.Path, emulator: Emulator | None = None, check: bool = False, env_extra: dict | None = None) -> dict:
        self.count += 1
        result_file = self.workdir / ('result-%d.json' % self.count)
        env = dict(self.base_env, BENCH_RESULT_FILE=str(result_file), **(env_extra or {}))
        if emulator is not None:
            env.update(VOBIZ_AUTH_ID=AUTH_ID, VOBIZ_AUTH_TOKEN=emulator.token, VOBIZ_API_URL=emulator.api_url)
        cmd = [str(VENV_BIN / 'ansible-playbook'), str(playbook)] + (['--check'] if check else [])
        start = time.perf_counter()
        proc = subprocess.run(
            cmd, cwd=self.workdir, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, stdin=subprocess.DEVNULL, check=False
        )
        wall = time.perf_counter() - start
        tasks = json.loads(result_file.read_text(encoding='utf-8')) if result_file.exists() else None
        return dict(wall_s=wall, rc=proc.returncode, tasks=tasks, output=proc.stdout)


def uri_tasks() -> list:
    return [
        {
            'name': 'Hang up each conference (uri loop)',
            'ansible.builtin.uri': {
                'url': "{{ lookup('env', 'VOBIZ_API_URL') }}/Account/{{ lookup('env', 'VOBIZ_AUTH_ID') }}/Conference/{{ item | urlencode }}/",
                'method': 'DELETE',
                'headers': {'X-Auth-ID': "{{ lookup('env', 'VOBIZ_AUTH_ID') }}", 'X-Auth-Token': "{{ lookup('env', 'VOBIZ_AUTH_TOKEN') }}"},
                'status_code': [204, 404],
            },
            'loop': '{{ rooms }}',
        }
    ]


def ours_tasks(parallel: int | None, options: dict | None = None) -> list:
    args = {'name': '{{ rooms }}'}
    if parallel is not None:
        args['parallel'] = parallel
    args.update(options or {})
    return [{'name': 'Hang up the conferences (one task)', 'vobiz.voice.vobiz_conference': args}]


# ---------------------------------------------------------------------------------------------
# the bench


class Bench:
    def __init__(self, workdir: pathlib.Path, reps: int, uri_reps: int, load: int = 0, only: tuple = PHASES):
        self.workdir = workdir
        self.reps = reps
        self.uri_reps = uri_reps
        self.load = load
        self.only = only
        self.runner = Runner(workdir)
        self.emulators = []
        self.busy = []
        self.data = {'runs': {}, 'ceiling': {}, 'load_workers': load}
        self.errors = []

    # -- helpers

    def emulator(self, latency_ms: float, rate_limit: str | None = None) -> Emulator:
        emu = Emulator(self.workdir, latency_ms, rate_limit)
        self.emulators.append(emu)
        return emu.start()

    def stop_all(self) -> None:
        self.stop_load()
        for emu in self.emulators:
            emu.stop()

    def start_load(self) -> None:
        """``--load N``: N busy CPU workers of our own, so that the figures show a busy controller."""
        for _index in range(self.load):
            self.busy.append(
                subprocess.Popen([sys.executable, '-c', BUSY_WORKER], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            )

    def stop_load(self) -> None:
        for worker in self.busy:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
        self.busy = []

    def task(self, run: dict, what: str) -> dict:
        tasks = run['tasks'] or []
        if run['rc'] != 0 or len(tasks) != 1 or tasks[0]['outcome'] != 'ok':
            tail = '\n'.join(run['output'].splitlines()[-15:])
            raise BenchError('%s: ansible-playbook exited %s\n%s' % (what, run['rc'], tail))
        return tasks[0]

    # -- phases

    def floor(self, emu: Emulator) -> None:
        empty = self.runner.write('empty', [])
        debug = self.runner.write('debug', [{'name': 'floor', 'ansible.builtin.debug': {'msg': 'floor'}}])
        ping = self.runner.write('ping', [{'name': 'one module start', 'ansible.builtin.ping': {}}])
        walls = {'empty': [], 'debug': [], 'ping': []}
        for _rep in range(self.reps):
            for key, playbook in (('empty', empty), ('debug', debug), ('ping', ping)):
                run = self.runner.run(playbook, emu)
                if run['rc'] != 0:
                    raise BenchError('%s play failed:\n%s' % (key, run['output'][-2000:]))
                walls[key].append(run['wall_s'])
        for key, values in walls.items():
            self.data['runs'][key] = dict(walls=values, wall_s=statistics.median(values))
        say(
            '  startup: empty play %.2f s, debug play %.2f s, ping play %.2f s (median of %d)'
            % (self.data['runs']['empty']['wall_s'], self.data['runs']['debug']['wall_s'], self.data['runs']['ping']['wall_s'], self.reps)
        )

    def uri_loop(self, emu: Emulator) -> None:
        rooms = room_names(URI_N, 'uri')
        playbook = self.runner.write('uri_loop', uri_tasks(), {'rooms': rooms})
        walls = []
        for _rep in range(self.uri_reps):
            emu.prepare(rooms)
            run = self.runner.run(playbook, emu)
            task = self.task(run, 'uri loop')
            log = emu.log()
            statuses = [entry['status'] for entry in log]
            if len(log) != URI_N or set(statuses) != {204} or emu.live() & set(rooms):
                raise BenchError('uri loop: %d requests, statuses %s, %d rooms left' % (len(log), sorted(set(statuses)), len(emu.live() & set(rooms))))
            if len(task.get('items', ())) != URI_N:
                raise BenchError('uri loop: %d item results' % len(task.get('items', ())))
            walls.append(run['wall_s'])
        self.data['runs']['uri'] = dict(n=URI_N, latency_ms=emu.latency_ms, walls=walls, wall_s=statistics.median(walls))
        say('  uri loop, N=%d at %g ms: %.2f s (median of %d)' % (URI_N, emu.latency_ms, statistics.median(walls), len(walls)))

    def ours(self, emu: Emulator, configs: list) -> None:
        """configs: (n, parallel); every config once per repetition, round robin."""
        latency_s = emu.latency_ms / 1000.0
        playbooks = {}
        for n, parallel in configs:
            playbooks[(n, parallel)] = self.runner.write(
                'ours_%d_%d_%d' % (emu.latency_ms, n, parallel), ours_tasks(parallel), {'rooms': room_names(n, 'ours')}
            )
        collected = {key: [] for key in configs}
        for _rep in range(self.reps):
            for n, parallel in configs:
                rooms = room_names(n, 'ours')
                emu.prepare(rooms)
                started = time.time()
                run = self.runner.run(playbooks[(n, parallel)], emu)
                task = self.task(run, 'vobiz_conference N=%d parallel=%d' % (n, parallel))
                log = emu.log()
                starts = sorted(parse_time(e['time']) for e in log)
                left = emu.live() & set(rooms)
                deletes = [e for e in log if e['method'] == 'DELETE']
                if left or len(task.get('hung_up', ())) != n or len(deletes) != n or any(e['status'] != 204 for e in deletes):
                    raise BenchError(
                        'vobiz_conference N=%d parallel=%d: %d rooms left, %d hung up, %d DELETEs'
                        % (n, parallel, len(left), len(task.get('hung_up', ())), len(deletes))
                    )
                collected[(n, parallel)].append(
                    dict(
                        wall_s=run['wall_s'],
                        requests=len(log),
                        server_rate=server_rate(log, latency_s),
                        to_first_request_s=starts[0] - started,
                        http_phase_s=starts[-1] - starts[0] + latency_s,
                        warnings=len(task.get('warnings') or ()),
                    )
                )
        for (n, parallel), reps in collected.items():
            key = 'ours_%g_%d_%d' % (emu.latency_ms, n, parallel)
            walls = [r['wall_s'] for r in reps]
            median_rep = sorted(reps, key=lambda r: r['wall_s'])[len(reps) // 2]
            self.data['runs'][key] = dict(
                n=n,
                parallel=parallel,
                latency_ms=emu.latency_ms,
                walls=walls,
                wall_s=statistics.median(walls),
                requests=median_rep['requests'],
                requests_per_conference=median_rep['requests'] / n,
                server_rate=max(r['server_rate'] or 0 for r in reps),
                to_first_request_s=median_rep['to_first_request_s'],
                http_phase_s=median_rep['http_phase_s'],
                http_phase_ideal_s=math.ceil(n / parallel) * latency_s,
            )
            say(
                '  ours, N=%4d parallel=%2d at %g ms: %.2f s (median of %d; %s)'
                % (n, parallel, emu.latency_ms, statistics.median(walls), len(walls), ' '.join('%.2f' % w for w in walls))
            )

    def counts(self, emu: Emulator) -> None:
        rooms = room_names(COUNT_N, 'count')
        playbook = self.runner.write('count', ours_tasks(None), {'rooms': rooms})
        result = {}

        def play(label: str, check: bool = False) -> tuple:
            """Run the playbook once; the task's result and the emulator's request log."""
            return self.task(self.runner.run(playbook, emu, check=check), label), emu.log()

        # check mode, rooms live
        emu.prepare(rooms)
        task, log = play('check mode', check=True)
        gets = [e for e in log if e['method'] == 'GET']
        per_name = {}
        for entry in gets:
            per_name[entry['conference']] = per_name.get(entry['conference'], 0) + 1
        result['check'] = dict(
            requests=len(log),
            gets=len(gets),
            writes=len(log) - len(gets),
            max_gets_per_name=max(per_name.values() or [0]),
            gets_per_conference=len(gets) / COUNT_N,
            predicted=len(task.get('hung_up', ())),
            rooms_left=len(emu.live() & set(rooms)),
        )
        # normal mode
        emu.control('DELETE', '/log')
        task, log = play('normal mode')
        result['normal'] = dict(
            requests=len(log),
            deletes=sum(1 for e in log if e['method'] == 'DELETE'),
            requests_per_conference=len(log) / COUNT_N,
            hung_up=len(task.get('hung_up', ())),
            changed=task.get('changed'),
            rooms_left=len(emu.live() & set(rooms)),
        )
        # rerun: all already gone
        emu.control('DELETE', '/log')
        task, log = play('rerun')
        result['rerun'] = dict(
            requests=len(log),
            requests_per_conference=len(log) / COUNT_N,
            statuses=sorted(set(e['status'] for e in log)),
            already_absent=len(task.get('already_absent', ())),
            changed=task.get('changed'),
        )
        self.data['counts'] = result
        say(
            '  requests per conference (N=%d): normal %.3f, check mode %.3f GET + %d writes, rerun %.3f'
            % (
                COUNT_N,
                result['normal']['requests_per_conference'],
                result['check']['gets_per_conference'],
                result['check']['writes'],
                result['rerun']['requests_per_conference'],
            )
        )

    def rate_limited(self, emu: Emulator) -> None:
        rooms = room_names(RATE_LIMIT_N, 'rl')
        playbook = self.runner.write('rate_limited', ours_tasks(None, RATE_LIMIT_OPTIONS), {'rooms': rooms})
        emu.prepare(rooms)
        started = time.time()
        run = self.runner.run(playbook, emu)
        tasks = run['tasks'] or []
        task = tasks[0] if tasks else {}
        log = emu.log()
        left = emu.live() & set(rooms)
        limited = [e for e in log if e['fault'] == 'rate_limit']
        per_room = {}
        for entry in limited:
            per_room[entry['conference']] = per_room.get(entry['conference'], 0) + 1
        deletes_ok = sum(1 for e in log if e['method'] == 'DELETE' and e['status'] == 204)
        starts = sorted(parse_time(e['time']) for e in log)
        self.data['runs']['rate_limited'] = dict(
            n=RATE_LIMIT_N,
            latency_ms=emu.latency_ms,
            options=dict(RATE_LIMIT_OPTIONS),
            wall_s=run['wall_s'],
            rc=run['rc'],
            outcome=task.get('outcome'),
            hung_up_reported=len(task.get('hung_up', ())),
            hung_up_server=deletes_ok,
            rooms_left=len(left),
            failures=len(task.get('failures') or ()),
            requests=len(log),
            rate_limited=len(limited),
            max_429_per_conference=max(per_room.values() or [0]),
            warnings=len(task.get('warnings') or ()),
            msg=task.get('msg'),
            http_phase_s=(starts[-1] - starts[0]) if starts else None,
            to_first_request_s=(starts[0] - started) if starts else None,
            output_tail='\n'.join(run['output'].splitlines()[-8:]) if run['rc'] else None,
        )
        say(
            '  rate-limited (plivo), N=%d: %.2f s (first request after %.2f s, requests over %.2f s), rc %s, %d rooms left, '
            '%d requests of which %d answered 429 (%.1f %%)'
            % (
                RATE_LIMIT_N,
                run['wall_s'],
                starts[0] - started if starts else 0,
                starts[-1] - starts[0] if starts else 0,
                run['rc'],
                len(left),
                len(log),
                len(limited),
                100.0 * len(limited) / max(len(log), 1),
            )
        )

    def baseline_collections(self) -> tuple:
        """(ref, commit, collections dir holding the baseline's tree as ansible_collections/vobiz/voice)."""
        for ref in BASELINE_REFS:
            probe = subprocess.run(
                ['git', '-C', str(ROOT), 'rev-parse', '--verify', '--quiet', ref + '^{commit}'],
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                check=False,
            )
            if probe.returncode == 0:
                break
        else:
            raise BenchError('no baseline for the CPU goal: none of %s is a commit here' % ', '.join(BASELINE_REFS))
        commit = probe.stdout.strip()
        collections = self.workdir / 'baseline'
        target = collections / 'ansible_collections' / 'vobiz' / 'voice'
        target.mkdir(parents=True)
        archive = subprocess.run(['git', '-C', str(ROOT), 'archive', '--format=tar', commit], stdout=subprocess.PIPE, check=True)
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            try:
                tar.extractall(target, filter='data')
            except TypeError:  # Python without extraction filters
                tar.extractall(target)
        return ref, commit[:12], collections

    def cpu(self, emu: Emulator) -> None:
        """CPU time (user + system) of the module process: ping, and ours with 1 and CPU_N rooms, this tree and the baseline."""
        wrapper = self.workdir / 'rusage_python'
        wrapper.write_text(RUSAGE_WRAPPER.format(python=str(VENV_BIN / 'python')), encoding='utf-8')
        wrapper.chmod(0o755)
        usage_file = self.workdir / 'rusage.jsonl'
        ref, commit, baseline = self.baseline_collections()
        many = room_names(CPU_N, 'cpu')
        one = room_names(1, 'cpu1')
        # Implicit localhost sets ansible_python_interpreter itself: a play variable overrides it.
        interpreter = {'ansible_python_interpreter': str(wrapper)}
        ping = self.runner.write('cpu_ping', [{'name': 'one module start', 'ansible.builtin.ping': {}}], interpreter)
        ours_many = self.runner.write('cpu_ours_many', ours_tasks(None), dict(interpreter, rooms=many))
        ours_one = self.runner.write('cpu_ours_one', ours_tasks(None), dict(interpreter, rooms=one))
        # ansible-playbook looks for collections next to the playbook first (workdir/collections links this
        # tree): the baseline's plays live in a directory of their own.
        elsewhere = self.workdir / 'baseline_plays'
        elsewhere.mkdir()
        plays = {
            'current': (ours_one, ours_many),
            'baseline': (
                self.runner.write('cpu_ours_one', ours_tasks(None), dict(interpreter, rooms=one), elsewhere),
                self.runner.write('cpu_ours_many', ours_tasks(None), dict(interpreter, rooms=many), elsewhere),
            ),
        }
        samples = {}

        def measure(key, playbook, names, collections):
            if names:
                emu.prepare(names)
            if usage_file.exists():
                usage_file.unlink()
            env = {'BENCH_RUSAGE_FILE': str(usage_file)}
            if collections is not None:
                env['ANSIBLE_COLLECTIONS_PATH'] = str(collections)
            run = self.runner.run(playbook, emu, env_extra=env)
            task = self.task(run, 'CPU run %s' % key)
            if names and (len(task.get('hung_up', ())) != len(names) or emu.live() & set(names)):
                raise BenchError('CPU run %s: %d of %d hung up' % (key, len(task.get('hung_up', ())), len(names)))
            accounted = usage_file.read_text(encoding='utf-8').splitlines() if usage_file.exists() else []
            if len(accounted) != 1:
                raise BenchError('CPU run %s: %d module processes accounted, expected 1' % (key, len(accounted)))
            usage = json.loads(accounted[0])
            samples.setdefault(key, []).append(usage['user_s'] + usage['system_s'])

        for _rep in range(self.reps):
            measure('ping', ping, None, None)
            for tree, collections in (('current', None), ('baseline', baseline)):
                measure(tree + '_1', plays[tree][0], one, collections)
                measure(tree + '_many', plays[tree][1], many, collections)
        cpu = dict(
            n=CPU_N,
            latency_ms=emu.latency_ms,
            baseline_ref=ref,
            baseline_commit=commit,
            samples=samples,
            median_s=dict((key, statistics.median(values)) for key, values in samples.items()),
        )
        for tree in ('current', 'baseline'):
            median = cpu['median_s']
            cpu[tree] = dict(
                per_conference_ms=median[tree + '_many'] / CPU_N * 1000,
                marginal_ms=(median[tree + '_many'] - median[tree + '_1']) / (CPU_N - 1) * 1000,
                start_s=median[tree + '_1'],
            )
        self.data['cpu'] = cpu
        say(
            '  module CPU (user+system, median of %d): ping %.3f s; N=%d: this tree %.2f ms/conf (1 room %.3f s), '
            'baseline %s (%s) %.2f ms/conf (1 room %.3f s)'
            % (
                self.reps,
                cpu['median_s']['ping'],
                CPU_N,
                cpu['current']['per_conference_ms'],
                cpu['current']['start_s'],
                ref,
                commit,
                cpu['baseline']['per_conference_ms'],
                cpu['baseline']['start_s'],
            )
        )
        # The spread says how much other work moved the figures (compare it with the gap between the trees).
        say(
            '  module CPU at N=%d, every repetition (s): this tree %s; baseline %s'
            % (CPU_N, ' '.join('%.3f' % v for v in samples['current_many']), ' '.join('%.3f' % v for v in samples['baseline_many']))
        )

    def ceiling(self, emu: Emulator) -> None:
        ceiling = measure_ceiling(emu)
        self.data['ceiling'][str(emu.latency_ms)] = ceiling
        say(
            '  emulator ceiling at %g ms: %.0f requests/s (raw keep-alive client, %d threads); requests sessions '
            '(2 processes x 64 threads): %.0f requests/s' % (emu.latency_ms, ceiling['rate'], ceiling['raw']['threads_per_process'], ceiling['requests_rate'])
        )

    def run(self) -> None:
        started = time.perf_counter()
        want = self.only.__contains__
        configs = [(SMALL_N, DEFAULT_PARALLEL)] + [(n, p) for n in OUR_NS for p in PARALLELS]
        if self.load:
            say('%d busy CPU workers run during the timed phases (--load %d)' % (self.load, self.load))
        self.start_load()
        if any(map(want, ('ceiling', 'floor', 'uri', 'ours20', 'counts', 'cpu'))):
            say('Phase 1/3: emulator at 20 ms latency')
            emu = self.emulator(20)
            for phase, action in (
                ('ceiling', self.ceiling),
                ('floor', self.floor),
                ('uri', self.uri_loop),
                ('ours20', lambda e: self.ours(e, configs)),
                ('counts', self.counts),
                ('cpu', self.cpu),
            ):
                if want(phase):
                    action(emu)
            emu.stop()
        if any(map(want, ('ceiling', 'ours50'))):
            say('Phase 2/3: emulator at 50 ms latency')
            emu = self.emulator(50)
            if want('ceiling'):
                self.ceiling(emu)
            if want('ours50'):
                self.ours(emu, [(n, p) for n in OUR_NS for p in PARALLELS])
            emu.stop()
        if want('ratelimit'):
            say('Phase 3/3: emulator at %d ms latency with --rate-limit plivo' % RATE_LIMIT_LATENCY_MS)
            emu = self.emulator(RATE_LIMIT_LATENCY_MS, 'plivo')
            self.rate_limited(emu)
            emu.stop()
        if want('events'):
            self.data['events'] = event_phase.measure(say)
        self.stop_load()
        self.data['bench_wall_s'] = time.perf_counter() - started


# ---------------------------------------------------------------------------------------------
# evaluation, table, plot


def limit_s(floor_s: float, n: int, parallel: int, latency_ms: float) -> float:
    return floor_s + math.ceil(n / parallel) * latency_ms / 1000.0


def evaluate(data: dict) -> tuple:
    """Return (table lines, goals); goals: list of dicts with name, figure, goal, passed."""
    runs = data['runs']
    floor = runs['debug']['wall_s']
    lines = []
    goals = []

    def goal(name, figure, target, passed):
        goals.append(dict(name=name, figure=figure, goal=target, passed=bool(passed)))
        return 'PASS' if passed else 'MISS'

    lines.append('Startup (the floor every contender pays)')
    lines.append('  %-44s %8.2f s' % ('empty play', runs['empty']['wall_s']))
    lines.append('  %-44s %8.2f s' % ('play with one ansible.builtin.debug', floor))
    module_start = max(runs['ping']['wall_s'] - floor, 0.0)
    loaded = bool(data.get('load_workers'))
    lines.append('  %-44s %8.2f s  (one module start = ping - debug = %.2f s)' % ('play with one ansible.builtin.ping', runs['ping']['wall_s'], module_start))
    lines.append('')

    uri = runs['uri']
    uri_per = (uri['wall_s'] - floor) / uri['n']
    lines.append('Per-conference cost at 20 ms: (wall - debug play) / N')
    lines.append('  %-44s %8.2f s  %9.1f ms/conf' % ('uri DELETE loop, N=%d' % uri['n'], uri['wall_s'], uri_per * 1000))
    small = runs.get('ours_20_%d_%d' % (SMALL_N, DEFAULT_PARALLEL))
    if small:
        per = (small['wall_s'] - floor) / small['n']
        lines.append(
            '  %-44s %8.2f s  %9.2f ms/conf  %6.0fx cheaper (same N, informational)'
            % ('vobiz_conference, N=%d, parallel=%d' % (small['n'], DEFAULT_PARALLEL), small['wall_s'], per * 1000, uri_per / per)
        )
    for n in OUR_NS:
        run = runs['ours_20_%d_%d' % (n, DEFAULT_PARALLEL)]
        per = (run['wall_s'] - floor) / n
        ratio = uri_per / per
        verdict = goal(
            'per-conference cost at 20 ms, N=%d (default parallel %d): uri loop / ours' % (n, DEFAULT_PARALLEL),
            round(ratio, 1),
            '>= %gx' % GOAL_PER_CONFERENCE_RATIO,
            ratio >= GOAL_PER_CONFERENCE_RATIO,
        )
        lines.append(
            '  %-44s %8.2f s  %9.2f ms/conf  %6.0fx cheaper   goal >= %gx  %s'
            % ('vobiz_conference, N=%d, parallel=%d' % (n, DEFAULT_PARALLEL), run['wall_s'], per * 1000, ratio, GOAL_PER_CONFERENCE_RATIO, verdict)
        )
    lines.append('')

    for latency in LATENCIES_MS:
        lines.append('vobiz_conference against the limit at %d ms (limit = debug play + ceil(N/parallel) x RTT; "+1 start" adds one module start)' % latency)
        lines.append(
            '  %6s %8s %8s %8s %7s %14s %12s %9s %13s'
            % ('N', 'parallel', 'wall s', 'limit s', 'ratio', '+1 start ratio', 'HTTP s/ideal', 'req/conf', 'server req/s')
        )
        for n in OUR_NS:
            for parallel in PARALLELS:
                run = runs['ours_%d_%d_%d' % (latency, n, parallel)]
                limit = limit_s(floor, n, parallel, latency)
                ratio = run['wall_s'] / limit
                run['limit_s'] = limit
                run['limit_ratio'] = ratio
                run['limit_with_start_ratio'] = run['wall_s'] / (limit + module_start)
                note = ''
                if latency == 50 and n == 1000:
                    if parallel in GOAL_LIMIT_PARALLELS and loaded:
                        # Under --load the start of the one module is part of the limit (issue 17).
                        gated = run['limit_with_start_ratio']
                        note = '  goal +1 start <= %gx  %s' % (
                            GOAL_LIMIT_RATIO,
                            goal(
                                '1000 conferences at 50 ms, parallel %d, --load %d: wall / (limit + one module start)' % (parallel, data['load_workers']),
                                round(gated, 3),
                                '<= %gx' % GOAL_LIMIT_RATIO,
                                gated <= GOAL_LIMIT_RATIO,
                            ),
                        )
                    elif parallel in GOAL_LIMIT_PARALLELS:
                        note = '  goal <= %gx  %s' % (
                            GOAL_LIMIT_RATIO,
                            goal(
                                '1000 conferences at 50 ms, parallel %d: wall / limit' % parallel,
                                round(ratio, 3),
                                '<= %gx' % GOAL_LIMIT_RATIO,
                                ratio <= GOAL_LIMIT_RATIO,
                            ),
                        )
                    else:
                        note = '  (info: %s %gx)' % ('within' if ratio <= GOAL_LIMIT_RATIO else 'over', GOAL_LIMIT_RATIO)
                lines.append(
                    '  %6d %8d %8.2f %8.2f %6.2fx %13.2fx %5.2f/%-6.2f %9.3f %13.0f%s'
                    % (
                        n,
                        parallel,
                        run['wall_s'],
                        limit,
                        ratio,
                        run['limit_with_start_ratio'],
                        run['http_phase_s'],
                        run['http_phase_ideal_s'],
                        run['requests_per_conference'],
                        run['server_rate'],
                        note,
                    )
                )
        lines.append('')

    counts = data['counts']
    lines.append('Requests per conference (N=%d, from the emulator log)' % COUNT_N)
    normal = counts['normal']
    lines.append(
        '  %-44s %8.3f  (%d requests, %d DELETE)  goal exactly 1.0  %s'
        % (
            'normal mode',
            normal['requests_per_conference'],
            normal['requests'],
            normal['deletes'],
            goal(
                'normal mode: requests per conference',
                normal['requests_per_conference'],
                '== 1.0',
                normal['requests'] == COUNT_N and normal['deletes'] == COUNT_N and normal['rooms_left'] == 0,
            ),
        )
    )
    check = counts['check']
    lines.append(
        '  %-44s %8.3f GET/conf, max %d GET per name, %d writes  goal <= 1 GET per name, 0 writes  %s'
        % (
            'check mode',
            check['gets_per_conference'],
            check['max_gets_per_name'],
            check['writes'],
            goal(
                'check mode: GETs per name (max) and writes',
                '%d GET max, %d writes' % (check['max_gets_per_name'], check['writes']),
                '<= 1 GET per name, 0 writes',
                check['max_gets_per_name'] <= 1 and check['writes'] == 0 and check['rooms_left'] == COUNT_N,
            ),
        )
    )
    rerun = counts['rerun']
    lines.append(
        '  %-44s %8.3f  (answers %s, changed=%s)' % ('rerun (all already gone)', rerun['requests_per_conference'], rerun['statuses'], rerun['changed'])
    )
    lines.append('')

    rl = runs['rate_limited']
    rl_min = floor + (RATE_LIMIT_N - PLIVO['requests']) / (PLIVO['requests'] / PLIVO['per_seconds'])
    rl['limit_min_s'] = rl_min
    rl['limit_ratio'] = rl['wall_s'] / rl_min
    share = (RATE_LIMIT_N - rl['rooms_left']) / RATE_LIMIT_N
    options = ', '.join('%s=%s' % kv for kv in sorted(rl['options'].items())) or 'module defaults: parallel 16, retries 5, retry_max_wait 60'
    lines.append('Rate-limited: plivo preset (300 per 5 s), N=%d at %d ms, %s' % (RATE_LIMIT_N, rl['latency_ms'], options))
    lines.append('  minimum the limit allows: debug play + (%d - 300) / 60 s = %.2f s' % (RATE_LIMIT_N, rl_min))
    lines.append(
        '  %-44s %7.1f %%   goal 100 %%  %s'
        % (
            'hung up',
            share * 100,
            goal('rate-limited run: share hung up', '%.1f %%' % (share * 100), '100 %', share == 1.0 and rl['hung_up_server'] == RATE_LIMIT_N),
        )
    )
    verdict = goal(
        'rate-limited run: wall / minimum', round(rl['limit_ratio'], 3), '<= %gx' % GOAL_RATE_LIMIT_RATIO, rl['limit_ratio'] <= GOAL_RATE_LIMIT_RATIO
    )
    lines.append('  %-44s %8.2f s  %.2fx the minimum   goal <= %gx  %s' % ('wall time', rl['wall_s'], rl['limit_ratio'], GOAL_RATE_LIMIT_RATIO, verdict))
    lines.append(
        '  %-44s rc %s, %d failures   goal no failure  %s'
        % (
            'task result',
            rl['rc'],
            rl['failures'],
            goal(
                'rate-limited run: no failure',
                'rc %s, %d failures' % (rl['rc'], rl['failures']),
                'rc 0, 0 failures',
                rl['rc'] == 0 and rl['failures'] == 0 and rl['outcome'] == 'ok',
            ),
        )
    )
    lines.append(
        '  %-44s %d requests, %d answered 429 (at most %d for one conference; retries allow %d), %d retry warnings'
        % ('traffic', rl['requests'], rl['rate_limited'], rl['max_429_per_conference'], rl['options'].get('retries', 5), rl['warnings'])
    )
    rl['share_429'] = rl['rate_limited'] / float(max(rl['requests'], 1))
    lines.append(
        '  %-44s %7.1f %%   goal <= %g %%  %s'
        % (
            'requests answered 429',
            rl['share_429'] * 100,
            GOAL_RATE_LIMIT_429_SHARE * 100,
            goal(
                'rate-limited run: share of requests answered 429',
                '%.1f %%' % (rl['share_429'] * 100),
                '<= %g %%' % (GOAL_RATE_LIMIT_429_SHARE * 100),
                rl['share_429'] <= GOAL_RATE_LIMIT_429_SHARE,
            ),
        )
    )
    lines.append('')

    cpu = data['cpu']
    lines.append(
        'Module process CPU (user + system from its own accounting; load-independent), 20 ms, default parallel, median of %d' % len(cpu['samples']['ping'])
    )
    lines.append('  %-44s %8.3f s' % ('ansible.builtin.ping (one module start)', cpu['median_s']['ping']))
    for tree, label in (('baseline', 'baseline %s (%s)' % (cpu['baseline_ref'], cpu['baseline_commit'])), ('current', 'this tree')):
        lines.append(
            '  %-44s %8.3f s with 1 room; %.3f s with %d: %.3f ms/conf (%.3f ms/conf beyond the 1-room run)'
            % (
                'vobiz_conference, ' + label,
                cpu['median_s'][tree + '_1'],
                cpu['median_s'][tree + '_many'],
                CPU_N,
                cpu[tree]['per_conference_ms'],
                cpu[tree]['marginal_ms'],
            )
        )
    cpu['ratio'] = cpu['current']['per_conference_ms'] / cpu['baseline']['per_conference_ms']
    lines.append(
        '  %-44s %8.2fx the baseline   goal <= %gx  %s'
        % (
            'CPU per conference, N=%d' % CPU_N,
            cpu['ratio'],
            GOAL_CPU_RATIO,
            goal(
                'module CPU per conference at N=%d against %s' % (CPU_N, cpu['baseline_ref']),
                round(cpu['ratio'], 3),
                '<= %gx' % GOAL_CPU_RATIO,
                cpu['ratio'] <= GOAL_CPU_RATIO,
            ),
        )
    )
    lines.append('')

    lines.append('The emulator is not the bottleneck: every contender (N >= 300) below %d %% of the ceiling' % (EMULATOR_HEADROOM * 100))
    for latency in LATENCIES_MS:
        ceiling = data['ceiling'][str(latency)]['rate']
        worst = max((r for r in runs.values() if r.get('latency_ms') == latency and r.get('parallel') and r['n'] >= 300), key=lambda r: r['server_rate'])
        share = worst['server_rate'] / ceiling
        lines.append(
            '  %d ms: ceiling %.0f req/s (requests-session client: %.0f); busiest contender %.0f req/s (N=%d parallel=%d) = %.0f %%  %s'
            % (
                latency,
                ceiling,
                data['ceiling'][str(latency)]['requests_rate'],
                worst['server_rate'],
                worst['n'],
                worst['parallel'],
                share * 100,
                goal(
                    'emulator headroom at %d ms: busiest contender / ceiling' % latency,
                    '%.0f %%' % (share * 100),
                    '< %d %%' % (EMULATOR_HEADROOM * 100),
                    share < EMULATOR_HEADROOM,
                ),
            )
        )
    lines += event_phase.evaluate(data['events'], goal)
    return lines, goals


def plot(data: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    runs = data['runs']
    floor = runs['debug']['wall_s']
    uri = runs['uri']
    uri_per = (uri['wall_s'] - floor) / uri['n']
    colours = dict(zip(PARALLELS, ('tab:blue', 'tab:orange', 'tab:green', 'tab:purple')))
    fig, axes = plt.subplots(1, len(LATENCIES_MS), figsize=(13, 5.5), sharey=True)
    for ax, latency in zip(axes, LATENCIES_MS):
        grid = [10, 30, 100, 300, 1000, 2000]
        for parallel in PARALLELS:
            points = [(n, runs['ours_%d_%d_%d' % (latency, n, parallel)]['wall_s']) for n in OUR_NS]
            if latency == 20 and parallel == DEFAULT_PARALLEL:
                points.insert(0, (SMALL_N, runs['ours_20_%d_%d' % (SMALL_N, DEFAULT_PARALLEL)]['wall_s']))
            ax.plot(
                [p[0] for p in points],
                [p[1] for p in points],
                'o-',
                color=colours[parallel],
                label='vobiz_conference, parallel=%d%s' % (parallel, ' (default)' if parallel == DEFAULT_PARALLEL else ''),
            )
            ax.plot(grid, [limit_s(floor, n, parallel, latency) for n in grid], '--', color=colours[parallel], alpha=0.6, label='limit, parallel=%d' % parallel)
        if latency == 20:
            ax.plot([uri['n']], [uri['wall_s']], 's', color='tab:red', markersize=8, label='uri DELETE loop (measured)')
            ax.plot(grid, [floor + uri_per * n for n in grid], ':', color='tab:red', label='uri loop, extrapolated (flat per item)')
        ax.axhline(floor, color='grey', linewidth=0.8)
        ax.text(grid[-1], floor * 0.9, 'debug play %.2f s (the floor)' % floor, color='grey', fontsize=8, ha='right', va='top')
        ax.set_xscale('log')
        ax.set_yscale('log')
        ax.set_xlabel('conferences (N)')
        ax.set_title('RTT %d ms' % latency)
        ax.grid(True, which='both', alpha=0.3)
    axes[0].set_ylabel('wall time of ansible-playbook (s)')
    if 'rate_limited' in runs:
        rl = runs['rate_limited']
        axes[0].plot([rl['n']], [rl['wall_s']], 'X', color='black', markersize=9, label='rate-limited (plivo), parallel=16')
        axes[0].plot([rl['n']], [rl.get('limit_min_s', rl['wall_s'])], '+', color='black', markersize=11, label='rate limit minimum')
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    fig.legend(handles, labels, loc='center right', fontsize=8)
    fig.suptitle('Hanging up N conferences: one vobiz_conference task vs an ansible.builtin.uri loop')
    fig.tight_layout(rect=(0, 0, 0.78, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def machine() -> dict:
    cpu = 'unknown'
    try:
        for line in pathlib.Path('/proc/cpuinfo').read_text(encoding='utf-8').splitlines():
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    except OSError:
        pass
    try:
        from ansible.release import __version__ as ansible_version
    except ImportError:
        ansible_version = 'unknown'
    return dict(
        nproc=os.cpu_count(),
        cpu=cpu,
        python=platform.python_version(),
        ansible_core=ansible_version,
        requests=requests.__version__,
        platform=platform.platform(),
    )


def measure_many_accounts(workdir: pathlib.Path, rooms: int = 100, accounts: int = 20, latency_ms: int = 20) -> dict:
    """ci_teardown over one inventory host per account: 1 account against 20 with several fork counts."""
    sys.path.insert(0, str(ROOT / 'tools'))
    import check_many_accounts as fleet_tools  # pylint: disable=import-outside-toplevel,import-error

    runs = []
    for n_accounts, forks in ((1, 1), (accounts, 1), (accounts, 5), (accounts, accounts)):
        rundir = workdir / ('accounts-%d-forks-%d' % (n_accounts, forks))
        rundir.mkdir()
        fleet = fleet_tools.build_fleet(n_accounts, rooms, bad=0)
        with fleet_tools.Emulator(rundir, config=fleet.emulator_config(), latency_ms=latency_ms) as emulator:
            paths = fleet.write(rundir, emulator.api_url, secrets.token_hex(8))
            started = time.monotonic()
            result = fleet_tools.run_ci_teardown(rundir, paths, forks=forks)
            wall = time.monotonic() - started
            left = sum(1 for names in emulator.live_rooms().values() for name in names if name.startswith('ci-'))
        if result.returncode != 0 or left:
            raise BenchError('ci_teardown over %d account(s), forks %d: rc %d, %d ci-* rooms left' % (n_accounts, forks, result.returncode, left))
        runs.append(dict(accounts=n_accounts, forks=forks, rooms=n_accounts * rooms, wall_s=round(wall, 2)))
        say('  ci_teardown: %2d account(s) x %d rooms, forks %2d: %6.2f s' % (n_accounts, rooms, forks, wall))
    return dict(latency_ms=latency_ms, rooms_per_account=rooms, runs=runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n', maxsplit=1)[0])
    parser.add_argument('--reps', type=int, default=3, help='repetitions of each timed play (median; default 3)')
    parser.add_argument('--uri-reps', type=int, default=1, help='repetitions of the uri loop (default 1: 30 items already average)')
    parser.add_argument('--keep', action='store_true', help='keep the scratch directory (playbooks, emulator output)')
    parser.add_argument('--load', type=int, default=0, metavar='N', help='start N busy CPU workers for the timed phases (a busy controller); default 0')
    parser.add_argument(
        '--only',
        default=','.join(PHASES),
        metavar='PHASE[,PHASE...]',
        help='run these phases only and print their figures, without goals, results.json or plot (phases: %s)' % ', '.join(PHASES),
    )
    args = parser.parse_args()
    only = tuple(phase.strip() for phase in args.only.split(',') if phase.strip())
    unknown = sorted(set(only) - set(PHASES))
    if unknown or args.load < 0:
        parser.error('unknown phase(s) %s; phases: %s' % (', '.join(unknown), ', '.join(PHASES)) if unknown else '--load must be 0 or more')
    partial = set(only) != set(PHASES)

    # SIGTERM (e.g. from a CI timeout) unwinds like Ctrl+C, so every emulator is stopped.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    info = machine()
    say('vobiz.voice bench: %s CPUs (%s), Python %s, ansible-core %s' % (info['nproc'], info['cpu'], info['python'], info['ansible_core']))
    load_before = os.getloadavg()
    if load_before[0] > 0.5 * (os.cpu_count() or 1):
        say(
            'NOTE: load average %.1f on %d CPUs before the bench: other work shares the machine, figures will be noisier.'
            % (load_before[0], os.cpu_count() or 1)
        )
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-bench-'))
    bench = Bench(workdir, args.reps, args.uri_reps, load=args.load, only=only)
    try:
        bench.run()
        if 'accounts' in only:
            say('\nMany accounts (one inventory host per Vobiz account, ci_teardown, 20 ms)')
            bench.data['many_accounts'] = measure_many_accounts(workdir)
    except BenchError as exc:
        say('\nBENCH FAILED: %s' % exc)
        return 2
    except KeyboardInterrupt:
        say('\ninterrupted')
        return 130
    finally:
        bench.stop_all()
        if args.keep:
            say('scratch directory kept: %s' % workdir)
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)

    data = bench.data
    if partial:
        say(
            '\nPartial run (--only %s): the phase figures are above; no goals, results.json or plot. '
            'Load average %.1f before, %.1f after.' % (','.join(only), load_before[0], os.getloadavg()[0])
        )
        return 0
    lines, goals = evaluate(data)
    say('')
    for line in lines:
        say(line)
    many = {(run['accounts'], run['forks']): run['wall_s'] for run in data['many_accounts']['runs']}
    one = many[(1, 1)]
    say(
        'Many accounts: 20 x 100 rooms took %.1fx one account x 100 rooms with forks 20, %.1fx with forks 5, %.1fx with forks 1 '
        '(info: forks run the accounts side by side)' % (many[(20, 20)] / one, many[(20, 5)] / one, many[(20, 1)] / one)
    )
    data['machine'] = info
    data['load_average'] = dict(before=load_before, after=os.getloadavg())
    data['goals'] = goals
    data['date'] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')
    RESULTS_FILE.write_text(json.dumps(data, indent=1, sort_keys=True) + '\n', encoding='utf-8')
    plot(data, PLOT_FILE)
    missed = [g for g in goals if not g['passed']]
    busiest = max(load_before[0], data['load_average']['after'][0])
    say('')
    if busiest > 0.75 * (os.cpu_count() or 1):
        say(
            'WARNING: load average reached %.1f on %d CPUs: other work inflated these timings (module and playbook '
            'starts most). Rerun on a quiet machine before reading much into a missed timing goal.' % (busiest, os.cpu_count() or 1)
        )
    say(
        'Bench time %.0f s; load average %.1f before, %.1f after. Wrote %s and %s.'
        % (data['bench_wall_s'], load_before[0], data['load_average']['after'][0], RESULTS_FILE.relative_to(ROOT), PLOT_FILE.relative_to(ROOT))
    )
    if missed:
        for g in missed:
            say('GOAL MISSED: %s = %s (goal %s)' % (g['name'], g['figure'], g['goal']))
        return 1
    say('All %d goals met.' % len(goals))
    return 0


if __name__ == '__main__':
    sys.exit(main())
