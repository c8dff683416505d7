"""The control endpoints under ``/_emulator/`` (no auth, no faults, not logged)."""

from __future__ import annotations

import threading
import urllib.parse
from typing import TYPE_CHECKING

from .callbacks import template_room_names
from .config import CONTROL_PREFIX
from .reply import Reply, parse_json_body
from .routes import decode_segment

if TYPE_CHECKING:
    from .server import Emulator


def _callback_control(handler, emulator: 'Emulator', parts) -> bool:
    """Control routes of this section; returns False when the path is not one of them.

    GET/DELETE /_emulator/callbacks; POST /_emulator/conferences/{name}/members {"count": N} or {"members": [...]};
    DELETE /_emulator/conferences/{name}/members/{id}.
    """
    segments = parts.path[len(CONTROL_PREFIX) :].strip('/').split('/')
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
                reply = Reply(
                    200, emulator.leave_member(name, decode_segment(segments[3]), auth_id=body.get('auth_id'))
                )
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        reply = Reply(404 if 'not live' in str(exc) or 'no member' in str(exc) else 400, {'error': str(exc)})
    handler._send(reply)
    return True


class _ControlMixin:
    """Handler methods for the control endpoints."""

    def _control(self, emulator: Emulator, target: str) -> None:
        parts = urllib.parse.urlsplit(target)
        if _callback_control(self, emulator, parts):
            return
        name = parts.path[len(CONTROL_PREFIX) :].rstrip('/') or '/'
        routes = {
            '/log': ('GET', 'DELETE'),
            '/state': ('GET',),
            '/conferences': ('POST',),
            '/conferences/remove': ('POST',),
            '/conferences/template_names': ('POST',),
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
            return Reply(
                200,
                {
                    'requests': emulator.requests(
                        method=(query.get('method') or [None])[0], action=(query.get('action') or [None])[0]
                    )
                },
            )
        if name == '/state':
            return Reply(200, emulator.state())
        if name == '/conferences':
            shown = emulator.add_conference(
                body.get('name'), body.get('members'), auth_id=body.get('auth_id'), started_ago=body.get('started_ago')
            )
            return Reply(201, shown)
        if name == '/conferences/template_names':
            if not isinstance(body.get('canary'), str) or not body['canary']:
                raise ValueError('"canary" is required: the file a template in the names would create')
            names = template_room_names(body['canary'])
            for room in names:
                emulator.add_conference(
                    room, body.get('members'), auth_id=body.get('auth_id'), started_ago=body.get('started_ago')
                )
            return Reply(201, {'conferences': names})
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
