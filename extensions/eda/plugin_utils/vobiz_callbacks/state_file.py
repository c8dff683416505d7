# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What survives a restart: the registry and the nonces of the replay window, in one JSON file, and the nonces
accepted since it was last written, in a journal beside it.

``read_state`` checks every value's type and fails closed with one ``ConfigError`` naming the first wrong one:
a damaged file never starts a source with timers quietly off or nonces forgotten. ``StateFile`` writes at most
once per ``interval`` seconds, in a worker thread (the event loop makes the JSON of what changed, a few hundred rooms
per turn, and keeps that of the rest), atomically (a new file renamed over the old, mode 0600). ansible-rulebook's
JVM ends the process at SIGTERM without letting its sources finish, so what came in the last second before a stop is
not in the file; ``NonceJournal`` keeps the nonces of that second: each is appended (one small write, before the
callback is answered) to a journal segment that is removed once a state file written after it holds its nonces.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import tempfile
import time
from typing import Callable

from .registry import RoomRegistry
from .settings import ConfigError
from .signatures import NonceMemory

LOGGER = logging.getLogger('vobiz.voice.conference_callbacks')
STATE_VERSION = 1
_encode = json.JSONEncoder().encode
_ROOM_HEAD = '{"name": %s, "uuid": %s, "first_seen": %s'
_ROOM_TAIL = '%s, "last_heard": %s, "present": %s, "left": %s, "emitted": %s, "members_known": %s}'
_EMITTED = '{"overdue": %s, "lonely": %s}'
_NOT_EMITTED = _EMITTED % ('[]', '[]')
#: Rooms a write handles in one go, on the event loop (their JSON) or in its thread (writing), before it lets the other
#: run.
STEP = 256
_ENDED = '{"name": %s, "uuid": %s, "time": %s, "members": %s}'
#: A time this far after now is damage (or a clock set back far): it would keep a timer from ever firing.
FUTURE_TOLERANCE = 300.0


class _Damaged(Exception):
    pass


def _number(value, where: str, now: float | None = None) -> float:
    try:
        finite = math.isfinite(value)
    except (TypeError, OverflowError):  # not a number, or an integer beyond any float (JSON's have no bound)
        finite = False
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not finite:
        raise _Damaged('%s must be a number, got %s' % (where, json.dumps(value)))
    if now is not None and value > now + FUTURE_TOLERANCE:
        raise _Damaged('%s is in the future (%s)' % (where, value))
    return value


def _text(value, where: str, optional: bool = False) -> str | None:
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _Damaged(
            '%s must be a non-empty string%s, got %s' % (where, ' or null' if optional else '', json.dumps(value))
        )
    return value


def _list(value, where: str) -> list:
    if not isinstance(value, list):
        raise _Damaged('%s must be a list, got %s' % (where, json.dumps(value)[:80]))
    return value


def _object(value, where: str, required=(), optional=()) -> dict:
    if not isinstance(value, dict):
        raise _Damaged('%s must be an object, got %s' % (where, json.dumps(value)[:80]))
    missing = [key for key in required if key not in value]
    if missing:
        raise _Damaged('%s has no %s' % (where, ', '.join(missing)))
    unknown = sorted(set(value) - set(required) - set(optional))
    if unknown:
        raise _Damaged('%s has unknown keys %s' % (where, ', '.join(unknown)))
    return value


