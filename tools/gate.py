#!/usr/bin/env python
"""Everything CI runs: ``make test`` calls this with the dev venv's Python.

It does the plumbing ansible-test needs on this kind of machine (a copy of the collection
under ``ansible_collections/vobiz/voice``, a stand-in for the unreachable get-pip download,
real interpreters instead of pyenv shims), runs every step under a silence watchdog (no limit on time: a step
is ended only after minutes without output and without CPU, see silence_watch.py), prints a table
of steps and one closing ``N passed, N failed`` line, and exits non-zero when any step failed.
Steps run in chains (the main ansible-test steps, each version leg, the process-level suites and
checks, the images), each chain on its own copy of the collection (ansible-test writes ``tests/output`` into it),
at most two chains at once on a 2-core machine (``--jobs``); each step's output goes to its own log.
The community's checks (lint, docs-check, license-check, extra-checks, ansible-lint,
build-import-check, molecule) are antsibull-nox sessions (noxfile.py, antsibull-nox.toml) run from
here; what no library does here (ansible-test without Docker, the version legs, the EE, AWX,
runner, many-accounts and rulebook checks, the EE and DE images built and run) stays in this file and its neighbours.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import glob
import hashlib
import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import images  # noqa: E402  pylint: disable=wrong-import-position
import pinned_venv  # noqa: E402  pylint: disable=wrong-import-position
import silence_watch  # noqa: E402  pylint: disable=wrong-import-position

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Outside the tree (ansible-test and ansible-lint scan whatever is inside it); one per checkout,
# or VOBIZ_GATE_WORK for several runs of one checkout at once.
WORK = pathlib.Path(
    os.environ.get('VOBIZ_GATE_WORK') or pathlib.Path(tempfile.gettempdir()) / ('vobiz-voice-' + hashlib.sha1(str(ROOT).encode()).hexdigest()[:10])
)
COLL = WORK / 'ansible_collections' / 'vobiz' / 'voice'
PYBIN = WORK / 'pybin'
LOGS = WORK / 'logs'
DIST = WORK / 'dist'
# The venvs of the nox sessions (noxfile.py, antsibull-nox.toml), kept from run to run.
NOX_ENVS = WORK / 'nox'
# What those venvs are built from: when one of these changes, each session's venv is brought up to date once.
NOX_INPUTS = ('requirements-dev.txt', 'requirements-nox.txt', 'antsibull-nox.toml')
# Where the build-import-check session builds the tarball and galaxy-importer writes its result.
NOX_BUILD = NOX_ENVS / 'build-import-check' / 'tmp' / 'collection'
# Target Pythons any supported ansible-core may test; each ansible-test picks those it supports.
CANDIDATE_PYTHONS = ('3.8', '3.9', '3.10', '3.11', '3.12', '3.13', '3.14')
PYTEST_SUMMARY = re.compile(r'^=+ .*\b(passed|failed|error|errors|skipped|no tests ran)\b.* in [\d.]+s.* =+$')
INTEGRATION_TARGET = re.compile(r'^Running (\S+) integration test role')
TAIL_LINES = 40
# Steps that may run at once: the machine this runs on has two cores, and an ansible-playbook run uses about one.
DEFAULT_JOBS = 2


@dataclasses.dataclass
class Leg:
    """One ansible-core version on one Python, in its own venv."""

    name: str
    python_version: str
    venv: pathlib.Path
    requirements: pathlib.Path
    skip_reason: str = ''

    @property
    def bin(self) -> pathlib.Path:
        """The venv's bin directory."""
        return self.venv / 'bin'


@dataclasses.dataclass
class Result:
    """What one step did."""

    name: str
    status: str  # PASSED, FAILED or SKIPPED
    seconds: float = 0.0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    note: str = ''
    order: tuple = ()  # (chain, step within the chain): the table lists steps in this order, whatever ran first
    cpu: float = 0.0  # user + system seconds of the step's processes (those its command waited for)


