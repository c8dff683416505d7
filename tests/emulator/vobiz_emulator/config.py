"""Constants, helpers and the behaviour switches: their defaults and validation (fault rules, rate limits,
callbacks)."""

from __future__ import annotations

import datetime
import os
import tempfile
import urllib.parse

__version__ = '1.0.0'

HOST = '127.0.0.1'
API_PREFIX = '/api/v1'
CONTROL_PREFIX = '/_emulator'
MAX_BODY = 64 * 1024
DRAIN_LIMIT = 1024 * 1024
SPEAK_MAX_CHARS = 1000
PLIVO_RATE_LIMIT = {'requests': 300, 'per_seconds': 5}
GATEWAY_NOT_FOUND = {'message': 'Not Found'}
#: How often an emulator started with an owner (--owner-pid) checks that the owner still runs.
OWNER_POLL_SECONDS = 1.0
#: The idle timeout of an emulator whose owner is watched: only a safety net, longer than any test run on a slow
#: machine.
SAFETY_NET_IDLE_SECONDS = 3 * 60 * 60
#: The bound on a wait that only guards against a hang (a port file, log entries, queued callbacks): far beyond what any
#: load makes it take; a wait whose condition comes true returns at once.
HANG_GUARD_SECONDS = 300.0
#: Socket timeout of a callback POST to the receiver (the event source under test).
CALLBACK_SOCKET_TIMEOUT = 60.0
#: The answers to a path the API does not know (the ``not_found_body`` switch): the docs leave it open beyond the
#: gateway's ``{"message": "Not Found"}`` seen live; ``{"error": "not found"}`` was seen for a doubled account path.
NOT_FOUND_BODIES = ('gateway', 'error', 'empty', 'html')

FAULT_KINDS = (
    '429_retry_after',
    '429_retry_after_date',
    '429',
    '500',
    '502',
    '503',
    '503_retry_after',
    '504',
    'drop',
    'lost_reply',
    'slow',
    # hostile answers (see README): none of these carries the request out, except trickle
    'gateway_404',
    'html',
    'error_body',
    'huge_body',
    'trickle',
    'control_chars',
    'echo_token',
    'reset',
    'other_conference',
)
FAULT_DEFAULTS = {
    'kind': None,
    'method': None,
    'match': None,
    'action': None,
    'first_n': None,
    'rate': None,
    'retry_after': 1,
    'delay': 1.0,
    'status': None,
    'size': None,
    'interval': 0.2,
    'offset': 0,
    'shape': None,
    'declare_length': True,
    'processed': False,
}
#: Fault kinds that may carry the request out before answering (``processed``): a gateway's error after the API acted.
PROCESSED_FAULT_KINDS = ('500', '502', '503', '504')
#: Status of the hostile answers when the rule sets none.
FAULT_STATUS_DEFAULTS = {'html': 200, 'error_body': 200, 'huge_body': 200, 'control_chars': 400, 'echo_token': 400}
#: Default size (bytes) of the huge_body fault's body, and of a trickled body padded out from an empty reply.
HUGE_BODY_DEFAULT = 50 * 1024 * 1024
TRICKLE_PAD_DEFAULT = 64
#: The control_chars fault's message: colour escapes, cursor control, CR, BEL, a bidi override, and a forged line.
CONTROL_CHARS_MESSAGE = 'bad \x1b[31mred\x1b[0m \x1b[2K\rerased\x07 \u202etxt.exe\n[ERROR]: forged'
HTML_PAGE = (
    b'<!DOCTYPE html>\n<html><head><title>Error</title></head><body><h1>Something went wrong</h1></body></html>\n'
)

