"""Unit tests of scheduled ends (vobiz_callbacks/schedule.py): entries, the schedule file, due events, restarts."""

from __future__ import annotations

import datetime
import os

import pytest

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.events import literal
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.schedule import (
    MAX_ENTRIES,
    MAX_FILE_BYTES,
    Schedule,
    ScheduleFile,
    parse_schedule,
    read_done,
)
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import ConfigError

ELEVEN = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.timezone.utc).timestamp()  # 11:00+01:00


def kinds(events):
    return [(event['vobiz']['type'], event['vobiz']['conference_name'] or event['vobiz']['match']) for event in events]


@pytest.mark.parametrize(
    'ends_at',
    [
        '2026-12-07T11:00:00+01:00',
        '2026-12-07T10:00:00Z',
        '2026-12-07T10:00Z',
        '2026-12-07 05:00:00-05:00',
        datetime.datetime(2026, 12, 7, 11, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=1))),  # from YAML
    ],
)
def test_ends_at_with_an_offset_is_one_instant(ends_at):
    [entry] = parse_schedule([{'name': 'Board', 'ends_at': ends_at, 'warn_before': '2m'}])
    assert (entry.name, entry.match, entry.ends_at, entry.warn_before) == ('Board', None, ELEVEN, 120)
    assert datetime.datetime.fromisoformat(entry.ends_at_text).timestamp() == ELEVEN


@pytest.mark.parametrize(
    'entries, error',
    [
        (
            [
                {'name': 'Board', 'ends_at': '2026-12-07T11:00:00+01:00'},
                {'name': 'Sales', 'ends_at': '2026-12-07T11:00'},
            ],
            "schedule[1] (name 'Sales'): ends_at '2026-12-07T11:00' has no UTC offset",
        ),
        (
            [{'match': 'sales-*', 'ends_at': datetime.datetime(2026, 12, 7, 11, 0)}],
            "schedule[0] (match 'sales-*'): ends_at '2026-12-07 11:00:00' has no UTC offset",
        ),
        ([{'name': 'x', 'ends_at': 'tomorrow'}], "schedule[0] (name 'x'): ends_at 'tomorrow' is not an ISO 8601"),
        ([{'name': 'x', 'ends_at': datetime.date(2026, 12, 7)}], "schedule[0] (name 'x'): ends_at must be an ISO"),
        ([{'name': 'x'}], "schedule[0] (name 'x') has no ends_at"),
        ([{'ends_at': '2026-12-07T10:00Z'}], 'schedule[0] needs exactly one of name (a room) and match'),
        ([{'name': 'a', 'match': 'b', 'ends_at': '2026-12-07T10:00Z'}], 'needs exactly one of name'),
        ([{'name': 'a', 'end_at': '2026-12-07T10:00Z'}], 'schedule[0]: unknown key(s) end_at'),
        ([{'match': '*?*', 'ends_at': '2026-12-07T10:00Z'}], 'the glob selects every conference'),
        # the modules' rule (plugins/module_utils/_globs.py): what a glob matches, not how it is spelt
        ([{'match': '[!\uffff]*', 'ends_at': '2026-12-07T10:00Z'}], 'the glob selects every conference'),
        ([{'name': 'a', 'ends_at': '2026-12-07T10:00Z', 'warn_before': -5}], 'warn_before must be a number'),
        ([{'name': 'a', 'ends_at': '2026-12-07T10:00Z', 'warn_before': '8d'}], 'warn_before must be a number'),
        ([{'name': '', 'ends_at': '2026-12-07T10:00Z'}], 'name must be a non-empty text'),
        (['Board'], 'schedule[0] must be a mapping'),
        ([{'name': 'a', 'ends_at': '2026-12-07T10:00Z'}] * 2, "schedule[1] repeats schedule[0] (name 'a')"),
        ({'name': 'a'}, 'schedule must be a list'),
        ([{'name': 'r%d' % n, 'ends_at': '2026-12-07T10:00Z'} for n in range(MAX_ENTRIES + 1)], 'at most 1000'),
    ],
)
def test_a_bad_entry_is_refused_naming_it(entries, error):
    with pytest.raises(ConfigError) as caught:
        parse_schedule(entries)
    assert error in str(caught.value)


def test_warning_then_end_each_once_and_values_are_inert():
    schedule = Schedule(
        parse_schedule(
            [
                {'name': "{{ lookup('pipe', 'id') }}", 'ends_at': '2026-12-07T11:00:00+01:00', 'warn_before': 120},
                {'match': 'sales-*', 'ends_at': '2026-12-07T10:30:00Z'},  # no warning
            ]
        )
    )
    assert schedule.due(ELEVEN - 121) == []
    [warning] = schedule.due(ELEVEN - 120)
    assert warning['vobiz']['type'] == 'schedule_warning' and warning['vobiz']['seconds_left'] == 120
    assert warning['vobiz']['conference_name'].startswith('base64:')
    assert literal(warning['vobiz']['conference_name']) == "{{ lookup('pipe', 'id') }}"
    assert schedule.due(ELEVEN - 1) == []
    [end] = schedule.due(ELEVEN)
    assert end['vobiz'] == {
        'type': 'scheduled_end',
        'conference_name': warning['vobiz']['conference_name'],
        'match': None,
        'ends_at': '2026-12-07T11:00:00+01:00',
        'warn_before': 120,
        'late_seconds': 0,
    }
    assert schedule.due(ELEVEN + 1799) == []
    assert kinds(schedule.due(ELEVEN + 1800)) == [('scheduled_end', 'sales-*')]
    assert schedule.due(ELEVEN + 99999) == []


