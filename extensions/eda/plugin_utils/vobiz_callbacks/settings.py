# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The source's arguments (``parse_args``): each checked by name, with its default; the rulebook's variables
(``check_rulebook_variables``); where it listens by default (``default_host``)."""

from __future__ import annotations

import dataclasses
import difflib
import math
import os
import re
import urllib.parse

from .callers import parse_blocked


class ConfigError(ValueError):
    """A bad source argument or a damaged state file; the message names it and says what to do."""


#: name -> (default, smallest value, type). ``None`` as default: required. ``DURATIONS`` are whole seconds that
#: also take the playbook's duration forms (``4h``, ``30m``, ``90s``, ``1h30m``).
NUMBERS = {
    'port': (None, 0, int),
    'replay_window': (300, 1, int),
    'max_body': (65536, 1, int),
    'max_duration': (0, 0, int),
    'lonely_after': (0, 0, int),
    'max_members': (0, 0, int),
    'verify_within': (60, 0, int),
    'check_interval': (5.0, 0.01, float),
    'repeat_after': (300, 1, int),
    'max_emissions': (3, 1, int),
    'forget_after': (86400, 1, int),
    'max_rooms': (50000, 1, int),
    'max_connections': (1024, 1, int),
    'max_connections_per_address': (256, 1, int),
    'idle_timeout': (60.0, 0.01, float),
    'header_timeout': (10.0, 0.01, float),
    'body_timeout': (10.0, 0.01, float),
}
DURATIONS = ('replay_window', 'max_duration', 'lonely_after', 'repeat_after', 'forget_after', 'verify_within')
TEXTS = ('host', 'public_url', 'auth_token', 'parent_auth_token', 'state_file', 'audit_log', 'health_path')
TEXTS += ('certfile', 'keyfile', 'password', 'cafile')
TEXTS += ('schedule_file',)
LISTS = ('rulebook_variables', 'known_variables')
FLAGS = {'accept_v2': True, 'keep_state': True}
#: Lists of entries, checked by the service (``schedule.parse_schedule``).
SCHEDULES = ('schedule',)
#: Lists of caller numbers and globs, normalised by ``callers.parse_blocked``.
CALLER_LISTS = ('blocked_callers',)
#: What the action does to a blocked caller; checked here only, so that a wrong value stops the rulebook before it
#: listens (the action reads the rulebook variable itself, never a value from an event).
BLOCKED_ACTIONS = ('kick', 'end')
HEALTH_PATH = '/healthz'
DURATION_FORMS = '4h, 30m, 90s or 1h30m'
#: The playbook's duration forms (plugins/module_utils/_policy.py, ``parse_duration``); ASCII digits only.
_DURATION = re.compile(r'(?:([0-9]+)h)?(?:([0-9]+)m)?(?:([0-9]+)s)?', re.ASCII)
_PLAIN_NUMBER = re.compile(r'[0-9]+', re.ASCII)
#: The environment variables EDA controller's credential type injects: ansible-rulebook also hands them to the
#: rulebook as variables (worker mode), so they are no misspelt rulebook variables.
CREDENTIAL_VARIABLES = frozenset(('VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL'))
#: What tells that this process runs in a container: podman (and CRI-O) make /run/.containerenv, docker /.dockerenv,
#: Kubernetes sets KUBERNETES_SERVICE_HOST in every pod, podman and systemd-nspawn set ``container``.
CONTAINER_FILES = ('/run/.containerenv', '/.dockerenv')
CONTAINER_VARIABLES = ('KUBERNETES_SERVICE_HOST', 'container')


@dataclasses.dataclass(frozen=True)
class Settings:
    """The validated arguments. The tokens stay out of ``repr``."""

    port: int
    public_url: str
    auth_token: str = dataclasses.field(repr=False)
    parent_auth_token: str | None = dataclasses.field(default=None, repr=False)
    host: str = '127.0.0.1'
    host_reason: str = 'the default'  # why the source listens on ``host`` (for the log line)
    accept_v2: bool = True
    state_file: str | None = None
    audit_log: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    password: str | None = dataclasses.field(default=None, repr=False)
    cafile: str | None = None
    health_path: str | None = HEALTH_PATH
    replay_window: int = 300
    max_body: int = 65536
    max_duration: int = 0
    lonely_after: int = 0
    max_members: int = 0
    verify_within: int = 60
    check_interval: float = 5.0
    repeat_after: int = 300
    max_emissions: int = 3
    forget_after: int = 86400
    max_rooms: int = 50000
    max_connections: int = 1024
    max_connections_per_address: int = 256
    idle_timeout: float = 60.0
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    schedule: tuple = ()  # the entries as given; parsed by the service (schedule.parse_schedule)
    schedule_file: str | None = None
    blocked_callers: tuple = ()  # normalised patterns (callers.parse_blocked)
    blocked_action: str = 'kick'

    @property
    def path(self) -> str:
        """The path the listener serves: that of ``public_url``."""
        return urllib.parse.urlsplit(self.public_url).path or '/'


def default_state_file(port: int, environ) -> str:
    """``$XDG_STATE_HOME`` (or ``~/.local/state``) ``/vobiz.voice/conference_callbacks-PORT.json``.

    Under the home directory, which a container image gives its user (ansible-builder's images: ``/runner``).
    """
    base = environ.get('XDG_STATE_HOME') or os.path.join(
        environ.get('HOME') or os.path.expanduser('~'), '.local', 'state'
    )
    return os.path.join(base, 'vobiz.voice', 'conference_callbacks-%d.json' % port)


def default_host(environ, exists=os.path.exists) -> tuple[str, str]:
    """``(host, why)``: every address (0.0.0.0) in a container, where loopback cannot be reached from outside (a
    published port, EDA controller's port forward, a Kubernetes service); loopback on a host, behind its TLS proxy."""
    for path in CONTAINER_FILES:
        if exists(path):
            return '0.0.0.0', 'in a container (%s exists)' % path
    for name in CONTAINER_VARIABLES:
        if environ.get(name):
            return '0.0.0.0', 'in a container (%s is set)' % name
    return '127.0.0.1', 'not in a container; set host to 0.0.0.0 to listen on every address'


def duration_seconds(value):
    """Whole seconds (0 or more) from an int, a whole float, a string of ASCII digits or ``4h``, ``30m``, ``90s``,
    ``1h30m``: what the playbooks' ``parse_duration`` accepts (a test holds the two together); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float):
        value = int(value) if math.isfinite(value) and value.is_integer() else None
    if isinstance(value, int):
        return value if value >= 0 else None
    if not isinstance(value, str):
        return None
    text = value.strip().lower().replace(' ', '')
    found = _DURATION.fullmatch(text)
    if not text or not found or not any(found.groups()):
        return int(text) if _PLAIN_NUMBER.fullmatch(text) else None
    hours, minutes, seconds = (int(part or 0) for part in found.groups())
    return hours * 3600 + minutes * 60 + seconds


def _number(name: str, value):
    default, minimum, kind = NUMBERS[name]
    if value is None or value == '':
        if default is None:
            raise ConfigError('%s is required' % name)
        return default
    if name in DURATIONS:
        seconds = duration_seconds(value)
        if seconds is None:
            raise ConfigError(
                '%s must be a number of seconds or a duration such as %s, got %r' % (name, DURATION_FORMS, value),
            )
        if seconds < minimum:
            raise ConfigError('%s must be >= %s, got %r' % (name, minimum, value))
        return seconds
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ConfigError('%s must be a number, got %r' % (name, value))
    try:
        number = kind(value)
    except ValueError:
        raise ConfigError('%s must be a number, got %r' % (name, value)) from None
    if kind is int and isinstance(value, float) and value != number:
        raise ConfigError('%s must be a whole number, got %r' % (name, value))
    if not number >= minimum:  # also refuses NaN
        raise ConfigError('%s must be >= %s, got %r' % (name, minimum, value))
    return number


def _flag(name: str, value) -> bool:
    if value is None or value == '':
        return FLAGS[name]
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ('true', 'false', 'yes', 'no'):
        return value.lower() in ('true', 'yes')
    raise ConfigError('%s must be true or false, got %r' % (name, value))


def _ours(name: str) -> bool:
    """A rulebook variable of this collection by its prefix, misspelt ones too (``vobis_``, ``vbz_``, ``Vobiz``)."""
    prefix = name.lower().split('_', 1)[0]
    return prefix.startswith('vobiz') or difflib.SequenceMatcher(None, prefix, 'vobiz').ratio() >= 0.75


def check_rulebook_variables(given, known) -> None:
    """Refuse a ``vobiz_*`` variable (or one that looks like it) that the rulebook does not read: a misspelt limit
    would otherwise start a rulebook that enforces nothing. ``given``: the names of the rulebook's variables."""
    candidates = set(given) - set(known) - CREDENTIAL_VARIABLES
    unknown = sorted(name for name in candidates if isinstance(name, str) and _ours(name))
    if not unknown:
        return
    hints = []
    for name in unknown:
        close = difflib.get_close_matches(name.lower(), known, n=1, cutoff=0.6)
        hints.append('%s (did you mean %s?)' % (name, close[0]) if close else name)
    reads = ', '.join(sorted(known))
    raise ConfigError(
        'unknown rulebook variable(s): %s. Nothing was started: this rulebook reads %s' % ('; '.join(hints), reads),
    )


def _expand_home(path: str | None, environ) -> str | None:
    """``~/x`` under the home directory (``HOME``), as the modules' path options do; other paths as they are."""
    if path and (path == '~' or path.startswith('~/')):
        return (environ.get('HOME') or os.path.expanduser('~')) + path[1:]
    return path or None


def _health_path(value, path: str) -> str | None:
    if value is None:
        return HEALTH_PATH
    if value == '':
        return None  # no health route
    if not value.startswith('/') or value == path:
        raise ConfigError('health_path must start with / and differ from the callback path %s, got %r' % (path, value))
    return value


def parse_args(args: dict, environ=None, exists=os.path.exists) -> Settings:
    """Validate the source arguments; raises ``ConfigError`` naming the argument."""
    environ = os.environ if environ is None else environ
    ours = set(SCHEDULES) | set(CALLER_LISTS) | {'blocked_action'}
    unknown = sorted(set(args) - set(NUMBERS) - set(TEXTS) - set(LISTS) - set(FLAGS) - ours)
    if unknown:
        known = sorted(set(NUMBERS) | set(TEXTS) | set(LISTS) | set(FLAGS) | ours)
        raise ConfigError('unknown argument(s): %s (known: %s)' % (', '.join(unknown), ', '.join(known)))
    for name in TEXTS:
        if args.get(name) is not None and not isinstance(args[name], str):
            raise ConfigError('%s must be a string' % name)
    for name in LISTS:
        value = args.get(name)
        names = isinstance(value, (list, tuple)) and all(isinstance(item, str) for item in value)
        if value is not None and not names:
            raise ConfigError('%s must be a list of variable names' % name)
    if args.get('known_variables') is not None:
        check_rulebook_variables(args.get('rulebook_variables') or (), args['known_variables'])
    public_url = args.get('public_url')
    if not public_url:
        raise ConfigError('public_url is required: the callback URL exactly as configured at Vobiz')
    parts = urllib.parse.urlsplit(public_url)
    if parts.scheme not in ('http', 'https') or not parts.netloc:
        raise ConfigError('public_url must be an http:// or https:// URL, got %r' % public_url)
    token = args.get('auth_token') or environ.get('VOBIZ_AUTH_TOKEN')
    if not token:
        raise ConfigError('auth_token is required (or set VOBIZ_AUTH_TOKEN): callbacks cannot be verified without it')
    numbers = {name: _number(name, args.get(name)) for name in NUMBERS}
    if numbers['port'] > 65535:
        raise ConfigError('port must be at most 65535, got %r' % numbers['port'])
    for limit in ('max_duration', 'lonely_after'):
        if numbers['forget_after'] <= numbers[limit]:
            raise ConfigError(
                'forget_after (%s) must be longer than %s (%s): a quiet room would be forgotten before its limit'
                % (numbers['forget_after'], limit, numbers[limit])
            )
    if numbers['max_connections_per_address'] > numbers['max_connections']:
        raise ConfigError(
            'max_connections_per_address must not exceed max_connections (%s)' % numbers['max_connections']
        )
    keep_state = _flag('keep_state', args.get('keep_state'))
    state_file = None
    if keep_state:
        state_file = _expand_home(args.get('state_file'), environ) or default_state_file(numbers['port'], environ)
    tls = {name: args.get(name) or None for name in ('certfile', 'keyfile', 'password', 'cafile')}
    if not tls['certfile']:
        given = sorted(name for name, value in tls.items() if value)
        if given:
            raise ConfigError('%s given without certfile: TLS needs the certificate first' % ', '.join(given))
    schedule = args.get('schedule')
    if schedule in (None, ''):
        schedule = ()
    elif not isinstance(schedule, (list, tuple)):
        raise ConfigError('schedule must be a list of entries (name or match, ends_at, warn_before)')
    if schedule and args.get('schedule_file'):
        raise ConfigError('schedule and schedule_file cannot both be set: give the entries in one place')
    try:
        blocked_callers = parse_blocked(args.get('blocked_callers'))
    except ValueError as exc:
        raise ConfigError('%s. Nothing was started' % exc) from None
    blocked_action = args.get('blocked_action') or 'kick'
    if blocked_action not in BLOCKED_ACTIONS:
        raise ConfigError('blocked_action must be kick or end, got %r. Nothing was started' % (blocked_action,))
    host, host_reason = (args['host'], 'the host argument') if args.get('host') else default_host(environ, exists)
    path = urllib.parse.urlsplit(public_url).path or '/'
    return Settings(
        public_url=public_url,
        auth_token=token,
        parent_auth_token=args.get('parent_auth_token') or None,
        host=host,
        host_reason=host_reason,
        accept_v2=_flag('accept_v2', args.get('accept_v2')),
        state_file=state_file,
        audit_log=_expand_home(args.get('audit_log'), environ),
        health_path=_health_path(args.get('health_path'), path),
        schedule=tuple(schedule),
        schedule_file=_expand_home(args.get('schedule_file'), environ),
        blocked_callers=blocked_callers,
        blocked_action=blocked_action,
        **{name: _expand_home(value, environ) if name != 'password' else value for name, value in tls.items()},
        **numbers,
    )
