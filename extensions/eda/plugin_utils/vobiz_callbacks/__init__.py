# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The units of the event source ``vobiz.voice.conference_callbacks`` (its HTTP entry is
``extensions/eda/plugins/event_source/conference_callbacks.py``).

Each unit is driven by tests without a server: ``settings`` (the arguments), ``signatures`` (signature check and
nonce memory), ``events`` (event shapes; no value that could be a template leaves raw), ``registry`` (rooms from
callbacks), ``timers`` (overdue and lonely), ``state_file`` (what survives a restart), ``schedule`` (scheduled
ends), ``connections`` (caps and deadlines of the listener's connections), ``callers`` (blocked callers),
``verification`` (the action's hang-ups read from its audit log, verified by the last exit callback) and ``service``
(the units put together, everything but HTTP).
"""

from __future__ import annotations

from .connections import ConnectionGuard, RefusalLog, tls_context
from .service import CallbackService
from .settings import ConfigError, Settings, parse_args

__all__ = ['CallbackService', 'ConfigError', 'ConnectionGuard', 'RefusalLog', 'Settings', 'parse_args', 'tls_context']