def real_python(version: str) -> str | None:
    """Return a working interpreter for ``version``, avoiding pyenv shims that point nowhere."""
    candidates = []
    found = shutil.which(f'python{version}')
    if found and '/shims/' not in found:
        candidates.append(found)
    try:
        pyenv_root = subprocess.run(['pyenv', 'root'], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pyenv_root = os.environ.get('PYENV_ROOT', '')
    if pyenv_root:
        candidates.extend(sorted(glob.glob(f'{pyenv_root}/versions/{version}.*/bin/python{version}'), reverse=True))
    if found:
        candidates.append(found)
    for candidate in candidates:
        probe = subprocess.run([candidate, '-c', 'import sys, venv; print(sys.version_info[:2])'], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and probe.stdout.strip() == str(tuple(int(part) for part in version.split('.'))):
            return candidate
    return None


def prepare_pythons() -> dict[str, str]:
    """Put one symlink per working interpreter on a PATH directory; return version -> path."""
    if PYBIN.exists():
        shutil.rmtree(PYBIN)
    PYBIN.mkdir(parents=True)
    found = {}
    for version in CANDIDATE_PYTHONS:
        path = real_python(version)
        if path:
            (PYBIN / f'python{version}').symlink_to(path)
            found[version] = path
    return found


def install_get_pip_stand_in(leg: Leg) -> None:
    """Put the get-pip stand-in where this leg's ansible-test looks for a cached copy."""
    matches = glob.glob(str(leg.venv / 'lib' / 'python*' / 'site-packages' / 'ansible_test' / '_internal' / 'python_requirements.py'))
    if not matches:
        raise SystemExit(f'ansible-test not found in {leg.venv}')
    pin = re.search(r"pip='([\d.]+)'", pathlib.Path(matches[0]).read_text(encoding='utf-8'))
    if not pin:
        raise SystemExit(f'cannot read the pip version ansible-test pins from {matches[0]}')
    cache = pathlib.Path.home() / '.ansible' / 'test' / 'cache'
    cache.mkdir(parents=True, exist_ok=True)
    # Chains run at once and one may read this file while another writes it: replace it whole.
    target = cache / f"get_pip_{pin.group(1).replace('.', '_')}.py"
    partial = target.with_name(f'{target.name}.{os.getpid()}.{threading.get_ident()}.tmp')
    shutil.copyfile(ROOT / 'tools' / 'get_pip_offline.py', partial)
    os.replace(partial, target)


def source_files() -> list[str]:
    """The files that make up the collection: tracked plus untracked-but-not-ignored."""
    if (ROOT / '.git').exists():
        out = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT, capture_output=True, check=True).stdout
        return sorted({name for name in out.decode().split('\0') if name and (ROOT / name).is_file()})
    skip = ('.venv', '.nox', '.git', 'tests/output', 'collections', 'build', 'dist', '.ansible')
    return sorted(str(path.relative_to(ROOT)) for path in ROOT.rglob('*') if path.is_file() and not str(path.relative_to(ROOT)).startswith(skip))


def copy_root(chain: str) -> pathlib.Path:
    """The directory holding ``ansible_collections/`` for a chain's own copy of the collection."""
    return WORK / 'copies' / chain


def copy_of(root: pathlib.Path) -> pathlib.Path:
    """The collection inside a directory made by ``copy_root``."""
    return root / 'ansible_collections' / 'vobiz' / 'voice'


def sync_collection(coll: pathlib.Path = COLL) -> None:
    """Copy the collection to where ansible-test insists it lives (a symlink is not enough)."""
    if coll.exists():
        shutil.rmtree(coll)
    for name in source_files():
        target = coll / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)


def leg_env(leg: Leg, collections: pathlib.Path = WORK) -> dict[str, str]:
    """Environment for commands of one leg on the copy under ``collections``."""
    env = dict(os.environ)
    env['PATH'] = os.pathsep.join([str(leg.bin), str(PYBIN), env.get('PATH', '')])
    env['ANSIBLE_PYTHON_INTERPRETER'] = str(leg.bin / 'python')
    env['ANSIBLE_COLLECTIONS_PATH'] = str(collections)
    env['ANSIBLE_NOCOLOR'] = '1'
    env['PY_COLORS'] = '0'
    env.pop('PYENV_VERSION', None)
    return env


