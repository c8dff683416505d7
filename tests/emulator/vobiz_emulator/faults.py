"""Faults and the gateway in front of the API: latency, rate limiting, fault rules and hostile answers."""

from __future__ import annotations

import email.utils
import fnmatch
import math
import time
import uuid

from .config import (
    CONTROL_CHARS_MESSAGE,
    FAULT_STATUS_DEFAULTS,
    GATEWAY_NOT_FOUND,
    HTML_PAGE,
    HUGE_BODY_DEFAULT,
    utc_now,
)
from .reply import Reply
from .state import render_conference

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


class _FaultsMixin:
    """Emulator methods that act before a request reaches the API (called from handler threads)."""

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

    def _pick_fault(
        self, cfg: dict, method: str, path_key: str, conference: str | None, action: str | None
    ) -> dict | None:
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

    def _other_conference_reply(self, route, cfg: dict) -> Reply:
        """A retrieve answered 200 with another live conference's object (or a made-up one when none is live)."""
        with self._lock:
            account = self._accounts.get(route.auth_id)
            others = [
                conf for name, conf in (account.conferences.items() if account else ()) if name != route.conference
            ]
            shown = render_conference(others[0], time.time()) if others else None
        if shown is None:
            shown = {
                'conference_name': route.conference + ' (another room)',
                'conference_run_time': '3600',
                'conference_member_count': '0',
                'members': [],
            }
        shown['api_id'] = str(uuid.uuid4())
        return Reply(200, shown)

    def _hostile_reply(self, rule: dict, cfg: dict, headers) -> Reply:
        """The hostile answers: a gateway 404, HTML, 2xx error bodies, huge bodies, control characters, echoed
        tokens."""
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
