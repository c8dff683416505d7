#!/usr/bin/env python
"""Emulator of the Vobiz conference API, for offline tests and demos.

It serves the conference routes under ``/api/v1/Account/{auth_id}/`` on 127.0.0.1, keeps live
conferences in memory, and can be switched to behave like the live service where it deviates from
the documentation (lying GETs, 202 answers, error body shapes), to add latency, and to inject faults
(429 with or without Retry-After, 5xx, dropped connections, lost replies, slow answers).

Standard library only; ``trustme`` is imported lazily for ``--tls``.  See README.md next to this file.

Command line::

    python vobiz_emulator.py --port 0 --port-file /tmp/port --auth-id MA_DEMO --auth-token TOKEN --conference "Board Room"

In-process::

    with Emulator(auth_id='MA_TEST', auth_token='tok', conferences=['Board Room']) as emu:
        requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers={...})
"""

from __future__ import annotations

import argparse
import base64
import copy
import dataclasses
import datetime
import email.utils
import fnmatch
import hashlib
import hmac
import http.client
import http.server
import itertools
import json
import math
import os
import random
import secrets
import selectors
import signal
import socket
import socketserver
import ssl
import struct
import sys
import tempfile
import threading
import time
import urllib.parse
import uuid

__version__ = '1.0.0'

HOST = '127.0.0.1'
API_PREFIX = '/api/v1'
CONTROL_PREFIX = '/_emulator'
MAX_BODY = 64 * 1024
DRAIN_LIMIT = 1024 * 1024
SPEAK_MAX_CHARS = 1000
PLIVO_RATE_LIMIT = {'requests': 300, 'per_seconds': 5}
GATEWAY_NOT_FOUND = {'message': 'Not Found'}

FAULT_KINDS = ('429_retry_after', '429_retry_after_date', '429', '500', '502', '503', '503_retry_after', '504', 'drop', 'lost_reply', 'slow',
               # hostile answers (see README): none of these carries the request out, except trickle
               'gateway_404', 'html', 'error_body', 'huge_body', 'trickle', 'control_chars', 'echo_token', 'reset')
FAULT_DEFAULTS = {'kind': None, 'method': None, 'match': None, 'action': None, 'first_n': None, 'rate': None, 'retry_after': 1, 'delay': 1.0,
                  'status': None, 'size': None, 'interval': 0.2, 'offset': 0, 'shape': None, 'declare_length': True}
#: Status of the hostile answers when the rule sets none.
FAULT_STATUS_DEFAULTS = {'html': 200, 'error_body': 200, 'huge_body': 200, 'control_chars': 400, 'echo_token': 400}
#: Default size (bytes) of the huge_body fault's body, and of a trickled body padded out from an empty reply.
HUGE_BODY_DEFAULT = 50 * 1024 * 1024
TRICKLE_PAD_DEFAULT = 64
#: The control_chars fault's message: colour escapes, cursor control, CR, BEL, a bidi override, and a forged line.
CONTROL_CHARS_MESSAGE = 'bad \x1b[31mred\x1b[0m \x1b[2K\rerased\x07 \u202etxt.exe\n[ERROR]: forged'
HTML_PAGE = b'<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Something went wrong</h1></body></html>\n'

DEFAULT_SWITCHES = {
    'latency_ms': 0,
    'jitter_ms': 0,
    'seed': 0,
    'faults': [],
    'rate_limit': None,
    'list_lies': False,
    'retrieve_lies': False,
    'member_action_status': 202,
    'error_style': 'flat',
    'trailing_slash': 'reject',
    'forbidden': [],
}

ERROR_CODES = {
    400: 'BAD_REQUEST',
    401: 'UNAUTHORIZED',
    403: 'FORBIDDEN',
    404: 'NOT_FOUND',
    405: 'METHOD_NOT_ALLOWED',
    413: 'PAYLOAD_TOO_LARGE',
    429: 'TOO_MANY_REQUESTS',
    500: 'INTERNAL_SERVER_ERROR',
    502: 'BAD_GATEWAY',
    503: 'SERVICE_UNAVAILABLE',
    504: 'GATEWAY_TIMEOUT',
}

FAULT_MESSAGES = {
    '500': 'internal server error',
    '502': 'bad gateway',
    '503': 'service unavailable',
    '504': 'gateway timeout',
}

# Route shapes: the segments after /api/v1/Account/{auth_id}/Conference/{name}/Member/{m}/
MEMBER_VERBS = {
    'Kick': {'POST': 'kick'},
    'Mute': {'POST': 'mute', 'DELETE': 'unmute'},
    'Deaf': {'POST': 'deaf', 'DELETE': 'undeaf'},
    'Play': {'POST': 'play', 'DELETE': 'stop_play'},
    'Speak': {'POST': 'speak', 'DELETE': 'stop_speak'},
}
POST_MESSAGES = {
    'kick': 'kicked',
    'mute': 'muted',
    'deaf': 'deaf',
    'play': 'play started',
    'speak': 'speak started',
}
MEMBER_FIELDS = ('member_id', 'muted', 'deaf', 'from', 'to', 'caller_name', 'direction', 'call_uuid', 'join_time')


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds and a Z suffix."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='milliseconds').replace('+00:00', 'Z')