def reap(proc: subprocess.Popen) -> tuple[int, float]:
    """Wait for ``proc``; return its exit code and CPU seconds.

    The CPU time says what a step costs when the machine is shared and wall time says little.
    """
    try:
        _pid, status, usage = os.wait4(proc.pid, 0)
    except ChildProcessError:  # reaped elsewhere
        return (proc.returncode if proc.returncode is not None else -1), 0.0
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, usage.ru_utime + usage.ru_stime


def has_exited(proc: subprocess.Popen) -> bool:
    """True once the step's first process has ended (without reaping it: ``reap`` still reads its CPU time)."""
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except ChildProcessError:
        return True


def read_lines(proc: subprocess.Popen, log, lines: list[str], watch: silence_watch.SilenceWatch) -> None:
    """Copy the step's output to its log and ``lines``; every byte read counts as the step talking.

    Reading ends when the output closes, or once the step's first process has ended and what it wrote is read: a
    process that outlives it and keeps the pipe open (a daemon) does not hold the gate.
    """
    pending = b''
    fd = proc.stdout.fileno()
    exited = False
    while True:
        if not select.select([fd], [], [], 0 if exited else 1.0)[0]:
            if exited:
                break
            exited = has_exited(proc)
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        watch.heard()  # also output without a newline: dots, progress
        pending += chunk
        *complete, pending = pending.split(b'\n')
        for raw in complete:
            line = raw.decode('utf-8', 'replace')
            log.write(line + '\n')
            lines.append(line)
        log.flush()
    if pending:
        line = pending.decode('utf-8', 'replace')
        log.write(line + '\n')
        lines.append(line)


def junit_counts(directory: pathlib.Path) -> tuple[int, int, int]:
    """Sum passed, failed and skipped test cases over the JUnit files in ``directory``."""
    passed = failed = skipped = 0
    for path in sorted(directory.glob('*.xml')):
        for case in ET.parse(path).getroot().iter('testcase'):
            if case.find('failure') is not None or case.find('error') is not None:
                failed += 1
            elif case.find('skipped') is not None:
                skipped += 1
            else:
                passed += 1
    return passed, failed, skipped


