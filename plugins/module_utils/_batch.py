# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Batches: many requests on a few threads, stopped at once by a fatal error or a signal.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

``RunControl`` is the one stop switch of a client's run (fatal error, interrupt); ``run_in_threads``
runs one function over many items (the client's ``run_concurrently``); ``InterruptGuard`` turns
SIGINT and SIGTERM into an interrupt of that run instead of killing the module mid-write.
"""

import os
import queue
import signal
import threading
import time

from ansible_collections.vobiz.voice.plugins.module_utils._errors import (
    VobizBatchAborted,
    VobizFatalError,
    VobizInterrupted,
    VobizItemError,
)

# How often a batch still probing with its first item looks for an answer (seconds).
PROBE_POLL_SECONDS = 0.02
# How often a running batch looks for an interrupt while it waits for answers (seconds).
BATCH_POLL_SECONDS = 0.05
#: After an interrupt, how long a batch still waits for the answers of the requests already in flight (seconds).
INTERRUPT_GRACE_SECONDS = 1.0
#: The signals that interrupt a run (see ``InterruptGuard``).
INTERRUPT_SIGNALS = ('SIGINT', 'SIGTERM')


class RunControl:
    """Whether a client's run may go on: the first fatal error or signal stops it. Thread-safe.

    Shared by the client's requests (none starts once stopped; backoff waits end at once) and its
    batches (no further item starts).
    """

    def __init__(self):
        self._lock = threading.Lock()
        #: Set once a fatal error (401/403, certificate, unknown route, interrupt) stopped the run.
        self.stopped = threading.Event()
        #: Set by the first answer that is not 401/403: the credentials work, batches may fan out.
        self.answered = threading.Event()
        #: The first fatal error.
        self.fatal_error = None
        #: Set by ``interrupt`` (from ``InterruptGuard``'s watcher thread) when SIGINT or SIGTERM arrives.
        self.interrupted = None
        self.interrupt_count = 0

    def stop(self, error):
        """Stop the run, keeping the first fatal error; returns ``error`` (for ``raise``)."""
        with self._lock:
            if self.fatal_error is None:
                self.fatal_error = error
            self.stopped.set()
        return error

    def interrupt(self, signal_name):
        """Stop the run because of a signal (see ``ApiClient.interrupt``)."""
        with self._lock:
            self.interrupt_count += 1
            if self.interrupted is None:
                self.interrupted = VobizInterrupted(
                    'Interrupted by {0}: no request was started after it.'.format(signal_name), signal_name
                )
            error = self.interrupted
        self.stop(error)


def run_in_threads(control, func, items, parallel, redact, on_result=None, on_error=None):
    """Run ``func(item)`` for every item on ``parallel`` threads (the client's ``run_concurrently``).

    ``control`` is the client's ``RunControl``; ``redact`` its ``Redactor.redact``.

    Returns the results in input order. ``on_result(item, result)`` is called in the calling
    thread as each result arrives (for audit logs), and only there: audit lines are never
    written by two threads or cut by a signal.

    One item never stops the batch: when ``func`` raises anything but a fatal error, the item's
    result is ``on_error(item, VobizItemError)`` (by default the ``VobizItemError`` itself), with a
    message naming what went wrong (``cannot be sent: the name is not valid Unicode``, or the
    exception type and its redacted text), and the batch goes on.

    When a fatal error (401/403, a 404 from outside the API, certificate, or a ``VobizFatalError`` raised by
    ``on_result``) happens, no further item is started, in-flight ones finish, and the ``VobizFatalError`` is
    raised with ``.results`` holding every finished item's result (``None`` = not run). The item whose request got
    the fatal answer was sent: its result is ``on_error(item, VobizItemError)`` with the answer's ``status`` and
    ``ambiguous`` (an earlier attempt may have been carried out unheard), delivered to ``on_result`` like any other.

    When the run is interrupted (``RunControl.interrupt``, see ``InterruptGuard``), no further item is
    started, and every item in flight gets at once the result ``on_error(item, VobizItemError(...,
    interrupted=True))`` (an unknown outcome, delivered to ``on_result`` like any other). Answers
    that still arrive within ``INTERRUPT_GRACE_SECONDS`` replace it (and are delivered too); then
    ``VobizInterrupted`` is raised with ``.results`` and ``.unanswered`` (the indices still unknown).
    The threads are daemon threads: a request still in flight then does not keep the process alive.
    """
    items = list(items)
    results = [None] * len(items)
    if control.stopped.is_set():
        if control.fatal_error is None:
            raise VobizBatchAborted('Not started: the batch was stopped by an earlier error.')
        control.fatal_error.results = results
        raise control.fatal_error
    if not items:
        return results
    if on_error is None:
        on_error = _item_error_as_result
    callback_ok = on_result is not None
    workers = min(parallel, len(items))
    pool = _BatchPool(func, workers)
    in_flight = set()
    unknown = set()
    next_index = 0
    answered = False
    grace_ends = None
    try:
        while True:
            if control.interrupted is not None and grace_ends is None:
                grace_ends = time.monotonic() + INTERRUPT_GRACE_SECONDS
                # Record every request in flight as unknown at once; a later answer replaces it.
                for index in sorted(in_flight):
                    unknown.add(index)
                    results[index] = on_error(
                        items[index],
                        VobizItemError(
                            'in flight when the run was interrupted by {0}; '
                            'no answer came, so whether it was done is unknown'.format(control.interrupted.signal_name),
                            interrupted=True,
                        ),
                    )
                    callback_ok = _deliver(
                        control, redact, on_result if callback_ok else None, items[index], results[index]
                    )
            # Hand out work only as threads free up, so that nothing new starts once the
            # batch is stopped (a pre-filled queue would start the next item at once).
            # The first item goes alone until the server has answered anything but 401/403:
            # wrong credentials then cost one request, not ``parallel`` of them.
            answered = answered or control.answered.is_set()
            limit = workers if answered else 1
            while not control.stopped.is_set() and next_index < len(items) and len(in_flight) < limit:
                pool.submit(next_index, items[next_index])
                in_flight.add(next_index)
                next_index += 1
            if not in_flight:
                break
            if grace_ends is not None and (time.monotonic() >= grace_ends or control.interrupt_count > 1):
                break  # the grace is over (or a second signal asked to stop now)
            # While probing, look again shortly: an answer may come before the item finishes (it may be retrying).
            try:
                index, ok, value = pool.answers.get(timeout=PROBE_POLL_SECONDS if not answered else BATCH_POLL_SECONDS)
            except queue.Empty:
                continue
            answered = True
            in_flight.discard(index)
            if not ok:
                if isinstance(value, VobizBatchAborted) or (isinstance(value, VobizFatalError) and not value.attempts):
                    control.stopped.set()
                    continue  # not sent: the result stays None (or unknown, if recorded so)
                if isinstance(value, VobizFatalError):
                    # The item whose request got the fatal answer was sent: it failed (uncertain when an earlier attempt
                    # of it may have been carried out unheard), and is recorded like any other result.
                    control.stop(value)
                    value = on_error(
                        items[index], VobizItemError(value.message, status=value.status, ambiguous=value.ambiguous)
                    )
                else:
                    value = on_error(items[index], _item_error(redact, items[index], value))
            unknown.discard(index)
            results[index] = value
            callback_ok = _deliver(control, redact, on_result if callback_ok else None, items[index], value)
    finally:
        pool.close()
    if control.interrupted is not None:
        control.interrupted.results = results
        control.interrupted.unanswered = sorted(unknown | in_flight)
        raise control.interrupted
    if control.fatal_error is not None:
        control.fatal_error.results = results
        raise control.fatal_error
    return results


def _deliver(control, redact, on_result, item, result):
    """Call ``on_result``; False once it failed (the batch is then stopped with a fatal error)."""
    if on_result is None:
        return False
    try:
        on_result(item, result)
    except VobizFatalError as exc:
        # e.g. the audit log cannot be written: stop, keep the results.
        control.stop(exc)
        return False
    except Exception as exc:  # pylint: disable=broad-except
        control.stop(
            VobizFatalError(
                redact(
                    'Recording the outcome for {0!r} failed ({1}: {2}); '
                    'stopped so that nothing goes unrecorded.'.format(item, type(exc).__name__, exc)
                )
            )
        )
        return False
    return True


def _item_error(redact, item, exc):
    """The ``VobizItemError`` for an unexpected exception raised by a worker for ``item``."""
    if isinstance(exc, UnicodeError):
        reason = 'cannot be sent: the name is not valid Unicode'
    else:
        reason = 'unexpected error: {0}: {1}'.format(type(exc).__name__, redact(exc))
    return VobizItemError(reason, cause=exc)


def _item_error_as_result(item, error):  # pylint: disable=unused-argument
    return error


class _BatchPool:
    """``size`` daemon threads that run ``func(item)``; each answer comes back on ``answers``.

    ``answers`` receives ``(index, True, result)`` or ``(index, False, exception)``. Daemon threads,
    unlike ``concurrent.futures``' workers, do not hold the process at exit: after an interrupt the
    module exits while a request may still be in flight (its outcome has been recorded as unknown).
    """

    def __init__(self, func, size):
        self._func = func
        # SimpleQueue (C, one lock) rather than Queue (a Condition and a new waiter lock per wait):
        # every request passes through both queues once (about 5% fewer instructions per request).
        self._tasks = queue.SimpleQueue()
        self.answers = queue.SimpleQueue()
        self._threads = []
        for number in range(size):
            thread = threading.Thread(target=self._work, name='vobiz-batch-{0}'.format(number))
            thread.daemon = True
            thread.start()
            self._threads.append(thread)

    def submit(self, index, item):
        self._tasks.put((index, item))

    def _work(self):
        while True:
            task = self._tasks.get()
            if task is None:
                return
            index, item = task
            try:
                result = self._func(item)
            except BaseException as exc:  # pylint: disable=broad-except
                self.answers.put((index, False, exc))
            else:
                self.answers.put((index, True, result))

    def close(self):
        """Let the threads end once their current item is done (without waiting for them)."""
        for dummy in self._threads:
            self._tasks.put(None)


class InterruptGuard:
    """While active, SIGINT and SIGTERM interrupt the client's work instead of killing the module at once.

    The Python-level handler only counts the signal: it raises nothing and takes no lock, so it
    can never cut an audit line in half or deadlock on a lock the main thread holds (Python runs
    handlers in the main thread, between any two bytecodes). The C-level handler also writes the
    signal number to a pipe (``signal.set_wakeup_fd``); a watcher thread reads it and calls
    ``client.interrupt``, which stops new requests at once. The batch runner then records the
    requests in flight, waits a short grace for their answers, and raises ``VobizInterrupted``;
    the module reports what was done and exits.

    Signals can only be handled in the main thread: elsewhere the guard does nothing.
    """

    def __init__(self, client, signals=INTERRUPT_SIGNALS):
        self.client = client
        self.signal_names = [name for name in signals if hasattr(signal, name)]
        self.received = []
        self._previous = {}
        self._previous_wakeup = None
        self._read_fd = None
        self._write_fd = None
        self._watcher = None

    def __enter__(self):
        if threading.current_thread() is not threading.main_thread():
            return self
        self._read_fd, self._write_fd = os.pipe()
        os.set_blocking(self._write_fd, False)
        try:
            self._previous_wakeup = signal.set_wakeup_fd(self._write_fd, warn_on_full_buffer=False)
        except (TypeError, ValueError):  # pragma: no cover (Python < 3.7 or not the main thread)
            os.close(self._read_fd)
            os.close(self._write_fd)
            self._read_fd = self._write_fd = None
            return self
        for name in self.signal_names:
            signum = getattr(signal, name)
            self._previous[signum] = signal.signal(signum, self._handler)
        self._watcher = threading.Thread(target=self._watch, name='vobiz-interrupt-watcher')
        self._watcher.daemon = True
        self._watcher.start()
        return self

    def _handler(self, signum, frame):  # pylint: disable=unused-argument
        # Runs in the main thread between two bytecodes: no lock, no exception, no I/O here.
        self.received.append(signum)

    def _watch(self):
        while True:
            try:
                data = os.read(self._read_fd, 64)
            except OSError:
                return
            if not data:  # the write end was closed: the guard is done
                return
            for signum in bytearray(data):
                try:
                    name = signal.Signals(signum).name
                except ValueError:
                    name = 'signal {0}'.format(signum)
                if name in self.signal_names:
                    self.client.interrupt(name)

    def __exit__(self, *exc_info):
        if self._write_fd is None:
            return
        for signum, handler in self._previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        signal.set_wakeup_fd(self._previous_wakeup if self._previous_wakeup is not None else -1)
        os.close(self._write_fd)  # wakes the watcher up (end of file)
        self._write_fd = None
        self._watcher.join(1.0)
        os.close(self._read_fd)
        self._read_fd = None