def _checked(data, now: float) -> dict:
    """The state as plain types, or ``_Damaged`` naming the first wrong value."""
    _object(data, 'the file', ('version', 'rooms', 'ended', 'nonces'), ('saved_at',))
    if data['version'] != STATE_VERSION or isinstance(data['version'], bool):
        raise _Damaged('version must be %d, got %s' % (STATE_VERSION, json.dumps(data['version'])))
    rooms = []
    for index, item in enumerate(_list(data['rooms'], 'rooms')):
        where = 'rooms[%d]' % index
        # members_known: whether every member's enter was heard, for the playbooks that read the file
        # (plugins/module_utils/_registry.py); a restart never trusts a member count, so restore leaves it out.
        _object(
            item, where, ('name', 'uuid', 'first_seen', 'present', 'left', 'emitted'), ('last_heard', 'members_known')
        )
        if not isinstance(item.get('members_known', False), bool):
            raise _Damaged(
                '%s.members_known must be true or false, got %s' % (where, json.dumps(item['members_known']))
            )
        emitted = _object(item['emitted'], where + '.emitted', (), ('overdue', 'lonely'))
        room = {
            'name': _text(item['name'], where + '.name'),
            'uuid': _text(item['uuid'], where + '.uuid', optional=True),
            'first_seen': _number(item['first_seen'], where + '.first_seen', now),
            'present': [
                _text(m, '%s.present[%d]' % (where, i))
                for i, m in enumerate(_list(item['present'], where + '.present'))
            ],
            'left': [_text(m, '%s.left[%d]' % (where, i)) for i, m in enumerate(_list(item['left'], where + '.left'))],
            'emitted': {
                kind: [
                    _number(t, '%s.emitted.%s[%d]' % (where, kind, i), now)
                    for i, t in enumerate(_list(times, '%s.emitted.%s' % (where, kind)))
                ]
                for kind, times in emitted.items()
            },
        }
        if 'last_heard' in item:
            room['last_heard'] = _number(item['last_heard'], where + '.last_heard', now)
        rooms.append(room)
    ended = []
    for index, item in enumerate(_list(data['ended'], 'ended')):
        where = 'ended[%d]' % index
        _object(item, where, ('name', 'uuid', 'time', 'members'))
        ended.append(
            {
                'name': _text(item['name'], where + '.name'),
                'uuid': _text(item['uuid'], where + '.uuid', optional=True),
                'time': _number(item['time'], where + '.time', now),
                'members': [
                    _text(m, '%s.members[%d]' % (where, i))
                    for i, m in enumerate(_list(item['members'], where + '.members'))
                ],
            }
        )
    nonces = data['nonces']
    if not isinstance(nonces, dict):
        raise _Damaged('nonces must be an object (nonce: time seen), got %s' % json.dumps(nonces)[:80])
    for nonce, seen in nonces.items():
        _number(seen, 'nonces[%s]' % json.dumps(nonce), now)
    return {'rooms': rooms, 'ended': ended, 'nonces': nonces}


def read_state(path: str, now: float) -> dict | None:
    """The checked content of a state file, or None when there is none. Raises ``ConfigError``."""
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise ConfigError('state_file %s cannot be read: %s' % (path, exc)) from None
    try:
        return _checked(data, now)
    except _Damaged as exc:
        raise ConfigError(
            'state_file %s is damaged: %s. Nothing was started: fix or remove the file (removing it forgets the live '
            'rooms and the nonces of the replay window)' % (path, exc)
        ) from None


