"""The command line: ``python tests/emulator/vobiz_emulator --port 0 --port-file PATH ...`` (see README.md)."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading

from .callbacks import template_room_names
from .config import NOT_FOUND_BODIES, atomic_write
from .owner import identify
from .server import Emulator

BOOLEAN_WORDS = {'true': True, 'yes': True, '1': True, 'false': False, 'no': False, '0': False}


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
        elif key in ('declare_length', 'processed'):
            flag = value.lower()
            if flag not in BOOLEAN_WORDS:
                raise ValueError('--fault %s: %s must be true or false, got %r' % (text, key, value))
            rule[key] = BOOLEAN_WORDS[flag]
        else:
            rule[key] = value
    return rule


def build_parser() -> argparse.ArgumentParser:
    """The command line interface."""
    parser = argparse.ArgumentParser(
        prog='vobiz_emulator', description='Emulate the Vobiz conference API on 127.0.0.1.'
    )
    add = parser.add_argument
    add('--port', type=int, default=0, help='TCP port (default 0: any free port)')
    add('--port-file', metavar='PATH', help='write the port number there (atomically) once listening')
    add('--auth-id', default=None, help='the first account (default MA_DEMO)')
    add('--auth-token', default=None, help='token of the first account')
    add('--account', action='append', default=[], metavar='ID:TOKEN', help='an extra account (repeatable)')
    add(
        '--conference',
        action='append',
        default=[],
        metavar='NAME',
        help='a live conference of the first account (repeatable)',
    )
    add('--members', type=int, default=None, help='callers per seeded conference (default 2)')
    add(
        '--config',
        metavar='JSON_FILE',
        help='{"accounts": {"MA_X": {"token": ..., "conferences": [...]}}, "members": N, switches...}',
    )
    add('--latency-ms', type=float, default=None, help='added to every API request')
    add('--jitter-ms', type=float, default=None, help='random extra latency, 0..N ms')
    add('--seed', type=int, default=None, help='seed for fault rates and jitter (default 0)')
    add('--rate-limit', default=None, metavar='plivo|N/S|off', help='token bucket per account; plivo = 300/5')
    add(
        '--fault',
        action='append',
        default=None,
        metavar='RULE',
        help='fault rule: JSON or kind=503,method=DELETE,first_n=2 (repeatable)',
    )
    add('--list-lies', action='store_true', default=None, help='GET Conference/ answers {"conferences": []}')
    add(
        '--retrieve-lies',
        action='store_true',
        default=None,
        help='GET Conference/{name}/ answers 200 {"error": "failed"}',
    )
    add(
        '--retrieve-uuid',
        action='store_true',
        default=None,
        help='GET Conference/{name}/ also answers the conference_uuid (undocumented)',
    )
    add(
        '--template-rooms',
        metavar='CANARY',
        help='also start rooms named with template and shell syntax, which would create CANARY if evaluated',
    )
    add('--callback-url', metavar='URL', default=None, help='send signed conference callbacks there (the event source)')
    add('--callback-signed-url', metavar='URL', default=None, help='signed over this URL (default: --callback-url)')
    add(
        '--member-action-status',
        type=int,
        choices=(200, 202),
        default=None,
        help='status of POST actions (default 202)',
    )
    add('--error-style', choices=('flat', 'envelope'), default=None, help='error body shape (default flat)')
    add('--trailing-slash', choices=('reject', 'accept'), default=None, help='missing trailing slash (default reject)')
    add('--forbidden', action='append', default=None, metavar='NAME', help='a conference answering 403 (repeatable)')
    add(
        '--not-found-body',
        choices=NOT_FOUND_BODIES,
        default=None,
        help='the 404 body of a path the API does not know (default gateway)',
    )
    add('--tls', action='store_true', help='serve HTTPS with a throw-away CA (needs trustme)')
    add('--ca-file', metavar='PATH', help='where to write the CA certificate (PEM) with --tls')
    add('--log-file', metavar='PATH', help='append every request log entry there as a JSON line')
    add(
        '--idle-timeout',
        type=float,
        default=900.0,
        help='stop after this many seconds without requests (0: never; default 900)',
    )
    add(
        '--owner-pid',
        type=int,
        default=None,
        metavar='PID',
        help='stop when process PID has ended (the test run that started it)',
    )
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
        'latency_ms': args.latency_ms,
        'jitter_ms': args.jitter_ms,
        'seed': args.seed,
        'list_lies': args.list_lies,
        'retrieve_lies': args.retrieve_lies,
        'retrieve_uuid': args.retrieve_uuid,
        'member_action_status': args.member_action_status,
        'error_style': args.error_style,
        'trailing_slash': args.trailing_slash,
        'forbidden': args.forbidden,
        'not_found_body': args.not_found_body,
        'callback_url': args.callback_url,
        'callback_signed_url': args.callback_signed_url,
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
    if args.owner_pid is not None:
        if args.owner_pid <= 1:
            raise ValueError(
                '--owner-pid %d: give the pid of the process whose end stops the emulator' % args.owner_pid
            )
        try:
            identify(args.owner_pid)
        except ProcessLookupError:
            raise ValueError(
                '--owner-pid %d: no such process (it must run when the emulator starts)' % args.owner_pid
            ) from None
    return Emulator(
        auth_id=auth_id,
        auth_token=token,
        conferences=conferences
        + list(args.conference)
        + (template_room_names(args.template_rooms) if args.template_rooms else []),
        members=members,
        accounts=accounts,
        tls=args.tls,
        ca_file=args.ca_file,
        port=args.port,
        idle_timeout=args.idle_timeout,
        owner_pid=args.owner_pid,
        socket_timeout=args.socket_timeout,
        log_file=args.log_file,
        verbose=args.verbose,
        **switches,
    )


def _say(text: str) -> None:
    sys.stdout.write(text + '\n')
    sys.stdout.flush()


def main(argv=None) -> int:
    """Run the emulator until SIGTERM/SIGINT, POST /_emulator/shutdown, the end of its owner or the idle timeout."""
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
