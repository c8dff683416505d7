# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Event source ``vobiz.voice.conference_callbacks``: the HTTP side (aiohttp). The rest is in its units,
``extensions/eda/plugin_utils/vobiz_callbacks/`` (see its ``__init__.py``)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
short_description: Receive signed Vobiz conference callbacks and report overdue, lonely and over-capacity rooms.
description:
  - Listens for Vobiz's conference callbacks (form-encoded C(POST)s, V(enter) or V(exit)) at the path of
    O(public_url).
  - A callback needs a valid C(X-Vobiz-Signature-V3) (or C(-V2), unless O(accept_v2=false)) with its nonce, over
    O(public_url) without its query, keyed with O(auth_token); C(-MA-V3)/C(-MA-V2) are checked with
    O(parent_auth_token).
    No signature, or one without its nonce header, is answered 401; a wrong signature or a nonce seen within
    O(replay_window) 403. A good callback is answered 204 and emitted (C(type=callback)).
  - Keeps a registry of live rooms from the callbacks, and emits V(overdue) (live more than O(max_duration) seconds)
    and V(lonely) (at most one member for O(lonely_after) seconds), again every O(repeat_after) seconds while the room
    is still known, at most O(max_emissions) times; one event per room at a time. These are hints; the action
    re-checks every room against the API.
  - Emits V(over_capacity) when an V(enter) callback takes a room's member count, as the registry knows it, over
    O(max_members), naming the member who entered; once per member who enters (a duplicate or late V(enter) adds
    nobody). A room whose count is not known (its first member's V(enter) was not seen, or it was restored from
    O(state_file)) is never reported.
  - Emits V(schedule_warning) at C(ends_at) minus C(warn_before) and V(scheduled_end) at C(ends_at) of each entry of
    O(schedule) (or O(schedule_file)), once each; they name the entry's room or glob and its C(ends_at), never a
    room seen live; the action finds the live rooms, and ends only those retrieve says were live at C(ends_at).
  - Verified termination, with O(audit_log) and O(verify_within) above V(0). The source follows O(audit_log) (from its
    end at start; rotation and truncation handled, a bounded read per check) for the lines of a hang-up (C(action)
    V(hang_up), C(outcome) V(hung_up), not in check mode) of a room its registry knows, and expects that room's
    V(exit) callback with C(ConferenceLastMember=true) within O(verify_within) seconds of the hang-up. It emits
    V(verified) when it comes (from that instance - the last exit of another C(ConferenceUUID) of the same name proves
    nothing), else V(unverified), again after each further O(verify_within) seconds while none comes, at most
    O(max_emissions) times; the last one has C(final=true). Each outcome is also appended to O(audit_log) as a line of
    that hang-up (its C(run_id), C(verification), C(verified_by=callbacks)).
  - Emits V(blocked_caller) when an V(enter) callback's C(From) matches O(blocked_callers), naming the member who
    entered and the caller masked except its last four digits (the event and the log never hold the number); once
    per member who enters.
  - Every text from a callback that could be a template (holds C({) or starts with C(#)) is emitted as C(base64:)
    and its base64, never raw; read event values in a playbook with the filter C(vobiz.voice.callback_text).
  - Bounds what a client can hold (O(max_connections), O(header_timeout), O(body_timeout), O(idle_timeout), O(max_body))
    and what the registry keeps (O(forget_after), O(max_rooms)). Refusals are logged as one line a minute; when
    signatures do not hold, that line names the URL they were checked over and says to check O(public_url).
  - Refuses to start, with one error, on a bad argument, a damaged O(state_file), a O(state_file) or O(audit_log)
    it cannot write, and a misspelt rulebook variable (O(known_variables)).
  - Durations (O(max_duration), O(lonely_after), O(repeat_after), O(replay_window), O(forget_after),
    O(verify_within)) are whole
    seconds or C(4h), C(30m), C(90s), C(1h30m), as the playbook C(vobiz.voice.enforce_limits) takes them.
  - Event shapes and the security model are in the guide C(docs/docsite/rst/enforce_limits.rst). Tokens are never
    logged.
options:
  host:
    description:
      - The address to listen on.
      - Default V(0.0.0.0) (every address) in a container, where loopback cannot be reached from outside, and
        V(127.0.0.1) on a host, behind its TLS proxy. A container is recognised by C(/run/.containerenv) (podman,
        CRI-O), C(/.dockerenv) (docker) or the environment variable C(KUBERNETES_SERVICE_HOST) or C(container).
        The log says which address was chosen and why.
    type: str
  port: {description: The TCP port to listen on., type: int, required: true}
  public_url:
    description:
      - The callback URL exactly as configured at Vobiz (what Vobiz signs); behind a TLS proxy, the public one.
        The listener serves its path; signatures are checked against it, never against the request's URL.
    type: str
    required: true
  auth_token:
    description: 'The signing key: the Vobiz auth token of the account. Default: E(VOBIZ_AUTH_TOKEN).'
    type: str
  parent_auth_token:
    description: "For a sub-account, the main account's token (checks the C(MA-) signatures)."
    type: str
  accept_v2: {description: Accept callbacks signed only with C(X-Vobiz-Signature-V2)., type: bool, default: true}
  replay_window:
    description: Seconds a nonce is remembered (also across restarts with O(keep_state)).
    type: raw
    default: 300
  max_body: {description: The largest callback body in bytes; larger ones are answered 413., type: int, default: 65536}
  max_duration: {description: Seconds a room may be live before V(overdue); V(0) disables., type: raw, default: 0}
  lonely_after:
    description: Seconds a room may have at most one member before V(lonely); V(0) disables.
    type: raw
    default: 0
  max_members:
    description: The most members a room may have; an V(enter) that takes it over emits V(over_capacity). V(0) disables.
    type: int
    default: 0
  verify_within:
    description:
      - Seconds within which a room the action hung up (a hang-up line in O(audit_log)) must send its last member's
        V(exit) callback; else V(unverified). V(0) disables. Without O(audit_log) nothing is verified, and the source
        says so once at start - in EDA controller the action runs in a job elsewhere and its audit log is not here.
    type: raw
    default: 60
  blocked_callers:
    description:
      - Caller numbers or globs (C(*) any digits, C(?) one digit), such as V(+15551234567) or V(+1555*). An V(enter)
        callback whose C(From) matches one emits V(blocked_caller).
      - Numbers and patterns are compared in E.164 form - spaces, tabs, dashes, dots and parentheses removed, a
        leading C(00) read as C(+), digits without C(+) given one, at most 15 digits. A C(From) that is anything else
        (a SIP URI, C(anonymous)) matches nothing. Quote every entry (YAML reads C(+15551234567) as an integer).
      - An entry that is no number or glob stops the source with one error. Empty (the default) disables.
    type: list
    elements: str
  blocked_action:
    description:
      - What the rulebook's action does to a blocked caller, V(kick) (that member) or V(end) (the room). The source
        only checks it, so that another value stops the rulebook before it listens; the action reads the rulebook
        variable itself.
    type: str
    choices: [kick, end]
    default: kick
  check_interval: {description: Seconds between two checks for due events., type: float, default: 5}
  repeat_after:
    description: Seconds before an V(overdue) or V(lonely) event is emitted again for a room still known.
    type: raw
    default: 300
  max_emissions:
    description: How many times at most each of V(overdue), V(lonely) and V(unverified) is emitted for one room.
    type: int
    default: 3
  keep_state:
    description: Keep the registry and the nonces in O(state_file). Turn off only for tests.
    type: bool
    default: true
  state_file:
    description:
      - Where the registry and the nonces of the replay window are kept (mode 0600, written at most once a second,
        atomically; the nonces since in a journal C(STATE_FILE.nonces-N)). Its directory is made (mode 0700) when
        missing. A damaged file, or one that cannot be written, stops the source with one error.
      - Default C($XDG_STATE_HOME/vobiz.voice/conference_callbacks-PORT.json), C($XDG_STATE_HOME) being
        C(~/.local/state) when unset. In a container, mount a volume there or set this to a path on one.
        A leading C(~/) is the home directory.
    type: str
  audit_log:
    description:
      - The audit log the action appends to (the playbook's C(audit_log)), checked before the source listens - its
        directory is made (mode 0700) when missing and the file is created (mode 0600) - so that a path nobody can
        write stops the rulebook at once instead of every hang-up. A leading C(~/) is the home directory.
      - Only where the action runs on the same machine (C(run_playbook)); not for a controller job template.
    type: str
  forget_after:
    description: Seconds after which a room no callback mentioned is forgotten.
    type: raw
    default: 86400
  max_rooms:
    description: 'Rooms the registry keeps; beyond, the one heard of least recently is forgotten.'
    type: int
    default: 50000
  max_connections:
    description: 'Open connections; when full, the oldest one still waiting for a request is closed.'
    type: int
    default: 1024
  max_connections_per_address:
    description: Open connections from one address; more are refused at once. Behind a proxy all come from the proxy.
    type: int
    default: 256
  idle_timeout: {description: Seconds a connection may wait without a request., type: float, default: 60}
  header_timeout:
    description: Seconds from a request's first byte until its headers are complete (with TLS, also for the handshake).
    type: float
    default: 10
  body_timeout: {description: Seconds to read a request's body once its headers are in., type: float, default: 10}
  certfile:
    description:
      - Serve HTTPS with this certificate (PEM, the chain after the certificate; the key too unless O(keyfile)
        is set). TLS 1.2 or later. As in C(ansible.eda.webhook).
    type: str
  keyfile: {description: 'The private key of O(certfile) (PEM), when it is not in O(certfile).', type: str}
  password: {description: 'The password of an encrypted O(keyfile).', type: str}
  cafile:
    description:
      - Require a client certificate signed by one of these CAs (PEM), that is mutual TLS, for example between
        your proxy and the source. Needs O(certfile).
    type: str
  health_path:
    description:
      - A C(GET) (or C(HEAD)) on this path answers V(200) C(ok) without a signature and without touching the
        registry, for a Kubernetes probe or a load balancer's health check. It passes the same connection caps and
        deadlines as callbacks and closes its connection. V('') turns it off.
    type: str
    default: /healthz
  rulebook_variables:
    description:
      - The names of the rulebook's variables. With O(known_variables), a variable named like this collection's
        (C(vobiz_...), also misspelt such as C(vobis_...)) that is not in O(known_variables) stops the source with
        one error naming it. The collection's rulebooks pass the names of all their variables, taken from the
        template's context (C(self._TemplateReference__context)); names only, never values.
    type: list
    elements: str
  known_variables:
    description: The C(vobiz_*) variables the rulebook reads; see O(rulebook_variables).
    type: list
    elements: str
  schedule:
    description:
      - Scheduled ends, at most 1000 entries. Each entry has exactly one of C(name) (a room) and C(match) (a glob on the
        live list; wildcards alone are refused), C(ends_at) (ISO 8601 B(with) a UTC offset, such as
        V(2026-12-07T11:00:00+01:00) or V(2026-12-07T10:00:00Z); one without is refused, naming the entry) and
        optionally C(warn_before) (seconds, or C(2m), up to 7 days; V(0), the default, is no warning).
      - At C(ends_at) minus C(warn_before) the source emits V(schedule_warning), at C(ends_at) V(scheduled_end), each
        once per entry (an entry is its room or glob and its C(ends_at)). What was emitted is kept beside
        O(state_file) in C(STATE_FILE.schedule), so that a restart neither warns again nor loses an end. An end whose
        time passed while the source was down is emitted at start (its warning is then skipped); the action ends only
        rooms that were live at C(ends_at). Without O(keep_state) a restart emits them again.
      - A bad entry stops the source with one error naming it.
    type: list
    elements: dict
  schedule_file:
    description:
      - A YAML file holding the list of O(schedule) (not both), at most 1 MiB. It is read at start (a bad file stops the
        source with one error) and again when its inode, size or modification time changes, checked every
        O(check_interval) seconds. A bad version keeps the last good schedule in force, logged once per change.
      - A leading C(~/) is the home directory.
    type: str
"""

EXAMPLES = r"""
- name: Enforce conference limits
  hosts: localhost
  sources:
    - vobiz.voice.conference_callbacks:
        port: 5050
        public_url: https://eda.example.com/vobiz/conference
        max_duration: 14400
        lonely_after: 600
  rules:
    - name: Hang up rooms over the time limit
      condition: event.vobiz.type == "overdue"
      action:
        run_playbook:
          name: vobiz.voice.enforce_limits_action
"""

import asyncio
import importlib.util
import json
import logging
import os
import sys
from typing import Any

from aiohttp import web

LOGGER = logging.getLogger('vobiz.voice.conference_callbacks')
UNITS = 'vobiz_voice_conference_callbacks_units'
SERVICE = web.AppKey('service', object) if hasattr(web, 'AppKey') else 'service'
GUARD = web.AppKey('guard', object) if hasattr(web, 'AppKey') else 'guard'
SIGNATURE = web.RequestKey('signature', str) if hasattr(web, 'RequestKey') else 'signature'
CALLBACK_ROUTE, HEALTH_ROUTE = 'callback', 'health'
#: aiohttp's limits on a request's head (smaller than its defaults: a callback has a dozen short headers), and no
#: lingering: a client whose body was not read (refused, timed out) is not waited for.
HANDLER_LIMITS = {'max_line_size': 4096, 'max_field_size': 4096, 'max_headers': 32, 'lingering_time': 0}


def _load_units():
    """ansible-rulebook runs this file with ``runpy.run_path``, outside any package: load the units by their path."""
    directory = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, 'plugin_utils', 'vobiz_callbacks'
    )
    spec = importlib.util.spec_from_file_location(
        UNITS, os.path.join(directory, '__init__.py'), submodule_search_locations=[directory]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[UNITS] = module
    spec.loader.exec_module(module)
    return module


if __package__:  # imported as part of the collection (the unit tests)
    from ansible_collections.vobiz.voice.extensions.eda.plugin_utils import vobiz_callbacks as units
else:
    units = sys.modules.get(UNITS) or _load_units()


@web.middleware
async def track_connection(request: web.Request, handler):
    """The request's headers are in: the connection's header deadline ends; it waits idle again once answered."""
    guard = request.app.get(GUARD)
    if guard is not None:
        guard.busy(request.transport)
    try:
        return await handler(request)
    finally:
        if guard is not None:
            guard.idle(request.transport)


@web.middleware
async def verify_signature(request: web.Request, handler):
    """Only a callback with a valid, fresh signature reaches the handler (the body is not read before)."""
    if request.match_info.http_exception is not None or request.match_info.route.name != CALLBACK_ROUTE:
        return await handler(request)  # not a callback: aiohttp's 404/405, or the health route
    reached_url = '%s://%s%s' % (request.scheme, request.host[:255], request.path[:1024])
    status, detail = request.app[SERVICE].check(request.headers, request.remote, reached_url)
    if status is not None:
        return _refused(status, 'unauthorized' if status == 401 else 'forbidden')
    request[SIGNATURE] = detail
    return await handler(request)


def _refused(status: int, text: str) -> web.Response:
    response = web.Response(status=status, text=text + '\n')
    response.force_close()  # a refused client keeps no connection
    return response


async def receive(request: web.Request) -> web.Response:
    """A verified callback: read its form within ``body_timeout``, update the registry, answer 204 at once."""
    service = request.app[SERVICE]
    settings = service.settings
    if request.content_length is not None and request.content_length > settings.max_body:
        return _refused(413, 'too large')
    try:
        form = await asyncio.wait_for(request.post(), settings.body_timeout)
    except asyncio.TimeoutError:
        service.refuse('body not complete within body_timeout', request.remote)
        return _refused(408, 'request timeout')
    except web.HTTPRequestEntityTooLarge:
        return _refused(413, 'too large')
    except ValueError:
        return _refused(400, 'bad form')
    service.accept({str(key): value for key, value in form.items() if isinstance(value, str)}, request[SIGNATURE])
    return web.Response(status=204)


async def health(request: web.Request) -> web.Response:
    """The health route: the listener answers. Nothing is read or kept, and the connection is closed."""
    response = web.Response(text='ok\n', headers={'Cache-Control': 'no-store'})
    response.force_close()
    return response


def make_app(service) -> web.Application:
    app = web.Application(middlewares=[track_connection, verify_signature], client_max_size=service.settings.max_body)
    app[SERVICE] = service
    app.router.add_post(service.settings.path, receive, name=CALLBACK_ROUTE)
    if service.settings.health_path:
        app.router.add_get(service.settings.health_path, health, name=HEALTH_ROUTE)
    return app


async def start_listener(service) -> tuple:
    """Listen: aiohttp's app behind the connection guard. Returns ``(server, runner, guard)``."""
    settings = service.settings
    tls = None
    if settings.certfile:
        try:
            tls = units.tls_context(settings.certfile, settings.keyfile, settings.password, settings.cafile)
        except ValueError as exc:
            raise units.ConfigError('%s. Nothing was started' % exc) from None
    app = make_app(service)
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=settings.idle_timeout, **HANDLER_LIMITS)
    app[GUARD] = guard = units.ConnectionGuard(
        None,  # aiohttp's protocol factory, made by runner.setup() (the app is frozen by then: set the key now)
        settings.max_connections,
        settings.max_connections_per_address,
        settings.idle_timeout,
        settings.header_timeout,
        service.refusals,
        tls=tls,
    )
    await runner.setup()
    guard.factory = runner.server
    server = await asyncio.get_running_loop().create_server(guard, settings.host, settings.port, backlog=1024)
    LOGGER.info(
        'Listening for Vobiz conference callbacks on %s://%s:%s%s (%s)%s',
        'https' if tls else 'http',
        settings.host,
        settings.port,
        settings.path,
        settings.host_reason,
        '; health: GET %s' % settings.health_path if settings.health_path else '',
    )
    return server, runner, guard


async def main(queue: asyncio.Queue, args: dict[str, Any]) -> None:
    """Serve callbacks and put events on ``queue`` until cancelled."""
    service = units.CallbackService(units.parse_args(args))
    server, runner, dummy = await start_listener(service)
    try:
        await service.run(queue)
    finally:
        server.close()
        await runner.cleanup()
        await service.close()


if __name__ == '__main__':
    # Try it by hand: python conference_callbacks.py (prints events; VOBIZ_AUTH_TOKEN must be set)

    class _PrintQueue(asyncio.Queue):
        async def put(self, item):
            print(json.dumps(item), flush=True)

    asyncio.run(
        main(
            _PrintQueue(),
            {
                'port': 5050,
                'public_url': 'http://127.0.0.1:5050/vobiz/conference',
                'max_duration': 60,
                'keep_state': False,
            },
        )
    )
