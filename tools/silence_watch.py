"""The gate's only limit on a step: silence. A step is ended when it has printed nothing and its processes have used
no CPU for many minutes; a step that is slow but busy, or slow but talking, runs as long as it needs.

A loaded machine makes every step slower, so a limit on total wall time fails healthy steps; a hung step is recognised
instead by doing nothing at all. "Its processes" are read from /proc: the step's process group and session, and every
descendant of its first process, also those that left the group (ansible-core 2.19+ puts each worker in a session of
its own). Where /proc does not exist, CPU cannot be read and a step counts as busy: it is never ended for silence.
"""

from __future__ import annotations

import os
import signal
import threading
import time

#: Minutes of silence (no output, no CPU) after which a step is ended; VOBIZ_GATE_SILENT_MINUTES overrides it.
DEFAULT_SILENT_MINUTES = 10.0
SILENT_MINUTES_ENV = 'VOBIZ_GATE_SILENT_MINUTES'
#: A sample in which the step's processes used less than this share of one core counts as no CPU. An ansible-playbook
#: waiting on a hung module polls its workers and uses about 3 % of a core; a CPU-bound process on a machine with a load
#: of 10 on 2 cores still gets about 20 %. A working ansible-test integration step at a load of 7 used 4 to 26 % per
#: sample (measured): it is kept by its output as much as by its CPU, and one sample above the share in the whole
#: window is enough.
IDLE_CPU_SHARE = 0.10
#: How often the processes' CPU times are read.
SAMPLE_SECONDS = 5.0
#: After SIGTERM, how long the processes get to end before SIGKILL.
TERM_GRACE_SECONDS = 10.0
PROC = '/proc'
CLOCK_TICKS = os.sysconf('SC_CLK_TCK') if hasattr(os, 'sysconf') else 100


def silent_limit() -> float:
    """The silence limit in seconds: VOBIZ_GATE_SILENT_MINUTES (minutes, may be fractional) or the default."""
    text = os.environ.get(SILENT_MINUTES_ENV, '').strip()
    try:
        minutes = float(text) if text else DEFAULT_SILENT_MINUTES
    except ValueError:
        raise SystemExit(f'{SILENT_MINUTES_ENV}={text!r}: give a number of minutes') from None
    if minutes <= 0:
        raise SystemExit(f'{SILENT_MINUTES_ENV}={text!r}: give a number of minutes above 0')
    return minutes * 60


def describe(seconds: float) -> str:
    """``10 min`` or ``1.5 s``: how long a step was silent, for the step table."""
    return f'{seconds / 60:g} min' if seconds >= 60 else f'{seconds:g} s'


def _stat(pid: str) -> tuple[int, int, int, int, int] | None:
    """(ppid, process group, session, CPU ticks, start time) of one process, or None when it is gone or a zombie."""
    try:
        with open(f'{PROC}/{pid}/stat', encoding='ascii', errors='replace') as handle:
            data = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    fields = data[data.rfind(')') + 2 :].split()
    if len(fields) < 20 or fields[0] in ('Z', 'X'):
        return None
    return int(fields[1]), int(fields[2]), int(fields[3]), int(fields[11]) + int(fields[12]), int(fields[19])


def step_processes(root: int) -> dict[tuple[int, int], int] | None:
    """CPU ticks of the step's processes, keyed by (pid, start time); None where /proc cannot be read."""
    try:
        names = [name for name in os.listdir(PROC) if name.isdigit()]
    except OSError:
        return None
    table = {}
    for name in names:
        stat = _stat(name)
        if stat is not None:
            table[int(name)] = stat
    children: dict[int, list[int]] = {}
    for pid, (ppid, _group, _session, _ticks, _start) in table.items():
        children.setdefault(ppid, []).append(pid)
    # The group and session (processes whose parent has ended are still found there), and every descendant of the root.
    members = {pid for pid, (_ppid, group, session, _ticks, _start) in table.items() if root in (group, session)}
    pending, seen = [root, *members], set()
    while pending:
        pid = pending.pop()
        if pid in seen:
            continue
        seen.add(pid)
        if pid in table:
            members.add(pid)
        pending.extend(children.get(pid, ()))
    return {(pid, table[pid][4]): table[pid][3] for pid in members if pid in table}


class SilenceWatch(threading.Thread):
    """Watch one step (a process that leads its own session); call ``on_silent`` once it has been silent for
    ``limit`` s.

    The step's reader calls ``heard()`` on every piece of output. ``idle_share`` is the share of one core below which a
    sample counts as no CPU (tests pass 0: any CPU at all is activity).
    """

    def __init__(
        self, root: int, limit: float, on_silent, sample: float | None = None, idle_share: float = IDLE_CPU_SHARE
    ):
        super().__init__(name=f'silence-watch-{root}', daemon=True)
        self.root = root
        self.limit = limit
        self.sample = sample if sample is not None else min(SAMPLE_SECONDS, limit / 10)
        self.idle_share = idle_share
        self.on_silent = on_silent
        self.fired = False
        self._last_heard = self._last_busy = time.monotonic()
        self._done = threading.Event()

    def heard(self) -> None:
        """The step printed something."""
        self._last_heard = time.monotonic()

    def stop(self) -> None:
        """The step has ended: stop watching."""
        self._done.set()

    def run(self) -> None:
        before = step_processes(self.root)
        sampled = time.monotonic()
        while not self._done.wait(self.sample):
            now = time.monotonic()
            current = step_processes(self.root)
            if current is None or before is None:
                self._last_busy = now  # CPU cannot be read here: count the step as busy
            else:
                used = sum(ticks - before.get(key, 0) for key, ticks in current.items())
                if used > 0 and used >= self.idle_share * (now - sampled) * CLOCK_TICKS:
                    self._last_busy = now
            before, sampled = current, now
            if now - max(self._last_heard, self._last_busy) >= self.limit:
                self.fired = True
                self.on_silent()
                return


def end_step(root: int, grace: float = TERM_GRACE_SECONDS) -> None:
    """SIGTERM the step's processes (its group and every descendant), then SIGKILL those still there after ``grace``."""
    found = step_processes(root) or {}
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(root, sig)
        except OSError:
            pass
        for pid, start in found:
            stat = _stat(str(pid))
            if stat is not None and stat[4] == start:  # the same process, not a new one with a reused pid
                try:
                    os.kill(pid, sig)
                except OSError:
                    pass
        if sig == signal.SIGTERM:
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and any(_stat(str(pid)) is not None for pid, _start in found):
                time.sleep(0.2)