class Gate:
    """Runs the steps (up to ``jobs`` chains of them at once) and keeps their results."""

    def __init__(self, step_filter: list[str], silent_limit: float | None = None, **watch_options):
        self.results: list[Result] = []
        # The one limit on a step: silence (no output, no CPU) for this many seconds; see silence_watch.py.
        self.silent_limit = silent_limit if silent_limit is not None else silence_watch.silent_limit()
        self.watch_options = watch_options  # sample, idle_share: tests pass small ones
        self.step_filter = step_filter
        self.lock = threading.Lock()
        self.running: dict[int, subprocess.Popen] = {}
        self.stopping = False
        self.chain = threading.local()

    def wanted(self, name: str) -> bool:
        """True when the step was selected (all by default)."""
        return not self.step_filter or any(word in name for word in self.step_filter)

    def say(self, *lines: str) -> None:
        """Print lines as one block, so that the output of steps ending at once does not interleave."""
        with self.lock:
            for line in lines:
                print(line, flush=True)

    def next_order(self) -> tuple:
        """Where the next step of this thread's chain goes in the table."""
        index, steps = getattr(self.chain, 'index', 0), getattr(self.chain, 'steps', 0)
        self.chain.steps = steps + 1
        return (index, steps)

    def skip(self, name: str, reason: str) -> None:
        """Record a step that cannot run here, loudly."""
        self.say(f'SKIPPED {name}: {reason}')
        with self.lock:
            self.results.append(Result(name, 'SKIPPED', note=reason, order=self.next_order()))

    def run(self, name: str, cmd: list[str], *, env: dict[str, str], cwd: pathlib.Path = COLL, count: str = 'one', check=None) -> Result:
        """Run one step; count its test cases by ``count`` ('one', 'junit' or 'targets').

        No limit on its time: it is ended only when silent (no output, no CPU) for ``self.silent_limit`` seconds.
        """
        order = self.next_order()
        if self.stopping:
            return self._record(Result(name, 'FAILED', note='not run: the gate was interrupted', order=order), time.monotonic(), [])
        junit_dir = cwd / 'tests' / 'output' / 'junit'
        if count == 'junit' and junit_dir.exists():
            shutil.rmtree(junit_dir)
        log_path = LOGS / (re.sub(r'[^A-Za-z0-9_.-]+', '_', name) + '.log')
        self.say(f'==> {name}')
        started = time.monotonic()
        lines: list[str] = []
        with open(log_path, 'w', encoding='utf-8') as log:
            log.write('$ ' + ' '.join(cmd) + '\n')
            try:
                proc = subprocess.Popen(
                    cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
                )
            except OSError as exc:
                return self._record(Result(name, 'FAILED', note=f'cannot start: {exc}', order=order), started, [str(exc)])
            with self.lock:
                self.running[proc.pid] = proc
            watch = silence_watch.SilenceWatch(proc.pid, self.silent_limit, lambda: silence_watch.end_step(proc.pid), **self.watch_options)
            watch.start()
            try:
                read_lines(proc, log, lines, watch)
                returncode, cpu = reap(proc)
            finally:
                watch.stop()
                # A watch that fired is still ending the step's other processes (those that left its group): the step
                # is over only when they are.
                watch.join()
                proc.stdout.close()
                with self.lock:
                    self.running.pop(proc.pid, None)
            silent = f'silent for {silence_watch.describe(self.silent_limit)}: no output, no CPU' if watch.fired else ''
            if silent:
                log.write(f'gate: step ended, {silent}\n')
                lines.append(f'gate: step ended, {silent}')
        result = Result(name, 'PASSED' if returncode == 0 and not silent else 'FAILED', order=order, cpu=cpu)
        if silent:
            result.note = silent
        elif self.stopping:
            result.note = 'interrupted'
        elif returncode != 0:
            result.note = f'exit {returncode}'
        if check and result.status == 'PASSED':
            problem = check(lines)
            if problem:
                result.status, result.note = 'FAILED', problem
                lines.append(problem)
        if count == 'junit':
            result.passed, result.failed, result.skipped = junit_counts(junit_dir)
            if result.status == 'FAILED' and not result.failed:
                result.failed = 1
        elif count == 'targets':
            targets = [match.group(1) for match in map(INTEGRATION_TARGET.match, lines) if match]
            if result.status == 'PASSED':
                result.passed = len(targets)
            else:
                result.passed, result.failed = max(0, len(targets) - 1), 1
        elif result.status == 'PASSED':
            result.passed = 1
        else:
            result.failed = 1
        return self._record(result, started, lines)

    def _record(self, result: Result, started: float, lines: list[str]) -> Result:
        result.seconds = time.monotonic() - started
        block = ['    ' + line.strip() for line in lines if PYTEST_SUMMARY.match(line.strip()) or line.startswith('TOTAL ')]
        if result.status == 'FAILED':
            block.append(f'FAILED {result.name} ({result.note}); last lines of its output:')
            block.extend('    | ' + line for line in lines[-TAIL_LINES:])
        else:
            block.append(f'    ok in {result.seconds:.0f}s (CPU {result.cpu:.0f}s): {result.name}')
        self.say(*block)
        with self.lock:
            self.results.append(result)
        return result

    def run_chains(self, chains: list, jobs: int) -> None:
        """Start the chains in the order given, ``jobs`` at once.

        A chain is (its place in the table, a function calling ``run``/``skip`` in order).
        """

        def start(index: int, chain) -> None:
            self.chain.index, self.chain.steps = index, 0
            try:
                chain()
            except (Exception, SystemExit) as exc:  # pylint: disable=broad-exception-caught
                # A chain that cannot go on (a venv that cannot be built, ...) is a failed step of its own;
                # the other chains' results and the closing table are kept.
                name = getattr(chain, '__name__', 'chain').replace('_', ' ')
                self._record(
                    Result(f'{name}: stopped', 'FAILED', failed=1, note=str(exc) or type(exc).__name__, order=self.next_order()), time.monotonic(), [repr(exc)]
                )

        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, jobs))
        futures = [pool.submit(start, index, chain) for index, chain in chains]
        try:
            for future in futures:
                future.result()
        except KeyboardInterrupt:
            self.stop()
            raise
        finally:
            pool.shutdown(wait=True)

    def stop(self) -> None:
        """Ctrl-C: start no further step and end the running ones (each runs in its own session, out of the terminal's reach)."""
        self.stopping = True
        with self.lock:
            procs = list(self.running.values())
        # Each step's own thread reaps its process (and then drops it from ``running``).
        enders = [threading.Thread(target=silence_watch.end_step, args=(proc.pid,)) for proc in procs]
        for ender in enders:
            ender.start()
        for ender in enders:
            ender.join()

    def report(self) -> int:
        """Print the table and the closing line; return the exit code."""
        self.results.sort(key=lambda res: res.order)
        print('\n{:<44} {:>8} {:>7} {:>7} {:>7}  {}'.format('step', 'result', 'time', 'passed', 'failed', 'note'))
        for res in self.results:
            print(f'{res.name:<44} {res.status:>8} {res.seconds:>6.0f}s {res.passed:>7} {res.failed:>7}  {res.note}')
        passed = sum(res.passed for res in self.results)
        failed = sum(res.failed for res in self.results)
        skipped = sum(res.skipped for res in self.results)
        total_time = sum(res.seconds for res in self.results)
        total_cpu = sum(res.cpu for res in self.results)
        print(f'\ntotal step time {total_time / 60:.1f} min (CPU {total_cpu / 60:.1f} min); logs in {LOGS}')
        print(f'{passed} passed, {failed} failed, {skipped} skipped')
        return 1 if failed or any(res.status == 'FAILED' for res in self.results) else 0


