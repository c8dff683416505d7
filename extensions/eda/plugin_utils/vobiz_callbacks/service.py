# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The source without its HTTP side (``CallbackService``): signatures, registry, timers, state file and events."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
import os
import time
from typing import Callable

from .callers import BlockedCallers
from .connections import RefusalLog
from .events import callback_event, flag, over_capacity_event, verification_event
from .registry import RoomRegistry
from .schedule import Schedule, ScheduleFile, done_contents, parse_schedule, read_done
from .settings import ConfigError, Settings
from .shared import module_util
from .signatures import NonceMemory, SignatureVerifier
from .state_file import StateFile, write_atomically
from .timers import LimitTimers
from .verification import AuditTail, Verifications, audit_writer, hang_up_of, iso_time

LOGGER = logging.getLogger('vobiz.voice.conference_callbacks')
#: Callback events waiting for the rules engine; beyond, new ones are dropped (counted, logged once a minute).
#: ``overdue``, ``lonely``, ``over_capacity``, ``blocked_caller``, ``verified`` and ``unverified`` events are never
#: dropped.
MAX_PENDING_CALLBACK_EVENTS = 10000


def check_writable(path: str, option: str) -> None:
    """Make the directory of ``path`` (mode 0700) and open ``path`` for appending as the action will (created empty
    with mode 0600, never through a symbolic link): a path nobody can write stops the source before it listens,
    instead of every hang-up failing later."""
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOFOLLOW', 0)
        os.close(os.open(path, flags, 0o600))
    except OSError as exc:
        what = 'choose a path this user can write, or make its directory'
        raise ConfigError(
            '%s %s cannot be written: %s. Nothing was started: %s' % (option, path, exc.strerror or exc, what),
        ) from None


