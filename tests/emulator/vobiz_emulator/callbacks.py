"""Conference callbacks: the signed enter/exit form posts to ``callback_url``, sent from one background thread."""

from __future__ import annotations

import base64
import copy
import hashlib
import heapq
import hmac
import http.client
import itertools
import random
import secrets
import threading
import time
import urllib.parse
from typing import TYPE_CHECKING

from .config import CALLBACK_SOCKET_TIMEOUT, HANG_GUARD_SECONDS, __version__, utc_now

if TYPE_CHECKING:
    from .server import Emulator


def callback_signature(token: str, url: str, nonce: str, version: str) -> str:
    """Vobiz's callback signature: base64(HMAC-SHA256(token, URL + nonce)) for V2, URL + "." + nonce for V3."""
    message = url + ('.' if version == 'v3' else '') + nonce
    return base64.b64encode(hmac.new(token.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).digest()).decode(
        'ascii'
    )


def template_room_names(canary: str) -> list:
    """Conference names that are templates or shell code: each would create the file ``canary`` if anything evaluated
    it.

    For tests of "no event value is ever evaluated": a Jinja lookup, a statement, a comment, a ``#jinja2:`` header
    that changes the delimiters (ansible-core reads it), ``${...}`` and other shell syntax, quotes, a newline, and a
    name that looks like the event source's own ``base64:`` form.
    """
    touch = "lookup('pipe', 'touch %s')" % canary
    return [
        'inj{{ %s }}' % touch,
        '{%% if true %%}{{ %s }}{%% endif %%} ${HOME} $(touch %s) `touch %s`' % (touch, canary, canary),
        "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ %s ]]" % touch,
        'quote\'s "double" {# comment #}\nline two',
        'base64:aW5qe3sgeCB9fQ==',
    ]


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
        fields.update(
            ConferenceFirstMember='true' if flag else 'false',
            From=member['from'],
            To=member['to'],
            Direction=member['direction'],
            CallStatus='in-progress',
        )
    else:
        fields['ConferenceLastMember'] = 'true' if flag else 'false'
    return fields


class CallbackSender:
    """Sends batches of callbacks from one background thread, applying the callback switches."""

    def __init__(self, emulator: 'Emulator'):
        self.emulator = emulator
        self._queue = []
        self._delayed = []  # (due, seq, fields, headers): replays with another body, sent when due
        self._seq = itertools.count()
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

    def drop(self, batch: list, cfg: dict) -> None:
        """Log the callbacks of ``batch`` as ``dropped`` without sending them (when a callback URL is set)."""
        if cfg['callback_url'] is None:
            return
        for fields in batch:
            self._record(cfg, fields, None, 'dropped')

    def log(self) -> list:
        with self._cond:
            return copy.deepcopy(self._log)

    def clear_log(self) -> None:
        with self._cond:
            self._log = []

    def wait_idle(self, timeout: float = HANG_GUARD_SECONDS) -> bool:
        """Block until every queued callback has been sent (or dropped); False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._delayed and not self._busy, timeout)

    def _next_due(self) -> float | None:
        """Seconds until the first delayed replay is due (with the lock held), or None."""
        return max(0.0, self._delayed[0][0] - time.monotonic()) if self._delayed else None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopping and not self._queue and (self._next_due() is None or self._next_due() > 0):
                    self._cond.wait(self._next_due())
                if self._stopping:
                    return
                if self._delayed and self._next_due() == 0:
                    job = [heapq.heappop(self._delayed)]
                else:
                    job = self._queue.pop(0)
                self._busy += 1
            try:
                if isinstance(job[0], tuple):
                    dummy, dummy, fields, headers = job[0]
                    self._post(self.emulator.config, fields, headers, 'replay_body')
                else:
                    self._send_batch(job)
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
            if cfg['callback_replay_body']:
                # a captured signature replayed with another body (Vobiz signs URL + nonce, not the body)
                replay = (
                    time.monotonic() + cfg['callback_replay_delay_ms'] / 1000.0,
                    next(self._seq),
                    dict(fields, **cfg['callback_replay_body']),
                    headers,
                )
                with self._cond:
                    heapq.heappush(self._delayed, replay)
                    self._cond.notify_all()
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
        headers = dict(
            headers,
            **{'Content-Type': 'application/x-www-form-urlencoded', 'User-Agent': 'VobizEmulator/' + __version__},
        )
        status = None
        try:
            # A receiver slowed by a loaded machine still gets its callback; the bound only ends a receiver that hangs.
            if parts.scheme == 'https':
                conn = http.client.HTTPSConnection(parts.hostname, parts.port or 443, timeout=CALLBACK_SOCKET_TIMEOUT)
            else:
                conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=CALLBACK_SOCKET_TIMEOUT)
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
        entry = {
            'time': utc_now(),
            'kind': kind,
            'signing': cfg['callback_signing'],
            'status': status,
            'action': fields['ConferenceAction'],
            'conference': fields['ConferenceName'],
            'member': fields['ConferenceMemberID'],
            'fields': dict(fields),
            'headers': dict(headers or {}),
        }
        with self._cond:
            entry['seq'] = len(self._log) + 1
            self._log.append(entry)


def member_callbacks(
    conf: dict, members: list, action: str, room_empty_after: bool, room_was_empty: bool = False
) -> list:
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