def importer_check(result_file: pathlib.Path):
    """Return a check of galaxy-importer's output and result file (it exits 0 on some failures)."""

    def check(lines: list[str]) -> str:
        problems = [line.strip() for line in lines if re.match(r'\s*(WARNING|ERROR|CRITICAL)\b', line)]
        if problems:
            return 'galaxy-importer reported: ' + ' | '.join(problems[:10])
        if not any('Importer processing completed successfully' in line for line in lines):
            return 'galaxy-importer did not report success'
        if not result_file.exists():
            return f'{result_file.name} was not written'
        data = json.loads(result_file.read_text(encoding='utf-8'))
        found = {item.get('name') for item in data.get('contents', []) if item.get('content_type') == 'module'}
        missing = sorted({path.stem for path in (COLL / 'plugins' / 'modules').glob('*.py')} - found)
        if missing:
            return f'galaxy-importer did not load these modules: {", ".join(missing)}'
        return ''

    return check


@dataclasses.dataclass
class NoxStep:
    """One antsibull-nox session run as a gate step."""

    name: str
    session: str
    check: object = None


def nox_inputs_digest() -> str:
    """Hash of the files the nox sessions' venvs are built from."""
    digest = hashlib.sha256()
    for name in NOX_INPUTS:
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def nox_env(leg: Leg) -> dict[str, str]:
    """Environment for nox: the leg's PATH (antsibull-nox runs ansible-galaxy from it), no collection path of ours."""
    env = leg_env(leg)
    # The sessions install the collection where they need it and use their own venv's Python.
    env.pop('ANSIBLE_COLLECTIONS_PATH', None)
    env.pop('ANSIBLE_PYTHON_INTERPRETER', None)
    env['NO_COLOR'] = '1'
    # antsibull-nox in CI mode: plain output, and formatters check instead of rewriting (the copy would hide it).
    env['CI'] = 'true'
    # ruff's formatter check would leave .ruff_cache/ in the copy, where extra-checks reads every file.
    env['RUFF_NO_CACHE'] = 'true'
    return env


