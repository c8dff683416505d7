# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of hang-up plans (_plan): what a plan holds, its digest, and every reason a plan is refused."""

import copy
import datetime
import hashlib
import hmac
import json

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import STATE_PRESENT, Retrieved
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._plan import (
    Plan,
    build_plan,
    plan_for_check_run,
    plan_from_params,
)
from ansible_collections.vobiz.voice.plugins.module_utils._policy import Policy
from ansible_collections.vobiz.voice.plugins.module_utils._selection import Selection

TOKEN = 'plan-test-token-0123456789'
AUTH_ID = 'MA_PLAN'
API_URL = 'https://api.example.test/api/v1'
MADE = datetime.datetime(2026, 12, 7, 6, 0, 0, tzinfo=datetime.timezone.utc)


def make_plan(selection=None, policy=None, targets=('ci-1', 'ci-2'), excluded=('ci-keep',), retrieved=None):
    selection = selection or Selection(match=['ci-*'], exclude=['ci-keep'])
    return build_plan(
        selection, policy, list(targets), retrieved or {}, list(excluded), AUTH_ID, API_URL, TOKEN, now=MADE
    )


def verify(plan, auth_id=AUTH_ID, api_url=API_URL, token=TOKEN, max_age='24h', later=60):
    return Plan.verify(plan, auth_id, api_url, token, max_age, now=MADE + datetime.timedelta(seconds=later))


def test_plan_holds_rooms_counts_selection_account_and_time_and_no_secret():
    conference = dict(conference_name='ci-1', conference_member_count='2', members=[{}, {}], conference_run_time='310')
    plan = make_plan(retrieved={'ci-1': Retrieved('ci-1', STATE_PRESENT, 200, conference)})
    assert plan['conferences'] == [
        dict(name='ci-1', member_count=2, run_time=310),
        dict(name='ci-2', member_count=None, run_time=None),
    ]
    assert plan['excluded'] == ['ci-keep'] and plan['auth_id'] == AUTH_ID and plan['api_url'] == API_URL
    assert plan['selection'] == dict(
        name=None,
        match=['ci-*'],
        exclude=['ci-keep'],
        all=False,
        running_longer_than=None,
        members_at_most=None,
        conference_uuid=None,
    )
    assert plan['created'] == '2026-12-07T06:00:00Z' and len(plan['id']) == 32 and plan['version'] == 1
    assert TOKEN not in json.dumps(plan)
    # The digest is HMAC-SHA256 keyed with the token over the canonical JSON of every other key: anyone holding the
    # token can check it with the standard library alone.
    unsigned = dict((key, value) for key, value in plan.items() if key != 'digest')
    content = json.dumps(unsigned, sort_keys=True, separators=(',', ':'), ensure_ascii=True).encode('ascii')
    assert plan['digest'] == hmac.new(TOKEN.encode(), content, hashlib.sha256).hexdigest()


def test_plan_of_a_policy_records_the_policy_not_its_glob():
    plan = make_plan(Selection(match=['*']), Policy(running_longer_than=3600), targets=['old'], excluded=[])
    assert plan['selection']['match'] is None and plan['selection']['running_longer_than'] == 3600


def test_names_are_escaped_in_the_plan_and_given_back_unescaped():
    name = 'line\nbreak'
    plan = make_plan(Selection(names=[name]), targets=[name], excluded=[])
    assert plan['conferences'][0]['name'] == 'line\\nbreak' and plan['selection']['name'] == ['line\\nbreak']
    verified = verify(plan)
    assert verified.names == [name] and verified.selection.names == [name] and verified.selection.match == []


def test_a_verified_plan_selects_as_the_check_run_did_but_never_all_at_once():
    verified = verify(make_plan())
    assert verified.plan_id and verified.names == ['ci-1', 'ci-2']
    assert verified.selection.match == ['ci-*'] and verified.selection.exclude == ['ci-keep']
    everything = verify(make_plan(Selection(all_conferences=True), excluded=[]))
    # 'all' as the glob '*': the live list names the rooms not in the plan; no hang-up of all conferences is sent.
    assert everything.selection.all is False and everything.selection.match == ['*']


