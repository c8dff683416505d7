"""Accounts, live conferences and their members, and the switches: the state the API routes act on."""

from __future__ import annotations

import copy
import fnmatch
import time
import uuid

from .callbacks import member_callbacks
from .config import DEFAULT_SWITCHES, _is_number, normalize_switch, utc_now

MEMBER_FIELDS = ('member_id', 'muted', 'deaf', 'from', 'to', 'caller_name', 'direction', 'call_uuid', 'join_time')


class _Account:
    """One account: its token, live conferences and the history of announcements and recordings."""

    def __init__(self, token: str):
        self.token = token
        self.conferences = {}
        self.announcements = {}
        self.recordings = {}
        #: Rooms hung up through the API that retrieve still shows (the ``retrieve_stale`` switch): name -> entry.
        self.stale = {}


def render_conference(conf: dict, now: float) -> dict:
    """Render an internal conference as the documented conference object (without api_id)."""
    members = []
    for member in conf['members']:
        shown = {key: member[key] for key in MEMBER_FIELDS if key != 'join_time'}
        shown['join_time'] = str(max(0, int(now - member['joined'])))
        members.append(shown)
    return {
        'conference_name': conf['name'],
        'conference_run_time': str(max(0, int(now - conf['started']))),
        'conference_member_count': str(len(members)),
        'members': members,
    }


