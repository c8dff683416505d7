# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of vobiz_conference: the selection policies (running_longer_than, members_at_most, conference_uuid,
live_at, caller_matches), plans, verified termination and the registry. The module runs in-process and talks HTTP to
the emulator; the hang-up itself, names and faults are in test_vobiz_conference.py."""

import functools
import json
import os

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _audit, _conference_api, _verify
from ansible_collections.vobiz.voice.plugins.module_utils._plan import digest_of
from ansible_collections.vobiz.voice.plugins.modules import vobiz_conference
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import (
    PREFIX,
    TOKEN,
    TRICKY,
    module_args,
    run_against,
    write_registry,
)

run = functools.partial(run_against, vobiz_conference.main)


def methods(emu):
    return [entry['method'] for entry in emu.requests()]


# --- scheduled policies (running_longer_than, members_at_most, conference_uuid) ---------------------------------------


def rooms(emu):
    emu.add_conference('old-full', members=3, started_ago=7200)
    emu.add_conference('old-alone', members=1, started_ago=7200)
    emu.add_conference('young-alone', members=1, started_ago=60)
    emu.add_conference('young-full', members=2, started_ago=60)
    emu.add_conference('old-unreadable', members=1, started_ago=7200)
    emu.configure(faults=[{'kind': '503', 'method': 'GET', 'match': 'old-unreadable'}])


def deleted(emu):
    return sorted(entry['conference'] for entry in emu.requests(method='DELETE'))


def test_running_longer_than_over_the_whole_live_list(emulator):
    rooms(emulator)
    failed, result = run(emulator, running_longer_than='1h')
    assert not failed, result['msg']
    assert sorted(result['hung_up']) == ['old-alone', 'old-full']
    assert deleted(emulator) == ['old-alone', 'old-full']
    assert result['unreadable'] == ['old-unreadable'] and 'old-unreadable' in emulator.live_names()
    assert any('old-unreadable' in warning and 'not selected' in warning for warning in result['warnings'])


def test_both_selectors_on_top_of_match(emulator):
    rooms(emulator)
    failed, result = run(emulator, match='*-alone', running_longer_than=3600, members_at_most=1)
    assert not failed
    assert result['hung_up'] == ['old-alone'] and deleted(emulator) == ['old-alone']
    assert result['unreadable'] == []


def test_members_at_most_on_named_rooms(emulator):
    rooms(emulator)
    failed, result = run(emulator, name=['young-alone', 'young-full', 'gone'], members_at_most=1)
    assert not failed
    assert result['hung_up'] == ['young-alone'] and result['already_absent'] == ['gone']
    assert deleted(emulator) == ['young-alone']


def test_check_mode_reads_once_and_deletes_nothing(emulator):
    rooms(emulator)
    failed, result = run(emulator, check_mode=True, running_longer_than='1h', members_at_most=1)
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['old-alone'] and result['unreadable'] == ['old-unreadable']
    assert emulator.requests(method='DELETE') == []
    gets = [entry['conference'] for entry in emulator.requests(method='GET') if entry['action'] == 'retrieve']
    assert gets.count('old-alone') == 1  # the policy's answer is the prediction's


def test_nothing_selected_is_no_change(emulator):
    emulator.add_conference('young', members=2, started_ago=10)
    failed, result = run(emulator, running_longer_than='30m')
    assert not failed and result['changed'] is False and result['hung_up'] == []
    assert 'nothing to do' in result['msg'] and emulator.requests(method='DELETE') == []


def test_a_lying_retrieve_selects_nothing(emulator):
    emulator.add_conference('old', members=1, started_ago=7200)
    emulator.configure(retrieve_lies=True)
    failed, result = run(emulator, running_longer_than=60)
    assert not failed and result['changed'] is False and result['unreadable'] == ['old']
    assert emulator.requests(method='DELETE') == []


def test_conference_uuid_spares_another_instance_of_the_name(emulator):
    emulator.add_conference('Standup', members=1, started_ago=7200)
    emulator.configure(retrieve_uuid=True)
    failed, result = run(
        emulator, name='Standup', conference_uuid='uuid-of-the-instance-that-ended', running_longer_than=3600
    )
    assert not failed and result['changed'] is False
    assert result['other_instance'] == ['Standup'] and result['hung_up'] == []
    assert any('another instance' in warning for warning in result['warnings'])
    assert emulator.requests(method='DELETE') == [] and emulator.live_names() == ['Standup']


def test_conference_uuid_of_the_live_instance_is_hung_up(emulator):
    emulator.add_conference('Standup', members=1, started_ago=7200)
    emulator.configure(retrieve_uuid=True)
    failed, result = run(
        emulator, name='Standup', conference_uuid=emulator.conference_uuid('Standup'), running_longer_than=3600
    )
    assert not failed and result['hung_up'] == ['Standup'] and result['other_instance'] == []


@pytest.mark.parametrize(
    'args, option',
    [
        (dict(running_longer_than='4 days'), 'running_longer_than'),
        (dict(all=True, members_at_most=1), 'all'),
        (dict(name=['a', 'b'], conference_uuid='U1'), 'conference_uuid'),
    ],
)
def test_bad_policy_input_fails_before_any_request(emulator, args, option):
    failed, result = run(emulator, **args)
    assert failed and option in result['msg']
    assert emulator.requests() == []


# --- plans: check mode returns one, a real run with it ends exactly its rooms ---------------------------------------


def check_plan(emulator, **selection):
    failed, result = run(emulator, check_mode=True, **selection)
    assert not failed
    emulator.clear_log()
    return result['plan']


def test_check_mode_returns_a_plan_of_what_it_would_hang_up(emulator):
    emulator.add_conference('ci-1', members=2, started_ago=300)
    emulator.add_conference('ci-keep')
    failed, result = run(emulator, check_mode=True, match='ci-*', exclude='ci-keep')
    plan = result['plan']
    assert not failed and [entry['name'] for entry in plan['conferences']] == result['hung_up'] == ['ci-1']
    assert plan['conferences'][0]['member_count'] == 2 and plan['conferences'][0]['run_time'] >= 300
    assert plan['excluded'] == ['ci-keep'] and plan['selection']['match'] == ['ci-*'] and plan['auth_id'] == 'MA_TEST'
    assert plan['api_url'] == module_args(emulator)['api_url'].rstrip('/') and TOKEN not in json.dumps(result)


def test_the_audit_lines_of_check_mode_carry_the_id_of_its_plan(emulator, tmp_path):
    emulator.add_conference('ci-1')
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, check_mode=True, name=['ci-1', 'ci-gone'], audit_log=str(audit))
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert not failed and [line['plan_id'] for line in lines] == [result['plan']['id']] * 2
    assert f"of plan {result['plan']['id']}" in result['msg']


def test_a_real_run_without_check_mode_returns_no_plan(emulator):
    emulator.add_conference('ci-1')
    failed, result = run(emulator, name='ci-1')
    assert not failed and 'plan' not in result and 'plan_id' not in result and result['not_in_plan'] == []


def test_plan_ends_only_its_rooms_and_names_the_new_ones_it_leaves_alone(emulator, tmp_path):
    for name in ('ci-1', 'ci-2', 'ci-keep'):
        emulator.add_conference(name)
    plan = check_plan(emulator, match='ci-*', exclude='ci-keep')
    emulator.add_conference('ci-3')  # started after the review: nobody approved ending it
    emulator.remove_conference('ci-2')  # ended by its members meanwhile
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, plan=plan, audit_log=str(audit))
    assert not failed and result['changed'] is True and result['plan_id'] == plan['id']
    assert result['not_in_plan'] == ['ci-3'] and result['excluded'] == ['ci-keep']
    assert result['hung_up'] == ['ci-1'] and result['already_absent'] == ['ci-2']
    assert [(e['method'], e['action']) for e in emulator.requests()] == [('GET', 'list')] + [('DELETE', 'hangup')] * 2
    assert sorted(emulator.live_names()) == ['ci-3', 'ci-keep']
    assert f"of plan {plan['id']}" in result['msg'] and '1 selected now but not in the plan' in result['msg']
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    assert len(lines) == 2 and {line['plan_id'] for line in lines} == {plan['id']}


def test_a_planned_room_already_gone_is_already_absent(emulator):
    emulator.add_conference('Board Room')
    plan = check_plan(emulator, name='Board Room')
    run(emulator, name='Board Room')
    emulator.clear_log()
    failed, result = run(emulator, plan=plan)
    assert not failed and result['changed'] is False and result['already_absent'] == ['Board Room']
    assert [(e['method'], e['status']) for e in emulator.requests()] == [('DELETE', 404)]


def test_a_plan_of_all_never_sends_the_hang_up_of_all(emulator):
    emulator.add_conference('a')
    plan = check_plan(emulator, all=True)
    emulator.add_conference('b')
    failed, result = run(emulator, plan=plan)
    assert not failed and result['hung_up'] == ['a'] and result['not_in_plan'] == ['b']
    assert [(e['method'], e['raw_path']) for e in emulator.requests(method='DELETE')] == [('DELETE', PREFIX + 'a/')]
    assert emulator.live_names() == ['b']


def test_check_mode_with_a_plan_predicts_the_apply(emulator):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    emulator.add_conference('ci-2')
    failed, result = run(emulator, check_mode=True, plan=plan)
    assert (
        not failed and result['changed'] is True and result['hung_up'] == ['ci-1'] and result['not_in_plan'] == ['ci-2']
    )
    assert 'plan' not in result and result['plan_id'] == plan['id'] and methods(emulator) == ['GET', 'GET']


@pytest.mark.parametrize(
    'change, words',
    [
        (
            lambda plan: plan['conferences'].append(dict(name='ci-9', member_count=None, run_time=None)),
            'digest does not verify',
        ),
        (lambda plan: plan.update(auth_id='MA_OTHER'), "made for auth_id 'MA_OTHER'"),
        (
            lambda plan: plan.update(api_url='https://api.vobiz.ai/api/v1'),
            'made for api_url https://api.vobiz.ai/api/v1',
        ),
        (lambda plan: plan.update(created='2020-01-01T00:00:00Z'), 'digest does not verify'),
    ],
)
def test_a_tampered_or_foreign_plan_is_refused_before_any_request(emulator, change, words):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    change(plan)
    failed, result = run(emulator, plan=plan)
    assert failed and words in result['msg'] and result['refused_options'] == ['plan']
    assert emulator.requests() == [] and emulator.live_names() == ['ci-1']


def test_an_expired_plan_is_refused_before_any_request(emulator):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    plan['created'] = '2001-01-01T00:00:00Z'
    plan['digest'] = digest_of(plan, TOKEN)  # signed as the module signs
    failed, result = run(emulator, plan=plan, plan_max_age='24h')
    assert failed and 'more than plan_max_age' in result['msg'] and result['refused_options'] == ['plan_max_age']
    assert emulator.requests() == []


def test_plan_with_a_selection_option_is_refused(emulator):
    emulator.add_conference('ci-1')
    plan = check_plan(emulator, match='ci-*')
    failed, result = run(emulator, plan=plan, name='ci-2')
    assert failed and result['refused_options'] == ['plan', 'name'] and emulator.requests() == []


# ----- verify: verified termination


@pytest.fixture
def fake_time(monkeypatch):
    """The verification's clock and pauses, faked: it moves only when the module waits (``waits`` records each)."""
    now, waits = [0.0], []

    def wait(self, seconds):
        waits.append(seconds)
        now[0] += seconds
        return True

    monkeypatch.setattr(_verify, 'monotonic', lambda: now[0])
    monkeypatch.setattr(_conference_api.ConferenceApi, 'wait_unless_interrupted', wait)
    return waits