def atomic_write(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either nothing or the whole content."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.tmp-', dir=directory)
    try:
        with os.fdopen(fd, 'wb') as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


# ---------------------------------------------------------------------------------------------
# switches


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_rate_limit(value):
    """Normalise a rate limit: None/"off", "plivo", "N/S" or {"requests": N, "per_seconds": S}."""
    if value is None or value in ('off', 'none', ''):
        return None
    if value == 'plivo':
        return dict(PLIVO_RATE_LIMIT)
    if isinstance(value, str):
        parts = value.split('/')
        try:
            if len(parts) != 2:
                raise ValueError(value)
            value = {'requests': int(parts[0]), 'per_seconds': float(parts[1])}
        except ValueError:
            raise ValueError('rate_limit must be null, "plivo", "N/S" or {"requests": N, "per_seconds": S}, got %r' % value)
    if not isinstance(value, dict) or set(value) != {'requests', 'per_seconds'}:
        raise ValueError('rate_limit must be null, "plivo", "N/S" or {"requests": N, "per_seconds": S}, got %r' % (value,))
    requests_, per = value['requests'], value['per_seconds']
    if not isinstance(requests_, int) or isinstance(requests_, bool) or requests_ < 1 or not _is_number(per) or per <= 0:
        raise ValueError('rate_limit needs requests >= 1 and per_seconds > 0')
    return {'requests': requests_, 'per_seconds': per}


def normalize_fault(rule) -> dict:
    """Validate one fault rule and fill in its defaults."""
    if not isinstance(rule, dict):
        raise ValueError('a fault rule must be an object, got %r' % (rule,))
    unknown = set(rule) - set(FAULT_DEFAULTS)
    if unknown:
        raise ValueError('unknown fault rule keys: %s' % ', '.join(sorted(unknown)))
    result = dict(FAULT_DEFAULTS)
    result.update(rule)
    kind = result['kind']
    if isinstance(kind, int) and not isinstance(kind, bool):
        kind = str(kind)
    if kind not in FAULT_KINDS:
        raise ValueError('fault kind must be one of %s, got %r' % (', '.join(FAULT_KINDS), result['kind']))
    result['kind'] = kind
    for key in ('method', 'match', 'action'):
        if result[key] is not None and not isinstance(result[key], str):
            raise ValueError('fault %s must be a string or null' % key)
    if result['method'] is not None:
        result['method'] = result['method'].upper()
    first_n = result['first_n']
    if first_n is not None and (not isinstance(first_n, int) or isinstance(first_n, bool) or first_n < 0):
        raise ValueError('fault first_n must be an integer >= 0 or null')
    rate = result['rate']
    if rate is not None and (not _is_number(rate) or not 0 <= rate <= 1):
        raise ValueError('fault rate must be a number from 0 to 1 or null')
    retry_after = result['retry_after']
    if not isinstance(retry_after, int) or isinstance(retry_after, bool) or retry_after < 0:
        raise ValueError('fault retry_after must be an integer >= 0 (seconds)')
    if not _is_number(result['delay']) or result['delay'] < 0:
        raise ValueError('fault delay must be a number >= 0 (seconds)')
    status = result['status']
    if status is not None and (not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599):
        raise ValueError('fault status must be an HTTP status (100 to 599) or null')
    size = result['size']
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise ValueError('fault size must be an integer >= 0 (bytes) or null')
    if not _is_number(result['interval']) or result['interval'] < 0:
        raise ValueError('fault interval must be a number >= 0 (seconds)')
    offset = result['offset']
    if not isinstance(offset, int) or isinstance(offset, bool) or offset < 0:
        raise ValueError('fault offset must be an integer >= 0')
    if result['shape'] not in (None, 'flat', 'envelope', 'text'):
        raise ValueError('fault shape must be "flat", "envelope", "text" or null (the error_style switch)')
    if not isinstance(result['declare_length'], bool):
        raise ValueError('fault declare_length must be true or false')
    return result


def normalize_switch(name: str, value):
    """Validate one switch value and return its normalised form (raises ValueError)."""
    if name not in DEFAULT_SWITCHES:
        raise ValueError('unknown switch %r (known: %s)' % (name, ', '.join(sorted(DEFAULT_SWITCHES))))
    if name in CALLBACK_DEFAULTS:
        return normalize_callback_switch(name, value)
    if name in ('latency_ms', 'jitter_ms'):
        if not _is_number(value) or value < 0:
            raise ValueError('%s must be a number >= 0' % name)
        return value
    if name == 'seed':
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise ValueError('seed must be an integer or null')
        return value
    if name == 'faults':
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError('faults must be a list of rules')
        return [normalize_fault(rule) for rule in value]
    if name == 'rate_limit':
        return parse_rate_limit(value)
    if name in ('list_lies', 'retrieve_lies'):
        if not isinstance(value, bool):
            raise ValueError('%s must be true or false' % name)
        return value
    if name == 'member_action_status':
        if value not in (200, 202) or isinstance(value, bool):
            raise ValueError('member_action_status must be 200 or 202')
        return int(value)
    if name == 'error_style':
        if value not in ('flat', 'envelope'):
            raise ValueError('error_style must be "flat" or "envelope"')
        return value
    if name == 'trailing_slash':
        if value not in ('reject', 'accept'):
            raise ValueError('trailing_slash must be "reject" or "accept"')
        return value
    # forbidden
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ValueError('forbidden must be a list of conference names')
    return list(value)


# ---------------------------------------------------------------------------------------------
# routing


@dataclasses.dataclass
class Route:
    """The outcome of matching a request target against the API routes."""

    kind: str  # 'api', 'lowercase' (401), 'bad_path' (400) or 'not_found' (gateway 404)
    auth_id: str | None = None
    conference: str | None = None
    member: str | None = None
    actions: dict = dataclasses.field(default_factory=dict)  # method -> action name
    slash: bool = True


def decode_segment(segment: str) -> str:
    """Percent-decode one path segment (given as latin-1 text of the raw bytes) as UTF-8."""
    try:
        raw = segment.encode('latin-1')
    except UnicodeEncodeError:
        raw = segment.encode('utf-8')
    return urllib.parse.unquote_to_bytes(raw).decode('utf-8')


def parse_api_path(target: str) -> Route:
    """Match a raw request target to an API route, without normalising anything."""
    path = target.split('?', 1)[0].split('#', 1)[0]
    segments = path.split('/')
    if len(segments) < 6 or segments[0] != '':
        return Route('not_found')
    tail = segments[4:]
    slash = tail[-1] == ''
    if slash:
        tail = tail[:-1]
    case_mismatch = []

    def literal(segment, expected):
        if segment == expected:
            return True
        if segment.lower() == expected.lower():
            case_mismatch.append(segment)
            return True
        return False

    if not all(literal(seg, exp) for seg, exp in zip(segments[1:4], ('api', 'v1', 'Account'))):
        return Route('not_found')
    if len(tail) < 2 or not literal(tail[1], 'Conference'):
        return Route('not_found')
    count = len(tail)
    if count == 2:
        actions = {'GET': 'list', 'DELETE': 'hangup_all'}
    elif count == 3:
        actions = {'GET': 'retrieve', 'DELETE': 'hangup'}
    elif count == 4 and literal(tail[3], 'Record'):
        actions = {'POST': 'record', 'DELETE': 'stop_record'}
    elif count == 5 and literal(tail[3], 'Member'):
        actions = {'DELETE': 'member_hangup'}
    elif count == 6 and literal(tail[3], 'Member'):
        verb = [name for name in MEMBER_VERBS if name.lower() == tail[5].lower()]
        if not verb or not literal(tail[5], verb[0]):
            return Route('not_found')
        actions = dict(MEMBER_VERBS[verb[0]])
    else:
        return Route('not_found')
    variable = [tail[0]] + tail[2:3] + tail[4:5]
    if any(seg == '' for seg in variable):
        return Route('not_found')
    try:
        decoded = [decode_segment(seg) for seg in variable] + [None, None]
    except UnicodeDecodeError:
        return Route('bad_path', slash=slash)
    kind = 'lowercase' if case_mismatch else 'api'
    return Route(kind, auth_id=decoded[0], conference=decoded[1], member=decoded[2], actions=actions, slash=slash)


# ---------------------------------------------------------------------------------------------
# state


class Reply:
    """An HTTP answer: status, JSON payload (or None for no body) and extra headers.

    ``raw`` (bytes) with ``content_type`` replaces the JSON payload; ``huge`` (a size in bytes) makes the
    body that many generated bytes, written in chunks and never held in memory.
    """

    def __init__(self, status: int, payload=None, headers=None, raw: bytes | None = None,
                 content_type: str = 'application/json', huge: int | None = None):
        self.status = status
        self.payload = payload
        self.headers = dict(headers or {})
        self.raw = raw
        self.content_type = content_type
        self.huge = huge

    def body_bytes(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return b'' if self.payload is None else json.dumps(self.payload).encode('utf-8')


class _Account:
    """One account: its token, live conferences and the history of announcements and recordings."""

    def __init__(self, token: str):
        self.token = token
        self.conferences = {}
        self.announcements = {}
        self.recordings = {}


def render_conference(conf: dict, now: float) -> dict:
    """Render an internal conference as the documented conference object (without api_id)."""
    members = []
    for member in conf['members']:
        shown = {key: member[key] for key in MEMBER_FIELDS if key != 'join_time'}
        shown['join_time'] = str(max(0, int(now - member['joined'])))
        members.append(shown)
    return {
        'conference_name': conf['name'],
        'conference_run_time': str(max(0, int(now - conf['started']))),
        'conference_member_count': str(len(members)),
        'members': members,
    }


# ---------------------------------------------------------------------------------------------
# conference callbacks (members join and leave; signed enter/exit callbacks to callback_url)

CALLBACK_SIGNINGS = ('v2+v3', 'v3', 'v2', 'none', 'wrong_key')
CALLBACK_DEFAULTS = {
    'callback_url': None,  # where enter/exit callbacks are POSTed; None: no callbacks
    'callback_signed_url': None,  # the URL signed (as configured at Vobiz, e.g. behind a TLS proxy); None: callback_url
    'callback_signing': 'v2+v3',  # which signature headers; wrong_key signs V2+V3 with a wrong token
    'callback_parent_token': None,  # also send MA-V2/MA-V3 headers keyed with this (sub-account callbacks)
    'callback_delay_ms': 0,  # wait this long before sending each batch
    'callback_reorder': False,  # send each batch (e.g. the exits of one hang-up) in reverse order
    'callback_duplicate': False,  # send every callback twice (the second with a fresh nonce, as a re-delivery)
    'callback_replay': False,  # send every callback again verbatim (same nonce and signature: a replay)
    'callback_drop_rate': 0.0,  # drop this share of callbacks (seeded by "seed")
}
DEFAULT_SWITCHES.update(CALLBACK_DEFAULTS)


def normalize_callback_switch(name: str, value):
    """Validate one callback switch (raises ValueError)."""
    if name in ('callback_url', 'callback_signed_url'):
        if value is None or value == '':
            return None
        parts = urllib.parse.urlsplit(value) if isinstance(value, str) else None
        if parts is None or parts.scheme not in ('http', 'https') or not parts.netloc:
            raise ValueError('%s must be an http(s) URL or null' % name)
        return value
    if name == 'callback_signing':
        if value not in CALLBACK_SIGNINGS:
            raise ValueError('callback_signing must be one of %s' % ', '.join(CALLBACK_SIGNINGS))
        return value
    if name == 'callback_parent_token':
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError('callback_parent_token must be a non-empty string or null')
        return value
    if name == 'callback_delay_ms':
        if not _is_number(value) or value < 0:
            raise ValueError('callback_delay_ms must be a number >= 0')
        return value
    if name == 'callback_drop_rate':
        if not _is_number(value) or not 0 <= value <= 1:
            raise ValueError('callback_drop_rate must be a number from 0 to 1')
        return float(value)
    if not isinstance(value, bool):
        raise ValueError('%s must be true or false' % name)
    return value


def callback_signature(token: str, url: str, nonce: str, version: str) -> str:
    """Vobiz's callback signature: base64(HMAC-SHA256(token, URL + nonce)) for V2, URL + "." + nonce for V3."""
    message = url + ('.' if version == 'v3' else '') + nonce
    return base64.b64encode(hmac.new(token.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).digest()).decode('ascii')


def callback_fields(conf: dict, member: dict, action: str, flag: bool) -> dict:
    """The form fields of one enter/exit callback, with Vobiz's field names."""
    fields = {
        'ConferenceAction': action,
        'Event': 'ConferenceEnter' if action == 'enter' else 'ConferenceExit',
        'ConferenceUUID': conf['uuid'],
        'ConferenceName': conf['name'],
        'ConferenceMemberID': member['member_id'],
        'CallUUID': member['call_uuid'],
    }
    if action == 'enter':
        fields.update(ConferenceFirstMember='true' if flag else 'false', From=member['from'], To=member['to'],
                      Direction=member['direction'], CallStatus='in-progress')
    else:
        fields['ConferenceLastMember'] = 'true' if flag else 'false'
    return fields


class CallbackSender:
    """Sends batches of callbacks from one background thread, applying the callback switches."""

    def __init__(self, emulator: 'Emulator'):
        self.emulator = emulator
        self._queue = []
        self._cond = threading.Condition()
        self._log = []
        self._thread = None
        self._stopping = False
        self._rng = random.Random(0)
        self._busy = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name='vobiz-emulator-callbacks', daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(10)

    def enqueue(self, batch: list) -> None:
        """Queue the form-field dicts of one emulator operation (nothing when callback_url is unset)."""
        if not batch or self.emulator.config['callback_url'] is None:
            return
        with self._cond:
            self._queue.append(batch)
            self._cond.notify_all()

    def log(self) -> list:
        with self._cond:
            return copy.deepcopy(self._log)

    def clear_log(self) -> None:
        with self._cond:
            self._log = []

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued callback has been sent (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._stopping)
                if self._stopping:
                    return
                batch = self._queue.pop(0)
                self._busy += 1
            try:
                self._send_batch(batch)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _send_batch(self, batch: list) -> None:
        cfg = self.emulator.config
        if cfg['callback_delay_ms']:
            time.sleep(cfg['callback_delay_ms'] / 1000.0)
        if cfg['callback_reorder']:
            batch = list(reversed(batch))
        for fields in batch:
            if cfg['callback_drop_rate'] and self._rng.random() < cfg['callback_drop_rate']:
                self._record(cfg, fields, None, 'dropped')
                continue
            headers = self._headers(cfg, self.emulator.auth_token)
            self._post(cfg, fields, headers, 'sent')
            if cfg['callback_replay']:
                self._post(cfg, fields, headers, 'replay')
            if cfg['callback_duplicate']:
                self._post(cfg, fields, self._headers(cfg, self.emulator.auth_token), 'duplicate')

    def _headers(self, cfg: dict, token: str) -> dict:
        signing = cfg['callback_signing']
        if signing == 'none':
            return {}
        if signing == 'wrong_key':
            token = 'not-' + token
        parts = urllib.parse.urlsplit(cfg['callback_signed_url'] or cfg['callback_url'])
        url = urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))
        headers = {}
        versions = ('v2', 'v3') if signing in ('v2+v3', 'wrong_key') else (signing,)
        keys = [('', token)]
        if cfg['callback_parent_token']:
            keys.append(('MA-', cfg['callback_parent_token']))
        for prefix, key in keys:
            for version in versions:
                nonce = secrets.token_hex(10)
                name = 'X-Vobiz-Signature-%s%s' % (prefix, version.upper())
                headers[name] = callback_signature(key, url, nonce, version)
                headers[name + '-Nonce'] = nonce
        return headers

    def _post(self, cfg: dict, fields: dict, headers: dict, kind: str) -> None:
        # http.client sends header names exactly as given (urllib would re-case them)
        data = urllib.parse.urlencode(fields).encode('ascii')
        parts = urllib.parse.urlsplit(cfg['callback_url'])
        target = parts.path or '/'
        if parts.query:
            target += '?' + parts.query
        headers = dict(headers, **{'Content-Type': 'application/x-www-form-urlencoded',
                                   'User-Agent': 'VobizEmulator/' + __version__})
        status = None
        try:
            if parts.scheme == 'https':
                conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=10)
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=10)
            try:
                conn.request('POST', target, body=data, headers=headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            finally:
                conn.close()
        except (OSError, ValueError, http.client.HTTPException) as exc:
            status = 'error: %s' % type(exc).__name__
        self._record(cfg, fields, status, kind, {k: v for k, v in headers.items() if k.startswith('X-Vobiz-')})

    def _record(self, cfg: dict, fields: dict, status, kind: str, headers=None) -> None:
        # the signature headers are kept (a signature is no secret: it is bound to its nonce) so tests can replay them
        entry = {'time': utc_now(), 'kind': kind, 'signing': cfg['callback_signing'], 'status': status,
                 'action': fields['ConferenceAction'], 'conference': fields['ConferenceName'],
                 'member': fields['ConferenceMemberID'], 'fields': dict(fields), 'headers': dict(headers or {})}
        with self._cond:
            entry['seq'] = len(self._log) + 1
            self._log.append(entry)


def member_callbacks(conf: dict, members: list, action: str, room_empty_after: bool, room_was_empty: bool = False) -> list:
    """Callbacks for members entering (the first of an empty room gets ConferenceFirstMember) or leaving
    (the last one, when the room is empty afterwards, gets ConferenceLastMember)."""
    batch = []
    for index, member in enumerate(members):
        if action == 'enter':
            flag = room_was_empty and index == 0
        else:
            flag = room_empty_after and index == len(members) - 1
        batch.append(callback_fields(conf, member, action, flag))
    return batch


def _callback_control(handler, emulator: 'Emulator', parts) -> bool:
    """Control routes of this section; returns False when the path is not one of them.

    GET/DELETE /_emulator/callbacks; POST /_emulator/conferences/{name}/members {"count": N} or {"members": [...]};
    DELETE /_emulator/conferences/{name}/members/{id}.
    """
    segments = parts.path[len(CONTROL_PREFIX):].strip('/').split('/')
    if segments == ['callbacks']:
        allowed = ('GET', 'DELETE')
    elif len(segments) in (3, 4) and segments[0] == 'conferences' and segments[2] == 'members':
        allowed = ('POST',) if len(segments) == 3 else ('DELETE',)
    else:
        return False
    raw, read_error = handler._read_body()
    if read_error:
        handler._send(Reply(read_error[0], {'error': read_error[1]}))
        return True
    if handler.command not in allowed:
        handler._send(Reply(405, {'error': 'method not allowed'}, {'Allow': ', '.join(allowed)}))
        return True
    body, body_error = parse_json_body(raw)
    if body_error or (body is not None and not isinstance(body, dict)):
        handler._send(Reply(400, {'error': body_error or 'the request body must be a JSON object'}))
        return True
    body = body or {}
    try:
        if segments == ['callbacks']:
            if handler.command == 'DELETE':
                emulator.callback_sender.clear_log()
                reply = Reply(204)
            else:
                reply = Reply(200, {'callbacks': emulator.callback_sender.log()})
        else:
            name = decode_segment(segments[1])
            if len(segments) == 3:
                members = body.get('members', body.get('count', 1))
                reply = Reply(201, emulator.join_members(name, members, auth_id=body.get('auth_id')))
            else:
                reply = Reply(200, emulator.leave_member(name, decode_segment(segments[3]), auth_id=body.get('auth_id')))
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        reply = Reply(404 if 'not live' in str(exc) or 'no member' in str(exc) else 400, {'error': str(exc)})
    handler._send(reply)
    return True


class _CallbackMixin:
    """Emulator methods of the callbacks section (members joining and leaving)."""

    def join_members(self, name: str, members=1, auth_id: str | None = None) -> dict:
        """Members join a live conference (members: a count or a list of ids/dicts); sends enter callbacks."""
        now = time.time()
        with self._lock:
            account = self._account(auth_id)
            conf = account.conferences.get(name)
            if conf is None:
                raise ValueError('conference %r is not live' % name)
            if isinstance(members, int) and not isinstance(members, bool) and members >= 1:
                people = [self._new_member(None, now) for dummy in range(members)]
            elif isinstance(members, list) and members:
                people = [self._new_member(spec, now) for spec in members]
            else:
                raise ValueError('members must be an integer >= 1 or a non-empty list')
            taken = {member['member_id'] for member in conf['members']}
            if any(member['member_id'] in taken for member in people):
                raise ValueError('member id already in the conference')
            was_empty = not conf['members']
            conf['members'].extend(people)
            self.callback_sender.enqueue(member_callbacks(conf, people, 'enter', False, was_empty))
            return render_conference(conf, now)

    def leave_member(self, name: str, member_id: str, auth_id: str | None = None) -> dict:
        """A member hangs up; the room ends when it was the last one. Sends the exit callback."""
        with self._lock:
            account = self._account(auth_id)
            conf = account.conferences.get(name)
            if conf is None:
                raise ValueError('conference %r is not live' % name)
            gone = [member for member in conf['members'] if member['member_id'] == member_id]
            if not gone:
                raise ValueError('no member %r in conference %r' % (member_id, name))
            conf['members'] = [member for member in conf['members'] if member['member_id'] != member_id]
            ended = not conf['members']
            self.callback_sender.enqueue(member_callbacks(conf, gone, 'exit', ended))
            if ended:
                self._end_conference(account, name)
            return {'conference': name, 'member_id': member_id, 'conference_ended': ended}

    def _callbacks_for_end(self, account, name: str) -> None:
        """Exit callbacks for every member of a room being hung up (call with the lock held)."""
        conf = account.conferences.get(name)
        if conf is not None:
            self.callback_sender.enqueue(member_callbacks(conf, conf['members'], 'exit', True))

    def _callbacks_for_removed(self, account, name: str, before: list) -> None:
        """Exit callbacks for members a kick or member hang-up removed (call with the lock held)."""
        conf = account.conferences.get(name)
        if conf is not None:
            present = {member['member_id'] for member in conf['members']}
            gone = [member for member in before if member['member_id'] not in present]
            self.callback_sender.enqueue(member_callbacks(conf, gone, 'exit', not conf['members']))


class Emulator(_CallbackMixin):
    """The Vobiz API emulator, serving HTTP (or HTTPS) on 127.0.0.1 from background threads.

    ``switches`` are the behaviour switches (see DEFAULT_SWITCHES); ``accounts`` maps further
    auth ids to a token or to ``{"token": ..., "conferences": [...]}``.
    """

    def __init__(self, auth_id: str = 'MA_DEMO', auth_token: str | None = None, conferences=(), members: int = 2, *,
                 accounts: dict | None = None, tls: bool = False, ca_file: str | None = None, port: int = 0,
                 idle_timeout: float | None = None, socket_timeout: float = 30.0, log_file: str | None = None,
                 verbose: bool = False, **switches):
        if not isinstance(members, int) or isinstance(members, bool) or members < 0:
            raise ValueError('members must be an integer >= 0')
        self.auth_id = auth_id
        self.auth_token = auth_token if auth_token is not None else secrets.token_hex(16)
        self.members = members
        self.tls = bool(tls)
        self.ca_file = ca_file
        self.port = port
        self.idle_timeout = idle_timeout if idle_timeout else None
        self.socket_timeout = socket_timeout
        self.log_file = log_file
        self.verbose = verbose
        self.stop_reason = None
        self._lock = threading.RLock()
        self._accounts = {}
        self._member_ids = itertools.count(1)
        self._config = copy.deepcopy(DEFAULT_SWITCHES)
        self._fault_lock = threading.Lock()
        self._fault_counts = {}
        self._fault_rng = random.Random(0)
        self._jitter_rng = random.Random(0)
        self._buckets = {}
        self._log = []
        self._log_cond = threading.Condition()
        self._log_handle = None
        self._activity_lock = threading.Lock()
        self._last_activity = time.monotonic()
        self._inflight = 0
        self._server = None
        self._thread = None
        self._owns_ca_file = False
        self._stop_lock = threading.Lock()
        self._stopped = threading.Event()
        self.callback_sender = CallbackSender(self)
        self.configure(**switches)
        self.add_account(auth_id, self.auth_token)
        for conf in conferences:
            self._add_conference_spec(conf, auth_id)
        for other_id, spec in (accounts or {}).items():
            if isinstance(spec, str):
                spec = {'token': spec}
            if not isinstance(spec, dict) or not isinstance(spec.get('token'), str) or set(spec) - {'token', 'conferences'}:
                raise ValueError('account %r needs {"token": str, "conferences": [...]}' % other_id)
            self.add_account(other_id, spec['token'])
            for conf in spec.get('conferences') or ():
                self._add_conference_spec(conf, other_id)

    # ----- lifecycle

    def start(self) -> Emulator:
        """Bind to 127.0.0.1 and serve from a background thread; returns self."""
        if self._server is not None:
            return self
        if self.log_file:
            self._log_handle = open(self.log_file, 'a', encoding='utf-8')
        try:
            context = self._tls_context() if self.tls else None
            server = _Server(self, context, self.port)
        except BaseException:
            self._release_files()
            raise
        self._server = server
        self.port = server.server_address[1]
        self._touch()
        self._thread = threading.Thread(target=server.serve, name='vobiz-emulator', daemon=True)
        self._thread.start()
        self.callback_sender.start()
        if self.idle_timeout:
            threading.Thread(target=self._watch_idle, name='vobiz-emulator-idle', daemon=True).start()
        return self

    def stop(self, reason: str = 'stopped') -> None:
        """Stop serving, close open connections and remove a temporary CA file (idempotent)."""
        with self._stop_lock:
            if self._server is None or self._stopped.is_set():
                return
            if self.stop_reason is None:
                self.stop_reason = reason
            server = self._server
            server.stop_serving()
            if self._thread is not None:
                self._thread.join(5)
            server.server_close()
            server.close_connections()
            self.callback_sender.stop()
            self._release_files()
            self._stopped.set()

    def _release_files(self) -> None:
        """Close the log file and remove a CA file this emulator created itself."""
        with self._log_cond:
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
        if self._owns_ca_file and self.ca_file and os.path.exists(self.ca_file):
            os.unlink(self.ca_file)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the emulator has stopped (or timeout); True when stopped."""
        return self._stopped.wait(timeout)

    @property
    def running(self) -> bool:
        """True between start() and stop()."""
        return self._server is not None and not self._stopped.is_set()

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:PORT."""
        return '%s://%s:%d' % ('https' if self.tls else 'http', HOST, self.port)

    @property
    def api_url(self) -> str:
        """The API base URL (what VOBIZ_API_URL should be set to)."""
        return self.url + API_PREFIX

    @property
    def connection_count(self) -> int:
        """How many TCP connections the server accepted so far."""
        return self._server.accepted if self._server is not None else 0

    def _tls_context(self) -> ssl.SSLContext:
        try:
            import trustme
        except ImportError:
            raise RuntimeError('TLS needs the trustme package (pip install trustme)')
        authority = trustme.CA()
        cert = authority.issue_cert(HOST, 'localhost')
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        if not self.ca_file:
            fd, self.ca_file = tempfile.mkstemp(prefix='vobiz-emulator-ca-', suffix='.pem')
            os.close(fd)
            self._owns_ca_file = True
        atomic_write(self.ca_file, authority.cert_pem.bytes())
        return context

    def _touch(self) -> None:
        with self._activity_lock:
            self._last_activity = time.monotonic()

    def _begin_request(self) -> None:
        with self._activity_lock:
            self._inflight += 1
            self._last_activity = time.monotonic()

    def _end_request(self) -> None:
        with self._activity_lock:
            self._inflight -= 1
            self._last_activity = time.monotonic()

    def _watch_idle(self) -> None:
        while not self._stopped.is_set():
            with self._activity_lock:
                remaining = self.idle_timeout - (time.monotonic() - self._last_activity)
                busy = self._inflight
            if remaining <= 0 and not busy:
                self.stop(reason='idle timeout')
                return
            self._stopped.wait(max(remaining, 0.05))

    # ----- accounts and conferences

    def add_account(self, auth_id: str, token: str) -> None:
        """Add an account (or replace the token of an existing one)."""
        if not isinstance(auth_id, str) or not auth_id or not isinstance(token, str) or not token:
            raise ValueError('an account needs a non-empty auth_id and token')
        with self._lock:
            if auth_id in self._accounts:
                self._accounts[auth_id].token = token
            else:
                self._accounts[auth_id] = _Account(token)

    def _account(self, auth_id: str | None) -> _Account:
        auth_id = self.auth_id if auth_id is None else auth_id
        try:
            return self._accounts[auth_id]
        except KeyError:
            raise ValueError('unknown account %r' % auth_id)

    def _add_conference_spec(self, spec, auth_id: str) -> None:
        if isinstance(spec, dict):
            if not set(spec) <= {'name', 'members', 'started_ago'}:
                raise ValueError('a conference entry takes "name", "members" and "started_ago"')
            self.add_conference(spec.get('name'), spec.get('members'), auth_id=auth_id, started_ago=spec.get('started_ago'))
        else:
            self.add_conference(spec, auth_id=auth_id)

    def _new_member(self, spec, now: float) -> dict:
        number = next(self._member_ids)
        member = {
            'member_id': str(number),
            'muted': False,
            'deaf': False,
            'from': '+9198%08d' % number,
            'to': '+918000000000',
            'caller_name': 'Caller %d' % number,
            'direction': 'inbound',
            'call_uuid': str(uuid.uuid4()),
            'joined': now,
        }
        if isinstance(spec, dict):
            unknown = set(spec) - set(MEMBER_FIELDS)
            if unknown:
                raise ValueError('unknown member fields: %s' % ', '.join(sorted(unknown)))
            for key, value in spec.items():
                if key == 'join_time':
                    member['joined'] = now - float(value)
                elif key == 'member_id':
                    member['member_id'] = str(value)
                else:
                    member[key] = value
        elif spec is not None:
            member['member_id'] = str(spec)
        return member

    def add_conference(self, name: str, members=None, auth_id: str | None = None, started_ago=None) -> dict:
        """Start (or restart) a live conference; members: a count, or a list of member ids / dicts.

        ``started_ago``: seconds since the room started (its ``conference_run_time``), default 0.
        """
        if not isinstance(name, str) or not name:
            raise ValueError('a conference needs a non-empty name')
        if members is None:
            members = self.members
        if started_ago is not None and (not _is_number(started_ago) or started_ago < 0):
            raise ValueError('started_ago must be a number of seconds >= 0')
        now = time.time() - (started_ago or 0)
        with self._lock:
            account = self._account(auth_id)
            if isinstance(members, int) and not isinstance(members, bool) and members >= 0:
                people = [self._new_member(None, now) for dummy in range(members)]
            elif isinstance(members, (list, tuple)):
                people = [self._new_member(spec, now) for spec in members]
            else:
                raise ValueError('members must be an integer >= 0 or a list')
            ids = [member['member_id'] for member in people]
            if len(set(ids)) != len(ids):
                raise ValueError('duplicate member ids in %r' % ids)
            account.conferences.pop(name, None)
            account.conferences[name] = {'name': name, 'started': now, 'members': people, 'uuid': str(uuid.uuid4())}
            self.callback_sender.enqueue(member_callbacks(account.conferences[name], people, 'enter', False, True))
            return render_conference(account.conferences[name], time.time())

    def remove_conference(self, name: str, auth_id: str | None = None) -> bool:
        """End a conference silently (not logged); True when it was live."""
        with self._lock:
            account = self._account(auth_id)
            if name not in account.conferences:
                return False
            self._end_conference(account, name)
            return True

    def set_conferences(self, names, members=None, auth_id: str | None = None) -> list:
        """Make exactly ``names`` live for an account (new rooms get ``members`` callers); return them sorted."""
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError('"conferences" must be a list of names')
        with self._lock:
            account = self._account(auth_id)
            for name in list(account.conferences):
                if name not in names:
                    self._end_conference(account, name)
        for name in names:
            if name not in self.live_names(auth_id):
                self.add_conference(name, members, auth_id=auth_id)
        return self.live_names(auth_id)

    def _end_conference(self, account: _Account, name: str) -> None:
        account.conferences.pop(name, None)
        for recording in account.recordings.get(name, ()):
            if recording['stopped'] is None:
                recording['stopped'] = utc_now()

    def live_names(self, auth_id: str | None = None) -> list:
        """Sorted names of the live conferences of an account."""
        with self._lock:
            return sorted(self._account(auth_id).conferences)

    def conference(self, name: str, auth_id: str | None = None) -> dict | None:
        """The conference object (as retrieve shows it, without api_id) or None."""
        with self._lock:
            conf = self._account(auth_id).conferences.get(name)
            return render_conference(conf, time.time()) if conf is not None else None

    def announcements(self, name: str, auth_id: str | None = None) -> list:
        """What was played or spoken in a conference (kept after it ends)."""
        with self._lock:
            return copy.deepcopy(self._account(auth_id).announcements.get(name, []))

    def recordings(self, name: str, auth_id: str | None = None) -> list:
        """The recordings started in a conference (kept after it ends)."""
        with self._lock:
            return copy.deepcopy(self._account(auth_id).recordings.get(name, []))

    def state(self) -> dict:
        """Everything the control endpoint /_emulator/state shows (never tokens)."""
        now = time.time()
        with self._lock:
            return {'accounts': {
                auth_id: {
                    'conferences': {name: render_conference(conf, now) for name, conf in account.conferences.items()},
                    'announcements': copy.deepcopy(account.announcements),
                    'recordings': copy.deepcopy(account.recordings),
                } for auth_id, account in self._accounts.items()
            }}

    # ----- switches

    def configure(self, **switches) -> dict:
        """Change some switches (names as in DEFAULT_SWITCHES); returns the whole configuration."""
        normalized = {name: normalize_switch(name, value) for name, value in switches.items()}
        with self._lock:
            self._config.update(normalized)
            with self._fault_lock:
                if 'seed' in normalized:
                    self._fault_rng.seed(normalized['seed'])
                    self._jitter_rng.seed(normalized['seed'])
                if 'faults' in normalized:
                    self._fault_counts.clear()
                if 'rate_limit' in normalized:
                    self._buckets.clear()
            return copy.deepcopy(self._config)

    @property
    def config(self) -> dict:
        """A copy of the current switches."""
        with self._lock:
            return copy.deepcopy(self._config)

    def reset(self) -> dict:
        """Switches back to the defaults; clears the log, fault counters and rate-limit buckets."""
        with self._lock:
            self._config = copy.deepcopy(DEFAULT_SWITCHES)
            with self._fault_lock:
                self._fault_counts.clear()
                self._buckets.clear()
                self._fault_rng.seed(self._config['seed'])
                self._jitter_rng.seed(self._config['seed'])
        self.clear_log()
        self.callback_sender.clear_log()
        return self.config

    # ----- request log

    def requests(self, method: str | None = None, action: str | None = None) -> list:
        """Copies of the logged API requests, oldest first, optionally filtered."""
        with self._log_cond:
            entries = copy.deepcopy(self._log)
        if method is not None:
            entries = [entry for entry in entries if entry['method'] == method.upper()]
        if action is not None:
            entries = [entry for entry in entries if entry['action'] == action]
        return entries

    def clear_log(self) -> None:
        """Forget all logged requests (sequence numbers start again at 1)."""
        with self._log_cond:
            self._log = []

    def wait_for_log(self, count: int, timeout: float = 10.0) -> bool:
        """Block until at least ``count`` requests are logged; False on timeout."""
        with self._log_cond:
            return self._log_cond.wait_for(lambda: len(self._log) >= count, timeout)

    def _record(self, entry: dict) -> None:
        with self._log_cond:
            entry['seq'] = len(self._log) + 1
            self._log.append(entry)
            self._log_cond.notify_all()
            line = json.dumps(entry)
            if self._log_handle is not None:
                self._log_handle.write(line + '\n')
                self._log_handle.flush()
        if self.verbose:
            sys.stderr.write('%s %s -> %s%s\n' % (entry['method'], entry['raw_path'], entry['status'],
                                                  ' [%s]' % entry['fault'] if entry['fault'] else ''))
            sys.stderr.flush()

    def _update_entry(self, entry: dict, **fields) -> None:
        """Add fields to a logged entry after the fact (the trickle and huge_body faults' bytes written)."""
        with self._log_cond:
            entry.update(fields)
            self._log_cond.notify_all()

    # ----- request processing helpers (called from handler threads)

    def _error(self, status: int, message: str, cfg: dict | None = None, headers=None, details=None) -> Reply:
        style = (cfg or self.config)['error_style']
        if style == 'envelope':
            payload = {
                'status': 'error',
                'error': {'code': ERROR_CODES.get(status, 'ERROR'), 'message': message, 'details': details},
                'timestamp': utc_now(),
                'requestId': str(uuid.uuid4()),
            }
        else:
            payload = {'api_id': str(uuid.uuid4()), 'error': message}
        return Reply(status, payload, headers)

    def _sleep_latency(self, cfg: dict) -> None:
        delay = cfg['latency_ms']
        if cfg['jitter_ms']:
            with self._fault_lock:
                delay += self._jitter_rng.uniform(0, cfg['jitter_ms'])
        if delay > 0:
            time.sleep(delay / 1000.0)

    def _take_token(self, key: str, limit: dict | None) -> int | None:
        """Token bucket per account: None when allowed, else the seconds to wait."""
        if limit is None:
            return None
        capacity = float(limit['requests'])
        rate = capacity / limit['per_seconds']
        with self._fault_lock:
            now = time.monotonic()
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return None
            self._buckets[key] = (tokens, now)
            return max(1, int(math.ceil((1 - tokens) / rate)))

    def _pick_fault(self, cfg: dict, method: str, path_key: str, conference: str | None, action: str | None) -> dict | None:
        """The first fault rule that fires for this request, if any."""
        chosen = None
        for index, rule in enumerate(cfg['faults']):
            if rule['method'] is not None and rule['method'] != method:
                continue
            if rule['action'] is not None and rule['action'] != action:
                continue
            if rule['match'] is not None and (conference is None or not fnmatch.fnmatchcase(conference, rule['match'])):
                continue
            with self._fault_lock:
                # every matching rule counts the attempt, even when an earlier rule fires
                key = (index, method, path_key)
                attempt = self._fault_counts.get(key, 0) + 1
                self._fault_counts[key] = attempt
                if chosen is not None or (rule['first_n'] is not None and attempt > rule['first_n']):
                    continue
                if rule['rate'] is not None and self._fault_rng.random() >= rule['rate']:
                    continue
            chosen = rule
        return chosen

    def _fault_reply(self, rule: dict, cfg: dict, headers=None) -> Reply:
        kind = rule['kind']
        if kind in FAULT_STATUS_DEFAULTS or kind == 'gateway_404':
            return self._hostile_reply(rule, cfg, headers)
        if kind.startswith('429'):
            headers = {}
            if kind == '429_retry_after':
                headers['Retry-After'] = str(rule['retry_after'])
            elif kind == '429_retry_after_date':
                headers['Retry-After'] = email.utils.formatdate(time.time() + rule['retry_after'], usegmt=True)
            return self._error(429, 'too many requests', cfg, headers)
        if kind == '503_retry_after':
            # Maintenance: "come back later" for this request only, not a rate limit.
            return self._error(503, FAULT_MESSAGES['503'], cfg, {'Retry-After': str(rule['retry_after'])})
        return self._error(int(kind), FAULT_MESSAGES[kind], cfg)

    def _hostile_reply(self, rule: dict, cfg: dict, headers) -> Reply:
        """The hostile answers: a gateway 404, HTML, 2xx error bodies, huge bodies, control characters, echoed tokens."""
        kind = rule['kind']
        status = rule['status'] if rule['status'] is not None else FAULT_STATUS_DEFAULTS.get(kind, 404)
        if kind == 'gateway_404':
            return Reply(status, dict(GATEWAY_NOT_FOUND))
        if kind == 'html':
            return Reply(status, raw=HTML_PAGE, content_type='text/html; charset=utf-8')
        if kind == 'error_body':
            return Reply(status, {'error': 'failed'})
        if kind == 'huge_body':
            return Reply(status, huge=HUGE_BODY_DEFAULT if rule['size'] is None else rule['size'])
        if kind == 'control_chars':
            message = CONTROL_CHARS_MESSAGE
        else:  # echo_token: the request's own token at ``offset`` in an error text of ``size`` characters (at least)
            token = (headers.get('X-Auth-Token') if headers is not None else None) or ''
            message = 'e' * rule['offset'] + token
            message += 'x' * max((rule['size'] or 0) - len(message), 1)
        shape = rule['shape'] or cfg['error_style']
        if shape == 'text':
            return Reply(status, raw=message.encode('utf-8'), content_type='text/plain; charset=utf-8')
        if shape == 'envelope':
            # the echoed token goes to ``details`` (where long texts are), the message stays short;
            # control characters go to both
            short = message if kind == 'control_chars' else 'request failed'
            return self._error(status, short, dict(cfg, error_style='envelope'), details=message)
        return self._error(status, message, dict(cfg, error_style='flat'))

    def _process(self, method: str, route: Route, headers, body, body_error: str | None, cfg: dict) -> Reply:
        """Auth, method and body checks, then the action itself."""
        if route.kind == 'not_found':
            return Reply(404, dict(GATEWAY_NOT_FOUND))
        if route.kind == 'bad_path':
            return self._error(400, 'the request path is not valid UTF-8', cfg)
        header_id = headers.get('X-Auth-ID')
        header_token = headers.get('X-Auth-Token')
        if not header_id or not header_token:
            return self._error(401, 'missing X-Auth-ID or X-Auth-Token header', cfg)
        with self._lock:
            account = self._accounts.get(header_id)
            token = account.token if account is not None else None
        if token is None or not hmac.compare_digest(token.encode('utf-8', 'surrogateescape'), header_token.encode('utf-8', 'surrogateescape')):
            return self._error(401, 'invalid X-Auth-ID or X-Auth-Token', cfg)
        if route.kind == 'lowercase':
            return self._error(401, 'path segments are case-sensitive: use Account, Conference, Member, ...', cfg)
        if route.auth_id != header_id:
            return self._error(401, 'the auth_id in the path does not match X-Auth-ID', cfg)
        action = route.actions.get(method)
        if action is None:
            allow = ', '.join(sorted(route.actions))
            return self._error(405, 'method %s not allowed here (allowed: %s)' % (method, allow), cfg, {'Allow': allow})
        if route.conference is not None and route.conference in cfg['forbidden']:
            return self._error(403, 'you do not have permission to access this conference', cfg)
        if body_error:
            return self._error(400, body_error, cfg)
        if method == 'POST' and body is not None and not isinstance(body, dict):
            return self._error(400, 'the request body must be a JSON object', cfg)
        if route.member is not None:
            return self._member_action(route, body or {}, cfg, action)
        return getattr(self, '_do_' + action)(route, body or {}, cfg)

    # ----- actions

    def _do_list(self, route: Route, body: dict, cfg: dict) -> Reply:
        if cfg['list_lies']:
            return Reply(200, {'conferences': []})
        with self._lock:
            names = list(self._accounts[route.auth_id].conferences)
        return Reply(200, {'api_id': str(uuid.uuid4()), 'conferences': names})

    def _do_retrieve(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            conf = self._accounts[route.auth_id].conferences.get(route.conference)
            shown = render_conference(conf, time.time()) if conf is not None else None
        if shown is None:
            return self._error(404, 'conference not found', cfg)
        if cfg['retrieve_lies']:
            return Reply(200, {'error': 'failed'})
        shown['api_id'] = str(uuid.uuid4())
        return Reply(200, shown)

    def _do_hangup(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            if route.conference not in account.conferences:
                return self._error(404, 'conference not found', cfg)
            self._callbacks_for_end(account, route.conference)
            self._end_conference(account, route.conference)
        return Reply(204)

    def _do_hangup_all(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            for name in list(account.conferences):
                self._callbacks_for_end(account, name)
                self._end_conference(account, name)
        return Reply(204)

    def _do_record(self, route: Route, body: dict, cfg: dict) -> Reply:
        file_format = body.get('file_format', 'mp3')
        if file_format not in ('mp3', 'wav'):
            return self._error(400, 'file_format must be "mp3" or "wav"', cfg)
        callback = body.get('callback_url')
        if callback is not None and not isinstance(callback, str):
            return self._error(400, 'callback_url must be a string', cfg)
        with self._lock:
            account = self._accounts[route.auth_id]
            if route.conference not in account.conferences:
                return self._error(404, 'conference not found', cfg)
            history = account.recordings.setdefault(route.conference, [])
            for recording in history:
                if recording['stopped'] is None:
                    recording['stopped'] = utc_now()
            recording_id = str(uuid.uuid4())
            url = 'https://recordings.vobiz-emulator.invalid/%s/%s.%s' % (route.auth_id, recording_id, file_format)
            history.append({'recording_id': recording_id, 'url': url, 'file_format': file_format,
                            'callback_url': callback, 'started': utc_now(), 'stopped': None})
        return Reply(cfg['member_action_status'], {'message': 'conference recording started', 'recording_id': recording_id,
                                                   'url': url, 'api_id': str(uuid.uuid4())})

    def _do_stop_record(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            if route.conference not in account.conferences:
                return self._error(404, 'conference not found', cfg)
            for recording in account.recordings.get(route.conference, ()):
                if recording['stopped'] is None:
                    recording['stopped'] = utc_now()
        return Reply(204)

    def _member_action(self, route: Route, body: dict, cfg: dict, action: str) -> Reply:
        """Shared path of all member routes: resolve members, validate, apply, answer."""
        details = {}
        if action == 'play':
            url = body.get('url')
            parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
            if parsed is None or parsed.scheme != 'https' or not parsed.netloc:
                return self._error(400, 'url must be an https:// URL', cfg)
            details = {'url': url}
        elif action == 'speak':
            text, voice, language = body.get('text'), body.get('voice', 'WOMAN'), body.get('language', 'en-US')
            if not isinstance(text, str) or not text.strip() or len(text) > SPEAK_MAX_CHARS:
                return self._error(400, 'text must be a non-empty string of at most %d characters' % SPEAK_MAX_CHARS, cfg)
            if voice not in ('WOMAN', 'MAN'):
                return self._error(400, 'voice must be "WOMAN" or "MAN"', cfg)
            if not isinstance(language, str) or not language:
                return self._error(400, 'language must be a string such as "en-US"', cfg)
            details = {'text': text, 'voice': voice, 'language': language}
        with self._lock:
            account = self._accounts[route.auth_id]
            conf = account.conferences.get(route.conference)
            if conf is None:
                return self._error(404, 'conference not found', cfg)
            present = {member['member_id']: member for member in conf['members']}
            if route.member == 'all':
                ids = list(present)
            else:
                ids = route.member.split(',')
                missing = [member_id for member_id in ids if member_id not in present]
                if missing:
                    return self._error(404, 'member not found', cfg, details={'member_id': missing})
                ids = list(dict.fromkeys(ids))
            if action in ('kick', 'member_hangup'):
                before = list(conf['members'])
                conf['members'] = [member for member in conf['members'] if member['member_id'] not in ids]
                self._callbacks_for_removed(account, route.conference, before)
            elif action in ('mute', 'unmute'):
                for member_id in ids:
                    present[member_id]['muted'] = action == 'mute'
            elif action in ('deaf', 'undeaf'):
                for member_id in ids:
                    present[member_id]['deaf'] = action == 'deaf'
            else:
                event = {'action': action, 'member_id': ids, 'time': utc_now()}
                event.update(details)
                account.announcements.setdefault(route.conference, []).append(event)
        if action in POST_MESSAGES:
            return Reply(cfg['member_action_status'], {'message': POST_MESSAGES[action], 'member_id': ids, 'api_id': str(uuid.uuid4())})
        return Reply(204)


# ---------------------------------------------------------------------------------------------
# HTTP server


def parse_json_body(raw: bytes | None):
    """Return (parsed JSON or None, error message or None); an empty body is None."""
    if raw is None or not raw.strip():
        return None, None
    try:
        return json.loads(raw), None
    except (ValueError, RecursionError):
        return None, 'the request body is not valid JSON'


class _Handler(http.server.BaseHTTPRequestHandler):
    """One connection; requests are dispatched to the API or to the control endpoints."""

    protocol_version = 'HTTP/1.1'
    server_version = 'VobizEmulator/' + __version__
    sys_version = ''
    # one send per reply (buffered writer, flushed once) and no Nagle delay: no 40 ms delayed-ACK stalls
    wbufsize = 64 * 1024
    disable_nagle_algorithm = True

    _linger = False

    def setup(self):
        self.timeout = self.server.socket_timeout
        super().setup()

    def handle_expect_100(self):
        """Send "100 Continue" at once (the writer is buffered)."""
        result = super().handle_expect_100()
        self.wfile.flush()
        return result

    def log_message(self, format, *args):
        """Silence the default per-request stderr lines (the emulator keeps its own log)."""

    def do_GET(self):
        """Every method goes through the same dispatcher."""
        self._dispatch()

    do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = do_OPTIONS = do_GET

    def _dispatch(self):
        emulator = self.server.emulator
        emulator._begin_request()
        try:
            words = self.requestline.split()
            target = words[1] if len(words) >= 2 else self.path
            path = target.split('?', 1)[0]
            if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + '/'):
                self._control(emulator, target)
            else:
                self._api(emulator, target)
        finally:
            emulator._end_request()

    # ----- body and reply helpers

    def _read_body(self):
        """Return (body bytes, None) or (None, (status, message)); never reads more than DRAIN_LIMIT."""
        encoding = self.headers.get('Transfer-Encoding', '')
        if 'chunked' in encoding.lower():
            return self._read_chunked()
        length = self.headers.get('Content-Length')
        if length is None:
            return b'', None
        try:
            size = int(length)
            if size < 0:
                raise ValueError(length)
        except ValueError:
            self.close_connection = self._linger = True
            return None, (400, 'invalid Content-Length')
        if size > MAX_BODY:
            self.close_connection = self._linger = True
            if size <= DRAIN_LIMIT:
                self._drain(size)
            return None, (413, 'the request body is larger than %d bytes' % MAX_BODY)
        return self.rfile.read(size), None

    def _drain(self, size):
        try:
            while size > 0:
                chunk = self.rfile.read(min(size, 65536))
                if not chunk:
                    return
                size -= len(chunk)
        except OSError:
            return

    def _read_chunked(self):
        data = bytearray()
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                break
            try:
                size = int(line.split(b';', 1)[0].strip(), 16)
            except ValueError:
                self.close_connection = self._linger = True
                return None, (400, 'invalid chunked encoding')
            if size == 0:
                while self.rfile.readline(1024) not in (b'\r\n', b'\n', b''):
                    pass
                break
            total += size
            if total > DRAIN_LIMIT:
                self.close_connection = self._linger = True
                return None, (413, 'the request body is larger than %d bytes' % MAX_BODY)
            chunk = self.rfile.read(size)
            self.rfile.readline(1024)
            if total <= MAX_BODY:
                data += chunk
        if total > MAX_BODY:
            self.close_connection = True
            return None, (413, 'the request body is larger than %d bytes' % MAX_BODY)
        return bytes(data), None

    def _send(self, reply: Reply) -> None:
        body = reply.body_bytes()
        try:
            self.send_response(reply.status)
            if reply.status != 204:
                self.send_header('Content-Type', reply.content_type)
                self.send_header('Content-Length', str(len(body)))
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if self.close_connection:
                self.send_header('Connection', 'close')
            self.end_headers()
            if body and self.command != 'HEAD' and reply.status != 204:
                self.wfile.write(body)
            self.wfile.flush()
        except OSError:
            self.close_connection = True
            return
        if self._linger:
            self._linger_close()

    # ----- hostile replies (faults)

    def _send_head(self, status: int, content_type: str, length: int | None) -> None:
        self.send_response(status)
        self.send_header('Content-Type', content_type)
        if length is not None:
            self.send_header('Content-Length', str(length))
        else:
            self.close_connection = True  # the body ends when the connection does
        self.send_header('Connection', 'close')
        self.end_headers()
        self.wfile.flush()

    def _send_trickle(self, emulator: Emulator, entry: dict, reply: Reply, rule: dict) -> None:
        """The real reply, its body written one byte every ``interval`` seconds; logs the bytes written."""
        body = reply.body_bytes()
        status = reply.status
        if not body:  # a 204 has nothing to trickle: answer 200 with an empty JSON object padded with spaces
            status, body = 200, b'{}'.ljust(rule['size'] if rule['size'] is not None else TRICKLE_PAD_DEFAULT)
        self.close_connection = True
        written = 0
        times = []
        hung_up = False
        try:
            self._send_head(status, reply.content_type, len(body) if rule['declare_length'] else None)
            for index in range(len(body)):
                if index:
                    time.sleep(rule['interval'])
                self.connection.sendall(body[index:index + 1])
                written += 1
                times.append(utc_now())
        except OSError:
            hung_up = True
        if not hung_up:
            hung_up = self._client_gone()
        emulator._update_entry(entry, status=status, bytes_written=written, body_size=len(body), write_times=times,
                               client_hung_up=hung_up)

    def _send_huge(self, emulator: Emulator, entry: dict, reply: Reply, rule: dict | None) -> None:
        """``reply.huge`` bytes of a JSON-looking error text, generated chunk by chunk; logs the bytes written."""
        size = reply.huge
        declare = rule['declare_length'] if rule is not None else True
        chunk = (b'{"error": "' + b'x' * 65536)[:65536]
        written = 0
        hung_up = False
        self.close_connection = True
        try:
            self._send_head(reply.status, 'application/json', size if declare else None)
            while written < size:
                piece = chunk[:min(len(chunk), size - written)]
                if written:
                    piece = (b'x' * len(piece))
                self.connection.sendall(piece)
                written += len(piece)
        except OSError:
            hung_up = True
        emulator._update_entry(entry, bytes_written=written, body_size=size, client_hung_up=hung_up)

    def _client_gone(self) -> bool:
        """After the reply: did the client close its end (EOF or reset) rather than keep the connection?"""
        raw = self.connection
        try:
            raw.settimeout(0.5)
            return socket.socket.recv(raw, 1, socket.MSG_PEEK) == b''
        except socket.timeout:
            return False
        except OSError:
            return True

    def _reset_connection(self) -> None:
        """Close with a TCP reset (SO_LINGER 0) instead of an orderly close."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
            socket.socket.close(self.connection)
        except OSError:
            pass

    def _linger_close(self):
        """Half-close, then discard what the client still sends (bounded), so it reads our answer instead of a reset."""
        raw = self.connection
        try:
            socket.socket.shutdown(raw, socket.SHUT_WR)
            raw.settimeout(min(self.server.socket_timeout, 2.0))
            left = DRAIN_LIMIT
            while left > 0:
                chunk = socket.socket.recv(raw, min(left, 65536))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:
            pass

    # ----- API requests

    def _api(self, emulator: Emulator, target: str) -> None:
        method = self.command
        entry = {'seq': None, 'time': utc_now(), 'method': method, 'raw_path': target, 'auth_id': self.headers.get('X-Auth-ID'),
                 'conference': None, 'member': None, 'action': None, 'status': None, 'fault': None, 'body': None}
        reply = None
        rule = None
        send = True
        try:
            cfg = emulator.config
            route = parse_api_path(target)
            if route.kind == 'api' and not route.slash and cfg['trailing_slash'] == 'reject':
                route = Route('not_found')
            if route.kind in ('api', 'lowercase'):
                entry.update(auth_id=route.auth_id, conference=route.conference, member=route.member,
                             action=route.actions.get(method, 'method_not_allowed'))
            else:
                entry['action'] = 'not_found' if route.kind == 'not_found' else 'bad_path'
            try:
                raw, read_error = self._read_body()
            except OSError:  # the client stalled or vanished mid-body: nobody to answer
                self.close_connection = True
                emulator._record(entry)
                return
            if read_error:
                reply = emulator._error(read_error[0], read_error[1], cfg)
            else:
                body, body_error = parse_json_body(raw)
                entry['body'] = body
                emulator._sleep_latency(cfg)
                retry = emulator._take_token(self.headers.get('X-Auth-ID') or '', cfg['rate_limit'])
                rule = None
                if retry is not None:
                    entry['fault'] = 'rate_limit'
                    reply = emulator._error(429, 'rate limit exceeded', cfg, {'Retry-After': str(retry)})
                else:
                    rule = emulator._pick_fault(cfg, method, target.split('?', 1)[0], route.conference, route.actions.get(method))
                kind = rule['kind'] if rule else None
                if kind:
                    entry['fault'] = kind
                if kind in ('drop', 'reset'):
                    send = False
                elif kind is not None and kind not in ('slow', 'lost_reply', 'trickle'):
                    reply = emulator._fault_reply(rule, cfg, self.headers)
                elif reply is None:
                    if kind == 'slow':
                        time.sleep(rule['delay'])
                    reply = emulator._process(method, route, self.headers, body, body_error, cfg)
                    if kind == 'lost_reply':
                        send = False
        except Exception as exc:  # the emulator must keep serving whatever happens
            reply = emulator._error(500, 'internal emulator error: %s' % type(exc).__name__)
            send = True
            self.close_connection = True
        # log first: a client that has its answer (or a closed connection) must find the entry
        if send and reply is not None:
            entry['status'] = reply.status
            emulator._record(entry)
            if entry['fault'] == 'trickle' and rule is not None:
                self._send_trickle(emulator, entry, reply, rule)
            elif reply.huge is not None:
                self._send_huge(emulator, entry, reply, rule)
            else:
                self._send(reply)
        else:
            self.close_connection = True
            emulator._record(entry)
            if entry['fault'] == 'reset':
                self._reset_connection()

    # ----- control endpoints

    def _control(self, emulator: Emulator, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        if _callback_control(self, emulator, parts):
            return
        name = parts.path[len(CONTROL_PREFIX):].rstrip('/') or '/'
        routes = {
            '/log': ('GET', 'DELETE'),
            '/state': ('GET',),
            '/conferences': ('POST',),
            '/conferences/remove': ('POST',),
            '/accounts': ('POST',),
            '/config': ('GET', 'POST'),
            '/reset': ('POST',),
            '/shutdown': ('POST',),
        }
        raw, read_error = self._read_body()
        if read_error:
            self._send(Reply(read_error[0], {'error': read_error[1]}))
            return
        if name not in routes:
            self._send(Reply(404, {'error': 'unknown control endpoint %s' % parts.path}))
            return
        if self.command not in routes[name]:
            self._send(Reply(405, {'error': 'method not allowed'}, {'Allow': ', '.join(routes[name])}))
            return
        body, body_error = parse_json_body(raw)
        if body_error or (self.command == 'POST' and body is not None and not isinstance(body, dict)):
            self._send(Reply(400, {'error': body_error or 'the request body must be a JSON object'}))
            return
        body = body or {}
        try:
            reply = self._control_action(emulator, name, body, urllib.parse.parse_qs(parts.query))
        except (ValueError, TypeError) as exc:
            reply = Reply(400, {'error': str(exc)})
        except Exception as exc:
            reply = Reply(500, {'error': 'internal emulator error: %s' % type(exc).__name__})
        if name == '/shutdown':
            self.close_connection = True
        self._send(reply)
        if name == '/shutdown':
            threading.Thread(target=emulator.stop, kwargs={'reason': 'shutdown request'}, daemon=True).start()

    def _control_action(self, emulator: Emulator, name: str, body: dict, query: dict) -> Reply:
        method = self.command
        if name == '/log':
            if method == 'DELETE':
                emulator.clear_log()
                return Reply(204)
            return Reply(200, {'requests': emulator.requests(method=(query.get('method') or [None])[0],
                                                             action=(query.get('action') or [None])[0])})
        if name == '/state':
            return Reply(200, emulator.state())
        if name == '/conferences':
            shown = emulator.add_conference(body.get('name'), body.get('members'), auth_id=body.get('auth_id'),
                                            started_ago=body.get('started_ago'))
            return Reply(201, shown)
        if name == '/conferences/remove':
            if not isinstance(body.get('name'), str):
                raise ValueError('"name" is required')
            return Reply(200, {'removed': emulator.remove_conference(body['name'], auth_id=body.get('auth_id'))})
        if name == '/accounts':
            emulator.add_account(body.get('auth_id'), body.get('token'))
            return Reply(201, {'auth_id': body['auth_id']})
        if name == '/config':
            if method == 'POST':
                return Reply(200, emulator.configure(**body))
            return Reply(200, emulator.config)
        if name == '/reset':
            config = emulator.reset()
            if 'conferences' in body:
                emulator.set_conferences(body['conferences'], body.get('members'), auth_id=body.get('auth_id'))
            return Reply(200, config)
        return Reply(200, {'message': 'shutting down'})


class _Server(http.server.ThreadingHTTPServer):
    """Thread-per-connection server bound to 127.0.0.1, optionally wrapping connections in TLS."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def __init__(self, emulator: Emulator, ssl_context: ssl.SSLContext | None, port: int):
        self.emulator = emulator
        self.ssl_context = ssl_context
        self.socket_timeout = emulator.socket_timeout
        self.accepted = 0
        self._connections = set()
        self._connections_lock = threading.Lock()
        self._closing = threading.Event()
        self._wake_reader, self._wake_writer = socket.socketpair()
        try:
            super().__init__((HOST, port), _Handler)
        except BaseException:
            self._wake_reader.close()
            self._wake_writer.close()
            raise

    def serve(self):
        """Accept connections until stop_serving(); unlike serve_forever() it stops at once, without polling."""
        with selectors.DefaultSelector() as selector:
            selector.register(self, selectors.EVENT_READ)
            selector.register(self._wake_reader, selectors.EVENT_READ)
            while not self._closing.is_set():
                for key, dummy in selector.select():
                    if key.fileobj is self and not self._closing.is_set():
                        self._handle_request_noblock()

    def stop_serving(self):
        """Make serve() return (from any thread)."""
        self._closing.set()
        try:
            self._wake_writer.send(b'x')
        except OSError:
            pass

    def server_close(self):
        """Close the listening socket and the wake-up pair."""
        super().server_close()
        self._wake_reader.close()
        self._wake_writer.close()

    def server_bind(self):
        """Bind without the reverse DNS lookup HTTPServer does."""
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def finish_request(self, request, client_address):
        """Runs in the connection's thread: TLS handshake, then the handler."""
        with self._connections_lock:
            self.accepted += 1
        request.settimeout(self.socket_timeout)
        connection = request
        if self.ssl_context is not None:
            try:
                connection = self.ssl_context.wrap_socket(request, server_side=True)
            except (OSError, ValueError):
                return
        with self._connections_lock:
            self._connections.add(connection)
        try:
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            with self._connections_lock:
                self._connections.discard(connection)
            if connection is not request:
                try:
                    connection.close()
                except OSError:
                    pass

    def close_connections(self):
        """Shut down every open connection, so no handler thread outlives the server."""
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                socket.socket.shutdown(connection, socket.SHUT_RDWR)
            except OSError:
                pass

    def handle_error(self, request, client_address):
        """Connection-level errors (resets, TLS failures) are normal here; report only when verbose."""
        if self.emulator.verbose:
            super().handle_error(request, client_address)


# ---------------------------------------------------------------------------------------------
# command line


def parse_fault_arg(text: str) -> dict:
    """Parse --fault: a JSON object, a bare kind, or kind=503,method=DELETE,first_n=2,..."""
    text = text.strip()
    if text.startswith('{'):
        try:
            return json.loads(text)
        except ValueError:
            raise ValueError('--fault %s: not valid JSON' % text)
    rule = {}
    for item in text.split(','):
        if '=' not in item:
            rule['kind'] = item.strip()
            continue
        key, value = (part.strip() for part in item.split('=', 1))
        if value in ('', 'null', 'none'):
            rule[key] = None
        elif key in ('first_n', 'retry_after', 'status', 'size', 'offset'):
            rule[key] = int(value)
        elif key in ('rate', 'delay', 'interval'):
            rule[key] = float(value)
        elif key == 'declare_length':
            rule[key] = value.lower() in ('true', 'yes', '1')
        else:
            rule[key] = value
    return rule


def build_parser() -> argparse.ArgumentParser:
    """The command line interface."""
    parser = argparse.ArgumentParser(prog='vobiz_emulator.py', description='Emulate the Vobiz conference API on 127.0.0.1.')
    add = parser.add_argument
    add('--port', type=int, default=0, help='TCP port (default 0: any free port)')
    add('--port-file', metavar='PATH', help='write the port number there (atomically) once listening')
    add('--auth-id', default=None, help='the first account (default MA_DEMO)')
    add('--auth-token', default=None, help='token of the first account')
    add('--account', action='append', default=[], metavar='ID:TOKEN', help='an extra account (repeatable)')
    add('--conference', action='append', default=[], metavar='NAME', help='a live conference of the first account (repeatable)')
    add('--members', type=int, default=None, help='callers per seeded conference (default 2)')
    add('--config', metavar='JSON_FILE', help='{"accounts": {"MA_X": {"token": ..., "conferences": [...]}}, "members": N, switches...}')
    add('--latency-ms', type=float, default=None, help='added to every API request')
    add('--jitter-ms', type=float, default=None, help='random extra latency, 0..N ms')
    add('--seed', type=int, default=None, help='seed for fault rates and jitter (default 0)')
    add('--rate-limit', default=None, metavar='plivo|N/S|off', help='token bucket per account; plivo = 300/5')
    add('--fault', action='append', default=None, metavar='RULE', help='fault rule: JSON or kind=503,method=DELETE,first_n=2 (repeatable)')
    add('--list-lies', action='store_true', default=None, help='GET Conference/ answers {"conferences": []}')
    add('--retrieve-lies', action='store_true', default=None, help='GET Conference/{name}/ answers 200 {"error": "failed"}')
    add('--member-action-status', type=int, choices=(200, 202), default=None, help='status of POST actions (default 202)')
    add('--error-style', choices=('flat', 'envelope'), default=None, help='error body shape (default flat)')
    add('--trailing-slash', choices=('reject', 'accept'), default=None, help='missing trailing slash (default reject)')
    add('--forbidden', action='append', default=None, metavar='NAME', help='a conference answering 403 (repeatable)')
    add('--tls', action='store_true', help='serve HTTPS with a throw-away CA (needs trustme)')
    add('--ca-file', metavar='PATH', help='where to write the CA certificate (PEM) with --tls')
    add('--log-file', metavar='PATH', help='append every request log entry there as a JSON line')
    add('--idle-timeout', type=float, default=900.0, help='stop after this many seconds without requests (0: never; default 900)')
    add('--socket-timeout', type=float, default=30.0, help='per-connection socket timeout in seconds (default 30)')
    add('--verbose', action='store_true', help='one line per API request on stderr')
    return parser


def emulator_from_args(args: argparse.Namespace) -> Emulator:
    """Build (but do not start) an Emulator from parsed command line arguments."""
    config = {}
    if args.config:
        with open(args.config, encoding='utf-8') as handle:
            config = json.load(handle)
        if not isinstance(config, dict):
            raise ValueError('%s: the configuration must be a JSON object' % args.config)
    accounts = dict(config.pop('accounts', None) or {})
    members = config.pop('members', 2) if args.members is None else args.members
    switches = dict(config)
    cli_switches = {
        'latency_ms': args.latency_ms, 'jitter_ms': args.jitter_ms, 'seed': args.seed, 'list_lies': args.list_lies,
        'retrieve_lies': args.retrieve_lies, 'member_action_status': args.member_action_status,
        'error_style': args.error_style, 'trailing_slash': args.trailing_slash, 'forbidden': args.forbidden,
    }
    switches.update((key, value) for key, value in cli_switches.items() if value is not None)
    if args.rate_limit is not None:
        switches['rate_limit'] = args.rate_limit
    if args.fault:
        switches['faults'] = [parse_fault_arg(text) for text in args.fault]
    for item in args.account:
        auth_id, sep, token = item.partition(':')
        if not sep or not auth_id or not token:
            raise ValueError('--account needs ID:TOKEN, got %r' % item)
        accounts[auth_id] = {'token': token}
    if args.auth_token is not None:
        auth_id, token, conferences = args.auth_id or 'MA_DEMO', args.auth_token, []
        spec = accounts.pop(auth_id, None)
        if isinstance(spec, dict):
            conferences = list(spec.get('conferences') or [])
    elif args.auth_id is not None and isinstance(accounts.get(args.auth_id), (dict, str)):
        auth_id, spec = args.auth_id, accounts.pop(args.auth_id)
        spec = {'token': spec} if isinstance(spec, str) else spec
        token, conferences = spec.get('token'), list(spec.get('conferences') or [])
    elif accounts:
        auth_id = next(iter(accounts))
        spec = accounts.pop(auth_id)
        spec = {'token': spec} if isinstance(spec, str) else spec
        token, conferences = spec.get('token'), list(spec.get('conferences') or [])
    else:
        raise ValueError('no account: give --auth-token (and --auth-id), --account ID:TOKEN or --config with accounts')
    if not isinstance(token, str) or not token:
        raise ValueError('account %s has no token' % auth_id)
    return Emulator(auth_id=auth_id, auth_token=token, conferences=conferences + list(args.conference), members=members,
                    accounts=accounts, tls=args.tls, ca_file=args.ca_file, port=args.port, idle_timeout=args.idle_timeout,
                    socket_timeout=args.socket_timeout, log_file=args.log_file, verbose=args.verbose, **switches)


def _say(text: str) -> None:
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def main(argv=None) -> int:
    """Run the emulator until SIGTERM/SIGINT, POST /_emulator/shutdown or the idle timeout."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        emulator = emulator_from_args(args)
    except (ValueError, TypeError, OSError) as exc:
        parser.error(str(exc))
    try:
        emulator.start()
        if args.port_file:
            atomic_write(args.port_file, str(emulator.port).encode('ascii'))
    except (OSError, RuntimeError) as exc:
        sys.stderr.write('vobiz_emulator: %s\n' % exc)
        emulator.stop()
        return 1

    def on_signal(signum, frame):
        name = signal.Signals(signum).name
        threading.Thread(target=emulator.stop, kwargs={'reason': 'signal %s' % name}, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    _say('listening on %s' % emulator.url)
    if emulator.tls:
        _say('CA certificate: %s' % emulator.ca_file)
    while not emulator.wait(1.0):
        pass
    _say('stopped (%s)' % emulator.stop_reason)
    return 0


if __name__ == '__main__':
    sys.exit(main())
