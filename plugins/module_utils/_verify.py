# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Verified termination: re-read the rooms a run hung up until retrieve says each is gone, or the time is up.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

A 204 to a hang-up acknowledges the request. ``verify_ended`` polls retrieve for each room (what an answer means is
``ended_verdict`` of ``_conference_api.py``) and sorts the rooms into verified and unverified; it never hangs a room
up again. The clock and the wait are injected, so that tests never wait on wall time.
"""

import time

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import ended_verdict

#: The first pause between two reads of the rooms not yet verified, and the longest (it doubles up to it).
FIRST_PAUSE = 1.0
MAX_PAUSE = 10.0


def monotonic():
    """The verification's clock (a function of its own, so that tests can replace it)."""
    return time.monotonic()


def verify_ended(read_all, names, within, wait, clock=None, uuids=None):
    """Read every one of ``names`` until retrieve answers its own 404, or ``within`` seconds have passed.

    ``read_all(names)``: a ``Retrieved`` for each name, in order (concurrently, as the client does). ``wait(seconds)``:
    pause between reads; it returns False when the run was stopped (an interrupt, a fatal answer), and nothing more is
    read. ``clock``: seconds, monotonic (``monotonic`` by default). ``uuids``: the ``conference_uuid`` of the instance
    hung up, by name, where known. Every name is read at least once; the pauses start at ``FIRST_PAUSE`` and double up
    to ``MAX_PAUSE``, the last one ending at the deadline.

    Returns ``(verified, unverified)``: the names verified as ended, and for each other name ``{name, status, message,
    conference_uuid}`` from its last read (``ended_verdict``), both in the order of ``names``.
    """
    clock = clock or monotonic
    uuids = uuids or {}
    deadline = clock() + within
    pending, last, pause, stopped = list(names), {}, FIRST_PAUSE, False
    while pending:
        last.update(zip(pending, read_all(pending)))
        pending = [name for name in pending if not ended_verdict(last[name], uuids.get(name))[0]]
        left = deadline - clock()
        if not pending or left <= 0:
            break
        if not wait(min(pause, left)):
            stopped = True
            break
        pause = min(pause * 2, MAX_PAUSE)
    verified = [name for name in names if name not in pending]
    return verified, [_unverified(last[name], uuids.get(name), stopped) for name in pending]


def _unverified(retrieved, uuid_hung_up, stopped):
    """The ``unverified`` entry of a room whose last read did not say it had ended."""
    dummy, message, reported = ended_verdict(retrieved, uuid_hung_up)
    if stopped:
        message = f'the run was stopped before it was verified; its last read: {message}'
    return dict(name=retrieved.name, status=retrieved.status, message=message, conference_uuid=reported)