def test_verify_sorts_the_rooms_hung_up_and_never_hangs_up_again(emulator, tmp_path, fake_time):
    """A room gone is verified after one retrieve; a stale one and one a new call re-created stay unverified (with the
    new UUID, told apart by the UUID a policy read first); an absent room is not verified; nothing is sent twice."""
    for name in ('gone', 'stale', 'recreated', 'absent-later'):
        emulator.add_conference(name)
    stale = dict(reads=1000, match='stale')
    emulator.configure(retrieve_uuid=True, retrieve_stale=stale, recreate_after_hangup=['recreated'])
    emulator.remove_conference('absent-later')
    audit = tmp_path / 'audit.jsonl'
    failed, result = run(emulator, name=['gone', 'stale', 'absent-later'], verify=30, audit_log=str(audit))
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['gone', 'stale'] and result['already_absent'] == ['absent-later']
    assert result['verified'] == ['gone'] and [entry['name'] for entry in result['unverified']] == ['stale']
    assert result['unverified'][0]['status'] == 200 and 'stale answer' in result['unverified'][0]['message']
    assert '1 verified as ended; 1 not verified as ended' in result['msg']
    assert any("Could not verify the end of 1 conference(s): 'stale'" in text for text in result['warnings'])
    assert sum(fake_time) == 30
    log = [(entry['method'], entry['conference'], entry['status']) for entry in emulator.requests()]
    assert log.count(('GET', 'gone', 404)) == 1 and ('GET', 'absent-later', 404) not in log
    assert [entry for entry in log if entry[1] == 'stale'][:2] == [('DELETE', 'stale', 204), ('GET', 'stale', 200)]
    assert [entry[0] for entry in log].count('DELETE') == 3
    lines = [json.loads(line) for line in audit.read_text().splitlines()]
    verifications = [(line['name'], line['outcome'], line.get('verification')) for line in lines]
    assert verifications[-2:] == [('gone', 'hung_up', 'verified'), ('stale', 'hung_up', 'unverified')]
    assert sorted(verifications[:3]) == [
        ('absent-later', 'already_absent', None),
        ('gone', 'hung_up', 'pending'),
        ('stale', 'hung_up', 'pending'),
    ]
    emulator.clear_log()
    uuid_hung_up = emulator.conference_uuid('recreated')
    failed, result = run(emulator, name='recreated', conference_uuid=uuid_hung_up, verify=5)
    new_uuid = emulator.conference_uuid('recreated')
    assert not failed and result['hung_up'] == ['recreated'] and result['verified'] == []
    assert result['unverified'][0]['conference_uuid'] == new_uuid != uuid_hung_up
    assert result['unverified'][0]['message'].startswith('re-created:')
    assert [entry['method'] for entry in emulator.requests()].count('DELETE') == 1