DEFAULT_SWITCHES = {
    'latency_ms': 0,
    'jitter_ms': 0,
    'seed': 0,
    'faults': [],
    'rate_limit': None,
    'list_lies': False,
    'retrieve_lies': False,
    'retrieve_uuid': False,
    'retrieve_stale': {'reads': 0, 'match': None},
    'recreate_after_hangup': [],
    'list_omits': [],
    'member_action_status': 202,
    'error_style': 'flat',
    'trailing_slash': 'reject',
    'forbidden': [],
    'not_found_body': 'gateway',
}


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
            raise ValueError(
                'rate_limit must be null, "plivo", "N/S" or {"requests": N, "per_seconds": S}, got %r' % value
            )
    if not isinstance(value, dict) or set(value) != {'requests', 'per_seconds'}:
        raise ValueError(
            'rate_limit must be null, "plivo", "N/S" or {"requests": N, "per_seconds": S}, got %r' % (value,)
        )
    requests_, per = value['requests'], value['per_seconds']
    if (
        not isinstance(requests_, int)
        or isinstance(requests_, bool)
        or requests_ < 1
        or not _is_number(per)
        or per <= 0
    ):
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
    if not isinstance(result['processed'], bool):
        raise ValueError('fault processed must be true or false')
    if result['processed'] and result['kind'] not in PROCESSED_FAULT_KINDS:
        raise ValueError('fault processed applies to the kinds %s only' % ', '.join(PROCESSED_FAULT_KINDS))
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
    if name in ('list_lies', 'retrieve_lies', 'retrieve_uuid'):
        if not isinstance(value, bool):
            raise ValueError('%s must be true or false' % name)
        return value
    if name == 'retrieve_stale':
        stale = {'reads': value, 'match': None} if not isinstance(value, dict) else dict(value)
        reads, match = stale.get('reads'), stale.get('match')
        if set(stale) - {'reads', 'match'} or not isinstance(reads, int) or isinstance(reads, bool) or reads < 0:
            raise ValueError('retrieve_stale must be a number of reads >= 0, or {"reads": N, "match": GLOB}')
        if match is not None and not isinstance(match, str):
            raise ValueError('retrieve_stale match must be a conference name glob or null')
        return {'reads': reads, 'match': match}
    if name in ('recreate_after_hangup', 'list_omits'):
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
            raise ValueError('%s must be a list of conference name globs' % name)
        return list(value)
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
    if name == 'not_found_body':
        if value not in NOT_FOUND_BODIES:
            raise ValueError('not_found_body must be one of %s' % ', '.join(NOT_FOUND_BODIES))
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
# callback switches (the sender is in callbacks.py)

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
    # {field: text}: send every callback again with its signature headers and these fields changed
    'callback_replay_body': None,
    'callback_replay_delay_ms': 0,  # wait this long before that replay with another body (e.g. past the replay window)
    'callback_drop_rate': 0.0,  # drop this share of callbacks (seeded by "seed")
    # {"match": GLOB or null, "which": "all" or "last"}: drop the exit callbacks of an API hang-up; null: send them
    'callback_drop_hangup_exits': None,
}
HANGUP_EXITS_DROPPED = ('all', 'last')
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
    if name in ('callback_delay_ms', 'callback_replay_delay_ms'):
        if not _is_number(value) or value < 0:
            raise ValueError('%s must be a number >= 0' % name)
        return value
    if name == 'callback_replay_body':
        if value is not None and (
            not isinstance(value, dict) or not value or not all(isinstance(v, str) for v in value.values())
        ):
            raise ValueError('callback_replay_body must be null or an object of form fields and their texts')
        return value
    if name == 'callback_drop_hangup_exits':
        if value is None:
            return None
        drop = dict(value) if isinstance(value, dict) else None
        if drop is None or set(drop) - {'match', 'which'}:
            shape = '{"match": GLOB or null, "which": "all" or "last"}'
            raise ValueError('callback_drop_hangup_exits must be null or %s' % shape)
        match, which = drop.get('match'), drop.get('which', 'all')
        if match is not None and not isinstance(match, str):
            raise ValueError('callback_drop_hangup_exits match must be a conference name glob or null')
        if which not in HANGUP_EXITS_DROPPED:
            raise ValueError('callback_drop_hangup_exits which must be "all" or "last"')
        return {'match': match, 'which': which}
    if name == 'callback_drop_rate':
        if not _is_number(value) or not 0 <= value <= 1:
            raise ValueError('callback_drop_rate must be a number from 0 to 1')
        return float(value)
    if not isinstance(value, bool):
        raise ValueError('%s must be true or false' % name)
    return value
