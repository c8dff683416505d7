"""The one launcher of the emulator as a separate process, for the tools (demo, bench, checks) and tests.

    with start_emulator_process(['--auth-id', 'MA_X', '--auth-token', token], workdir=tmp) as emu:
        emu.url, emu.api_url, emu.control('GET', '/state')

It runs the command line (cli.py) on a free port, waits for the port file, and stops the process for sure: stop(), or
by itself as soon as the process that started it has ended (``--owner-pid``), even when that process was killed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

from .config import API_PREFIX, CONTROL_PREFIX, HANG_GUARD_SECONDS, HOST, SAFETY_NET_IDLE_SECONDS

#: The package directory: ``python PACKAGE_DIR ARGS`` runs the emulator's command line.
PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


class EmulatorStartError(RuntimeError):
    """The emulator process exited at start or wrote no port file in time."""


class EmulatorProcess:
    """A running emulator process: its URLs, its control endpoints, and stop()."""

    def __init__(self, process: subprocess.Popen, port: int, tls: bool, rundir: str, output: str, owns_rundir: bool):
        self.process = process
        self.port = port
        self.url = '%s://%s:%d' % ('https' if tls else 'http', HOST, port)
        self.rundir = rundir
        self.output = output
        self._owns_rundir = owns_rundir

    @property
    def api_url(self) -> str:
        """What the modules' api_url option (VOBIZ_API_URL) takes."""
        return self.url + API_PREFIX

    def control(self, method: str, path: str, body=None):
        """Call a control endpoint (``path`` after ``/_emulator``, e.g. ``/state``); the parsed JSON answer or None."""
        data = json.dumps(body).encode('utf-8') if body is not None else None
        request = urllib.request.Request(
            self.url + CONTROL_PREFIX + path, data=data, method=method, headers={'Content-Type': 'application/json'}
        )
        with urllib.request.urlopen(request, timeout=HANG_GUARD_SECONDS) as response:  # noqa: S310 - loopback only
            raw = response.read()
        return json.loads(raw) if raw else None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (the emulator stops cleanly on it), then kill when it does not exit in ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._owns_rundir:
            shutil.rmtree(self.rundir, ignore_errors=True)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()


def _tail(path: str, size: int = 2000) -> str:
    try:
        with open(path, 'rb') as handle:
            handle.seek(max(0, os.path.getsize(path) - size))
            return handle.read().decode('utf-8', 'replace').strip()
    except OSError:
        return ''


def start_emulator_process(
    args=(), workdir=None, python: str | None = None, timeout: float = HANG_GUARD_SECONDS
) -> EmulatorProcess:
    """Start the emulator's command line with ``args`` (all but --port/--port-file) on a free port.

    Its owner is this process (``--owner-pid``): it stops when this process ends, however it ends. Its idle timeout is
    only a safety net, longer than any run (``args`` may set another).

    ``workdir``: where its run directory (port file, ``emulator.out`` with stdout and stderr) is made; None: a
    temporary directory, removed by stop(). Raises EmulatorStartError when it exits at start or writes no port in time.
    """
    owns_rundir = workdir is None
    rundir = tempfile.mkdtemp(prefix='vobiz-emulator-', dir=None if workdir is None else str(workdir))
    port_file = os.path.join(rundir, 'port')
    output = os.path.join(rundir, 'emulator.out')
    command = [
        python or sys.executable,
        PACKAGE_DIR,
        '--port',
        '0',
        '--port-file',
        port_file,
        '--owner-pid',
        str(os.getpid()),
    ]
    command += ['--idle-timeout', str(SAFETY_NET_IDLE_SECONDS)] + [str(arg) for arg in args]
    with open(output, 'wb') as out:
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)  # pylint: disable=consider-using-with
    try:
        port = _wait_for_port(process, port_file, output, timeout)
    except EmulatorStartError:
        EmulatorProcess(process, 0, False, rundir, output, owns_rundir).stop()
        raise
    return EmulatorProcess(process, port, '--tls' in args, rundir, output, owns_rundir)


def _wait_for_port(process: subprocess.Popen, port_file: str, output: str, timeout: float) -> int:
    """Poll for the port file (the emulator writes it atomically once it listens) until it exits or ``timeout``
    passes."""
    deadline = time.monotonic() + timeout
    while True:
        if os.path.exists(port_file):
            with open(port_file, encoding='ascii') as handle:
                text = handle.read().strip()
            if text:
                return int(text)
        if process.poll() is not None:
            raise EmulatorStartError(
                'the emulator exited at start (status %s): %s' % (process.returncode, _tail(output))
            )
        if time.monotonic() > deadline:
            raise EmulatorStartError('the emulator wrote no port file within %g s: %s' % (timeout, _tail(output)))
        time.sleep(0.05)