def write_atomically(path: str, chunks) -> None:
    """Write ``chunks`` (texts, or lists of texts to join with commas) to a new file beside ``path``, then rename it
    over ``path`` (mode 0600). Long lists go in steps, each followed by a pause that lets other threads (the event
    loop) take the interpreter: Python runs one thread at a time, and a long write would hold up the callbacks."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.vobiz-state-', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            for chunk in chunks:
                if isinstance(chunk, str):
                    handle.write(chunk)
                    continue
                for start in range(0, len(chunk), STEP):
                    handle.write((',' if start else '') + ','.join(chunk[start : start + STEP]))
                    time.sleep(0)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


class NonceJournal:
    """Journal segments ``STATE_FILE.nonces-N`` of one JSON line ``[nonce, second]`` per accepted nonce (mode 0600).

    Written without fsync: it outlives the process (a SIGTERM, a crash), not a power loss.
    """

    def __init__(self, state_path: str):
        self.prefix = state_path + '.nonces-'
        self.sequence: int | None = None  # the segment appended to now
        self.failures = 0
        self._fd: int | None = None

    def segments(self) -> list:
        """``(number, path)`` of the segments on disk, oldest first."""
        directory, base = os.path.split(os.path.abspath(self.prefix))
        found = []
        for name in os.listdir(directory):
            if name.startswith(base) and name[len(base) :].isdigit():
                found.append((int(name[len(base) :]), os.path.join(directory, name)))
        return sorted(found)

    def read(self, now: float) -> dict:
        """``{nonce: second}`` of every segment; a last line cut short by a crash is left out. Raises ``_Damaged``."""
        nonces = {}
        for dummy, path in self.segments():
            with open(path, encoding='utf-8', errors='replace') as handle:
                lines = handle.read().split('\n')
            for number, line in enumerate(lines[:-1], 1):  # lines[-1]: empty, or a line the crash cut short
                where = '%s line %d' % (path, number)
                try:
                    item = json.loads(line)
                except ValueError:
                    raise _Damaged('%s is not JSON' % where) from None
                if not isinstance(item, list) or len(item) != 2:
                    raise _Damaged('%s must be [nonce, second]' % where)
                nonces[_text(item[0], where + ' nonce')] = _number(item[1], where + ' second', now)
        return nonces

    def start_segment(self) -> int | None:
        """Append to a new segment from now on; return the number of the one closed (None if none was open)."""
        closed = self.sequence
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self.sequence = max([number for number, dummy in self.segments()] + [closed or 0]) + 1
        try:
            self._fd = os.open(self.prefix + str(self.sequence), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError as exc:
            self._failed(exc)
        return closed

    def append(self, nonces: list, second: int) -> None:
        if self._fd is None:
            return
        try:
            os.write(self._fd, ''.join('%s\n' % _encode([nonce, second]) for nonce in nonces).encode('utf-8'))
        except OSError as exc:
            self._failed(exc)

    def _failed(self, exc: OSError) -> None:
        if not self.failures:  # once, not once per callback: the nonces stay in memory and in the next state file
            LOGGER.error(
                'Cannot write the nonce journal beside the state file (%s): '
                'nonces of the last second may not survive a crash',
                exc,
            )
        self.failures += 1

    def remove_through(self, number: int | None) -> None:
        """Remove the segments up to ``number``: a state file written since holds their nonces."""
        for found, path in self.segments():
            if number is not None and found <= number:
                with contextlib.suppress(OSError):
                    os.unlink(path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class StateFile:
    """The state file of one source: loads it, and keeps it up to date (``run``) at most once per ``interval``."""

    def __init__(
        self,
        path: str,
        registry: RoomRegistry,
        nonces: NonceMemory,
        interval: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable = asyncio.sleep,
    ):
        self.path = path
        self.sleep = sleep
        self.registry = registry
        registry.track_changes = True
        self.nonces = nonces
        self.interval = interval
        self.monotonic = monotonic
        self.writes = 0
        self.failures = 0
        self._rooms: dict[str, str] = {}  # name -> JSON text of the live room
        self._ended: dict[str, str] = {}  # name -> JSON text of the ended instance
        self._heads: dict[str, tuple] = {}  # name -> ((uuid, first_seen), JSON text of what does not change)
        self._dirty = asyncio.Event()
        self._last_write = None
        self._writing = None  # the write in the worker thread, if one is under way
        self.journal = NonceJournal(path)
        nonces.on_remember = self.journal.append

    def load(self) -> bool:
        """Load the file into the registry and the nonce memory; False when there is none. Raises ``ConfigError``."""
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            os.makedirs(directory, mode=0o700, exist_ok=True)
            fd, probe = tempfile.mkstemp(prefix='.vobiz-state-', dir=directory)  # as every write will
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise ConfigError(
                'state_file %s cannot be written: %s. Nothing was started: choose a path this user can write '
                '(the directory is made when missing), or fix its permissions' % (self.path, exc.strerror or exc)
            ) from None
        now = self.registry.clock()
        state = read_state(self.path, now)
        try:
            journaled = self.journal.read(now)
        except _Damaged as exc:
            raise ConfigError(
                'state_file %s: its nonce journal is damaged: %s. Nothing was started: remove that journal file'
                % (self.path, exc)
            ) from None
        self.journal.start_segment()  # the older segments go once a state file holds their nonces
        if state is None and not journaled:
            return False
        if state is not None:
            self.registry.restore(state['rooms'], state['ended'])
            # Each write holds the rooms changed since the last one and those it already holds: this process holds
            # none yet, so every room loaded counts as changed, or the first write would drop them.
            for name in list(self.registry.rooms) + list(self.registry.ended):
                self.registry.mark_changed(name)
        self.nonces.restore({**(state['nonces'] if state is not None else {}), **journaled})
        return True

    def changed(self) -> None:
        """Something to save: the next write happens within ``interval`` seconds."""
        self._dirty.set()

    def _update(self, names) -> None:
        """The JSON of the rooms and ended records of ``names`` as they are now. A room's name, UUID and start are
        encoded once per room instance; what a callback changes, each time."""
        rooms, ended = self.registry.rooms, self.registry.ended
        for name in names:
            room, record = rooms.get(name), ended.get(name)
            if room is None:
                self._rooms.pop(name, None)
                self._heads.pop(name, None)
            else:
                head = self._heads.get(name)
                if head is None or head[0] != (room.uuid, room.first_seen):
                    head = self._heads[name] = (
                        (room.uuid, room.first_seen),
                        _ROOM_HEAD % (_encode(name), _encode(room.uuid), _encode(room.first_seen)),
                    )
                overdue, lonely = room.emitted['overdue'], room.emitted['lonely']
                emitted = _EMITTED % (_encode(overdue), _encode(lonely)) if overdue or lonely else _NOT_EMITTED
                self._rooms[name] = _ROOM_TAIL % (
                    head[1],
                    _encode(room.last_heard),
                    _encode(sorted(room.present)),
                    _encode(sorted(room.left)),
                    emitted,
                    _encode(room.members_known),
                )
            if record is None:
                self._ended.pop(name, None)
            else:
                self._ended[name] = _ENDED % (
                    _encode(name),
                    _encode(record[0]),
                    _encode(record[1]),
                    _encode(sorted(record[2])),
                )

    def _contents(self) -> tuple:
        """The file's texts (lists are joined with commas by ``write_atomically``) and the journal segment they cover:
        every nonce of the segment closed here is in them, so it can go once they are written."""
        header = '{"version": %d, "saved_at": %s, "rooms": [' % (STATE_VERSION, _encode(self.registry.clock()))
        chunks = [
            header,
            list(self._rooms.values()),
            '], "ended": [',
            list(self._ended.values()),
            '], "nonces": {',
            self.nonces.state_parts(),
            '}}\n',
        ]
        return chunks, self.journal.start_segment()

    async def collect(self) -> tuple:
        """On the event loop, ``STEP`` changed rooms at a time so that callbacks are answered in between: the JSON of
        what changed since the last write, then the file's texts. A room changed after its turn stays changed: the next
        write takes it again."""
        names = list(self.registry.pop_changed())
        for start in range(0, len(names), STEP):
            if start:
                await asyncio.sleep(0)
            self._update(names[start : start + STEP])
        return self._contents()

    def write(self, contents: tuple) -> None:
        """In the worker thread: write the file, then remove the journal segments it covers."""
        chunks, journaled_through = contents
        write_atomically(self.path, chunks)
        self.journal.remove_through(journaled_through)

    def save_now(self) -> None:
        """Write at once, on the calling thread (at shutdown)."""
        self._dirty.clear()
        self._update(self.registry.pop_changed())
        self.write(self._contents())
        self.writes += 1

    async def run(self) -> None:
        """Write whenever something changed, at most once per ``interval`` seconds, until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await self._dirty.wait()
            if self._last_write is not None:
                await self.sleep(max(0.0, self._last_write + self.interval - self.monotonic()))
            self._dirty.clear()
            self._last_write = self.monotonic()
            self._writing = loop.run_in_executor(None, self.write, await self.collect())
            try:
                await asyncio.shield(self._writing)
            except OSError as exc:
                if not self.failures:  # once per run of failures, not once a second
                    LOGGER.error(
                        'Cannot write state_file %s (trying again every %g s): %s', self.path, self.interval, exc
                    )
                self.failures += 1
                self._dirty.set()
            else:
                if self.failures:
                    LOGGER.warning('state_file %s written again after %d failed attempt(s)', self.path, self.failures)
                self.failures = 0
                self.writes += 1

    async def close(self) -> None:
        """After ``run`` was cancelled: let a write under way finish (it holds older data), then write the latest."""
        if self._writing is not None:
            with contextlib.suppress(Exception):
                await self._writing
        try:
            self.save_now()
        except OSError as exc:
            LOGGER.error('Cannot write state_file %s at shutdown: %s', self.path, exc)
        self.journal.close()
