# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""A scheduled end (``vobiz_schedule_file``) in the real ``ansible-rulebook``, against the emulator: the warning is
spoken in the rooms of the schedule, then those live at ``ends_at`` are hung up; a room started after it and a room
of no entry are left alone. Read from the emulator's request log.

No time window to hit: the warning is due as soon as the file is read, and the end comes from a second version of the
file whose ``ends_at`` has already passed when it is written."""

from __future__ import annotations

import datetime
import json
import os
import time

import pytest

from ansible_collections.vobiz.voice.tests.emulator.ansible_runs import JAVA_MISSING, free_port, java_home
from ansible_collections.vobiz.voice.tests.system.test_enforce_limits_rulebook import limits, signed_emulator

pytestmark = pytest.mark.skipif(not java_home(), reason=JAVA_MISSING)


def write_atomically(path, text):
    """Replace ``path`` by rename: the source never reads a half-written schedule."""
    temporary = path.with_name(path.name + '.new')
    temporary.write_text(text, encoding='utf-8')
    os.replace(temporary, path)


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
    offset = datetime.timezone(datetime.timedelta(hours=1))

    def entries(ends_at):
        return json.dumps(
            [
                {'name': 'Board', 'ends_at': ends_at.isoformat(), 'warn_before': 7200},
                {'match': 'sales-*', 'ends_at': ends_at.isoformat(), 'warn_before': 7200},
            ]
        )

    def writes(room):
        return [
            (entry['method'], entry['action'])
            for entry in emulator.requests()
            if entry['conference'] == room and entry['method'] != 'GET'
        ]

    # Phase 1: an end an hour away with a warning two hours before it, due at once, however late the file is read.
    write_atomically(schedule_file, entries(datetime.datetime.now(offset) + datetime.timedelta(hours=1)))
    spoken = [('POST', 'speak')]
    assert rulebook.wait_until(lambda: writes('Board') == spoken and writes('sales-1') == spoken)

    # Phase 2: the same rooms, now ending at a time already past (new entries: their end is due at once, their
    # warning skipped); a meeting started after that time (run time counted in whole seconds) is a new one.
    ends_at = datetime.datetime.now(offset).replace(microsecond=0)
    while time.time() <= ends_at.timestamp() + 1:
        time.sleep(0.05)
    emulator.add_conference('sales-late', members=2)
    write_atomically(schedule_file, entries(ends_at))
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
