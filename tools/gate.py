#!/usr/bin/env python
"""Everything CI runs: ``make test`` calls this with the dev venv's Python.

Every step is a session of noxfile.py, as in the CI workflow (.github/workflows/nox.yml). The gate adds what CI gets
from GitHub: chains of sessions, each on its own copy of the collection (``git init``: every tool skips what git
ignores), two chains at once (``--jobs``); each ansible-test session's ansible-core pinned (``UV_CONSTRAINT``:
requirements-dev.txt, tools/legs/*.txt). A step has no time limit: it is ended only after minutes without output and
without CPU (silence_watch.py). Each step's output goes to its own log; a
session that cannot run here says why (nox's ``Session ... skipped: REASON``) and is a ``SKIPPED`` row. At the end:
the table of steps, one ``N passed, N failed`` line, and a non-zero exit when any step failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
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
import silence_watch  # noqa: E402  pylint: disable=wrong-import-position

ROOT = pathlib.Path(__file__).resolve().parent.parent
# Outside the tree (ansible-test and ansible-lint scan whatever is inside it); one per checkout,
# or VOBIZ_GATE_WORK for several runs of one checkout at once.
WORK = pathlib.Path(
    os.environ.get('VOBIZ_GATE_WORK')
    or pathlib.Path(tempfile.gettempdir()) / ('vobiz-voice-' + hashlib.sha1(str(ROOT).encode()).hexdigest()[:10])
)
LOGS = WORK / 'logs'
# The venvs of the nox sessions, kept from run to run, and what they are built from: when one of these files
# changes, each session's venv is brought up to date once (-r instead of -R).
NOX_ENVS = WORK / 'nox'
NOX_INPUTS = (
    'requirements-dev.txt',
    'requirements-nox.txt',
    'antsibull-nox.toml',
    'noxfile.py',
    'tools/legs/floor.txt',
    'tools/legs/newest.txt',
)
# Where build-import-check builds the tarball and galaxy-importer writes its result.
IMPORTER_RESULT = NOX_ENVS / 'build-import-check' / 'tmp' / 'collection' / 'importer_result.json'
PYTEST_SUMMARY = re.compile(r'^=+ .*\b(passed|failed|error|errors|skipped|no tests ran)\b.* in [\d.]+s.* =+$')
INTEGRATION_TARGET = re.compile(r'^Running (\S+) integration test role')
NOX_SKIPPED = re.compile(r'^nox > Session \S+ skipped: (.+)$')
TAIL_LINES = 40
# Chains run at once: the machine this runs on has two cores, and an ansible-playbook run uses about one.
DEFAULT_JOBS = 2


@dataclasses.dataclass
class Step:
    """One nox session as a row of the table; ``words`` select it on the command line (as does its session's name)."""

    name: str
    session: str
    words: str
    count: str = 'one'  # how its test cases are counted: 'one', 'junit' (tests/output/junit) or 'targets'
    check: object = None  # a function of the step's output lines that returns a problem, or ''
    show: str = ''  # a file of the copy to print after the step
    posargs: tuple = ()  # passed to the session


@dataclasses.dataclass
class Chain:
    """Steps run one after the other on one copy, with ``constraints`` pinning ansible-core; ``row``: its place in
    the table."""

    name: str
    row: int
    constraints: str
    steps: list


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


def importer_check(lines: list[str]) -> str:
    """galaxy-importer exits 0 on some failures: its log must be clean and it must have loaded every module."""
    problems = [line.strip() for line in lines if re.match(r'\s*(WARNING|ERROR|CRITICAL)\b', line)]
    if problems:
        return 'galaxy-importer reported: ' + ' | '.join(problems[:10])
    if not any('Importer processing completed successfully' in line for line in lines) or not IMPORTER_RESULT.exists():
        return 'galaxy-importer did not report success'
    data = json.loads(IMPORTER_RESULT.read_text(encoding='utf-8'))
    found = {item.get('name') for item in data.get('contents', []) if item.get('content_type') == 'module'}
    missing = sorted({path.stem for path in (ROOT / 'plugins' / 'modules').glob('*.py')} - found)
    return f'galaxy-importer did not load these modules: {", ".join(missing)}' if missing else ''


MAIN_STEPS = [
    Step('nox lint: ruff check, yamllint', 'lint', 'nox lint'),
    Step('nox docs-check: antsibull-docs lint', 'docs-check', 'nox docs lint'),
    Step('nox license-check: reuse lint', 'license-check', 'nox license lint'),
    Step('nox extra-checks (action groups, files)', 'extra-checks', 'nox extra'),
    Step('nox ansible-lint --profile production', 'ansible-lint', 'nox lint'),
    Step('nox build-import-check (galaxy-importer)', 'build-import-check', 'nox build importer', check=importer_check),
    Step('nox molecule test (conference_maintenance)', 'molecule', 'nox molecule'),
    Step('sanity (core 2.19, every Python found)', 'ansible-test-sanity', 'sanity changelog', 'junit'),
    Step('units (core 2.19, py3.11, coverage)', 'ansible-test-units', 'units coverage', 'junit'),
    Step('integration (core 2.19, py3.11)', 'ansible-test-integration', 'integration', 'targets'),
    Step('docsite HTML (antsibull-docs, sphinx -W)', 'docs-build', 'docs'),
    Step('pytest tools/tests (checker tests)', 'tools-tests', 'checkers', 'junit'),
]
SUITES_STEPS = [
    Step(
        'reliability suite (tests/reliability, pytest)',
        'reliability',
        'reliability suite',
        'junit',
        show='tests/output/reliability-figures.md',
    ),
    Step('emulator suite (tests/emulator/tests, pytest)', 'emulator', 'emulator suite', 'junit'),
    Step('system: ci_teardown, 20 accounts, 1 bad', 'system-playbook', 'system accounts', 'junit'),
    Step('system: ansible-rulebook and the EDA guide', 'system-rulebook', 'system rulebook guide', 'junit'),
]
# The build contexts stay in WORK, so that the engine's layer cache serves an unchanged tree.
IMAGES_STEPS = [
    Step('images: EE and DE built and run', 'images', 'images ee', posargs=('--work', str(WORK / 'images')))
]


LEG_COUNTS = (('units', 'junit'), ('integration', 'targets'))


def leg_steps(leg: str, core: str, python: str) -> list[Step]:
    """Units and integration on one end of requires_ansible."""
    return [
        Step(f'{what} (core {leg} {core} on py{python})', f'ansible-test-{what}-{core}', f'{leg} matrix', count)
        for what, count in LEG_COUNTS
    ]


# Started in this order, two at a time, longest first so that both lanes end close together: main (about 10 min),
# the images (about 6 min cold, 1 to 3 warm), newest, floor, the suites; ``row``: their place in the table.
CHAINS = (
    Chain('main', 0, 'requirements-dev.txt', MAIN_STEPS),
    Chain('images', 4, 'requirements-dev.txt', IMAGES_STEPS),
    Chain('newest', 3, 'tools/legs/newest.txt', leg_steps('newest', '2.21', '3.12')),
    Chain('floor', 2, 'tools/legs/floor.txt', leg_steps('floor', '2.16', '3.11')),
    Chain('suites', 1, 'requirements-dev.txt', SUITES_STEPS),
)


def source_files() -> list[str]:
    """The files that make up the collection: tracked plus untracked-but-not-ignored."""
    if (ROOT / '.git').exists():
        out = subprocess.run(
            ['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
        return sorted({name for name in out.decode().split('\0') if name and (ROOT / name).is_file()})
    skip = ('.venv', '.nox', '.git', 'tests/output', 'collections', 'build', 'dist', '.ansible')
    return sorted(
        str(path.relative_to(ROOT))
        for path in ROOT.rglob('*')
        if path.is_file() and not str(path.relative_to(ROOT)).startswith(skip)
    )


def copy_of(chain: str) -> pathlib.Path:
    """A chain's copy of the collection, laid out as ansible-test insists (a symlink is not enough)."""
    return WORK / 'copies' / chain / 'ansible_collections' / 'vobiz' / 'voice'


def sync_collection(coll: pathlib.Path) -> None:
    """Copy the collection to ``coll``, and make it a git work tree so that every tool skips what git ignores there."""
    if coll.exists():
        shutil.rmtree(coll)
    for name in source_files():
        target = coll / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target, follow_symlinks=False)
    subprocess.run(['git', 'init', '-q', str(coll)], check=True)


def clear_session_scratch(envs: pathlib.Path) -> None:
    """Remove each nox session's scratch directory (``<envdir>/<session>/tmp``) left by an earlier run.

    antsibull-nox's formatters session links ``tmp/collection-root/ansible_collections/vobiz/voice`` to the directory
    nox ran from and keeps an existing link: one left by a gate that ran nox from another place makes ruff check that
    old tree instead of this one.
    """
    for scratch in envs.glob('*/tmp'):
        if scratch.is_dir() and not scratch.is_symlink():
            shutil.rmtree(scratch)


def nox_env(constraints: str) -> dict[str, str]:
    """Environment for nox: the real interpreters first, plain output, ansible-core pinned by ``constraints``."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ('ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_PYTHON_INTERPRETER', 'PYENV_VERSION')
    }
    env['PATH'] = os.pathsep.join([str(ROOT / '.venv' / 'bin'), env.get('PATH', '')])
    pins = str(ROOT / constraints)
    # CI mode: plain output, and antsibull-nox's formatters check instead of rewriting (the copy would hide it).
    env.update(CI='true', NO_COLOR='1', ANSIBLE_NOCOLOR='1', PY_COLORS='0', UV_CONSTRAINT=pins, PIP_CONSTRAINT=pins)
    # ruff's formatter check would leave .ruff_cache/ in the copy.
    env['RUFF_NO_CACHE'] = 'true'
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


def count_cases(result: Result, count: str, lines: list[str], junit_dir: pathlib.Path) -> None:
    """Test cases by ``count``: the JUnit files of tests/output/junit, the integration targets run, or the step
    itself."""
    if count == 'junit':
        result.passed, result.failed, result.skipped = junit_counts(junit_dir)
    elif count == 'targets':
        result.passed = len([line for line in lines if INTEGRATION_TARGET.match(line)]) - (result.status == 'FAILED')
    else:
        result.passed = int(result.status == 'PASSED')
    if result.status == 'FAILED':
        result.passed, result.failed = max(result.passed, 0), max(result.failed, 1)


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

    def wanted(self, step: Step) -> bool:
        """True when the step was selected by one of its words or its session's name (all by default)."""
        return not self.step_filter or any(
            word in step.words.split() or word == step.session for word in self.step_filter
        )

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

    def run(
        self, name: str, cmd: list[str], *, env: dict[str, str], cwd: pathlib.Path, count: str = 'one', check=None
    ) -> Result:
        """Run one step; count its test cases by ``count`` ('one', 'junit' or 'targets').

        No limit on its time: it is ended only when silent (no output, no CPU) for ``self.silent_limit`` seconds.
        """
        order = self.next_order()
        if self.stopping:
            return self._record(
                Result(name, 'FAILED', note='not run: the gate was interrupted', order=order), time.monotonic(), []
            )
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
                    cmd,
                    cwd=cwd,
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            except OSError as exc:
                return self._record(
                    Result(name, 'FAILED', note=f'cannot start: {exc}', order=order), started, [str(exc)]
                )
            with self.lock:
                self.running[proc.pid] = proc
            watch = silence_watch.SilenceWatch(
                proc.pid, self.silent_limit, lambda: silence_watch.end_step(proc.pid), **self.watch_options
            )
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
        skipped = [match.group(1) for match in map(NOX_SKIPPED.match, lines) if match]
        if silent:
            result.note = silent
        elif self.stopping:
            result.note = 'interrupted'
        elif returncode != 0:
            result.note = f'exit {returncode}'
        elif skipped:
            result.status, result.note = 'SKIPPED', skipped[-1]
            self.say(f'SKIPPED {name}: {result.note}')
        if check and result.status == 'PASSED':
            problem = check(lines)
            if problem:
                result.status, result.note = 'FAILED', problem
                lines.append(problem)
        if result.status != 'SKIPPED':
            count_cases(result, count, lines, junit_dir)
        return self._record(result, started, lines)

    def _record(self, result: Result, started: float, lines: list[str]) -> Result:
        result.seconds = time.monotonic() - started
        block = [
            '    ' + line.strip() for line in lines if PYTEST_SUMMARY.match(line.strip()) or line.startswith('TOTAL ')
        ]
        if result.status == 'FAILED':
            block.append(f'FAILED {result.name} ({result.note}); last lines of its output:')
            block.extend('    | ' + line for line in lines[-TAIL_LINES:])
        elif result.status == 'PASSED':
            block.append(f'    ok in {result.seconds:.0f}s (CPU {result.cpu:.0f}s): {result.name}')
        self.say(*block)
        with self.lock:
            self.results.append(result)
        return result

    def run_chains(self, chains: list, jobs: int) -> None:
        """Start the chains in the order given, ``jobs`` at once.

        A chain is (its place in the table, a function calling ``run`` in order).
        """

        def start(index: int, chain) -> None:
            self.chain.index, self.chain.steps = index, 0
            try:
                chain()
            except (Exception, SystemExit) as exc:  # pylint: disable=broad-exception-caught
                # A chain that cannot go on (a copy that cannot be made, ...) is a failed step of its own;
                # the other chains' results and the closing table are kept.
                name = getattr(chain, '__name__', 'chain').replace('_', ' ')
                self._record(
                    Result(
                        f'{name}: stopped',
                        'FAILED',
                        failed=1,
                        note=str(exc) or type(exc).__name__,
                        order=self.next_order(),
                    ),
                    time.monotonic(),
                    [repr(exc)],
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
        """Ctrl-C: start no further step and end the running ones (each runs in its own session, out of the
        terminal's reach)."""
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


def main() -> int:
    """Run the gate."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        'steps',
        nargs='*',
        help='run only the steps with one of these words (or nox session names); see CONTRIBUTING.md',
    )
    parser.add_argument(
        '--jobs',
        type=int,
        default=int(os.environ.get('VOBIZ_GATE_JOBS') or DEFAULT_JOBS),
        help=f'chains of steps run at once (default {DEFAULT_JOBS}, or VOBIZ_GATE_JOBS)',
    )
    args = parser.parse_args()

    gate_started = time.monotonic()
    for directory in (WORK, LOGS, NOX_ENVS):
        directory.mkdir(parents=True, exist_ok=True)
    gate = Gate(args.steps)
    print(
        'No step has a time limit: one is ended only when silent (no output, no CPU) for '
        f'{silence_watch.describe(gate.silent_limit)}'
        f' ({silence_watch.SILENT_MINUTES_ENV})',
        flush=True,
    )
    nox = ROOT / '.venv-nox' / 'bin' / 'nox'
    if not nox.exists():
        raise SystemExit(f'{nox} is missing: run make venv first')
    digest = hashlib.sha256(b''.join((ROOT / name).read_bytes() for name in NOX_INPUTS)).hexdigest()
    clear_session_scratch(NOX_ENVS)

    def chain_runner(chain: Chain):
        def run_chain() -> None:
            steps = [step for step in chain.steps if gate.wanted(step)]
            if not steps:
                return
            coll = copy_of(chain.name)
            sync_collection(coll)
            for step in steps:
                stamp = NOX_ENVS / f'{step.session}.inputs.sha256'
                current = stamp.exists() and stamp.read_text(encoding='utf-8').strip() == digest
                # -R reuses a venv without installing; -r reuses it and lets the installer bring it to the current pins.
                cmd = [
                    str(nox),
                    '-R' if current else '-r',
                    '--default-venv-backend',
                    'uv',
                    '--envdir',
                    str(NOX_ENVS),
                    '--no-error-on-missing-interpreters',
                ]
                cmd += ['-s', step.session, *(['--', *step.posargs] if step.posargs else [])]
                result = gate.run(
                    step.name, cmd, env=nox_env(chain.constraints), cwd=coll, count=step.count, check=step.check
                )
                if result.status == 'PASSED':
                    stamp.write_text(digest + '\n', encoding='utf-8')
                elif stamp.exists():
                    stamp.unlink()
                if step.show and (coll / step.show).exists():
                    gate.say(f'    {step.show}:\n' + (coll / step.show).read_text(encoding='utf-8'))

        run_chain.__name__ = f'{chain.name} chain'
        return run_chain

    try:
        gate.run_chains([(chain.row, chain_runner(chain)) for chain in CHAINS], args.jobs)
    except KeyboardInterrupt:
        print('\ninterrupted: the running steps were ended', flush=True)
        gate.report()
        return 130
    print(
        f'\nwall time {(time.monotonic() - gate_started) / 60:.1f} min with up to {args.jobs} chains at once',
        flush=True,
    )
    return gate.report()


if __name__ == '__main__':
    sys.exit(main())