class _StateMixin:
    """Emulator methods for accounts, conferences, members and switches (``self._lock`` guards them)."""

    # ----- accounts and conferences

    def add_account(self, auth_id: str, token: str) -> None:
        """Add an account (or replace the token of an existing one)."""
        if not isinstance(auth_id, str) or not auth_id or not isinstance(token, str) or not token:
            raise ValueError('an account needs a non-empty auth_id and token')
        with self._lock:
            if auth_id in self._accounts:
                self._accounts[auth_id].token = token
            else:
                self._accounts[auth_id] = _Account(token)

    def _account(self, auth_id: str | None) -> _Account:
        auth_id = self.auth_id if auth_id is None else auth_id
        try:
            return self._accounts[auth_id]
        except KeyError:
            raise ValueError('unknown account %r' % auth_id)

    def _add_conference_spec(self, spec, auth_id: str) -> None:
        if isinstance(spec, dict):
            if not set(spec) <= {'name', 'members', 'started_ago'}:
                raise ValueError('a conference entry takes "name", "members" and "started_ago"')
            self.add_conference(
                spec.get('name'), spec.get('members'), auth_id=auth_id, started_ago=spec.get('started_ago')
            )
        else:
            self.add_conference(spec, auth_id=auth_id)

    def _new_member(self, spec, now: float) -> dict:
        number = next(self._member_ids)
        member = {
            'member_id': str(number),
            'muted': False,
            'deaf': False,
            'from': '+9198%08d' % number,
            'to': '+918000000000',
            'caller_name': 'Caller %d' % number,
            'direction': 'inbound',
            'call_uuid': str(uuid.uuid4()),
            'joined': now,
        }
        if isinstance(spec, dict):
            unknown = set(spec) - set(MEMBER_FIELDS)
            if unknown:
                raise ValueError('unknown member fields: %s' % ', '.join(sorted(unknown)))
            for key, value in spec.items():
                if key == 'join_time':
                    member['joined'] = now - float(value)
                elif key == 'member_id':
                    member['member_id'] = str(value)
                else:
                    member[key] = value
        elif spec is not None:
            member['member_id'] = str(spec)
        return member

    def add_conference(self, name: str, members=None, auth_id: str | None = None, started_ago=None) -> dict:
        """Start (or restart) a live conference; members: a count, or a list of member ids / dicts.

        ``started_ago``: seconds since the room started (its ``conference_run_time``), default 0.
        """
        if not isinstance(name, str) or not name:
            raise ValueError('a conference needs a non-empty name')
        if members is None:
            members = self.members
        if started_ago is not None and (not _is_number(started_ago) or started_ago < 0):
            raise ValueError('started_ago must be a number of seconds >= 0')
        now = time.time() - (started_ago or 0)
        with self._lock:
            account = self._account(auth_id)
            if isinstance(members, int) and not isinstance(members, bool) and members >= 0:
                people = [self._new_member(None, now) for dummy in range(members)]
            elif isinstance(members, (list, tuple)):
                people = [self._new_member(spec, now) for spec in members]
            else:
                raise ValueError('members must be an integer >= 0 or a list')
            ids = [member['member_id'] for member in people]
            if len(set(ids)) != len(ids):
                raise ValueError('duplicate member ids in %r' % ids)
            account.conferences.pop(name, None)
            account.stale.pop(name, None)
            account.conferences[name] = {'name': name, 'started': now, 'members': people, 'uuid': str(uuid.uuid4())}
            self.callback_sender.enqueue(member_callbacks(account.conferences[name], people, 'enter', False, True))
            return render_conference(account.conferences[name], time.time())

    def remove_conference(self, name: str, auth_id: str | None = None) -> bool:
        """End a conference silently (not logged); True when it was live."""
        with self._lock:
            account = self._account(auth_id)
            if name not in account.conferences:
                return False
            self._end_conference(account, name)
            return True

    def set_conferences(self, names, members=None, auth_id: str | None = None) -> list:
        """Make exactly ``names`` live for an account (new rooms get ``members`` callers); return them sorted."""
        if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
            raise ValueError('"conferences" must be a list of names')
        with self._lock:
            account = self._account(auth_id)
            for name in list(account.conferences):
                if name not in names:
                    self._end_conference(account, name)
        for name in names:
            if name not in self.live_names(auth_id):
                self.add_conference(name, members, auth_id=auth_id)
        return self.live_names(auth_id)

    def _end_conference(self, account: _Account, name: str) -> None:
        account.conferences.pop(name, None)
        for recording in account.recordings.get(name, ()):
            if recording['stopped'] is None:
                recording['stopped'] = utc_now()

    def _hung_up_by_api(self, account: _Account, name: str, cfg: dict) -> None:
        """A room hung up through the API ends (with its exit callbacks); then, as its switches say, retrieve keeps
        showing it for ``retrieve_stale`` reads, and a room matching ``recreate_after_hangup`` starts again at once as a
        new instance (a new ConferenceUUID, as many new callers, their enter callbacks). Call with the lock held."""
        conf, stale = account.conferences[name], cfg['retrieve_stale']
        self._callbacks_for_end(account, name, cfg)
        self._end_conference(account, name)
        if any(fnmatch.fnmatchcase(name, glob) for glob in cfg['recreate_after_hangup']):
            auth_id = next(key for key, value in self._accounts.items() if value is account)
            self.add_conference(name, len(conf['members']), auth_id=auth_id)
        elif stale['reads'] and (stale['match'] is None or fnmatch.fnmatchcase(name, stale['match'])):
            account.stale[name] = {'conf': conf, 'ended': time.time(), 'left': stale['reads']}

    def _stale_conference(self, account: _Account, name: str):
        """``(internal conference, when it ended)`` of a room hung up that retrieve still shows (one read of its
        ``retrieve_stale`` used), or None. Call with the lock held."""
        entry = account.stale.get(name)
        if entry is None or entry['left'] <= 0:
            return None
        entry['left'] -= 1
        return entry['conf'], entry['ended']

    def live_names(self, auth_id: str | None = None) -> list:
        """Sorted names of the live conferences of an account."""
        with self._lock:
            return sorted(self._account(auth_id).conferences)

    def conference(self, name: str, auth_id: str | None = None) -> dict | None:
        """The conference object (as retrieve shows it, without api_id) or None."""
        with self._lock:
            conf = self._account(auth_id).conferences.get(name)
            return render_conference(conf, time.time()) if conf is not None else None

    def conference_uuid(self, name: str, auth_id: str | None = None) -> str | None:
        """The ConferenceUUID of the live instance of ``name`` (its callbacks carry it), or None."""
        with self._lock:
            conf = self._account(auth_id).conferences.get(name)
            return conf['uuid'] if conf is not None else None

    def announcements(self, name: str, auth_id: str | None = None) -> list:
        """What was played or spoken in a conference (kept after it ends)."""
        with self._lock:
            return copy.deepcopy(self._account(auth_id).announcements.get(name, []))

    def recordings(self, name: str, auth_id: str | None = None) -> list:
        """The recordings started in a conference (kept after it ends)."""
        with self._lock:
            return copy.deepcopy(self._account(auth_id).recordings.get(name, []))

    def state(self) -> dict:
        """Everything the control endpoint /_emulator/state shows (never tokens)."""
        now = time.time()
        with self._lock:
            return {
                'accounts': {
                    auth_id: {
                        'conferences': {
                            name: render_conference(conf, now) for name, conf in account.conferences.items()
                        },
                        'announcements': copy.deepcopy(account.announcements),
                        'recordings': copy.deepcopy(account.recordings),
                    }
                    for auth_id, account in self._accounts.items()
                }
            }

    # ----- switches

    def configure(self, **switches) -> dict:
        """Change some switches (names as in DEFAULT_SWITCHES); returns the whole configuration."""
        normalized = {name: normalize_switch(name, value) for name, value in switches.items()}
        with self._lock:
            self._config.update(normalized)
            with self._fault_lock:
                if 'seed' in normalized:
                    self._fault_rng.seed(normalized['seed'])
                    self._jitter_rng.seed(normalized['seed'])
                if 'faults' in normalized:
                    self._fault_counts.clear()
                if 'rate_limit' in normalized:
                    self._buckets.clear()
            return copy.deepcopy(self._config)

    @property
    def config(self) -> dict:
        """A copy of the current switches."""
        with self._lock:
            return copy.deepcopy(self._config)

    def reset(self) -> dict:
        """Switches back to the defaults; clears the log, fault counters and rate-limit buckets."""
        with self._lock:
            self._config = copy.deepcopy(DEFAULT_SWITCHES)
            for account in self._accounts.values():
                account.stale.clear()
            with self._fault_lock:
                self._fault_counts.clear()
                self._buckets.clear()
                self._fault_rng.seed(self._config['seed'])
                self._jitter_rng.seed(self._config['seed'])
        self.clear_log()
        self.callback_sender.clear_log()
        return self.config

    # ----- members joining and leaving (they send callbacks)

    def join_members(self, name: str, members=1, auth_id: str | None = None) -> dict:
        """Members join a live conference (members: a count or a list of ids/dicts); sends enter callbacks."""
        now = time.time()
        with self._lock:
            account = self._account(auth_id)
            conf = account.conferences.get(name)
            if conf is None:
                raise ValueError('conference %r is not live' % name)
            if isinstance(members, int) and not isinstance(members, bool) and members >= 1:
                people = [self._new_member(None, now) for dummy in range(members)]
            elif isinstance(members, list) and members:
                people = [self._new_member(spec, now) for spec in members]
            else:
                raise ValueError('members must be an integer >= 1 or a non-empty list')
            taken = {member['member_id'] for member in conf['members']}
            if any(member['member_id'] in taken for member in people):
                raise ValueError('member id already in the conference')
            was_empty = not conf['members']
            conf['members'].extend(people)
            self.callback_sender.enqueue(member_callbacks(conf, people, 'enter', False, was_empty))
            return render_conference(conf, now)

    def leave_member(self, name: str, member_id: str, auth_id: str | None = None) -> dict:
        """A member hangs up; the room ends when it was the last one. Sends the exit callback."""
        with self._lock:
            account = self._account(auth_id)
            conf = account.conferences.get(name)
            if conf is None:
                raise ValueError('conference %r is not live' % name)
            gone = [member for member in conf['members'] if member['member_id'] == member_id]
            if not gone:
                raise ValueError('no member %r in conference %r' % (member_id, name))
            conf['members'] = [member for member in conf['members'] if member['member_id'] != member_id]
            ended = not conf['members']
            self.callback_sender.enqueue(member_callbacks(conf, gone, 'exit', ended))
            if ended:
                self._end_conference(account, name)
            return {'conference': name, 'member_id': member_id, 'conference_ended': ended}

    def _callbacks_for_end(self, account, name: str, cfg: dict | None = None) -> None:
        """Exit callbacks for every member of a room being hung up (call with the lock held); with
        ``callback_drop_hangup_exits`` matching the room (``cfg``: the switches), all of them or the last member's
        are dropped (logged as ``dropped``, never sent): a hang-up whose end the callbacks never confirm."""
        conf = account.conferences.get(name)
        if conf is None:
            return
        batch = member_callbacks(conf, conf['members'], 'exit', True)
        drop = (cfg or {}).get('callback_drop_hangup_exits')
        if drop is not None and (drop['match'] is None or fnmatch.fnmatchcase(name, drop['match'])):
            dropped = [fields for fields in batch if drop['which'] == 'all' or fields['ConferenceLastMember'] == 'true']
            self.callback_sender.drop(dropped, cfg)
            batch = [fields for fields in batch if fields not in dropped]
        self.callback_sender.enqueue(batch)

    def _callbacks_for_removed(self, account, name: str, before: list) -> None:
        """Exit callbacks for members a kick or member hang-up removed (call with the lock held)."""
        conf = account.conferences.get(name)
        if conf is not None:
            present = {member['member_id'] for member in conf['members']}
            gone = [member for member in before if member['member_id'] not in present]
            self.callback_sender.enqueue(member_callbacks(conf, gone, 'exit', not conf['members']))