def run_nox_steps(gate: Gate, leg: Leg, steps: list[NoxStep]) -> None:
    """Run antsibull-nox sessions on the copy, reusing their venvs while their pins are unchanged."""
    nox = pinned_venv.ensure(ROOT / '.venv-nox', ROOT / 'requirements-nox.txt').parent / 'nox'
    NOX_ENVS.mkdir(parents=True, exist_ok=True)
    digest = nox_inputs_digest()
    for step in steps:
        stamp = NOX_ENVS / f'{step.session}.inputs.sha256'
        current = stamp.exists() and stamp.read_text(encoding='utf-8').strip() == digest
        # -R reuses a venv without installing; -r reuses it and lets pip bring it to the current pins.
        cmd = [
            str(nox),
            '-R' if current else '-r',
            '--default-venv-backend',
            'uv',
            '--envdir',
            str(NOX_ENVS),
            '--noxfile',
            str(COLL / 'noxfile.py'),
            '-s',
            step.session,
        ]
        result = gate.run(step.name, cmd, env=nox_env(leg), check=step.check)
        if result.status == 'PASSED':
            stamp.write_text(digest + '\n', encoding='utf-8')
        elif stamp.exists():
            stamp.unlink()


def ensure_leg(leg: Leg, python_path: str | None) -> bool:
    """Create the leg's venv; return False (with skip_reason set) when it cannot exist here."""
    if not python_path:
        leg.skip_reason = f'python{leg.python_version} is not installed on this machine'
        return False
    pinned_venv.ensure(leg.venv, leg.requirements, python_path)
    install_get_pip_stand_in(leg)
    return True


