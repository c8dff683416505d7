# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A scheduled end (``vobiz_schedule_file``) in the real ``ansible-rulebook``, against the emulator: the warning is
spoken in the rooms of the schedule, then those live at ``ends_at`` are hung up; a room started after it and a room
of no entry are left alone. Read from the emulator's request log."""

from __future__ import annotations

import datetime
import json
import time

import pytest

from ansible_collections.vobiz.voice.tests.emulator.ansible_runs import JAVA_MISSING, free_port, java_home
from ansible_collections.vobiz.voice.tests.system.test_enforce_limits_rulebook import limits, signed_emulator

pytestmark = pytest.mark.skipif(not java_home(), reason=JAVA_MISSING)

#: Seconds from writing the schedule to its warning and to its end: the source reads the file at its next check
#: (vobiz_check_interval 1 s); the end comes after the warning's action has run (ansible-rulebook runs one at a time).
WARNING_AFTER, END_AFTER = 3, 8


def test_a_schedule_warns_then_ends_only_the_rooms_live_at_its_time(make_emulator, start_rulebook, tmp_path):
    port = free_port()
    emulator = signed_emulator(make_emulator, port)
    schedule_file = tmp_path / 'schedule.yml'
    schedule_file.write_text('[]\n', encoding='utf-8')  # nothing scheduled yet: the rulebook takes a while to start
    variables = dict(
        limits(port, tmp_path),
        vobiz_max_duration=0,
        vobiz_lonely_after=0,
        vobiz_schedule_file=str(schedule_file),
        vobiz_schedule_announcement='This meeting ends in a few seconds',
    )
    for room in ('Board', 'sales-1', 'Other'):
        emulator.add_conference(room, members=2)
    rulebook = start_rulebook(emulator, variables)
    rulebook.wait_listening()
    ends_at = datetime.datetime.now(datetime.timezone(datetime.timedelta(hours=1))).replace(microsecond=0)
    ends_at += datetime.timedelta(seconds=END_AFTER)
    warn_before = END_AFTER - WARNING_AFTER
    entries = [
        {'name': 'Board', 'ends_at': ends_at.isoformat(), 'warn_before': warn_before},
        {'match': 'sales-*', 'ends_at': ends_at.isoformat(), 'warn_before': warn_before},
    ]
    schedule_file.write_text(json.dumps(entries), encoding='utf-8')  # read again: its size and mtime changed

    def writes(room):
        return [
            (entry['method'], entry['action'])
            for entry in emulator.requests()
            if entry['conference'] == room and entry['method'] != 'GET'
        ]

    spoken = [('POST', 'speak')]
    assert rulebook.wait_until(lambda: writes('Board') == spoken and writes('sales-1') == spoken)
    while time.time() <= ends_at.timestamp():  # a meeting that starts after ends_at is a new one
        time.sleep(0.05)
    emulator.add_conference('sales-late', members=2)
    ends = {('scheduled_end', 'Board'), ('scheduled_end', 'sales-*')}
    assert rulebook.wait_until(
        lambda: {(line['event'], line['conference'] or line['match']) for line in rulebook.outcomes()} >= ends
    )
    rulebook.stop()

    assert writes('Board') == [('POST', 'speak'), ('DELETE', 'hangup')]
    assert writes('sales-1') == [('POST', 'speak'), ('DELETE', 'hangup')]
    assert emulator.conference('Board') is None and emulator.conference('sales-1') is None
    # the new meeting was read (the end's re-check found it live) and left alone; the room of no entry never read
    assert [entry['action'] for entry in emulator.requests() if entry['conference'] == 'sales-late'] == ['retrieve']
    assert emulator.conference('sales-late') is not None
    assert [entry for entry in emulator.requests() if entry['conference'] == 'Other'] == []
    lines = {(line['event'], line['conference'] or line['match']): line for line in rulebook.outcomes()}
    assert lines[('schedule_warning', 'sales-*')]['announced'] == ['sales-1']
    assert lines[('scheduled_end', 'sales-*')]['hung_up'] == ['sales-1']
    assert lines[('scheduled_end', 'Board')]['hung_up'] == ['Board']
    assert len(rulebook.outcomes()) == 4  # one warning and one end per entry, once each