def test_verify_all_and_an_unreadable_retrieve(emulator, fake_time):
    for name in ('a', 'b'):
        emulator.add_conference(name)
    emulator.configure(faults=[{'kind': 'error_body', 'method': 'GET', 'match': 'b'}])
    failed, result = run(emulator, all=True, verify=3)
    assert not failed and result['hung_up'] == ['a', 'b'] and result['verified'] == ['a']
    unreadable = 'its retrieve could not be read (HTTP 200 with an error: failed)'
    assert result['unverified'] == [dict(name='b', status=200, conference_uuid=None, message=unreadable)]


def test_verify_cut_short_by_an_interrupt_fails_and_keeps_the_hang_up(emulator, monkeypatch, tmp_path):
    """SIGINT during the verification's pause: no more reads, the room stays hung up (unverified, saying so), the
    task fails as an interrupted run does; a full disk on the verification's audit line fails the run cleanly."""

    def interrupted_wait(self, seconds):
        self.interrupt('SIGINT')
        return False

    monkeypatch.setattr(_conference_api.ConferenceApi, 'wait_unless_interrupted', interrupted_wait)
    emulator.add_conference('a')
    emulator.configure(retrieve_stale=100)
    failed, result = run(emulator, name='a', verify=30)
    assert failed and result['hung_up'] == ['a'] and result['verified'] == []
    assert result['unverified'][0]['message'].startswith('the run was stopped before it was verified')
    assert result['msg'].startswith('Interrupted by SIGINT') and 'Hung up 1 conference(s)' in result['msg']
    assert [entry['method'] for entry in emulator.requests()] == ['DELETE', 'GET']
    emulator.add_conference('b')
    monkeypatch.setattr(_audit, '_write_audit', full_disk_after(1))
    failed, result = run(emulator, name='b', verify=30, audit_log=str(tmp_path / 'audit.jsonl'))
    assert failed and 'Writing the audit log' in result['msg'] and result['hung_up'] == ['b']


