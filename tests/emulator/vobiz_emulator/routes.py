"""The API routes: matching a raw request target, then auth, method and body checks and the actions."""

from __future__ import annotations

import dataclasses
import fnmatch
import hmac
import time
import urllib.parse
import uuid

from .config import GATEWAY_NOT_FOUND, HTML_PAGE, SPEAK_MAX_CHARS, utc_now
from .reply import Reply
from .state import render_conference

# Route shapes: the segments after /api/v1/Account/{auth_id}/Conference/{name}/Member/{m}/
MEMBER_VERBS = {
    'Kick': {'POST': 'kick'},
    'Mute': {'POST': 'mute', 'DELETE': 'unmute'},
    'Deaf': {'POST': 'deaf', 'DELETE': 'undeaf'},
    'Play': {'POST': 'play', 'DELETE': 'stop_play'},
    'Speak': {'POST': 'speak', 'DELETE': 'stop_speak'},
}
POST_MESSAGES = {
    'kick': 'kicked',
    'mute': 'muted',
    'deaf': 'deaf',
    'play': 'play started',
    'speak': 'speak started',
}


@dataclasses.dataclass
class Route:
    """The outcome of matching a request target against the API routes."""

    kind: str  # 'api', 'lowercase' (401), 'bad_path' (400) or 'not_found' (gateway 404)
    auth_id: str | None = None
    conference: str | None = None
    member: str | None = None
    actions: dict = dataclasses.field(default_factory=dict)  # method -> action name
    slash: bool = True


def decode_segment(segment: str) -> str:
    """Percent-decode one path segment (given as latin-1 text of the raw bytes) as UTF-8."""
    try:
        raw = segment.encode('latin-1')
    except UnicodeEncodeError:
        raw = segment.encode('utf-8')
    return urllib.parse.unquote_to_bytes(raw).decode('utf-8')


def parse_api_path(target: str) -> Route:
    """Match a raw request target to an API route, without normalising anything."""
    path = target.split('?', 1)[0].split('#', 1)[0]
    segments = path.split('/')
    if len(segments) < 6 or segments[0] != '':
        return Route('not_found')
    tail = segments[4:]
    slash = tail[-1] == ''
    if slash:
        tail = tail[:-1]
    case_mismatch = []

    def literal(segment, expected):
        if segment == expected:
            return True
        if segment.lower() == expected.lower():
            case_mismatch.append(segment)
            return True
        return False

    if not all(literal(seg, exp) for seg, exp in zip(segments[1:4], ('api', 'v1', 'Account'))):
        return Route('not_found')
    if len(tail) < 2 or not literal(tail[1], 'Conference'):
        return Route('not_found')
    count = len(tail)
    if count == 2:
        actions = {'GET': 'list', 'DELETE': 'hangup_all'}
    elif count == 3:
        actions = {'GET': 'retrieve', 'DELETE': 'hangup'}
    elif count == 4 and literal(tail[3], 'Record'):
        actions = {'POST': 'record', 'DELETE': 'stop_record'}
    elif count == 5 and literal(tail[3], 'Member'):
        actions = {'DELETE': 'member_hangup'}
    elif count == 6 and literal(tail[3], 'Member'):
        verb = [name for name in MEMBER_VERBS if name.lower() == tail[5].lower()]
        if not verb or not literal(tail[5], verb[0]):
            return Route('not_found')
        actions = dict(MEMBER_VERBS[verb[0]])
    else:
        return Route('not_found')
    variable = [tail[0]] + tail[2:3] + tail[4:5]
    if any(seg == '' for seg in variable):
        return Route('not_found')
    try:
        decoded = [decode_segment(seg) for seg in variable] + [None, None]
    except UnicodeDecodeError:
        return Route('bad_path', slash=slash)
    kind = 'lowercase' if case_mismatch else 'api'
    return Route(kind, auth_id=decoded[0], conference=decoded[1], member=decoded[2], actions=actions, slash=slash)


