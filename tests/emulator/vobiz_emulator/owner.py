"""The emulator's owner: the process whose life is the test's (``--owner-pid``); the emulator stops when it has ended.

A clock cannot tell when a test is over (a slow target on a loaded machine can leave its emulator idle for minutes); the
owner's end can. A process is known by its pid and its start time, so that a new process reusing the pid is not taken
for the owner.

Run as a script, it prints the pid of the nearest ancestor process named NAME, the outermost of a run of such ancestors:

    python tests/emulator/vobiz_emulator/owner.py ansible-playbook

An integration target calls it through the ``pipe`` lookup, which runs in an ansible-playbook worker (a fork of the
ansible-playbook process that runs the target): the worker and its parent are both named ansible-playbook, and the
parent is the owner. A task started with ``async`` cannot find it itself: the async wrapper has left the process tree.
"""

from __future__ import annotations

import os
import sys

PROC = '/proc'


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state first), or None when the process does not exist."""
    try:
        with open('%s/%d/stat' % (PROC, pid), encoding='ascii', errors='replace') as handle:
            data = handle.read()
    except FileNotFoundError:
        return None
    return data[data.rfind(')') + 2 :].split()


def identify(pid: int) -> tuple[int, str | None]:
    """(pid, start time) of a running process; the start time is None where there is no /proc.

    Raises ProcessLookupError when no such process runs.
    """
    if not os.path.isdir(PROC):
        try:
            os.kill(pid, 0)  # raises ProcessLookupError when there is no such process
        except PermissionError:  # it runs, as someone else's
            pass
        return pid, None
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ('Z', 'X'):
        raise ProcessLookupError('no process %d' % pid)
    return pid, fields[19]


def is_running(identity: tuple[int, str | None]) -> bool:
    """True while the process ``identify`` returned still runs (not ended, not a zombie, its pid not reused)."""
    pid, started = identity
    if started is None:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    fields = _stat_fields(pid)
    return fields is not None and fields[0] not in ('Z', 'X') and fields[19] == started


def _name(pid: int) -> str:
    """The program a process runs: the base name of its script (``python .../ansible-playbook ...``) or executable."""
    try:
        with open('%s/%d/cmdline' % (PROC, pid), 'rb') as handle:
            argv = [arg.decode('utf-8', 'replace') for arg in handle.read().split(b'\0') if arg]
    except OSError:
        return ''
    if not argv:
        return ''
    program = os.path.basename(argv[0])
    if program.startswith('python') and len(argv) > 1:
        program = argv[2] if argv[1] == '-m' and len(argv) > 2 else os.path.basename(argv[1])
    return program


def _parent(pid: int) -> int:
    fields = _stat_fields(pid)
    return int(fields[1]) if fields is not None else 0


def ancestor_pid(name: str, start: int | None = None) -> int:
    """The outermost process of the nearest run of ancestors of ``start`` (default: this process) named ``name``.

    Raises LookupError when there is none.
    """
    pid = _parent(start if start is not None else os.getpid())
    while pid > 1 and _name(pid) != name:
        pid = _parent(pid)
    if pid <= 1:
        raise LookupError('no ancestor process named %s' % name)
    while _parent(pid) > 1 and _name(_parent(pid)) == name:
        pid = _parent(pid)
    return pid


def main(argv: list[str]) -> int:
    """``owner.py NAME``: print the pid of the ancestor named NAME (see ancestor_pid)."""
    if len(argv) != 1:
        sys.stderr.write('usage: owner.py NAME\n')
        return 2
    try:
        print(ancestor_pid(argv[0]))
    except LookupError as exc:
        sys.stderr.write('owner.py: %s\n' % exc)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
