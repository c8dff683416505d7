# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""A hang-up plan: what a check-mode run of ``vobiz_conference`` would end, signed, and its verification.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

A plan holds the rooms to end (names escaped as results carry them, with member count and run time where read), the
excluded ones, the selection that produced it, ``auth_id``, ``api_url``, when it was made and an id. Its ``digest`` is
HMAC-SHA256, keyed with the auth token, over the canonical JSON of everything else (``canonical``): editing any of it
without the token makes the digest fail, and the plan carries no secret. ``verify`` refuses a plan (``VobizInputError``
naming ``plan`` or ``plan_max_age``) before any request: not a plan, another ``auth_id``, another ``api_url``, a digest
that does not verify, or older than ``plan_max_age``. The module's side: its options (``plan_options``), the plan of a
check run (``plan_for_check_run``) and the plan it applies (``plan_from_params``), both for the connection of its
params.
"""

import datetime
import hashlib
import hmac
import json
import uuid

from ansible_collections.vobiz.voice.plugins.module_utils._connection import validate_connection_params
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._policy import parse_duration
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name, escape_names, unescape_name
from ansible_collections.vobiz.voice.plugins.module_utils._selection import Selection

PLAN_VERSION = 1
DEFAULT_PLAN_MAX_AGE = '24h'
#: How far in the future a plan's creation time may lie (clocks of two hosts differ a little).
CLOCK_SKEW_SECONDS = 300
_TIME_FORMAT = '%Y-%m-%dT%H:%M:%SZ'
#: The selection options a plan records (``names_escaped`` is not one: the plan holds the names themselves, escaped).
SELECTION_KEYS = ('name', 'match', 'exclude', 'all', 'running_longer_than', 'members_at_most', 'conference_uuid')
PLAN_KEYS = ('version', 'id', 'created', 'auth_id', 'api_url', 'selection', 'conferences', 'excluded', 'digest')
CONFERENCE_KEYS = ('name', 'member_count', 'run_time')


def canonical(content):
    """The bytes the digest covers: sorted keys, no spaces, ASCII only."""
    return json.dumps(content, sort_keys=True, separators=(',', ':'), ensure_ascii=True).encode('ascii')


def digest_of(content, token):
    """HMAC-SHA256 of ``canonical(content)`` (every key but ``digest``), keyed with the auth token, in hex."""
    unsigned = dict((key, value) for key, value in content.items() if key != 'digest')
    return hmac.new(token.encode('utf-8'), canonical(unsigned), hashlib.sha256).hexdigest()


def plan_options():
    """The options of ``vobiz_conference`` that apply a plan: ``plan`` and ``plan_max_age``."""
    return dict(plan=dict(type='dict'), plan_max_age=dict(type='raw', default=DEFAULT_PLAN_MAX_AGE))


def new_plan_id():
    return uuid.uuid4().hex


def _utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


def build_plan(selection, policy, targets, retrieved, excluded, auth_id, api_url, token, plan_id=None, now=None):
    """The plan of a check-mode run: ``targets`` (the names it would hang up), each with the member count and run time
    of its ``Retrieved`` in ``retrieved`` (``None`` where not read), ``excluded``, and the ``Selection`` and ``Policy``
    behind them; ``plan_id`` (random when not given) is the id the run's audit lines carry."""

    def read(name, attribute):
        answer = retrieved.get(name)
        return getattr(answer, attribute) if answer is not None else None

    chosen = dict(
        name=escape_names(selection.names) or None,
        match=escape_names(selection.match) or None,
        exclude=escape_names(selection.exclude) or None,
        all=selection.all,
        running_longer_than=getattr(policy, 'running_longer_than', None),
        members_at_most=getattr(policy, 'members_at_most', None),
        conference_uuid=getattr(policy, 'conference_uuid', None),
    )
    if policy is not None and not selection.names and selection.match == ['*']:
        chosen['match'] = None  # the policy's own '*', not the user's glob
    plan = dict(
        version=PLAN_VERSION,
        id=plan_id or new_plan_id(),
        created=(now or _utcnow()).strftime(_TIME_FORMAT),
        auth_id=auth_id,
        api_url=api_url,
        selection=chosen,
        conferences=[
            dict(name=escape_name(name), member_count=read(name, 'member_count'), run_time=read(name, 'run_time'))
            for name in targets
        ],
        excluded=escape_names(excluded),
    )
    plan['digest'] = digest_of(plan, token)
    return plan