def unknown_path_reply(cfg: dict) -> Reply:
    """The 404 for a path the API does not know, as the ``not_found_body`` switch says."""
    shape = cfg['not_found_body']
    if shape == 'error':
        return Reply(404, {'error': 'not found'})
    if shape == 'empty':
        return Reply(404, raw=b'')
    if shape == 'html':
        return Reply(404, raw=HTML_PAGE, content_type='text/html; charset=utf-8')
    return Reply(404, dict(GATEWAY_NOT_FOUND))


class _RoutesMixin:
    """Emulator methods that carry out API requests."""

    def _process(self, method: str, route: Route, headers, body, body_error: str | None, cfg: dict) -> Reply:
        """Auth, method and body checks, then the action itself."""
        if route.kind == 'not_found':
            return unknown_path_reply(cfg)
        if route.kind == 'bad_path':
            return self._error(400, 'the request path is not valid UTF-8', cfg)
        header_id = headers.get('X-Auth-ID')
        header_token = headers.get('X-Auth-Token')
        if not header_id or not header_token:
            return self._error(401, 'missing X-Auth-ID or X-Auth-Token header', cfg)
        with self._lock:
            account = self._accounts.get(header_id)
            token = account.token if account is not None else None
        if token is None or not hmac.compare_digest(
            token.encode('utf-8', 'surrogateescape'), header_token.encode('utf-8', 'surrogateescape')
        ):
            return self._error(401, 'invalid X-Auth-ID or X-Auth-Token', cfg)
        if route.kind == 'lowercase':
            return self._error(401, 'path segments are case-sensitive: use Account, Conference, Member, ...', cfg)
        if route.auth_id != header_id:
            return self._error(401, 'the auth_id in the path does not match X-Auth-ID', cfg)
        action = route.actions.get(method)
        if action is None:
            allow = ', '.join(sorted(route.actions))
            return self._error(405, 'method %s not allowed here (allowed: %s)' % (method, allow), cfg, {'Allow': allow})
        if route.conference is not None and route.conference in cfg['forbidden']:
            return self._error(403, 'you do not have permission to access this conference', cfg)
        if body_error:
            return self._error(400, body_error, cfg)
        if method == 'POST' and body is not None and not isinstance(body, dict):
            return self._error(400, 'the request body must be a JSON object', cfg)
        if route.member is not None:
            return self._member_action(route, body or {}, cfg, action)
        return getattr(self, '_do_' + action)(route, body or {}, cfg)

    # ----- actions

    def _do_list(self, route: Route, body: dict, cfg: dict) -> Reply:
        if cfg['list_lies']:
            return Reply(200, {'conferences': []})
        with self._lock:
            names = list(self._accounts[route.auth_id].conferences)
        if cfg['list_omits']:  # live rooms the list leaves out, as the live service has been seen doing
            names = [name for name in names if not any(fnmatch.fnmatchcase(name, glob) for glob in cfg['list_omits'])]
        return Reply(200, {'api_id': str(uuid.uuid4()), 'conferences': names})

    def _do_retrieve(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            conf, when = account.conferences.get(route.conference), time.time()
            if conf is None:  # a room hung up that retrieve still shows, as it was then (retrieve_stale)
                conf, when = self._stale_conference(account, route.conference) or (None, when)
            shown = render_conference(conf, when) if conf is not None else None
        if shown is None:
            return self._error(404, 'conference not found', cfg)
        if cfg['retrieve_lies']:
            return Reply(200, {'error': 'failed'})
        if cfg[
            'retrieve_uuid'
        ]:  # not in the documented object: the instance's ConferenceUUID, as its callbacks carry it
            shown['conference_uuid'] = conf['uuid']
        shown['api_id'] = str(uuid.uuid4())
        return Reply(200, shown)

    def _do_hangup(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            if route.conference not in account.conferences:
                return self._error(404, 'conference not found', cfg)
            self._hung_up_by_api(account, route.conference, cfg)
        return Reply(204)

    def _do_hangup_all(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            for name in list(account.conferences):
                self._hung_up_by_api(account, name, cfg)
        return Reply(204)

    def _do_record(self, route: Route, body: dict, cfg: dict) -> Reply:
        file_format = body.get('file_format', 'mp3')
        if file_format not in ('mp3', 'wav'):
            return self._error(400, 'file_format must be "mp3" or "wav"', cfg)
        callback = body.get('callback_url')
        if callback is not None and not isinstance(callback, str):
            return self._error(400, 'callback_url must be a string', cfg)
        with self._lock:
            account = self._accounts[route.auth_id]
            if route.conference not in account.conferences:
                return self._error(404, 'conference not found', cfg)
            history = account.recordings.setdefault(route.conference, [])
            for recording in history:
                if recording['stopped'] is None:
                    recording['stopped'] = utc_now()
            recording_id = str(uuid.uuid4())
            url = 'https://recordings.vobiz-emulator.invalid/%s/%s.%s' % (route.auth_id, recording_id, file_format)
            history.append(
                {
                    'recording_id': recording_id,
                    'url': url,
                    'file_format': file_format,
                    'callback_url': callback,
                    'started': utc_now(),
                    'stopped': None,
                }
            )
        return Reply(
            cfg['member_action_status'],
            {
                'message': 'conference recording started',
                'recording_id': recording_id,
                'url': url,
                'api_id': str(uuid.uuid4()),
            },
        )

    def _do_stop_record(self, route: Route, body: dict, cfg: dict) -> Reply:
        with self._lock:
            account = self._accounts[route.auth_id]
            if route.conference not in account.conferences:
                return self._error(404, 'conference not found', cfg)
            for recording in account.recordings.get(route.conference, ()):
                if recording['stopped'] is None:
                    recording['stopped'] = utc_now()
        return Reply(204)

    def _member_action(self, route: Route, body: dict, cfg: dict, action: str) -> Reply:
        """Shared path of all member routes: resolve members, validate, apply, answer."""
        details = {}
        if action == 'play':
            url = body.get('url')
            parsed = urllib.parse.urlsplit(url) if isinstance(url, str) else None
            if parsed is None or parsed.scheme != 'https' or not parsed.netloc:
                return self._error(400, 'url must be an https:// URL', cfg)
            details = {'url': url}
        elif action == 'speak':
            text, voice, language = body.get('text'), body.get('voice', 'WOMAN'), body.get('language', 'en-US')
            if not isinstance(text, str) or not text.strip() or len(text) > SPEAK_MAX_CHARS:
                return self._error(
                    400, 'text must be a non-empty string of at most %d characters' % SPEAK_MAX_CHARS, cfg
                )
            if voice not in ('WOMAN', 'MAN'):
                return self._error(400, 'voice must be "WOMAN" or "MAN"', cfg)
            if not isinstance(language, str) or not language:
                return self._error(400, 'language must be a string such as "en-US"', cfg)
            details = {'text': text, 'voice': voice, 'language': language}
        with self._lock:
            account = self._accounts[route.auth_id]
            conf = account.conferences.get(route.conference)
            if conf is None:
                return self._error(404, 'conference not found', cfg)
            present = {member['member_id']: member for member in conf['members']}
            if route.member == 'all':
                ids = list(present)
            else:
                ids = route.member.split(',')
                missing = [member_id for member_id in ids if member_id not in present]
                if missing:
                    return self._error(404, 'member not found', cfg, details={'member_id': missing})
                ids = list(dict.fromkeys(ids))
            if action in ('kick', 'member_hangup'):
                before = list(conf['members'])
                conf['members'] = [member for member in conf['members'] if member['member_id'] not in ids]
                self._callbacks_for_removed(account, route.conference, before)
            elif action in ('mute', 'unmute'):
                for member_id in ids:
                    present[member_id]['muted'] = action == 'mute'
            elif action in ('deaf', 'undeaf'):
                for member_id in ids:
                    present[member_id]['deaf'] = action == 'deaf'
            else:
                event = {'action': action, 'member_id': ids, 'time': utc_now()}
                event.update(details)
                account.announcements.setdefault(route.conference, []).append(event)
        if action in POST_MESSAGES:
            return Reply(
                cfg['member_action_status'],
                {'message': POST_MESSAGES[action], 'member_id': ids, 'api_id': str(uuid.uuid4())},
            )
        return Reply(204)