@pytest.mark.parametrize(
    'change, why, option',
    [
        (
            lambda plan: plan['conferences'].append(dict(name='ci-3', member_count=None, run_time=None)),
            'digest does not verify',
            'plan',
        ),
        (lambda plan: plan['excluded'].clear(), 'digest does not verify', 'plan'),
        (lambda plan: plan.update(created='2026-12-07T06:30:00Z'), 'digest does not verify', 'plan'),
        (lambda plan: plan.update(digest='0' * 64), 'digest does not verify', 'plan'),
        (
            lambda plan: plan.update(auth_id='MA_OTHER'),
            "made for auth_id 'MA_OTHER', and this run's auth_id is 'MA_PLAN'",
            'plan',
        ),
        (
            lambda plan: plan.update(api_url='https://other.test/api/v1'),
            'made for api_url https://other.test/api/v1',
            'plan',
        ),
        (lambda plan: plan.pop('digest'), 'not a plan made by vobiz_conference', 'plan'),
        (lambda plan: plan.update(version=2), 'not a plan made by vobiz_conference', 'plan'),
        (lambda plan: plan.update(created='yesterday'), 'not a plan made by vobiz_conference', 'plan'),
        (
            lambda plan: plan.update(conferences=[{'name': 3, 'member_count': None, 'run_time': None}]),
            'every name must be a text',
            'plan',
        ),
        (lambda plan: plan['selection'].pop('all'), 'selection: expected the keys', 'plan'),
    ],
)
def test_a_changed_or_foreign_plan_is_refused_saying_why(change, why, option):
    plan = make_plan()
    change(plan)
    with pytest.raises(VobizInputError) as error:
        verify(plan)
    assert why in str(error.value) and str(error.value).startswith('plan refused before any request')
    assert error.value.option == option


def test_another_token_does_not_verify():
    with pytest.raises(VobizInputError, match='digest does not verify'):
        verify(make_plan(), token='another-token-0123456789')


@pytest.mark.parametrize(
    'max_age, later, refused',
    [('24h', 86400, False), ('24h', 86401, True), (600, 601, True), ('1h', 3000, False), ('24h', -600, True)],
)
def test_plan_max_age(max_age, later, refused):
    plan = make_plan()
    if not refused:
        assert verify(plan, max_age=max_age, later=later).plan_id == plan['id']
        return
    with pytest.raises(VobizInputError) as error:
        verify(plan, max_age=max_age, later=later)
    assert ('more than plan_max_age' if later > 0 else 'lies in the future') in str(error.value)


def test_a_bad_plan_max_age_names_the_option():
    with pytest.raises(VobizInputError) as error:
        verify(make_plan(), max_age='one day')
    assert error.value.option == 'plan_max_age'


def test_the_plan_option_takes_no_selection_option():
    params = dict(
        plan=make_plan(), match=['x-*'], all=False, name=None, auth_id=AUTH_ID, auth_token=TOKEN, api_url=API_URL
    )
    with pytest.raises(VobizInputError, match='plan cannot be combined with match') as error:
        plan_from_params(params)
    assert error.value.options == ['plan', 'match']
    params.update(match=None, live_at='2026-12-07T10:00:00Z')  # not recorded in a plan, so never beside one
    with pytest.raises(VobizInputError, match='plan cannot be combined with live_at'):
        plan_from_params(params)
    params.update(live_at=None, caller_matches=['+1555*'])
    with pytest.raises(VobizInputError, match='plan cannot be combined with caller_matches'):
        plan_from_params(params)


def test_plan_from_params_compares_the_normalized_api_url():
    plan = make_plan()
    params = dict(
        plan=copy.deepcopy(plan), auth_id=AUTH_ID, auth_token=TOKEN, api_url=API_URL + '/', plan_max_age='100000d'
    )
    with pytest.raises(VobizInputError):  # a duration this parser does not read
        plan_from_params(params)
    params['plan_max_age'] = 10**10  # seconds: the plan made in 2026 is younger than that
    assert plan_from_params(params).plan_id == plan['id']


def test_the_plan_of_a_check_run_is_signed_for_its_connection_and_applies_with_the_same_one():
    """plan_for_check_run: the rooms the result would hang up and those it excluded, signed for auth_id, the api_url
    as the run normalizes it and the token of the module's params, so that plan_from_params accepts it from the same
    connection (and a plan made from the params of another token does not verify)."""
    result = dict(hung_up=['ci-1', 'ci-2'], excluded=['ci-keep'])
    params = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=API_URL + '/')
    plan = plan_for_check_run(params, Selection(match=['ci-*'], exclude=['ci-keep']), None, result, {}, 'id-1')
    assert plan['id'] == 'id-1' and plan['api_url'] == API_URL and plan['excluded'] == ['ci-keep']
    assert [entry['name'] for entry in plan['conferences']] == ['ci-1', 'ci-2']
    applied = plan_from_params(dict(params, plan=copy.deepcopy(plan)))
    assert applied.plan_id == 'id-1' and applied.names == ['ci-1', 'ci-2']
    with pytest.raises(VobizInputError, match='digest does not verify'):
        plan_from_params(dict(params, plan=plan, auth_token=TOKEN + '-other'))