def full_disk_after(lines):
    """An ``os.write`` of the audit log that writes ``lines`` lines, then finds the disk full."""
    written = []

    def write(fd, data):
        if len(written) >= lines:
            raise OSError(28, 'No space left on device')
        written.append(data)
        return os.write(fd, data)

    return write


def test_verify_never_reads_in_check_mode_nor_without_it(emulator, fake_time):
    emulator.add_conference('a')
    failed, result = run(emulator, check_mode=True, name='a', verify=30)
    assert not failed and result['hung_up'] == ['a'] and result['verified'] == result['unverified'] == []
    assert [(entry['method'], entry['status']) for entry in emulator.requests()] == [('GET', 200)]  # the dry run's own
    emulator.clear_log()
    failed, result = run(emulator, name='a')
    assert result['verified'] == result['unverified'] == [] and [e['method'] for e in emulator.requests()] == ['DELETE']
    assert fake_time == []


def test_verify_refuses_a_negative_time_before_any_request(emulator):
    failed, result = run(emulator, name='a', verify=-1)
    assert failed and result['refused_options'] == ['verify'] and 'verify must be 0' in result['msg']
    assert emulator.requests() == []


# --- registry: the rooms of the event source's registry that the list omitted ----------------------------------------


def test_match_with_registry_hangs_up_the_rooms_the_list_omitted(emulator, tmp_path):
    for name in ['ci-listed', 'ci-hidden', 'prod-hidden', 'ci-both']:
        emulator.add_conference(name)
    emulator.configure(list_omits=['*-hidden'])
    registry = write_registry(tmp_path / 'state.json', ['ci-gone', 'ci-hidden', 'ci-both', 'prod-hidden'])
    failed, result = run(emulator, match='ci-*', registry=registry)
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['ci-listed', 'ci-both', 'ci-hidden']
    assert result['already_absent'] == ['ci-gone']  # the registry remembered it; the DELETE's 404 proves it gone
    assert result['from_registry'] == ['ci-gone', 'ci-hidden']  # in the registry's order
    assert emulator.live_names() == ['prod-hidden']  # the registry names it, match does not
    deletes = sorted(entry['conference'] for entry in emulator.requests('DELETE'))
    assert deletes == ['ci-both', 'ci-gone', 'ci-hidden', 'ci-listed']