class CallbackService:
    """One source's state and logic; the HTTP entry calls ``check`` and ``accept``, ``run`` does the rest."""

    def __init__(
        self,
        settings: Settings,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self.clock = clock
        self.nonces = NonceMemory(settings.replay_window, clock)
        self.verifier = SignatureVerifier(
            settings.public_url, settings.auth_token, settings.parent_auth_token, settings.accept_v2, self.nonces
        )
        self.registry = RoomRegistry(settings.forget_after, settings.max_rooms, clock)
        self.timers = LimitTimers(
            settings.max_duration, settings.lonely_after, settings.repeat_after, settings.max_emissions
        )
        self.refusals = RefusalLog(clock=monotonic)
        self.signed_elsewhere = 0  # refused signatures that hold over the URL the request reached (see ``check``)
        self.dropped = RefusalLog(
            clock=monotonic, headline='Dropped {count} callback event(s) {since}: the rules engine was behind'
        )
        self.state = (
            StateFile(settings.state_file, self.registry, self.nonces, monotonic=monotonic)
            if settings.state_file
            else None
        )
        self.pending: collections.deque = collections.deque()
        self.pending_callbacks = 0
        self.accepted = 0
        self._wakeup = asyncio.Event()
        self.blocked = BlockedCallers(settings.blocked_callers) if settings.blocked_callers else None
        if settings.audit_log:
            check_writable(settings.audit_log, 'audit_log')
        self.verifications = self.audit_tail = None
        self._start_verification()
        if self.state is not None and self.state.load():
            LOGGER.info(
                'Loaded %d live room(s) and %d nonce(s) from %s',
                len(self.registry.rooms),
                len(self.nonces),
                self.state.path,
            )
        self._load_schedule()

    def check(self, headers, address: str | None = None, reached_url: str | None = None) -> tuple[int | None, str]:
        """The signature verdict of one callback: ``(None, version)`` or ``(401 or 403, reason)`` (counted).

        A wrong signature is most often a ``public_url`` that is not the URL configured at Vobiz: the refusal log
        then says which URL the signatures were checked over, and whether they hold over ``reached_url`` (the URL
        the request reached, as the listener sees it), once per report (one more HMAC at most)."""
        status, detail = self.verifier.check(headers)
        if status is not None:
            self.refusals.count('%s (%d)' % (detail, status), address)
            if detail.startswith('invalid ') and not self.refusals.has_note():
                self.refusals.note(self._mismatch_hint(headers, reached_url))
        return status, detail

    def _mismatch_hint(self, headers, reached_url: str | None) -> str:
        checked = 'Signatures are checked over public_url %s' % self.verifier.url
        exactly = 'the callback URL exactly as configured at Vobiz'
        if reached_url and self.verifier.signed_over(headers, reached_url):
            self.signed_elsewhere += 1
            elsewhere = 'but one was signed over %r, the URL it reached' % reached_url
            return '%s, %s: set public_url to %s' % (checked, elsewhere, exactly)
        return "%s: check that it is %s (scheme, host, port, path) and that the token is this account's" % (
            checked,
            exactly,
        )

    def refuse(self, reason: str, address: str | None = None) -> None:
        self.refusals.count(reason, address)

    def accept(self, fields: dict, version: str) -> None:
        """A verified callback's form fields: update the registry, queue its event."""
        info = self.registry.apply(fields)
        if info['ignored']:
            LOGGER.debug('Callback for %r: %s', fields.get('ConferenceName'), info['ignored'])
        self.accepted += 1
        if self.pending_callbacks >= MAX_PENDING_CALLBACK_EVENTS:
            self.dropped.count('callback')
        else:
            self.pending_callbacks += 1
            self._emit(callback_event(fields, info['members'], version))
        self._check_capacity(fields, info)
        if self.verifications is not None and info.get('ended') and flag(fields.get('ConferenceLastMember')):
            uuid = fields.get('ConferenceUUID') or None
            self._report(self.verifications.exited(fields.get('ConferenceName'), uuid, self.clock()))
        self._check_blocked(fields, info)
        if self.state is not None:
            self.state.changed()

    def _check_capacity(self, fields: dict, info: dict) -> None:
        """Emit ``over_capacity`` when this callback is the enter of a member new to a room whose count, as the
        registry knows it, is now over ``max_members``. A room whose count is unknown (its first enter not seen, or
        restored from the state file) is never acted on; a duplicate or late enter adds no member, so no event.
        Without ``ConferenceMemberID`` there is nobody the action could kick by id."""
        cap, members = self.settings.max_members, info['members']
        if not cap or not info.get('entered') or members is None or members <= cap:
            return
        if not fields.get('ConferenceMemberID'):
            return
        event = over_capacity_event(fields, info['room'], members, cap)
        LOGGER.info('Conference %r is over capacity (%d > %d)', event['vobiz']['conference_name'], members, cap)
        self._emit(event)

    def _start_verification(self) -> None:
        """Verified termination (``verify_within``) follows the action's hang-ups in ``audit_log``; without it, the
        source cannot see them (in EDA controller the action runs elsewhere): said once, here."""
        settings = self.settings
        if not settings.verify_within:
            LOGGER.info('Verified termination is off (verify_within is 0)')
            return
        if not settings.audit_log:
            LOGGER.info(
                'Verified termination is off: no audit_log to read the hang-ups from (set vobiz_audit_log to the '
                'audit log the action writes, on this machine)'
            )
            return
        self.verifications = Verifications(settings.verify_within, settings.max_emissions, settings.max_rooms)
        self.audit_tail = AuditTail(settings.audit_log)
        self._unescape = module_util('_redaction').unescape_name
        self._write_outcome = audit_writer(settings.audit_log, os.environ.get('VOBIZ_AUTH_ID'))
        LOGGER.info(
            'Verified termination: each hang-up in %s expects its last exit callback within %ds',
            settings.audit_log,
            settings.verify_within,
        )

    def verify(self) -> None:
        """Read the hang-ups appended to the audit log, emit the ``unverified`` events due."""
        if self.verifications is None:
            return
        outcomes = []
        try:
            lines = self.audit_tail.lines()
        except OSError as exc:  # the file went bad under us: say so, try again at the next check
            LOGGER.warning('Could not read the audit log %s: %s', self.settings.audit_log, exc)
            lines = []
        for line in lines:
            hang_up = hang_up_of(line, self._unescape)
            if hang_up is None:
                continue
            room = self.registry.rooms.get(hang_up.name)
            known = room is not None or hang_up.name in self.registry.ended
            outcomes.extend(self.verifications.hung_up(hang_up, room.uuid if room else None, known))
        self._report(outcomes + self.verifications.due(self.clock()))

    def _report(self, outcomes: list) -> None:
        """Each verification outcome: logged, emitted, and appended to the audit log."""
        settings = self.settings
        for outcome in outcomes:
            event = verification_event(
                outcome, self.clock(), iso_time(outcome.hang_up.time), settings.verify_within, settings.max_emissions
            )
            LOGGER.info(
                'Conference %r hung up at %s: %s%s',
                event['vobiz']['conference_name'],
                event['vobiz']['hung_up_at'],
                outcome.kind,
                ' (emission %d%s)' % (outcome.emission, ', the last' if outcome.final else '')
                if outcome.kind == 'unverified'
                else '',
            )
            self._emit(event)
            try:
                self._write_outcome(outcome)
            except OSError as exc:
                name = event['vobiz']['conference_name']
                LOGGER.warning('Could not append the verification of %r to the audit log: %s', name, exc)

    def _check_blocked(self, fields: dict, info: dict) -> None:
        """Emit ``blocked_caller`` when this callback is the enter of a member new to its room whose ``From`` is on
        ``blocked_callers`` (``callers.BlockedCallers``); the log names the caller masked, never the number."""
        event = self.blocked.event_for(fields, info) if self.blocked is not None else None
        if event is None:
            return
        blocked = event['vobiz']
        LOGGER.info(
            'Conference %r: member %r calls from a blocked number (%s)',
            blocked['conference_name'],
            blocked['member_id'],
            blocked['caller'],
        )
        self._emit(event)

    def tick(self) -> None:
        """Forget stale rooms, emit the overdue and lonely events due, report refusals."""
        forgotten = self.registry.forgotten
        self.registry.forget_stale()
        events = self.timers.due(self.registry, self.clock())
        self.verify()
        for event in events:
            LOGGER.info(
                'Conference %r is %s (emission %d)',
                event['vobiz']['conference_name'],
                event['vobiz']['type'],
                event['vobiz']['emission'],
            )
            self._emit(event)
        self.refusals.report()
        self.dropped.report()
        if self.state is not None and (events or forgotten != self.registry.forgotten):
            self.state.changed()
        self._tick_schedule()

    def _load_schedule(self) -> None:
        """The scheduled ends (``schedule`` or ``schedule_file``) and, with a state file, what was already emitted for
        them (``STATE_FILE.schedule``). A bad schedule or a damaged record stops the source with one error."""
        settings = self.settings
        self.schedule_file = ScheduleFile(settings.schedule_file) if settings.schedule_file else None
        if self.schedule_file is not None:
            entries = self.schedule_file.load()
        else:
            try:
                entries = parse_schedule(settings.schedule)
            except ConfigError as exc:
                raise ConfigError('%s. Nothing was started' % exc) from None
        self.schedule_done_path = settings.state_file + '.schedule' if settings.state_file else None
        done = read_done(self.schedule_done_path) if self.schedule_done_path else {}
        self.schedule = Schedule(entries, done)
        self.schedule_write_failed = False
        if entries:
            LOGGER.info('%d scheduled end(s) in force', len(entries))

    def _tick_schedule(self) -> None:
        """Re-read a changed schedule file; emit the warnings and ends due, remembered before they are emitted."""
        if self.schedule_file is not None:
            entries = self.schedule_file.poll()
            if entries is not None:
                self.schedule.replace(entries)
        events = self.schedule.due(self.clock())
        if not events:
            return
        if self.schedule_done_path is not None:
            try:
                write_atomically(self.schedule_done_path, [done_contents(self.schedule.done)])
                self.schedule_write_failed = False
            except OSError as exc:
                if not self.schedule_write_failed:
                    LOGGER.error('Cannot write %s: %s (a restart may repeat these)', self.schedule_done_path, exc)
                self.schedule_write_failed = True
        for event in events:
            vobiz = event['vobiz']
            LOGGER.info('Scheduled %s for %s', vobiz['type'], vobiz['conference_name'] or vobiz['match'])
            self._emit(event)

    def _emit(self, event: dict) -> None:
        self.pending.append(event)
        self._wakeup.set()

    async def _forward(self, queue) -> None:
        while True:
            while self.pending:
                event = self.pending.popleft()
                if event['vobiz']['type'] == 'callback':
                    self.pending_callbacks -= 1
                await queue.put(event)
            self._wakeup.clear()
            await self._wakeup.wait()

    async def _ticks(self) -> None:
        while True:
            self.tick()
            await asyncio.sleep(self.settings.check_interval)

    async def run(self, queue) -> None:
        """Forward events to ``queue``, run the timers and write the state file, until cancelled."""
        tasks = [asyncio.ensure_future(self._forward(queue)), asyncio.ensure_future(self._ticks())]
        if self.state is not None:
            tasks.append(asyncio.ensure_future(self.state.run()))
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def close(self) -> None:
        """Write the last state (after ``run`` ended)."""
        if self.state is not None:
            await self.state.close()