class Plan:
    """A verified plan: ``names`` (the rooms it ends, unescaped), ``selection`` (a ``Selection`` naming the same rooms
    and globs as the check run's) and ``plan_id``."""

    def __init__(self, plan_id, names, selection):
        self.plan_id = plan_id
        self.names = names
        self.selection = selection

    @classmethod
    def verify(cls, plan, auth_id, api_url, token, max_age=DEFAULT_PLAN_MAX_AGE, now=None):
        """The ``Plan`` of ``plan`` (the dictionary a check-mode run returned), or ``VobizInputError`` saying why not.

        The checks, in order: its form; its ``auth_id`` and ``api_url`` against this run's; the digest (with this run's
        token); its age against ``max_age`` (a duration, see ``parse_duration``). Sends nothing.
        """
        max_seconds = parse_duration(DEFAULT_PLAN_MAX_AGE if max_age is None else max_age, option='plan_max_age')
        _check_form(plan)
        if plan['auth_id'] != auth_id:
            raise _refused(f"it was made for auth_id {plan['auth_id']!r}, and this run's auth_id is {auth_id!r}")
        if plan['api_url'] != api_url:
            raise _refused(f"it was made for api_url {plan['api_url']}, and this run's api_url is {api_url}")
        if not hmac.compare_digest(str(plan['digest']), digest_of(plan, token)):
            raise _refused(
                'its digest does not verify: it was changed after it was made, or made with another auth token'
            )
        created = datetime.datetime.strptime(plan['created'], _TIME_FORMAT).replace(tzinfo=datetime.timezone.utc)
        age = ((now or _utcnow()) - created).total_seconds()
        if age > max_seconds:
            raise _refused(
                f"it was made at {plan['created']}, {int(age)} s ago, "
                f'more than plan_max_age ({max_seconds} s); make a new plan',
                'plan_max_age',
            )
        if age < -CLOCK_SKEW_SECONDS:
            raise _refused(f"its creation time {plan['created']} lies in the future")
        chosen = plan['selection']
        # The rooms the check run's selection gives now, to name those the plan leaves alone; ``all`` as the glob '*',
        # because a plan never sends the hang-up of all conferences.
        names, match = _unescaped(chosen.get('name')), _unescaped(chosen.get('match'))
        selection = Selection(names, match or ([] if names else ['*']), _unescaped(chosen.get('exclude')))
        return cls(plan['id'], [unescape_name(entry['name']) for entry in plan['conferences']], selection)


def _refused(why, option='plan'):
    return VobizInputError(f'plan refused before any request: {why}.', option=option)


def _unescaped(names):
    return [unescape_name(name) for name in names or ()]


def _check_form(plan):
    """Refuse anything that is not a plan of this version (a missing or extra key, a wrong type)."""
    try:
        problem = _form_problem(plan)
    except (TypeError, ValueError, AttributeError) as exc:  # unescape_name or strptime on a value that is not one
        problem = str(exc)
    if problem:
        raise _refused(f'it is not a plan made by vobiz_conference in check mode ({problem})')


def _form_problem(plan):
    if not isinstance(plan, dict) or set(plan) != set(PLAN_KEYS):
        return 'expected the keys ' + ', '.join(PLAN_KEYS)
    if plan['version'] != PLAN_VERSION:
        return f'version {plan["version"]!r}, expected {PLAN_VERSION}'
    texts = ('id', 'created', 'auth_id', 'api_url', 'digest')
    if not all(isinstance(plan[key], str) for key in texts):
        return 'id, created, auth_id, api_url and digest must be texts'
    datetime.datetime.strptime(plan['created'], _TIME_FORMAT)
    selection, conferences = plan['selection'], plan['conferences']
    if not isinstance(selection, dict) or set(selection) != set(SELECTION_KEYS):
        return 'selection: expected the keys ' + ', '.join(SELECTION_KEYS)
    if not isinstance(conferences, list) or not all(
        isinstance(entry, dict) and set(entry) == set(CONFERENCE_KEYS) for entry in conferences
    ):
        return 'conferences: a list of ' + ', '.join(CONFERENCE_KEYS)
    names = [entry['name'] for entry in conferences] + list(plan['excluded'] or ())
    for key in ('name', 'match', 'exclude'):
        names += list(selection[key] or ())
    if not all(isinstance(name, str) for name in names):
        return 'every name must be a text'
    _unescaped(names)
    return None


def plan_from_params(params):
    """The verified ``Plan`` of a module's ``plan`` option (``VobizInputError`` before any request): it replaces the
    selection, so no selection option may come with it."""
    # live_at, registry and caller_matches are not recorded in a plan's selection (its keys stay those of version 1):
    # the plan's rooms are what it selected.
    others = ('names_escaped', 'live_at', 'registry', 'caller_matches')
    given = [key for key in SELECTION_KEYS + others if params.get(key) not in (None, False)]
    if given:
        why = 'the plan names the rooms to end; pass the plan alone'
        raise VobizInputError(f"plan cannot be combined with {', '.join(given)}: {why}", option='plan', also=given)
    connection = validate_connection_params(params)[0]
    return Plan.verify(
        params['plan'],
        connection['auth_id'],
        connection['api_url'].rstrip('/'),
        connection['auth_token'],
        params.get('plan_max_age'),
    )


def plan_for_check_run(params, selection, policy, result, retrieved, plan_id):
    """The plan a check-mode run returns (``build_plan``): the rooms its ``result`` would hang up and those it excluded,
    with what ``retrieved`` read of them, for the connection of the module's ``params`` as ``plan_from_params`` checks
    it (``auth_id``, ``api_url``, signed with ``auth_token``)."""
    connection = validate_connection_params(params)[0]
    auth_id, api_url, token = connection['auth_id'], connection['api_url'].rstrip('/'), connection['auth_token']
    targets, excluded = result['hung_up'], result['excluded']
    return build_plan(selection, policy, targets, retrieved, excluded, auth_id, api_url, token, plan_id)