def test_match_with_registry_in_check_mode_predicts_from_both(emulator, tmp_path):
    emulator.add_conference('ci-listed', members=2)
    emulator.add_conference('ci-hidden', members=3)
    emulator.configure(list_omits=['ci-hidden'])
    registry = write_registry(tmp_path / 'state.json', ['ci-hidden', 'ci-gone'], members={'ci-hidden': 1})
    failed, result = run(emulator, check_mode=True, diff=True, match='ci-*', registry=registry)
    assert not failed and result['changed'] is True
    assert result['hung_up'] == ['ci-listed', 'ci-hidden'] and result['already_absent'] == ['ci-gone']
    assert result['from_registry'] == ['ci-hidden', 'ci-gone']
    assert result['diff']['before']['conferences'] == {
        'ci-listed': {'member_count': 2},
        'ci-hidden': {'member_count': 3, 'from_registry': True},  # as retrieve reads it, not as the registry had it
    }
    assert {entry['method'] for entry in emulator.requests()} == {'GET'}
    assert emulator.live_names() == ['ci-hidden', 'ci-listed']


def test_registry_names_are_sent_exactly_like_every_other_name(emulator, tmp_path):
    for name in list(TRICKY) + ['a']:
        emulator.add_conference(name)
    emulator.configure(list_lies=True)  # the list names none: every room selected comes from the registry
    registry = write_registry(tmp_path / 'state.json', list(TRICKY) + ['a\nb'])
    failed, result = run(emulator, match=list(TRICKY) + ['a\nb', 'a'], registry=registry)
    assert not failed and result['hung_up'] == list(TRICKY)
    assert result['already_absent'] == ['a\\nb']  # escaped in the result, as every name
    assert result['unmatched'] == ['a'] and emulator.live_names() == ['a']  # neither source named it
    paths = sorted(entry['raw_path'] for entry in emulator.requests('DELETE'))
    assert paths == sorted([PREFIX + encoded + '/' for encoded in TRICKY.values()] + [PREFIX + 'a%0Ab/'])