def test_a_source_started_after_the_warning_time_warns_late_and_after_the_end_time_ends_without_warning():
    entries = parse_schedule(
        [
            {'name': 'late warning', 'ends_at': '2026-12-07T10:00Z', 'warn_before': 300},
            {'name': 'missed end', 'ends_at': '2026-12-07T09:00Z', 'warn_before': 300},
        ]
    )
    events = Schedule(entries).due(ELEVEN - 100)
    assert kinds(events) == [('schedule_warning', 'late warning'), ('scheduled_end', 'missed end')]
    assert events[0]['vobiz']['seconds_left'] == 100 and events[1]['vobiz']['late_seconds'] == 3600 - 100


def test_a_restart_with_what_was_emitted_neither_announces_again_nor_loses_an_end():
    entries = parse_schedule(
        [
            {'name': 'A', 'ends_at': '2026-12-07T10:00Z', 'warn_before': 300},
            {'name': 'B', 'ends_at': '2026-12-07T09:57Z', 'warn_before': 600},
            {'name': 'C', 'ends_at': '2026-12-07T09:00Z'},
        ]
    )
    first = Schedule(entries)
    assert kinds(first.due(ELEVEN - 3600 + 1)) == [('scheduled_end', 'C')]
    assert kinds(first.due(ELEVEN - 780)) == [('schedule_warning', 'B')]  # 09:47
    assert kinds(first.due(ELEVEN - 290)) == [('schedule_warning', 'A')]  # 09:55:10, then the source stops
    second = Schedule(entries, first.done)  # restarted at 09:58 with what the first one emitted
    events = second.due(ELEVEN - 120)
    assert kinds(events) == [('scheduled_end', 'B')] and events[0]['vobiz']['late_seconds'] == 60
    assert kinds(second.due(ELEVEN)) == [('scheduled_end', 'A')]
    assert second.due(ELEVEN + 3600) == []


def test_a_changed_schedule_keeps_what_was_emitted_for_entries_still_there():
    kept = {'name': 'kept', 'ends_at': '2026-12-07T10:00Z', 'warn_before': 60}
    schedule = Schedule(parse_schedule([kept, {'name': 'dropped', 'ends_at': '2026-12-07T10:00Z', 'warn_before': 60}]))
    assert len(schedule.due(ELEVEN - 30)) == 2
    schedule.replace(parse_schedule([kept, {'name': 'moved', 'ends_at': '2026-12-07T10:05Z', 'warn_before': 600}]))
    assert kinds(schedule.due(ELEVEN - 20)) == [('schedule_warning', 'moved')]
    assert len(schedule.done) == 2


def write(path, text):
    path.write_text(text, encoding='utf-8')
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a new mtime even within one clock tick


def test_the_file_is_read_again_when_it_changes_and_a_bad_one_keeps_the_last_good(tmp_path, caplog):
    path = tmp_path / 'schedule.yml'
    write(path, '- {name: Board, ends_at: 2026-12-07T11:00:00+01:00}\n')  # unquoted: YAML makes it a datetime
    watched = ScheduleFile(str(path))
    [entry] = watched.load()
    assert entry.ends_at == ELEVEN
    assert watched.poll() is None  # unchanged
    write(path, '- {name: Board, ends_at: 2026-12-07T11:00:00}\n')
    assert watched.poll() is None and 'has no UTC offset' in watched.problem
    assert watched.poll() is None
    assert caplog.text.count('has no UTC offset') == 1  # once per change
    assert 'the last good schedule stays in force' in caplog.text
    write(path, '- {name: Sales, ends_at: "2026-12-07T10:00Z"}\n- {match: "ci-*", ends_at: "2026-12-07T10:00Z"}\n')
    assert [entry.name or entry.match for entry in watched.poll()] == ['Sales', 'ci-*']
    path.unlink()
    assert watched.poll() is None and 'cannot be read' in watched.problem
    write(path, 'x' * (MAX_FILE_BYTES + 1))
    assert watched.poll() is None and 'larger than' in watched.problem


@pytest.mark.parametrize(
    'text, error',
    [
        ('[unclosed', 'is not YAML'),
        ('- {name: a, ends_at: "2026-12-07T10:00"}', 'entry 0 (name'),
        ('[' * 5000 + ']' * 5000, 'nested too deeply'),
    ],
)
def test_a_bad_file_at_start_stops_the_source_with_one_error(tmp_path, text, error):
    path = tmp_path / 'schedule.yml'
    write(path, text)
    with pytest.raises(ConfigError) as caught:
        ScheduleFile(str(path)).load()
    assert error in str(caught.value) and 'Nothing was started' in str(caught.value)


def test_what_was_emitted_is_read_back_and_a_damaged_record_is_refused(tmp_path):
    path = tmp_path / 'rooms.json.schedule'
    assert read_done(str(path)) == {}
    path.write_text('{"version": 1, "done": {"k": ["schedule_warning"]}}', encoding='utf-8')
    assert read_done(str(path)) == {'k': ['schedule_warning']}
    path.write_text('{"version": 1, "done": {"k": ["other"]}}', encoding='utf-8')
    with pytest.raises(ConfigError, match='is damaged'):
        read_done(str(path))
