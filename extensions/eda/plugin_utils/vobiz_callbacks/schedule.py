# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Scheduled ends (``schedule``, ``schedule_file``): the entries (``parse_schedule``), the file they may come from,
re-read when it changes (``ScheduleFile``), and the ``schedule_warning`` and ``scheduled_end`` events due at a time
(``Schedule``). No I/O but reading the schedule file; the time is passed in.

Each entry's warning and end are emitted once. What was emitted is remembered by entry (its room or glob and its
``ends_at``): ``Schedule.done`` is what the service keeps beside its state file, so that a restart neither
announces again nor loses an end. An entry whose end time passed while the source was down gets its end at the
first check (the action ends only the rooms retrieve says were live at ``ends_at``); its warning is then skipped.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os

import yaml

from .events import inert
from .settings import ConfigError, duration_seconds
from .shared import module_util

LOGGER = logging.getLogger('vobiz.voice.conference_callbacks')
#: Bounds on what a schedule may hold: entries, the file's bytes, a name or glob's length, a warning's lead.
MAX_ENTRIES = 1000
MAX_FILE_BYTES = 1024 * 1024
MAX_TEXT = 1024
MAX_WARN_BEFORE = 7 * 86400
ENTRY_KEYS = ('name', 'match', 'ends_at', 'warn_before')
WARNING, END = 'schedule_warning', 'scheduled_end'
EXAMPLE = '2026-12-07T11:00:00+01:00 or 2026-12-07T10:00:00Z'
globs = module_util('_globs')  # the modules' rule for a glob that selects every room


@dataclasses.dataclass(frozen=True)
class Entry:
    """One scheduled end: exactly one of ``name`` (a room) and ``match`` (a glob on the live list)."""

    name: str | None
    match: str | None
    ends_at: float  # POSIX time
    ends_at_text: str  # ISO 8601 with its offset, as the action's live_at takes it
    warn_before: int = 0

    @property
    def key(self) -> str:
        """What identifies the entry across re-reads and restarts: its room or glob and its end time."""
        return json.dumps(['name' if self.name is not None else 'match', self.name or self.match, self.ends_at])

    @property
    def target(self) -> str:
        return 'name %r' % self.name if self.name is not None else 'match %r' % self.match


def _instant(value, where: str) -> datetime.datetime:
    """An aware datetime from an ISO 8601 text with a UTC offset (or ``Z``), or from the datetime YAML made of one."""
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.datetime.fromisoformat(text[:-1] + '+00:00' if text[-1:] in 'Zz' and text else text)
        except ValueError:
            raise ConfigError('%s: ends_at %r is not an ISO 8601 time such as %s' % (where, value, EXAMPLE)) from None
    elif isinstance(value, datetime.datetime):
        parsed = value
    else:
        raise ConfigError('%s: ends_at must be an ISO 8601 time such as %s, got %r' % (where, EXAMPLE, value))
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise ConfigError(
            '%s: ends_at %r has no UTC offset, so its instant depends on where the source runs; write it as %s'
            % (where, str(value), EXAMPLE)
        )
    return parsed


