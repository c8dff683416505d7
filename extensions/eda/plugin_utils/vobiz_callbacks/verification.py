# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Verified termination on the source's side: did a room the action hung up really end?

The source cannot see the action's hang-ups; it reads them from the audit log the action appends to (option
``audit_log``): ``AuditTail`` follows that file from its end (rotation and truncation handled, at most ``max_bytes``
read per tick, a line longer than ``MAX_LINE`` skipped), ``hang_up_of`` reads a line of a hang-up from it. After a
hang-up, ``Verifications`` expects the room's ``exit`` callback with ``ConferenceLastMember=true`` within
``verify_within`` seconds: ``verified``, else ``unverified`` again after each further ``verify_within`` while none
arrives, at most ``max_emissions`` times (the last one ``final``). The instance matters: the last exit of another
instance of the same name (another ``ConferenceUUID``) verifies nothing. ``audit_writer`` appends the outcome to the
same audit log, with the collection's own ``AuditLog`` (plugins/module_utils/_audit.py). No I/O but the two files;
the clock is passed in.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import errno
import json
import os
import stat

from .shared import module_util

#: The longest audit line read; a longer one (no hang-up line of the modules is near it) is skipped whole.
MAX_LINE = 65536
#: Bytes read from the audit log per tick at most; the rest waits for the next tick.
MAX_BYTES_PER_TICK = 1 << 20
#: Seconds a last-member exit may come before the hang-up's audit line says so: the module writes the line once the
#: API answered, and Vobiz may send the exits (and the source take them in) before that.
EXIT_BEFORE_LINE = 30.0
#: Last-member exits remembered per room name (several instances of one name can end within a minute).
EXITS_PER_NAME = 4
#: Seconds a room the source gave up on (its final ``unverified``) is remembered: the action's hang-up after that
#: event writes a new hang-up line, which starts no new round of events.
GIVEN_UP_RETENTION = 3600.0


class AuditTail:
    """Follows one file from its end as lines are appended (``tail -F``): ``lines()`` gives the complete lines
    appended since the last call. A rotated file (the path now names another file) is read to its end, then the new
    one from its start; a truncated one from its start again. Never follows a symbolic link, nor reads anything but a
    regular file. What it holds is bounded: at most ``max_bytes`` read per call, one partial line of at most
    ``max_line`` bytes (a longer line is dropped up to its newline and counted in ``skipped``)."""

    def __init__(self, path: str, max_bytes: int = MAX_BYTES_PER_TICK, max_line: int = MAX_LINE):
        self.path = path
        self.max_bytes = max_bytes
        self.max_line = max_line
        self.skipped = 0  # lines too long, dropped
        self._fd: int | None = None
        self._identity = None  # (st_dev, st_ino) of the file open
        self._offset = 0
        self._partial = b''
        self._skipping = False  # inside a line too long, until its newline
        self._open(at_end=True)

    def _open(self, at_end: bool) -> bool:
        flags = os.O_RDONLY | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_NONBLOCK', 0) | getattr(os, 'O_CLOEXEC', 0)
        try:
            fd = os.open(self.path, flags)
        except OSError:
            return False
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            os.close(fd)
            return False
        self._fd, self._identity = fd, (info.st_dev, info.st_ino)
        self._offset = info.st_size if at_end else 0
        self._partial, self._skipping = b'', False
        return True

    def _rotated(self) -> bool:
        """The path names another file than the one open (or the open one is gone and another took its place)."""
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False  # moved away, not yet replaced: keep reading the open one
        return (info.st_dev, info.st_ino) != self._identity

    def lines(self) -> list[str]:
        """The complete lines appended since the last call (text; undecodable bytes replaced)."""
        if self._fd is None and not self._open(at_end=False):  # created after the start: all of it is new
            return []
        budget, found = self.max_bytes, []
        while budget > 0:
            size = os.fstat(self._fd).st_size
            if size < self._offset:  # truncated (copytruncate): what it holds now was written since
                self._offset, self._partial, self._skipping = 0, b'', False
            chunk = os.pread(self._fd, min(budget, max(size - self._offset, 0)), self._offset) if size else b''
            if chunk:
                self._offset += len(chunk)
                budget -= len(chunk)
                found.extend(self._split(chunk))
                continue
            if not self._rotated():
                break
            os.close(self._fd)
            self._fd = None
            if not self._open(at_end=False):
                break
        return found

    def _split(self, chunk: bytes) -> list[str]:
        found = []
        *complete, rest = chunk.split(b'\n')
        for piece in complete:
            if self._skipping:
                self._skipping = False
            elif len(self._partial) + len(piece) > self.max_line:
                self.skipped += 1
                self._partial = b''
            else:
                found.append((self._partial + piece).decode('utf-8', 'replace'))
                self._partial = b''
        if self._skipping:
            return found
        if len(self._partial) + len(rest) > self.max_line:
            self.skipped += 1
            self._partial, self._skipping = b'', True
        else:
            self._partial += rest
        return found

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@dataclasses.dataclass(frozen=True)
class HangUp:
    """One audit line of a hang-up: the room (its name as Vobiz sends it), when, by which run, the instance if known."""

    name: str
    time: float
    run_id: str | None = None
    uuid: str | None = None


