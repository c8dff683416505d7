# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The source's arguments (``parse_args``): each checked by name, with its default."""

from __future__ import annotations

import dataclasses
import os
import urllib.parse


class ConfigError(ValueError):
    """A bad source argument or a damaged state file; the message names it and says what to do."""


#: name -> (default, smallest value, type). ``None`` as default: required.
NUMBERS = {
    'port': (None, 0, int),
    'replay_window': (300, 1, int),
    'max_body': (65536, 1, int),
    'max_duration': (0, 0, int),
    'lonely_after': (0, 0, int),
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
TEXTS = ('host', 'public_url', 'auth_token', 'parent_auth_token', 'state_file')
FLAGS = {'accept_v2': True, 'keep_state': True}


@dataclasses.dataclass(frozen=True)
class Settings:
    """The validated arguments. The tokens stay out of ``repr``."""

    port: int
    public_url: str
    auth_token: str = dataclasses.field(repr=False)
    parent_auth_token: str | None = dataclasses.field(default=None, repr=False)
    host: str = '127.0.0.1'
    accept_v2: bool = True
    state_file: str | None = None
    replay_window: int = 300
    max_body: int = 65536
    max_duration: int = 0
    lonely_after: int = 0
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

    @property
    def path(self) -> str:
        """The path the listener serves: that of ``public_url``."""
        return urllib.parse.urlsplit(self.public_url).path or '/'


def default_state_file(port: int, environ) -> str:
    """``$XDG_STATE_HOME`` (or ``~/.local/state``) ``/vobiz.voice/conference_callbacks-PORT.json``.

    Under the home directory, which a container image gives its user (ansible-builder's images: ``/runner``).
    """
    base = environ.get('XDG_STATE_HOME') or os.path.join(environ.get('HOME') or os.path.expanduser('~'), '.local', 'state')
    return os.path.join(base, 'vobiz.voice', 'conference_callbacks-%d.json' % port)


def _number(name: str, value):
    default, minimum, kind = NUMBERS[name]
    if value is None or value == '':
        if default is None:
            raise ConfigError('%s is required' % name)
        return default
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


def parse_args(args: dict, environ=None) -> Settings:
    """Validate the source arguments; raises ``ConfigError`` naming the argument."""
    environ = os.environ if environ is None else environ
    unknown = sorted(set(args) - set(NUMBERS) - set(TEXTS) - set(FLAGS))
    if unknown:
        known = sorted(set(NUMBERS) | set(TEXTS) | set(FLAGS))
        raise ConfigError('unknown argument(s): %s (known: %s)' % (', '.join(unknown), ', '.join(known)))
    for name in TEXTS:
        if args.get(name) is not None and not isinstance(args[name], str):
            raise ConfigError('%s must be a string' % name)
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
        raise ConfigError('max_connections_per_address must not exceed max_connections (%s)' % numbers['max_connections'])
    keep_state = _flag('keep_state', args.get('keep_state'))
    state_file = (args.get('state_file') or default_state_file(numbers['port'], environ)) if keep_state else None
    return Settings(
        public_url=public_url,
        auth_token=token,
        parent_auth_token=args.get('parent_auth_token') or None,
        host=args.get('host') or '127.0.0.1',
        accept_v2=_flag('accept_v2', args.get('accept_v2')),
        state_file=state_file,
        **numbers,
    )
