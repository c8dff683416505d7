# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Event source ``vobiz.voice.conference_callbacks``: signed Vobiz conference callbacks -> events.

The HTTP side (aiohttp) only verifies, parses and answers; the room registry
(``RoomRegistry``) and the signature check (``SignatureVerifier``) are plain classes with
an injectable clock, so unit tests drive them without a server or real time.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: Receive signed Vobiz conference callbacks and report overdue and lonely rooms.
description:
  - An HTTP listener for the conference callbacks Vobiz sends (form-encoded C(POST)s with C(ConferenceAction)
    V(enter) or V(exit)), at the path of O(public_url).
  - Every callback must carry a valid C(X-Vobiz-Signature-V3) (or, unless O(accept_v2=false), C(X-Vobiz-Signature-V2))
    signature with its nonce, computed over O(public_url) without its query string, keyed with O(auth_token).
    The C(MA-V2)/C(MA-V3) signatures are checked too when O(parent_auth_token) is set. A callback without a
    signature is answered 401, one with a wrong signature or a nonce seen within O(replay_window) seconds is
    answered 403; neither emits anything. A good callback is answered 204 at once and emitted as an event.
  - Keeps a registry of live rooms built from the callbacks (first callback seen, members present, since when
    the room has had at most one member), tolerant of what Vobiz documents about callbacks (only V(enter) and
    V(exit), no timestamps, no room size, delivery order not event order, duplicates). An V(exit) with
    C(ConferenceLastMember=true) ends the room.
  - From a timer, emits an V(overdue) event when a room has been live longer than O(max_duration) seconds and a
    V(lonely) event when a room has had at most one member for O(lonely_after) seconds. Each is emitted once per
    room; it is emitted again only when the room is still live O(repeat_after) seconds later (the action
    failed or the room's end was never reported), at most O(max_emissions) times. A V(lonely) room that gets a
    second member again starts afresh.
  - 'Event shapes (all under the key C(vobiz)): C(type=callback) with C(action), C(conference_name),
    C(conference_uuid), C(member_id), C(call_uuid), C(first_member), C(last_member), C(from), C(to),
    C(direction), C(call_status), C(members) (the registry''s count after this callback, or null when it is not
    known), C(signature) (V(v3) or V(v2)) and C(fields) (the whole form);
    C(type=overdue) with C(conference_name), C(conference_uuid), C(live_seconds), C(members), C(max_duration),
    C(emission); C(type=lonely) with C(conference_name), C(conference_uuid), C(lonely_seconds), C(live_seconds),
    C(members), C(lonely_after), C(emission).'
  - Ages are measured from the first callback this source received for the room, so a room that started
    before the source listened looks younger than it is (an V(overdue) event comes late, never early).
    A room counts as lonely only when the source saw its first member enter (C(ConferenceFirstMember=true));
    otherwise members that joined unseen may be present, and the room is never reported lonely.
  - The auth tokens are never logged.
options:
  host:
    description: The address to listen on.
    type: str
    default: 127.0.0.1
  port:
    description: The TCP port to listen on.
    type: int
    required: true
  public_url:
    description:
      - The callback URL exactly as configured at Vobiz (the URL Vobiz signs), for example
        V(https://eda.example.com/vobiz/conference). Behind TLS termination or a proxy this is the public URL,
        not the one the listener sees; signatures are checked against it, never against the request's URL.
      - The listener serves the path of this URL. Its query string is not part of the signed text.
    type: str
    required: true
  auth_token:
    description:
      - The Vobiz auth token of the account whose callbacks arrive here (the signing key).
      - Defaults to the environment variable E(VOBIZ_AUTH_TOKEN).
    type: str
  parent_auth_token:
    description:
      - For a sub-account, the main (parent) account's auth token. When set, the C(X-Vobiz-Signature-MA-V3) and
        C(-MA-V2) signatures are verified with it as well; each one present must be valid.
    type: str
  accept_v2:
    description: Accept callbacks signed only with C(X-Vobiz-Signature-V2). A V2 signature present is always checked.
    type: bool
    default: true
  replay_window:
    description: Seconds during which a nonce is remembered; a callback reusing one is refused (403).
    type: int
    default: 300
  max_body:
    description: The largest callback body accepted, in bytes; larger ones are answered 413.
    type: int
    default: 65536
  max_duration:
    description: Seconds a room may be live before an V(overdue) event. V(0) disables V(overdue) events.
    type: int
    default: 0
  lonely_after:
    description: Seconds a room may have at most one member before a V(lonely) event. V(0) disables V(lonely) events.
    type: int
    default: 0
  check_interval:
    description: Seconds between two checks of the registry for V(overdue) and V(lonely) rooms.
    type: float
    default: 5
  repeat_after:
    description: Seconds after an V(overdue) or V(lonely) event before it is emitted again for a room still live.
    type: int
    default: 300
  max_emissions:
    description: How many times at most each of V(overdue) and V(lonely) is emitted for one room.
    type: int
    default: 3
  state_file:
    description:
      - A file in which the registry and the remembered nonces are kept (rewritten atomically, mode 0600) so a
        restart does not forget live rooms. Rooms loaded from it keep their age but their member count is no
        longer trusted (callbacks may have been missed while the source was down): they can be V(overdue), never
        V(lonely).
    type: str
"""

EXAMPLES = r"""
- name: Enforce conference limits
  hosts: localhost
  sources:
    - name: Vobiz conference callbacks
      vobiz.voice.conference_callbacks:
        host: 0.0.0.0
        port: 5050
        public_url: https://eda.example.com/vobiz/conference
        max_duration: 14400
        lonely_after: 600
        state_file: /var/lib/eda/vobiz-rooms.json
  rules:
    - name: Hang up rooms over the time limit
      condition: event.vobiz.type == "overdue"
      action:
        run_playbook:
          name: vobiz.voice.enforce_limits_action
"""

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import tempfile
import time
import urllib.parse
from typing import Any, Callable

LOGGER = logging.getLogger(__name__)

SIGNATURE_HEADERS = {
    # name: (signature header, nonce header, which token, version)
    'v3': ('X-Vobiz-Signature-V3', 'X-Vobiz-Signature-V3-Nonce', 'account', 'v3'),
    'v2': ('X-Vobiz-Signature-V2', 'X-Vobiz-Signature-V2-Nonce', 'account', 'v2'),
    'ma-v3': ('X-Vobiz-Signature-MA-V3', 'X-Vobiz-Signature-MA-V3-Nonce', 'parent', 'v3'),
    'ma-v2': ('X-Vobiz-Signature-MA-V2', 'X-Vobiz-Signature-MA-V2-Nonce', 'parent', 'v2'),
}
MAX_NONCES = 100000
STATE_VERSION = 1
ENDED_RETENTION = 3600.0  # seconds an ended room instance is remembered, to ignore its late callbacks


class ConfigError(ValueError):
    """A bad source argument; the message names it."""


# ---------------------------------------------------------------------------------------------
# signatures


def signed_url(public_url: str) -> str:
    """The text Vobiz signs: the callback URL without its query string (and fragment)."""
    parts = urllib.parse.urlsplit(public_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))


def compute_signature(token: str, url: str, nonce: str, version: str) -> str:
    """base64(HMAC-SHA256(token, URL + nonce)) for V2, base64(HMAC-SHA256(token, URL + "." + nonce)) for V3."""
    message = url + ('.' if version == 'v3' else '') + nonce
    digest = hmac.new(token.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).digest()
    return base64.b64encode(digest).decode('ascii')


class SignatureVerifier:
    """Checks the signature headers of one callback and remembers nonces against replays."""

    def __init__(
        self,
        public_url: str,
        auth_token: str,
        parent_auth_token: str | None = None,
        accept_v2: bool = True,
        replay_window: float = 300,
        clock: Callable[[], float] = time.time,
    ):
        self.url = signed_url(public_url)
        self._tokens = {'account': auth_token, 'parent': parent_auth_token}
        self.accept_v2 = accept_v2
        self.replay_window = replay_window
        self.clock = clock
        self.nonces: dict[str, float] = {}

    def __repr__(self) -> str:
        return 'SignatureVerifier(url=%r)' % self.url  # never the tokens

    def check(self, headers) -> tuple[int | None, str]:
        """Return ``(None, version)`` for a good callback, ``(401 or 403, reason)`` otherwise.

        Every signature this source can check that is present must be valid; at least one of the
        accepted ones (V3, or V2 when accepted, or an MA variant with the parent token) must be present.
        """
        checked = []
        for name, (sig_header, nonce_header, which, version) in SIGNATURE_HEADERS.items():
            signature = headers.get(sig_header)
            token = self._tokens[which]
            if signature is None or token is None:
                continue
            nonce = headers.get(nonce_header)
            if not nonce:
                return 403, '%s without %s' % (sig_header, nonce_header)
            expected = compute_signature(token, self.url, nonce, version)
            if not hmac.compare_digest(expected.encode('ascii'), signature.strip().encode('utf-8', 'replace')):
                return 403, 'invalid %s' % sig_header
            checked.append((name, nonce))
        accepted = [name for name, nonce in checked if name in ('v3', 'ma-v3') or self.accept_v2]
        if not accepted:
            if checked:
                return 401, 'only a V2 signature, and accept_v2 is false'
            return 401, 'no signature this source can verify'
        now = self.clock()
        self._forget(now)
        for name, nonce in checked:
            if nonce in self.nonces:
                return 403, 'replayed nonce'
        for name, nonce in checked:
            self.nonces[nonce] = now
        return None, 'v3' if any(name.endswith('v3') for name in accepted) else 'v2'

    def _forget(self, now: float) -> None:
        horizon = now - self.replay_window
        if self.nonces and (len(self.nonces) >= MAX_NONCES or next(iter(self.nonces.values())) < horizon):
            self.nonces = {nonce: seen for nonce, seen in self.nonces.items() if seen >= horizon}
            while len(self.nonces) >= MAX_NONCES:  # a flood of valid callbacks: forget the oldest
                del self.nonces[next(iter(self.nonces))]


# ---------------------------------------------------------------------------------------------
# registry


def _flag(value: Any) -> bool | None:
    if isinstance(value, str) and value.strip().lower() in ('true', 'false'):
        return value.strip().lower() == 'true'
    return None


class Room:
    """One live instance of a conference, as far as callbacks tell."""

    def __init__(self, name: str, uuid: str | None, now: float):
        self.name = name
        self.uuid = uuid
        self.first_seen = now
        self.present: set[str] = set()
        self.left: set[str] = set()  # members seen leaving; a late or duplicate enter of theirs is ignored
        self.saw_first_member = False  # only then can the member count be trusted
        self.lonely_since: float | None = now
        self.emitted = {'overdue': [], 'lonely': []}  # emission times per kind

    @property
    def members_known(self) -> bool:
        return self.saw_first_member

    def to_dict(self) -> dict:
        return {
            'name': self.name,
            'uuid': self.uuid,
            'first_seen': self.first_seen,
            'present': sorted(self.present),
            'left': sorted(self.left),
            'emitted': self.emitted,
        }

    @classmethod
    def from_dict(cls, data: dict) -> 'Room':
        room = cls(data['name'], data.get('uuid'), float(data['first_seen']))
        room.present = set(data.get('present') or ())
        room.left = set(data.get('left') or ())
        emitted = data.get('emitted') or {}
        room.emitted = {kind: [float(t) for t in emitted.get(kind) or ()] for kind in ('overdue', 'lonely')}
        room.saw_first_member = False  # callbacks may have been missed while nobody listened
        room.lonely_since = None
        return room


class RoomRegistry:
    """Live rooms built from callbacks, and the overdue/lonely events due; no I/O, clock injected."""

    def __init__(
        self, max_duration: float = 0, lonely_after: float = 0, repeat_after: float = 300, max_emissions: int = 3, clock: Callable[[], float] = time.time
    ):
        self.max_duration = max_duration
        self.lonely_after = lonely_after
        self.repeat_after = repeat_after
        self.max_emissions = max_emissions
        self.clock = clock
        self.rooms: dict[str, Room] = {}
        # name -> (uuid, time ended, member ids of that instance): late callbacks of an ended room are ignored
        self.ended: dict[str, tuple[str | None, float, set[str]]] = {}
        self.changed = False

    def apply(self, fields: dict) -> dict:
        """Take one callback's form fields; return what the registry now knows about its room."""
        now = self.clock()
        name = fields.get('ConferenceName') or ''
        action = (fields.get('ConferenceAction') or fields.get('Event') or '').strip().lower()
        uuid = fields.get('ConferenceUUID') or None
        member = fields.get('ConferenceMemberID') or fields.get('CallUUID') or None
        info = {'members': None, 'ignored': None}
        if not name or action not in ('enter', 'exit'):
            info['ignored'] = 'no ConferenceName or an action other than enter/exit'
            return info
        if self._is_late(name, uuid, member):
            info['ignored'] = 'late callback of a room that already ended'
            return info
        room = self.rooms.get(name)
        if room is not None and uuid and room.uuid and uuid != room.uuid:
            # a new instance with the same name: the old one ended unreported
            self._end(room, now)
            room = None
        if room is None:
            room = self.rooms[name] = Room(name, uuid, now)
        elif room.uuid is None and uuid:
            room.uuid = uuid
        self.changed = True
        before = len(room.present)
        if action == 'enter':
            if _flag(fields.get('ConferenceFirstMember')):
                room.saw_first_member = True
            if member is not None and member not in room.left:
                room.present.add(member)
        else:
            if member is not None:
                room.present.discard(member)
                room.left.add(member)
            if _flag(fields.get('ConferenceLastMember')):
                self._end(room, now)
                info['members'] = 0
                info['ended'] = True
                return info
        after = len(room.present)
        if after > 1:
            room.lonely_since = None
            room.emitted['lonely'] = []  # it was not lonely in between: a later lonely spell starts afresh
        elif before > 1 or room.lonely_since is None:
            room.lonely_since = now
        info['members'] = after if room.members_known else None
        return info

    def _is_late(self, name: str, uuid: str | None, member: str | None) -> bool:
        ended = self.ended.get(name)
        if ended is None:
            return False
        ended_uuid, dummy, members = ended
        if uuid and ended_uuid:
            return uuid == ended_uuid
        return member is not None and member in members

    def _end(self, room: Room, now: float) -> None:
        self.rooms.pop(room.name, None)
        self.ended[room.name] = (room.uuid, now, room.present | room.left)
        self.changed = True

    def due_events(self) -> list[dict]:
        """The overdue and lonely events due now (each marked as emitted)."""
        now = self.clock()
        for name in [n for n, (u, t, m) in self.ended.items() if now - t > ENDED_RETENTION]:
            del self.ended[name]
        events = []
        for room in list(self.rooms.values()):
            live = now - room.first_seen
            members = len(room.present) if room.members_known else None
            if self.max_duration and live >= self.max_duration and self._may_emit(room, 'overdue', now):
                events.append(
                    {
                        'type': 'overdue',
                        'conference_name': room.name,
                        'conference_uuid': room.uuid,
                        'live_seconds': int(live),
                        'members': members,
                        'max_duration': self.max_duration,
                        'emission': len(room.emitted['overdue']),
                    }
                )
            if (
                self.lonely_after
                and room.members_known
                and room.lonely_since is not None
                and now - room.lonely_since >= self.lonely_after
                and self._may_emit(room, 'lonely', now)
            ):
                events.append(
                    {
                        'type': 'lonely',
                        'conference_name': room.name,
                        'conference_uuid': room.uuid,
                        'lonely_seconds': int(now - room.lonely_since),
                        'live_seconds': int(live),
                        'members': members,
                        'lonely_after': self.lonely_after,
                        'emission': len(room.emitted['lonely']),
                    }
                )
        return events

    def _may_emit(self, room: Room, kind: str, now: float) -> bool:
        times = room.emitted[kind]
        if len(times) >= self.max_emissions or (times and now - times[-1] < self.repeat_after):
            return False
        times.append(now)
        self.changed = True
        return True

    def to_dict(self) -> dict:
        return {
            'rooms': [room.to_dict() for room in self.rooms.values()],
            'ended': [{'name': name, 'uuid': uuid, 'time': when, 'members': sorted(members)} for name, (uuid, when, members) in self.ended.items()],
        }

    def load(self, data: dict) -> None:
        for item in data.get('rooms') or ():
            room = Room.from_dict(item)
            self.rooms[room.name] = room
        for item in data.get('ended') or ():
            self.ended[item['name']] = (item.get('uuid'), float(item['time']), set(item.get('members') or ()))


# ---------------------------------------------------------------------------------------------
# state file


def save_state(path: str, registry: RoomRegistry, verifier: SignatureVerifier) -> None:
    """Write the registry and the remembered nonces atomically (mode 0600)."""
    data = registry.to_dict()
    data.update(version=STATE_VERSION, saved_at=registry.clock(), nonces=verifier.nonces)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.vobiz-rooms-', dir=directory)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as handle:
            json.dump(data, handle)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    registry.changed = False


def load_state(path: str, registry: RoomRegistry, verifier: SignatureVerifier) -> bool:
    """Load a state file written by save_state; False when there is none. Raises ConfigError when unreadable."""
    try:
        with open(path, encoding='utf-8') as handle:
            data = json.load(handle)
    except FileNotFoundError:
        return False
    except (OSError, ValueError) as exc:
        raise ConfigError('state_file %s cannot be read: %s' % (path, exc)) from None
    if not isinstance(data, dict) or data.get('version') != STATE_VERSION:
        raise ConfigError('state_file %s is not a state file of this source (version %r)' % (path, STATE_VERSION))
    try:
        registry.load(data)
        verifier.nonces = {str(n): float(t) for n, t in (data.get('nonces') or {}).items()}
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError('state_file %s is damaged: %s' % (path, exc)) from None
    return True


# ---------------------------------------------------------------------------------------------
# arguments


def _number(args: dict, name: str, default, minimum=0, kind=int):
    value = args.get(name, default)
    if value is None:
        value = default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError('%s must be a number, got %r' % (name, value))
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError('%s must be a number, got %r' % (name, value)) from None
    if number < minimum:
        raise ConfigError('%s must be >= %s, got %r' % (name, minimum, value))
    return number


def _bool(args: dict, name: str, default: bool) -> bool:
    value = args.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false', 'yes', 'no'):
        return value.lower() in ('true', 'yes')
    raise ConfigError('%s must be true or false, got %r' % (name, value))


def parse_args(args: dict, environ=None) -> dict:
    """Validate the source arguments; raises ConfigError naming the argument."""
    environ = os.environ if environ is None else environ
    known = {
        'host',
        'port',
        'public_url',
        'auth_token',
        'parent_auth_token',
        'accept_v2',
        'replay_window',
        'max_body',
        'max_duration',
        'lonely_after',
        'check_interval',
        'repeat_after',
        'max_emissions',
        'state_file',
    }
    unknown = sorted(set(args) - known)
    if unknown:
        raise ConfigError('unknown argument(s): %s (known: %s)' % (', '.join(unknown), ', '.join(sorted(known))))
    public_url = args.get('public_url')
    if not isinstance(public_url, str) or not public_url:
        raise ConfigError('public_url is required: the callback URL exactly as configured at Vobiz')
    parts = urllib.parse.urlsplit(public_url)
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise ConfigError('public_url must be an http:// or https:// URL, got %r' % public_url)
    token = args.get('auth_token') or environ.get('VOBIZ_AUTH_TOKEN')
    if not isinstance(token, str) or not token:
        raise ConfigError('auth_token is required (or set VOBIZ_AUTH_TOKEN): callbacks cannot be verified without it')
    parent = args.get('parent_auth_token') or None
    if parent is not None and not isinstance(parent, str):
        raise ConfigError('parent_auth_token must be a string')
    if args.get('port') is None:
        raise ConfigError('port is required')
    settings = {
        'host': args.get('host') or '127.0.0.1',
        'port': _number(args, 'port', None),
        'public_url': public_url,
        'path': parts.path or '/',
        'auth_token': token,
        'parent_auth_token': parent,
        'accept_v2': _bool(args, 'accept_v2', True),
        'replay_window': _number(args, 'replay_window', 300, 1),
        'max_body': _number(args, 'max_body', 65536, 1),
        'max_duration': _number(args, 'max_duration', 0),
        'lonely_after': _number(args, 'lonely_after', 0),
        'check_interval': _number(args, 'check_interval', 5, 0.01, float),
        'repeat_after': _number(args, 'repeat_after', 300, 1),
        'max_emissions': _number(args, 'max_emissions', 3, 1),
        'state_file': args.get('state_file') or None,
    }
    if settings['port'] > 65535:
        raise ConfigError('port must be at most 65535, got %r' % settings['port'])
    return settings


# ---------------------------------------------------------------------------------------------
# the listener


def callback_event(fields: dict, info: dict, version: str) -> dict:
    """The event emitted for one accepted callback."""
    return {
        'vobiz': {
            'type': 'callback',
            'action': (fields.get('ConferenceAction') or '').lower() or None,
            'conference_name': fields.get('ConferenceName'),
            'conference_uuid': fields.get('ConferenceUUID'),
            'member_id': fields.get('ConferenceMemberID'),
            'call_uuid': fields.get('CallUUID'),
            'first_member': _flag(fields.get('ConferenceFirstMember')),
            'last_member': _flag(fields.get('ConferenceLastMember')),
            'from': fields.get('From'),
            'to': fields.get('To'),
            'direction': fields.get('Direction'),
            'call_status': fields.get('CallStatus'),
            'members': info.get('members'),
            'signature': version,
            'fields': fields,
        }
    }


class CallbackListener:
    """aiohttp application + timer around a SignatureVerifier and a RoomRegistry."""

    def __init__(self, settings: dict, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.verifier = SignatureVerifier(
            settings['public_url'], settings['auth_token'], settings['parent_auth_token'], settings['accept_v2'], settings['replay_window'], clock
        )
        self.registry = RoomRegistry(settings['max_duration'], settings['lonely_after'], settings['repeat_after'], settings['max_emissions'], clock)
        self.pending: asyncio.Queue = asyncio.Queue()  # unbounded: the handler never waits for the engine
        self.counts = {'accepted': 0, 'unsigned': 0, 'forbidden': 0}
        if settings['state_file'] and load_state(settings['state_file'], self.registry, self.verifier):
            LOGGER.info('Loaded %d live room(s) from %s', len(self.registry.rooms), settings['state_file'])

    def app(self):
        from aiohttp import web

        application = web.Application(client_max_size=self.settings['max_body'])
        application.router.add_post(self.settings['path'], self.handle)
        return application

    async def handle(self, request):
        from aiohttp import web

        status, detail = self.verifier.check(request.headers)
        if status is not None:
            self.counts['unsigned' if status == 401 else 'forbidden'] += 1
            LOGGER.warning('Refused a callback from %s: %s (HTTP %d)', request.remote, detail, status)
            return web.Response(status=status, text='unauthorized\n' if status == 401 else 'forbidden\n')
        if request.content_length is not None and request.content_length > self.settings['max_body']:
            return web.Response(status=413, text='too large\n')
        try:
            form = await request.post()
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413, text='too large\n')
        except ValueError:
            return web.Response(status=400, text='bad form\n')
        fields = {key: str(value) for key, value in form.items() if isinstance(value, str)}
        info = self.registry.apply(fields)
        if info.get('ignored'):
            LOGGER.info('Callback for %r: %s', fields.get('ConferenceName'), info['ignored'])
        self.counts['accepted'] += 1
        self.pending.put_nowait(callback_event(fields, info, detail))
        self.save()
        return web.Response(status=204)

    def save(self) -> None:
        if self.settings['state_file'] and self.registry.changed:
            try:
                save_state(self.settings['state_file'], self.registry, self.verifier)
            except OSError as exc:
                LOGGER.error('Cannot write state_file %s: %s', self.settings['state_file'], exc)

    async def tick(self) -> None:
        while True:
            for event in self.registry.due_events():
                LOGGER.info('Conference %r is %s', event['conference_name'], event['type'])
                self.pending.put_nowait({'vobiz': event})
            self.save()
            await asyncio.sleep(self.settings['check_interval'])

    async def forward(self, queue) -> None:
        while True:
            event = await self.pending.get()
            await queue.put(event)


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Serve callbacks and put events on ``queue`` until cancelled."""
    from aiohttp import web

    settings = parse_args(args)
    listener = CallbackListener(settings)
    runner = web.AppRunner(listener.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings['host'], settings['port'])
    await site.start()
    LOGGER.info('Listening for Vobiz conference callbacks on %s:%s%s', settings['host'], settings['port'], settings['path'])
    tasks = [asyncio.create_task(listener.tick()), asyncio.create_task(listener.forward(queue))]
    try:
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        listener.save()
        await runner.cleanup()


if __name__ == '__main__':
    # Try it by hand: python conference_callbacks.py (prints events; VOBIZ_AUTH_TOKEN must be set)

    class _PrintQueue(asyncio.Queue):
        async def put(self, item):
            print(json.dumps(item), flush=True)

    asyncio.run(main(_PrintQueue(), {'port': 5050, 'public_url': 'http://127.0.0.1:5050/vobiz/conference', 'max_duration': 60, 'lonely_after': 30}))