def iso_time(seconds: float) -> str:
    """An audit line's form of a time: ISO-8601 UTC with milliseconds and ``Z``."""
    when = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return when.strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (when.microsecond // 1000)


def _epoch(text) -> float | None:
    """Seconds since the epoch of an audit line's ``time`` (``2026-01-31T12:00:00.123Z``), or None."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        when = datetime.datetime.fromisoformat(text.replace('Z', '+00:00'))
    except ValueError:
        return None
    return when.timestamp() if when.tzinfo is not None else None


def _text(value, longest: int = 1024) -> str | None:
    return value if isinstance(value, str) and 0 < len(value) <= longest else None


def hang_up_of(line: str, unescape) -> HangUp | None:
    """The hang-up an audit line records, or None: a real run's (``check_mode`` false) line with ``action`` V(hang_up)
    and ``outcome`` V(hung_up), its own line (no ``verification``, or V(pending) with the module's ``verify``), not a
    line of a verification (the module's, or this source's). ``unescape``: names as the modules escape them -> the
    name itself (``_redaction.unescape_name``)."""
    try:
        entry = json.loads(line)
    except ValueError:
        return None
    if not isinstance(entry, dict) or entry.get('action') != 'hang_up' or entry.get('outcome') != 'hung_up':
        return None
    if entry.get('check_mode') is not False or entry.get('verification') not in (None, 'pending'):
        return None
    name, when = _text(entry.get('name')), _epoch(entry.get('time'))
    if name is None or when is None:
        return None
    try:
        name = unescape(name)
    except ValueError:
        return None
    return HangUp(name, when, _text(entry.get('run_id'), 64), _text(entry.get('conference_uuid'), 256))


@dataclasses.dataclass
class Expected:
    """A hang-up waiting for its room's last ``exit``; ``due``: when the next ``unverified`` is emitted."""

    hang_up: HangUp
    uuid: str | None
    due: float
    emissions: int = 0


@dataclasses.dataclass(frozen=True)
class Outcome:
    """A verification's outcome: ``verified`` or ``unverified`` (the ``emission``-th; ``final``: the last)."""

    kind: str
    name: str
    uuid: str | None
    hang_up: HangUp
    emission: int
    final: bool = False


def _same_instance(expected: str | None, seen: str | None) -> bool:
    """An exit of instance ``seen`` ends the instance ``expected``: the same UUID, or one of them unknown."""
    return expected is None or seen is None or expected == seen


class Verifications:
    """The hang-ups waiting for their room's last ``exit`` (at most ``max_rooms``; beyond, the oldest is dropped and
    counted in ``dropped``), and the recent last exits (for an exit taken in before its hang-up's line was read)."""

    def __init__(self, verify_within: float, max_emissions: int, max_rooms: int = 50000):
        self.verify_within = verify_within
        self.max_emissions = max_emissions
        self.max_rooms = max_rooms
        self.expected: collections.OrderedDict[tuple, Expected] = collections.OrderedDict()
        self.exits: collections.OrderedDict[str, collections.deque] = collections.OrderedDict()  # name -> (uuid, t)
        self.given_up: collections.OrderedDict[tuple, float] = collections.OrderedDict()  # (name, uuid) -> when
        self.dropped = 0

    def hung_up(self, hang_up: HangUp, known_uuid: str | None, known: bool) -> list[Outcome]:
        """Take one hang-up line. ``known``: the registry knows the room (live, or ended lately) - the others'
        callbacks do not come here, nothing could verify them. ``known_uuid``: the live instance's UUID in the
        registry, used when the line names none."""
        uuid = hang_up.uuid or known_uuid
        key = (hang_up.name, uuid)
        if key in self.expected or key in self.given_up:  # the action's hang-up after an ``unverified``
            return []
        for seen, when in self.exits.get(hang_up.name, ()):
            if when >= hang_up.time - EXIT_BEFORE_LINE and _same_instance(uuid, seen):
                return [Outcome('verified', hang_up.name, seen or uuid, hang_up, 0)]
        if not known:
            return []
        self.expected[key] = Expected(hang_up, uuid, hang_up.time + self.verify_within)
        while len(self.expected) > self.max_rooms:
            self.expected.popitem(last=False)
            self.dropped += 1
        return []

    def exited(self, name: str, uuid: str | None, now: float) -> list[Outcome]:
        """A last-member ``exit`` of room ``name`` (instance ``uuid``) came in: the hang-ups of that instance are
        verified."""
        seen = self.exits.pop(name, None) or collections.deque(maxlen=EXITS_PER_NAME)
        seen.append((uuid, now))
        self.exits[name] = seen
        while len(self.exits) > self.max_rooms:
            self.exits.popitem(last=False)
        found = []
        for key, waiting in list(self.expected.items()):
            if key[0] == name and _same_instance(waiting.uuid, uuid):
                del self.expected[key]
                found.append(Outcome('verified', name, uuid or waiting.uuid, waiting.hang_up, waiting.emissions))
        return found

    def due(self, now: float) -> list[Outcome]:
        """The ``unverified`` outcomes due; forgets old exits and rooms given up."""
        found = []
        for key, waiting in list(self.expected.items()):
            if waiting.due > now:
                continue
            waiting.emissions += 1
            waiting.due = now + self.verify_within
            final = waiting.emissions >= self.max_emissions
            found.append(Outcome('unverified', key[0], waiting.uuid, waiting.hang_up, waiting.emissions, final))
            if final:
                del self.expected[key]
                self.given_up[key] = now
                while len(self.given_up) > self.max_rooms:
                    self.given_up.popitem(last=False)
        keep = self.verify_within + EXIT_BEFORE_LINE
        for name, seen in list(self.exits.items()):
            while seen and seen[0][1] < now - keep:
                seen.popleft()
            if not seen:
                del self.exits[name]
        while self.given_up and next(iter(self.given_up.values())) < now - GIVEN_UP_RETENTION:
            self.given_up.popitem(last=False)
        return found


def audit_writer(path: str, auth_id: str | None):
    """``write(outcome)``: one line of a verification outcome appended to the audit log ``path``, as the
    module's own ``verify`` writes it (the hang-up's ``run_id``, ``action`` V(hang_up), ``outcome`` V(hung_up),
    ``verification``), by the collection's ``AuditLog`` (one ``O_APPEND`` write, never through a symbolic link), with
    ``verified_by`` V(callbacks). Raises ``OSError`` when it cannot be written."""
    audit, redaction = module_util('_audit'), module_util('_redaction')

    def write(outcome: Outcome) -> None:
        try:
            with audit.AuditLog(path, auth_id, run_id=outcome.hang_up.run_id) as log:
                log.record(
                    redaction.escape_name(outcome.name),
                    'hung_up',
                    verification=outcome.kind,
                    verified_by='callbacks',
                    conference_uuid=redaction.escape_name(outcome.uuid),
                    hung_up_at=iso_time(outcome.hang_up.time),
                    emission=outcome.emission if outcome.kind == 'unverified' else None,
                    final=outcome.final if outcome.kind == 'unverified' else None,
                )
        except Exception as exc:  # VobizInputError / VobizFatalError: the module's errors, not OSError
            raise OSError(errno.EIO, str(exc)) from None

    return write