@pytest.mark.parametrize(
    'content, why',
    [
        ('{"version": 2, "rooms": []}', 'of format version 2'),
        ('{"version": 1, "rooms": [{"name": 7}]}', 'rooms[0] has no uuid'),
        ('not json', 'not JSON'),
        (None, 'No such file or directory'),
    ],
)
def test_an_unreadable_registry_touches_nothing_and_says_why(emulator, tmp_path, content, why):
    emulator.add_conference('ci-1')
    path = tmp_path / 'state.json'
    if content is not None:
        path.write_text(content, encoding='utf-8')
    failed, result = run(emulator, match='ci-*', registry=str(path))
    assert failed and result['refused_options'] == ['registry']
    assert result['msg'].startswith('registry {0} '.format(path)) and why in result['msg']
    assert emulator.requests() == [] and emulator.live_names() == ['ci-1']


@pytest.mark.parametrize(
    'options, refused',
    [
        (dict(name='ci-1'), ['registry', 'match']),
        (dict(all=True), ['registry', 'all']),
        (dict(plan={}), ['plan', 'registry']),  # a plan names its rooms itself
    ],
)
def test_registry_needs_match(emulator, tmp_path, options, refused):
    emulator.add_conference('ci-1')
    registry = write_registry(tmp_path / 'state.json', ['ci-1'])
    failed, result = run(emulator, registry=registry, **options)
    assert failed and result['refused_options'] == refused and emulator.requests() == []


def test_registry_with_a_policy_selects_among_the_rooms_the_list_omitted(emulator, tmp_path):
    emulator.add_conference('lonely-hidden', members=1)
    emulator.add_conference('busy-hidden', members=3)
    emulator.configure(list_lies=True)
    registry = write_registry(tmp_path / 'state.json', ['lonely-hidden', 'busy-hidden'])
    failed, result = run(emulator, members_at_most=1, registry=registry)
    assert not failed and result['hung_up'] == ['lonely-hidden'] and result['from_registry'] == ['lonely-hidden']
    assert emulator.live_names() == ['busy-hidden']


@pytest.mark.parametrize('caller, hung_up', [('0015551234567', ['Standup']), ('+15561234567', [])])
def test_caller_matches_hangs_up_only_a_room_retrieve_lists_a_matching_caller_in(emulator, caller, hung_up):
    emulator.add_conference('Standup', members=[{'member_id': '1'}, {'member_id': '2', 'from': caller}])
    failed, result = run(emulator, name='Standup', caller_matches=['+1 555 *'])
    assert not failed and result['hung_up'] == hung_up
    assert [entry['method'] for entry in emulator.requests()] == ['GET'] + ['DELETE'] * len(hung_up)