def main() -> int:
    """Run the gate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('steps', nargs='*', help='run only the steps whose names contain one of these words')
    parser.add_argument(
        '--jobs',
        type=int,
        default=int(os.environ.get('VOBIZ_GATE_JOBS') or DEFAULT_JOBS),
        help=f'chains of steps run at once (default {DEFAULT_JOBS}, or VOBIZ_GATE_JOBS)',
    )
    args = parser.parse_args()

    gate_started = time.monotonic()
    for directory in (WORK, LOGS, DIST):
        directory.mkdir(parents=True, exist_ok=True)
    pythons = prepare_pythons()
    print(f'Pythons found: {", ".join(sorted(pythons, key=lambda v: tuple(map(int, v.split(".")))))}', flush=True)
    sync_collection()
    gate = Gate(args.steps)
    print(
        f'No step has a time limit: one is ended only when silent (no output, no CPU) for {silence_watch.describe(gate.silent_limit)}'
        f' ({silence_watch.SILENT_MINUTES_ENV})',
        flush=True,
    )

    main_leg = Leg('2.19', '3.11', ROOT / '.venv', ROOT / 'requirements-dev.txt')
    install_get_pip_stand_in(main_leg)
    env = leg_env(main_leg)
    test = str(main_leg.bin / 'ansible-test')
    py = str(main_leg.bin / 'python')

    def main_chain() -> None:
        """The community's checks, then ansible-test on core 2.19 and what needs the built tarball, on the main copy."""
        # The community's checks first: ansible-test below fills the copy with tests/output, which they would walk.
        importer_result = NOX_BUILD / 'importer_result.json'
        if importer_result.exists():
            importer_result.unlink()
        nox_steps = [
            step
            for step in (
                NoxStep('nox lint: ruff check, yamllint', 'lint'),
                NoxStep('nox docs-check: antsibull-docs lint', 'docs-check'),
                NoxStep('nox license-check: reuse lint', 'license-check'),
                NoxStep('nox extra-checks (action groups, files)', 'extra-checks'),
                NoxStep('nox ansible-lint --profile production', 'ansible-lint'),
                NoxStep('nox build-import-check (galaxy-importer)', 'build-import-check', importer_check(importer_result)),
                NoxStep('nox molecule test (conference_maintenance)', 'molecule'),
            )
            if gate.wanted(step.name)
        ]
        built = False
        if nox_steps:
            run_nox_steps(gate, main_leg, nox_steps)
            built = any(res.name.startswith('nox build-import-check') and res.status == 'PASSED' for res in gate.results)
            # Their sessions leave .ansible/ and molecule state behind; ansible-test checks every file of the copy.
            sync_collection()

        if gate.wanted('sanity'):
            gate.run('sanity (core 2.19, every Python found)', [test, 'sanity', '--venv', '--junit', '--color', 'no'], env=env, count='junit')
        if gate.wanted('units'):
            gate.run(
                'units (core 2.19, py3.11, coverage)',
                [test, 'units', '--venv', '--python', '3.11', '--coverage', '--color', 'no'],
                env=env,
                count='junit',
            )
            gate.run('coverage report', [test, 'coverage', 'report', '--color', 'no'], env=env)
        if gate.wanted('integration'):
            gate.run('integration (core 2.19, py3.11)', [test, 'integration', '--venv', '--python', '3.11', '--color', 'no'], env=env, count='targets')
        if gate.wanted('docs'):
            gate.run('docsite HTML (antsibull-docs, sphinx -W)', [py, 'tools/build_docs.py'], env=env)
        if gate.wanted('checkers'):
            gate.run(
                'pytest tools/tests (checker tests)',
                [py, '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '--junitxml', 'tests/output/junit/tools-tests.xml', 'tools/tests'],
                env=env,
                count='junit',
            )
        if gate.wanted('changelog'):
            gate.run('antsibull-changelog lint', [str(main_leg.bin / 'antsibull-changelog'), 'lint'], env=env)
        tarballs = sorted(NOX_BUILD.glob('vobiz-voice-*.tar.gz'))
        if built and tarballs:
            for old in DIST.glob('*'):
                if old.is_file():
                    old.unlink()
                else:
                    shutil.rmtree(old)
            galaxy = str(main_leg.bin / 'ansible-galaxy')
            install_dir = str(DIST / 'installed')
            installed = gate.run(
                'ansible-galaxy collection install',
                [galaxy, 'collection', 'install', '--force', '-p', install_dir, str(tarballs[0])],
                env=env,
                cwd=DIST,
            )
            if installed.status == 'PASSED':
                gate.run(
                    'ansible-galaxy collection verify --offline',
                    [galaxy, 'collection', 'verify', '--offline', '-p', install_dir, 'vobiz.voice'],
                    env=env,
                    cwd=DIST,
                )

    def suites_chain() -> None:
        """The process-level suites (plain pytest, not ansible-test units) and the checks no library does, on their own copy."""
        names = {
            'reliability suite': 'reliability suite (tests/reliability, pytest)',
            'emulator suite': 'emulator suite (tests/emulator/tests, pytest)',
            'ee': 'EE: ansible-builder create + introspect',
            'awx': 'AWX credential type (AWX rules)',
            'runner': 'ansible-runner: ci_teardown, no token leak',
            'accounts': 'ci_teardown: 20 accounts, forks 10, 1 bad',
            'rulebook': 'ansible-rulebook: enforce_limits against the emulator',
            'guide': 'ansible-rulebook: the enforce_limits guide as written',
            'eda': 'EDA credential type (AWX rules)',
        }
        if not any(gate.wanted(word) for word in names):
            return
        root = copy_root('suites')
        coll = copy_of(root)
        sync_collection(coll)
        suite_env = leg_env(main_leg, root)
        suite_env['PYTHONPATH'] = str(root)  # the suites import the collection as ansible_collections.vobiz.voice
        for word, directory in (('reliability suite', 'tests/reliability'), ('emulator suite', 'tests/emulator/tests')):
            if not gate.wanted(word):
                continue
            gate.run(
                names[word],
                [
                    py,
                    '-m',
                    'pytest',
                    '-p',
                    'no:cacheprovider',
                    '-n',
                    '2',
                    '--rootdir',
                    'tests',
                    '--junitxml',
                    f'tests/output/junit/{word.split()[0]}.xml',
                    directory,
                ],
                env=suite_env,
                cwd=coll,
                count='junit',
            )
            figures = coll / 'tests' / 'output' / 'reliability-figures.md'
            if word == 'reliability suite' and figures.exists():
                gate.say('    reliability figures (tests/reliability):\n' + figures.read_text(encoding='utf-8'))
        checks = (
            ('ee', [py, 'tools/check_ee.py']),
            ('awx', [py, 'tools/check_awx_credential_type.py']),
            ('runner', [py, 'tools/check_runner.py']),
            ('accounts', [py, 'tools/check_many_accounts.py']),
            ('rulebook', [py, 'tools/check_rulebook.py']),
            ('guide', [py, 'tools/check_guide.py']),
            ('eda', [py, 'tools/check_awx_credential_type.py', 'extensions/eda/credential_type_vobiz.yml']),
        )
        for word, cmd in checks:
            if not gate.wanted(word):
                continue
            if word in ('rulebook', 'guide') and shutil.which('java') is None:
                gate.skip(names[word], 'java not found (ansible-rulebook needs a JDK 17)')
                continue
            gate.run(names[word], cmd, env=suite_env, cwd=coll)

    def leg_chain(leg: Leg):
        """Units and integration of one version leg, on its own copy."""

        def chain() -> None:
            if not (gate.wanted('matrix') or gate.wanted(leg.name.split()[0])):
                return
            name = f'core {leg.name} on py{leg.python_version}'
            if not ensure_leg(leg, pythons.get(leg.python_version)):
                gate.skip(f'units + integration, {name}', leg.skip_reason)
                return
            root = copy_root(leg.name.split()[0])
            coll = copy_of(root)
            sync_collection(coll)
            leg_test = str(leg.bin / 'ansible-test')
            for command, count in (('units', 'junit'), ('integration', 'targets')):
                gate.run(
                    f'{command} ({name})',
                    [leg_test, command, '--venv', '--python', leg.python_version, '--color', 'no'],
                    env=leg_env(leg, root),
                    cwd=coll,
                    count=count,
                )

        chain.__name__ = f'core {leg.name} leg'
        return chain

    def images_chain() -> None:
        """The EE and DE images built and run (tools/images.py), on their own copy: skipped without a container engine."""
        name = 'images: EE and DE built and run'
        if not gate.wanted('images'):
            return
        engine, reason = images.find_engine()
        if not engine:
            gate.skip(name, reason)
            return
        root = copy_root('images')
        coll = copy_of(root)
        sync_collection(coll)
        # The build contexts stay in WORK, so that the engine's layer cache serves an unchanged tree; the local Debian
        # base is cached by the engine. A cold build downloads hundreds of MB: no time limit a slow mirror could hit.
        gate.run(name, [py, 'tools/images.py', '--work', str(WORK / 'images')], env=leg_env(main_leg, root), cwd=coll)

    legs = [
        Leg('floor 2.16', '3.11', ROOT / '.venv-floor', ROOT / 'tools' / 'legs' / 'floor.txt'),
        Leg('newest 2.21', '3.12', ROOT / '.venv-newest', ROOT / 'tools' / 'legs' / 'newest.txt'),
    ]
    # Started longest first, so that the two lanes end close together: main (about 10 min), the images (about 6 min
    # cold, 1 to 3 warm), newest, floor, the suites; the table lists main, suites and checks, floor, newest, images.
    chains = [(0, main_chain), (4, images_chain), (3, leg_chain(legs[1])), (2, leg_chain(legs[0])), (1, suites_chain)]
    try:
        gate.run_chains(chains, args.jobs)
    except KeyboardInterrupt:
        print('\ninterrupted: the running steps were ended', flush=True)
        gate.report()
        return 130
    print(f'\nwall time {(time.monotonic() - gate_started) / 60:.1f} min with up to {args.jobs} steps at once', flush=True)
    return gate.report()


if __name__ == '__main__':
    sys.exit(main())