def _text(entry: dict, key: str, where: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
        raise ConfigError('%s: %s must be a non-empty text of at most %d characters' % (where, key, MAX_TEXT))
    return value


def parse_entry(entry, where: str) -> Entry:
    """One entry, or ``ConfigError`` naming it (``where``: its place, such as ``schedule[2]``)."""
    if not isinstance(entry, dict):
        raise ConfigError('%s must be a mapping with name or match, and ends_at; got %r' % (where, entry))
    unknown = sorted(str(key) for key in entry if key not in ENTRY_KEYS)
    if unknown:
        raise ConfigError('%s: unknown key(s) %s (known: %s)' % (where, ', '.join(unknown), ', '.join(ENTRY_KEYS)))
    name, match = _text(entry, 'name', where), _text(entry, 'match', where)
    if (name is None) == (match is None):
        raise ConfigError('%s needs exactly one of name (a room) and match (a glob)' % where)
    where = '%s (%s %r)' % (where, 'name' if name is not None else 'match', name or match)
    if match is not None and globs.matches_every_name([match]) is not False:
        # vobiz_conference refuses it too (its rule, the same file): ending every room is not a schedule's job
        raise ConfigError(
            '%s: the glob selects every conference (or is too intricate to check); name the rooms' % where
        )
    if 'ends_at' not in entry:
        raise ConfigError('%s has no ends_at' % where)
    ends_at = _instant(entry['ends_at'], where)
    warn_before = entry.get('warn_before')
    seconds = 0 if warn_before is None else duration_seconds(warn_before)
    if seconds is None or seconds > MAX_WARN_BEFORE:
        raise ConfigError(
            '%s: warn_before must be a number of seconds (or 2m, 90s) up to %d, got %r'
            % (where, MAX_WARN_BEFORE, warn_before)
        )
    return Entry(name, match, ends_at.timestamp(), ends_at.isoformat(), seconds)


def parse_schedule(value, option: str = 'schedule', item: str = '%s[%d]') -> list[Entry]:
    """The entries of a schedule (a list), or ``ConfigError`` naming the option and the first bad entry (``item``:
    how an entry is named, from the option and its index)."""
    if not isinstance(value, (list, tuple)):
        raise ConfigError('%s must be a list of entries (name or match, ends_at, warn_before)' % option)
    if len(value) > MAX_ENTRIES:
        raise ConfigError('%s has %d entries; at most %d are kept' % (option, len(value), MAX_ENTRIES))
    entries, seen = [], {}
    for index, given in enumerate(value):
        entry = parse_entry(given, item % (option, index))
        if entry.key in seen:
            first = item % (option, seen[entry.key])
            raise ConfigError('%s repeats %s (%s)' % (item % (option, index), first, entry.target))
        seen[entry.key] = index
        entries.append(entry)
    return entries


class ScheduleFile:
    """``schedule_file``: read at start (a bad file raises ``ConfigError``), then again whenever its inode, size or
    modification time changes (``poll``). A bad version keeps the last good schedule, logged once per change."""

    def __init__(self, path: str):
        self.path = path
        self.signature = None  # (inode, size, mtime) of the version read last, good or bad
        self.problem = None  # why the version on disk is not used, or None

    def _stat(self):
        try:
            found = os.stat(self.path)
        except OSError:
            return None
        return (found.st_ino, found.st_size, found.st_mtime_ns)

    def _read(self) -> list[Entry]:
        option = 'schedule_file %s' % self.path
        try:
            with open(self.path, 'rb') as handle:
                data = handle.read(MAX_FILE_BYTES + 1)
        except OSError as exc:
            raise ConfigError('%s cannot be read: %s' % (option, exc.strerror or exc)) from None
        if len(data) > MAX_FILE_BYTES:
            raise ConfigError('%s is larger than %d bytes' % (option, MAX_FILE_BYTES))
        try:
            loaded = yaml.safe_load(data.decode('utf-8'))
        except (UnicodeDecodeError, yaml.YAMLError) as exc:
            raise ConfigError('%s is not YAML: %s' % (option, str(exc).replace('\n', ' '))) from None
        except RecursionError:  # nested deeper than the parser goes: no schedule looks like that
            raise ConfigError('%s is nested too deeply to be a schedule' % option) from None
        return parse_schedule([] if loaded is None else loaded, option, '%s, entry %d')

    def load(self) -> list[Entry]:
        """The entries at start; raises ``ConfigError``."""
        self.signature = self._stat()
        try:
            return self._read()
        except ConfigError as exc:
            raise ConfigError('%s. Nothing was started: fix the file' % exc) from None

    def poll(self) -> list[Entry] | None:
        """The new entries when the file changed into a good one; None when it did not change, or is bad now."""
        signature = self._stat()
        if signature == self.signature:
            return None
        self.signature = signature
        try:
            entries = self._read()
        except ConfigError as exc:
            self.problem = str(exc)
            LOGGER.error('%s; the last good schedule stays in force', exc)
            return None
        self.problem = None
        LOGGER.info('Read %d scheduled end(s) from schedule_file %s', len(entries), self.path)
        return entries


class Schedule:
    """The entries in force and what was emitted for them (``done``: entry key -> kinds emitted)."""

    def __init__(self, entries=(), done: dict | None = None):
        self.entries: list[Entry] = []
        self.done: dict[str, list[str]] = {}
        self.replace(entries, done or {})

    def replace(self, entries, done: dict | None = None) -> None:
        """New entries (a re-read file); what was emitted is kept for the entries still there, forgotten for others."""
        done = self.done if done is None else done
        self.entries = list(entries)
        keys = {entry.key for entry in self.entries}
        self.done = {key: list(kinds) for key, kinds in done.items() if key in keys}

    def due(self, now: float) -> list[dict]:
        """The events due at ``now``, each marked as emitted. An end whose time has come is emitted however late (it
        names ``ends_at``: the action ends only rooms live then); its warning, if not emitted yet, is skipped."""
        events = []
        for entry in self.entries:
            done = self.done.setdefault(entry.key, [])
            if now >= entry.ends_at:
                if END not in done:
                    events.append(schedule_event(END, entry, now))
                    done[:] = [WARNING, END]
            elif entry.warn_before and now >= entry.ends_at - entry.warn_before and WARNING not in done:
                events.append(schedule_event(WARNING, entry, now))
                done.append(WARNING)
            if not done:
                del self.done[entry.key]
        return events


def schedule_event(kind: str, entry: Entry, now: float) -> dict:
    """A ``schedule_warning`` or ``scheduled_end`` event; every text in it passes ``inert``."""
    event = {
        'type': kind,
        'conference_name': inert(entry.name),
        'match': inert(entry.match),
        'ends_at': inert(entry.ends_at_text),
        'warn_before': entry.warn_before,
    }
    if kind == WARNING:
        event['seconds_left'] = max(0, int(entry.ends_at - now))
    else:
        event['late_seconds'] = max(0, int(now - entry.ends_at))
    return {'vobiz': event}


def read_done(path: str) -> dict:
    """What was emitted, as ``Schedule.done``, from the file kept beside the state file (none: ``{}``); a damaged
    one raises ``ConfigError``."""
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError('%s cannot be read: %s. Nothing was started: fix or remove it' % (path, exc)) from None
    done = data.get('done') if isinstance(data, dict) and data.get('version') == 1 else None
    valid = isinstance(done, dict) and len(done) <= MAX_ENTRIES
    if not valid or not all(isinstance(kinds, list) and set(kinds) <= {WARNING, END} for kinds in done.values()):
        raise ConfigError(
            '%s is damaged (expected {"version": 1, "done": {entry: [kinds]}}). Nothing was started: fix or remove '
            'it (removing it may announce again, or end again, what a schedule already did)' % path
        )
    return done


def done_contents(done: dict) -> str:
    return json.dumps({'version': 1, 'done': done}, sort_keys=True) + '\n'
