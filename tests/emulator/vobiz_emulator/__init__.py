r"""Emulator of the Vobiz conference API, for offline tests and demos.

It serves the conference routes under ``/api/v1/Account/{auth_id}/`` on 127.0.0.1, keeps live
conferences in memory, and can be switched to behave like the live service where it deviates from
the documentation (lying GETs, 202 answers, error body shapes), to add latency, and to inject faults
(429 with or without Retry-After, 5xx, dropped connections, lost replies, slow answers).

Standard library only; ``trustme`` is imported lazily for ``--tls``.  See ../README.md, which also maps the files of
this package.

Command line (the package directory runs as a script; ``python -m`` works too)::

    python tests/emulator/vobiz_emulator --port 0 --port-file /tmp/port --auth-id MA_DEMO --auth-token TOKEN \
        --conference "Board Room"

In-process::

    with Emulator(auth_id='MA_TEST', auth_token='tok', conferences=['Board Room']) as emu:
        requests.get(emu.api_url + '/Account/MA_TEST/Conference/', headers={...})
"""

from __future__ import annotations

from .callbacks import CallbackSender, callback_fields, callback_signature, member_callbacks, template_room_names
from .cli import build_parser, emulator_from_args, main, parse_fault_arg
from .config import (
    API_PREFIX,
    CALLBACK_DEFAULTS,
    CALLBACK_SIGNINGS,
    CONTROL_PREFIX,
    DEFAULT_SWITCHES,
    FAULT_DEFAULTS,
    FAULT_KINDS,
    HANG_GUARD_SECONDS,
    HOST,
    __version__,
    atomic_write,
    normalize_callback_switch,
    normalize_fault,
    normalize_switch,
    parse_rate_limit,
    utc_now,
)
from .launch import EmulatorProcess, EmulatorStartError, start_emulator_process
from .reply import Reply, parse_json_body
from .routes import Route, decode_segment, parse_api_path
from .server import Emulator
from .state import render_conference

__all__ = [
    'API_PREFIX',
    'CALLBACK_DEFAULTS',
    'CALLBACK_SIGNINGS',
    'CONTROL_PREFIX',
    'DEFAULT_SWITCHES',
    'FAULT_DEFAULTS',
    'FAULT_KINDS',
    'HANG_GUARD_SECONDS',
    'HOST',
    'CallbackSender',
    'Emulator',
    'EmulatorProcess',
    'EmulatorStartError',
    'Reply',
    'Route',
    '__version__',
    'atomic_write',
    'build_parser',
    'callback_fields',
    'callback_signature',
    'decode_segment',
    'emulator_from_args',
    'main',
    'member_callbacks',
    'normalize_callback_switch',
    'normalize_fault',
    'normalize_switch',
    'parse_api_path',
    'parse_fault_arg',
    'parse_json_body',
    'parse_rate_limit',
    'render_conference',
    'start_emulator_process',
    'template_room_names',
    'utc_now',
]
