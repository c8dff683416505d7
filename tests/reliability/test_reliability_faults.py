# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Cases 1 to 3: transient faults at scale, lost replies, persistent failures.

The modules run in-process against the in-process emulator. Backoff waits are recorded instead of
slept (``sleeps`` fixture) and asserted; the run times only go to the figures table.
"""

from __future__ import annotations

import collections

from ansible_collections.vobiz.voice.tests.reliability.helpers import (
    PREFIX,
    deleted_names,
    describe_faults,
    fault_counts,
    read_audit,
    run,
    timed,
)

#: Every transient fault the live service (or the way to it) can throw at a hang-up.
TRANSIENT_KINDS = ('429_retry_after', '429_retry_after_date', '429', '502', '503', 'drop', 'lost_reply')
#: The faults after which a request may have been carried out (no reply, or a gateway's 502).
MAYBE_DONE_KINDS = ('502', 'drop', 'lost_reply')
SEED = 20250611


def fault_mix(kinds, total):
    """Rules that together hit ``total`` of all requests, each kind an equal share.

    The emulator tries the rules in order and the first that fires wins, so rule ``i`` fires with
    ``share / (1 - i * share)`` of the requests that got past the earlier ones.
    """
    share = float(total) / len(kinds)
    return [dict(kind=kind, rate=share / (1 - index * share), retry_after=1) for index, kind in enumerate(kinds)]


def add_rooms(emu, names):
    for name in names:
        emu.add_conference(name, members=0)


# --- case 1 --------------------------------------------------------------------------------------


def test_transient_faults_at_scale(emulators, sleeps, figures, tmp_path):
    names = ['ci-{0:03d}'.format(i) for i in range(500)]
    bystanders = ['keep-{0}'.format(i) for i in range(5)] + ['ci-500x']
    emu = emulators(seed=SEED, faults=fault_mix(TRANSIENT_KINDS, 0.3))
    add_rooms(emu, names + bystanders)
    audit = str(tmp_path / 'audit.jsonl')

    # Selected from the live list: the rooms are seen live before their DELETE, so a DELETE that may have been carried
    # out unheard and then finds the room gone is this run's doing.
    seconds, (failed, result) = timed(
        run,
        'vobiz_conference',
        emu,
        match='ci-[0-9][0-9][0-9]',
        audit_log=audit,
        retries=20,
        retry_max_wait=600,
        parallel=16,
    )
    log = emu.requests()
    deletes = [e for e in log if e['method'] == 'DELETE']
    faults = fault_counts(log)

    assert not failed, result['msg']
    assert result['changed'] is True
    assert sorted(result['hung_up']) == names and len(result['hung_up']) == 500
    assert result['already_absent'] == [] and result['gone_unconfirmed'] == [] and result['failures'] == []
    assert emu.live_names() == sorted(bystanders)
    # Only the list and DELETEs of exactly the selected rooms went out, none of a bystander.
    assert {(e['method'], e['conference']) for e in log} == {('DELETE', n) for n in names} | {('GET', None)}
    # About 30 % of the requests were faulted, every kind was seen, and each was retried.
    assert 0.2 <= sum(faults.values()) / float(len(log)) <= 0.4, faults
    assert set(faults) == set(TRANSIENT_KINDS), faults
    assert len(log) == 501 + sum(faults.values())
    # Retry-After in seconds was honoured exactly; every other wait was a bounded backoff step.
    assert collections.Counter(sleeps)[1.0] >= faults['429_retry_after']
    assert all(0 <= s <= 30 for s in sleeps) and len(sleeps) == sum(faults.values())
    # A retried room draws one warning, never one per attempt (the list's retries one more).
    retried = {e['conference'] for e in deletes if e['fault']}
    assert len(result['warnings']) == len(retried) + (1 if any(e['fault'] for e in log if e['method'] == 'GET') else 0)
    # The audit log has one line per room, written as each outcome arrived.
    lines = read_audit(audit)
    assert len(lines) == 500
    assert sorted(line['name'] for line in lines) == names
    assert {line['outcome'] for line in lines} == {'hung_up'}

    figures.record(
        '1a',
        'transient faults at scale',
        '500 rooms (+6 bystanders)',
        '30 % of requests: ' + describe_faults(faults),
        len(log),
        len(result['hung_up']),
        500,
        500 - len(deleted_names(log)),
        seconds,
    )

    # Rerun of the converged teardown by name, behind the same flaky gateway (every transient fault, 502 and lost
    # replies included): idempotent. A 404 after an attempt that may have been carried out proves only that the room
    # is gone; this run never saw it live, so it is gone_unconfirmed, never hung up (issue 23).
    emu.clear_log()
    emu.configure(seed=SEED + 1, faults=fault_mix(TRANSIENT_KINDS, 0.3))
    seconds, (failed, result) = timed(
        run,
        'vobiz_conference',
        emu,
        name=names,
        audit_log=str(tmp_path / 'rerun.jsonl'),
        retries=20,
        retry_max_wait=600,
        parallel=16,
    )
    log = emu.requests()
    maybe_done = {e['conference'] for e in log if e['fault'] in MAYBE_DONE_KINDS}
    assert not failed, result['msg']
    assert result['changed'] is False
    assert result['hung_up'] == [] and result['failures'] == []
    assert sorted(result['gone_unconfirmed']) == sorted(maybe_done) and maybe_done
    assert sorted(result['already_absent'] + result['gone_unconfirmed']) == names
    assert emu.live_names() == sorted(bystanders)
    outcomes = {line['name']: line['outcome'] for line in read_audit(str(tmp_path / 'rerun.jsonl'))}
    assert outcomes == dict((name, 'gone_unconfirmed' if name in maybe_done else 'already_absent') for name in names)
    figures.record(
        '1b',
        'rerun of 1a by name (idempotence)',
        '500 rooms, all gone',
        '30 % of requests: ' + describe_faults(fault_counts(log)),
        len(log),
        len(result['hung_up']),
        0,
        0,
        seconds,
    )


# --- case 2 --------------------------------------------------------------------------------------


def test_every_first_reply_lost(emu, sleeps, figures, tmp_path):
    names = ['lost-{0:02d}'.format(i) for i in range(40)] + ['Board Room', 'a/b', '..']
    add_rooms(emu, names)
    emu.configure(faults=[dict(kind='lost_reply', method='DELETE', first_n=1)])
    audit = str(tmp_path / 'audit.jsonl')

    # Each glob matches its room alone: listed, so seen live before the DELETE (a named room would be gone_unconfirmed).
    seconds, (failed, result) = timed(run, 'vobiz_conference', emu, match=names, audit_log=audit)
    log = emu.requests(method='DELETE')

    assert not failed, result['msg']
    assert result['changed'] is True
    assert sorted(result['hung_up']) == sorted(names)
    assert result['already_absent'] == []
    assert emu.live_names() == []
    # Per room: the first DELETE was carried out but its reply lost, the retry found the room gone.
    per_room = collections.defaultdict(list)
    for entry in log:
        per_room[entry['conference']].append((entry['status'], entry['fault']))
    assert dict(per_room) == {name: [(None, 'lost_reply'), (404, None)] for name in names}
    assert {(line['name'], line['outcome']) for line in read_audit(audit)} == {(name, 'hung_up') for name in names}
    assert len(sleeps) == len(names)
    figures.record(
        '2a',
        'every first DELETE reply lost',
        '{0} rooms'.format(len(names)),
        describe_faults(fault_counts(log)),
        len(log),
        len(result['hung_up']),
        len(names),
        0,
        seconds,
    )


def test_member_hangup_reply_lost(emu, sleeps, figures):
    emu.add_conference('Town Hall', members=['10', '15', '20'])
    emu.configure(faults=[dict(kind='lost_reply', method='DELETE', first_n=1)])

    seconds, (failed, result) = timed(
        run, 'vobiz_conference_member', emu, conference='Town Hall', member_id=['10', '15'], state='absent'
    )
    log = emu.requests(method='DELETE')

    assert not failed, result['msg']
    assert result['changed'] is True
    assert sorted(result['members']) == ['10', '15'] and result['already'] == []
    assert [m['member_id'] for m in emu.conference('Town Hall')['members']] == ['20']
    assert sorted(((e['member'], e['status'], e['fault']) for e in log), key=repr) == sorted(
        [('10', None, 'lost_reply'), ('10', 404, None), ('15', None, 'lost_reply'), ('15', 404, None)], key=repr
    )
    assert len(sleeps) == 2
    figures.record(
        '2b',
        'member hang-up, first reply lost',
        '2 of 3 members',
        describe_faults(fault_counts(log)),
        len(emu.requests()),
        len(result['members']),
        2,
        0,
        seconds,
    )


# --- case 3 --------------------------------------------------------------------------------------


def test_persistent_failure_names_exactly_the_broken_rooms(emu, sleeps, figures, tmp_path):
    healthy = ['room-{0:03d}'.format(i) for i in range(60)]
    broken = ['broken-{0}'.format(c) for c in 'abcdefg']
    flaky = ['flaky-{0}'.format(i) for i in range(5)]
    gone = ['gone-{0}'.format(i) for i in range(3)]
    add_rooms(emu, healthy + broken + flaky)
    emu.configure(faults=[dict(kind='503', match='broken-*'), dict(kind='502', match='flaky-*', first_n=2)])
    audit = str(tmp_path / 'audit.jsonl')
    retries, timeout, retry_max_wait = 3, 5.0, 0.3
    names = healthy + broken[:3] + flaky + gone + broken[3:]

    seconds, (failed, result) = timed(
        run,
        'vobiz_conference',
        emu,
        name=names,
        audit_log=audit,
        retries=retries,
        timeout=timeout,
        retry_max_wait=retry_max_wait,
        parallel=16,
    )
    log = emu.requests()

    assert failed
    assert sorted(f['name'] for f in result['failures']) == sorted(broken)
    assert {f['status'] for f in result['failures']} == {503}
    assert all('503' in f['message'] for f in result['failures'])
    # The message names each broken room, and no other.
    for name in broken:
        assert repr(name) in result['msg']
    for name in healthy + flaky + gone:
        assert repr(name) not in result['msg']
    assert result['msg'].startswith('Could not hang up 7 conference(s)')
    # Everything else was done and reported.
    assert sorted(result['hung_up']) == sorted(healthy + flaky)
    assert sorted(result['already_absent']) == sorted(gone)
    assert emu.live_names() == sorted(broken)
    # Within the retry bound: exactly retries + 1 attempts per broken room, waits capped by retry_max_wait.
    attempts = collections.Counter(e['conference'] for e in log if e['conference'] in broken)
    assert attempts == {name: retries + 1 for name in broken}
    # One wait before each retry, none longer than retry_max_wait, and no room waited more than
    # retry_max_wait in total (so all of them together at most that times the rooms retried).
    retried = {e['conference'] for e in log if e['fault']}
    assert retried == set(broken + flaky)
    assert len(sleeps) == len(log) - len(names)
    assert all(0 <= wait <= retry_max_wait for wait in sleeps), sleeps
    assert sum(sleeps) <= retry_max_wait * len(retried) + 1e-9, sleeps
    # Nothing done is missing: result, audit log and the emulator agree room by room.
    lines = read_audit(audit)
    assert len(lines) == len(names)
    by_outcome = collections.defaultdict(set)
    for line in lines:
        by_outcome[line['outcome']].add(line['name'])
    assert by_outcome == {'hung_up': set(healthy + flaky), 'already_absent': set(gone), 'failed': set(broken)}
    assert deleted_names(log) == set(result['hung_up'])
    assert all(line['message'] for line in lines if line['outcome'] == 'failed')
    figures.record(
        '3',
        'persistent 503 on a subset',
        '{0} rooms, 7 broken'.format(len(names)),
        describe_faults(fault_counts(log)) + ' (503 forever on broken-*)',
        len(log),
        len(result['hung_up']),
        len(healthy + flaky),
        0,
        seconds,
    )


def test_persistent_failure_paths_are_exact(emu, sleeps):
    """The retries of a failing room go to that room's path, and to nothing else."""
    emu.add_conference('broken/one')
    emu.configure(faults=[dict(kind='503', match='broken/one')])
    failed, result = run('vobiz_conference', emu, name=['broken/one'], retries=2)
    assert failed and [f['name'] for f in result['failures']] == ['broken/one']
    assert [e['raw_path'] for e in emu.requests()] == [PREFIX + 'broken%2Fone/'] * 3
    assert len(sleeps) == 2
