"""Unit tests of the source without its HTTP side (vobiz_callbacks/service.py): bounded memory under a flood of
signed callbacks, and events that reach the rules engine."""

from __future__ import annotations

import asyncio
import stat
import tracemalloc

import pytest

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import service as service_unit
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.events import literal
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import ConfigError, parse_args
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import (
    TOKEN,
    URL,
    FakeClock,
    enter,
    leave,
    v3_headers,
)

ENV = {'VOBIZ_AUTH_TOKEN': TOKEN}


def make_service(clock, **args):
    settings = parse_args(dict({'port': 1, 'public_url': URL, 'keep_state': False}, **args), environ=ENV)
    return service_unit.CallbackService(settings, clock=clock, monotonic=clock)


def signed_flood(service, clock, start, count):
    """``count`` signed callbacks, each for a room of its own, 100 a second."""
    for number in range(start, start + count):
        status, version = service.check(v3_headers('flood-%d' % number))
        assert status is None
        service.accept(enter('room-%d' % number, '1', first=True, uuid='U%d' % number), version)
        if number % 100 == 99:
            clock.advance(1)
            service.tick()


def test_a_flood_of_signed_callbacks_for_distinct_rooms_keeps_memory_bounded(monkeypatch):
    monkeypatch.setattr(service_unit, 'MAX_PENDING_CALLBACK_EVENTS', 500)  # nobody drains the events here
    clock = FakeClock()
    service = make_service(clock, max_rooms=1000, replay_window=10)
    tracemalloc.start()
    try:
        signed_flood(service, clock, 0, 5000)
        after_half = tracemalloc.get_traced_memory()[0]
        signed_flood(service, clock, 5000, 5000)
        after_all = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert service.accepted == 10000
    assert len(service.registry.rooms) == 1000 and service.registry.forgotten == 9000
    assert len(service.nonces) <= 1200  # the replay window's worth (10 s at 100 a second), not 10,000
    assert len(service.pending) == 500 and service.dropped.total['callback'] == 9500
    assert after_all - after_half < 512 * 1024, 'the second 5,000 callbacks grew memory by %d bytes' % (
        after_all - after_half
    )


def test_overdue_and_lonely_events_are_never_dropped(monkeypatch):
    monkeypatch.setattr(service_unit, 'MAX_PENDING_CALLBACK_EVENTS', 2)
    clock = FakeClock()
    service = make_service(clock, max_duration=60)
    for number in range(5):
        service.check(v3_headers('n-%d' % number))
        service.accept(enter('r-%d' % number, '1', first=True), 'v3')
    clock.advance(61)
    service.tick()
    types = [event['vobiz']['type'] for event in service.pending]
    assert types == ['callback', 'callback'] + ['overdue'] * 5


def test_events_reach_the_queue_in_order():
    clock = FakeClock()
    service = make_service(clock, max_duration=60, check_interval=3600)

    async def scenario():
        queue = asyncio.Queue()
        task = asyncio.ensure_future(service.run(queue))
        service.accept(enter('a', '1', first=True), 'v3')
        service.accept(enter('b', '1', first=True), 'v2')
        received = [await queue.get(), await queue.get()]
        clock.advance(61)
        service.tick()
        received += [await queue.get(), await queue.get()]
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return received

    received = asyncio.run(scenario())
    assert [(event['vobiz']['type'], event['vobiz']['conference_name']) for event in received] == [
        ('callback', 'a'),
        ('callback', 'b'),
        ('overdue', 'a'),
        ('overdue', 'b'),
    ]
    assert service.pending_callbacks == 0


def test_an_audit_log_nobody_can_write_stops_the_source_before_it_listens(tmp_path):
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('')
    with pytest.raises(ConfigError) as error:
        make_service(FakeClock(), audit_log=str(blocker / 'audit.jsonl'))
    assert str(error.value).startswith('audit_log %s cannot be written: ' % (blocker / 'audit.jsonl'))
    assert 'Nothing was started' in str(error.value)


def test_a_missing_audit_directory_is_made_and_the_file_created_for_the_action(tmp_path):
    audit = tmp_path / 'logs' / 'vobiz' / 'audit.jsonl'
    make_service(FakeClock(), audit_log=str(audit))
    assert audit.read_bytes() == b''
    assert stat.S_IMODE(audit.stat().st_mode) == 0o600 and stat.S_IMODE(audit.parent.stat().st_mode) == 0o700


def test_a_state_file_nobody_can_write_stops_the_source_before_it_listens(tmp_path):
    blocker = tmp_path / 'not-a-directory'
    blocker.write_text('')
    message = r'state_file .*/not-a-directory/rooms.json cannot be written: .*Nothing was started'
    with pytest.raises(ConfigError, match=message):
        make_service(FakeClock(), keep_state=True, state_file=str(blocker / 'rooms.json'))


def test_a_wrong_signature_is_reported_with_the_url_checked_and_the_url_it_holds_over():
    clock = FakeClock()
    service = make_service(clock)
    reached = 'http://127.0.0.1:5050/vobiz/conference'
    assert service.check(v3_headers('m-1', url=reached), '10.0.0.9', reached) == (403, 'invalid X-Vobiz-Signature-V3')
    assert service.check(v3_headers('m-2', url=reached), '10.0.0.9', reached)[0] == 403
    line = service.refusals.report()
    assert line == (
        'Refused 2 connection(s) or callback(s) since the start: 2 invalid X-Vobiz-Signature-V3 (403); '
        'most from 10.0.0.9 (2). Signatures are checked over public_url %s, but one was signed over '
        "'%s', the URL it reached: set public_url to the callback URL exactly as configured at Vobiz" % (URL, reached)
    )
    assert service.signed_elsewhere == 1  # once per report, not once per refusal
    clock.advance(61)
    assert service.check(v3_headers('m-3', token='other-token'), '10.0.0.9', reached)[0] == 403
    assert service.refusals.report().endswith(
        'Signatures are checked over public_url %s: check that it is the callback URL exactly as configured at Vobiz '
        "(scheme, host, port, path) and that the token is this account's" % URL
    )


def capacity_events(service):
    return [event['vobiz'] for event in service.pending if event['vobiz']['type'] == 'over_capacity']


def test_an_enter_over_max_members_names_the_member_who_entered_once():
    service = make_service(FakeClock(), max_members='2')  # rulebook values arrive as text
    service.accept(enter('{{ room }}', '1', first=True, uuid='{U}'), 'v3')
    service.accept(enter('{{ room }}', '2', uuid='{U}'), 'v3')
    assert capacity_events(service) == []  # two members: at the cap, not over it
    service.accept(enter('{{ room }}', '3', uuid='{U}'), 'v3')
    service.accept(enter('{{ room }}', '3', uuid='{U}'), 'v3')  # Vobiz sends duplicates
    service.accept(leave('{{ room }}', '4', uuid='{U}'), 'v3')  # delivered before its own enter
    service.accept(enter('{{ room }}', '4', uuid='{U}'), 'v3')
    [event] = capacity_events(service)
    assert event['member_id'] == '3' and event['members'] == 3 and event['max_members'] == 2
    # every text from the callback is inert: the room name and UUID hold template syntax
    assert literal(event['conference_name']) == '{{ room }}' and event['conference_name'].startswith('base64:')
    assert literal(event['conference_uuid']) == '{U}' and event['conference_uuid'].startswith('base64:')
    service.accept(leave('{{ room }}', '3', uuid='{U}'), 'v3')  # the kick's exit: back at the cap
    service.accept(enter('{{ room }}', '5', uuid='{U}'), 'v3')
    assert [event['member_id'] for event in capacity_events(service)] == ['3', '5']


def test_a_room_whose_count_is_unknown_is_never_over_capacity():
    service = make_service(FakeClock(), max_members=1)
    for member in ('2', '3', '4'):  # the first member's enter was never seen
        service.accept(enter('r', member), 'v3')
    assert service.registry.rooms['r'].members() is None
    assert capacity_events(service) == []
    service.accept(enter('r', '1', first=True), 'v3')  # late: from now on the count is known (4)
    service.accept(enter('r', '5'), 'v3')
    assert [event['member_id'] for event in capacity_events(service)] == ['1', '5']


def test_no_member_id_or_max_members_zero_emit_nothing():
    service = make_service(FakeClock(), max_members=1)
    service.accept(enter('r', '1', first=True), 'v3')
    service.accept(dict(enter('r', None), CallUUID='call-2'), 'v3')  # counted by its call, but nobody to kick
    assert service.registry.rooms['r'].members() == 2 and capacity_events(service) == []
    disabled = make_service(FakeClock())
    for member in ('1', '2', '3'):
        disabled.accept(enter('r', member, first=member == '1'), 'v3')
    assert capacity_events(disabled) == []


def test_a_restored_room_is_never_over_capacity(tmp_path):
    clock = FakeClock()
    path = str(tmp_path / 'state.json')
    first = make_service(clock, max_members=1, keep_state=True, state_file=path)
    first.accept(enter('r', '1', first=True), 'v3')
    first.state.save_now()
    second = make_service(clock, max_members=1, keep_state=True, state_file=path)
    second.accept(enter('r', '2'), 'v3')  # the room is known with one member, but not trusted after a restart
    assert capacity_events(second) == []


def schedule_events(service):
    return [
        (event['vobiz']['type'], event['vobiz']['conference_name'] or event['vobiz']['match'])
        for event in service.pending
        if event['vobiz']['type'] in ('schedule_warning', 'scheduled_end')
    ]


SCHEDULE = [
    {'name': 'Board', 'ends_at': '1970-01-01T00:20:00Z', 'warn_before': 120},  # warning at 1080, end at 1200
    {'match': 'sales-*', 'ends_at': '1970-01-01T01:20:00+01:00'},  # end at 1200 too, no warning
]


def test_a_schedule_warns_and_ends_once_each_and_a_restart_repeats_nothing(tmp_path):
    clock, path = FakeClock(1000), str(tmp_path / 'state.json')
    first = make_service(clock, keep_state=True, state_file=path, schedule=SCHEDULE)
    first.tick()
    assert schedule_events(first) == []
    clock.advance(80)
    first.tick()
    first.tick()
    assert schedule_events(first) == [('schedule_warning', 'Board')]
    second = make_service(clock, keep_state=True, state_file=path, schedule=SCHEDULE)  # a restart
    second.tick()
    assert schedule_events(second) == []  # not announced again
    clock.advance(500)  # the end passed while the source was down
    third = make_service(clock, keep_state=True, state_file=path, schedule=SCHEDULE)
    third.tick()
    third.tick()
    assert schedule_events(third) == [('scheduled_end', 'Board'), ('scheduled_end', 'sales-*')]
    assert [event['vobiz']['late_seconds'] for event in third.pending] == [380, 380]
    fourth = make_service(clock, keep_state=True, state_file=path, schedule=SCHEDULE)
    fourth.tick()
    assert schedule_events(fourth) == []


def test_a_changed_schedule_file_is_followed_and_a_bad_one_keeps_the_last_good(tmp_path, caplog):
    clock, schedule_file = FakeClock(1000), tmp_path / 'schedule.yml'
    schedule_file.write_text('- {name: Board, ends_at: "1970-01-01T00:20:00Z"}\n', encoding='utf-8')
    service = make_service(clock, schedule_file=str(schedule_file))
    schedule_file.write_text('- {name: Board, ends_at: "1970-01-01T00:20:00"}\n', encoding='utf-8')
    clock.advance(200)
    service.tick()
    assert schedule_events(service) == [('scheduled_end', 'Board')]
    assert 'has no UTC offset' in caplog.text and 'the last good schedule stays in force' in caplog.text
    schedule_file.write_text('- {name: Later, ends_at: "1970-01-01T00:25:00Z"}\n# changed size\n', encoding='utf-8')
    clock.advance(300)
    service.tick()
    assert schedule_events(service) == [('scheduled_end', 'Board'), ('scheduled_end', 'Later')]


@pytest.mark.parametrize(
    'args, error',
    [
        ({'schedule': [{'name': 'Board', 'ends_at': '2026-12-07T11:00'}]}, "schedule[0] (name 'Board'): ends_at"),
        ({'schedule': 'Board'}, 'schedule must be a list'),
        ({'schedule_file': '{tmp}/missing.yml'}, 'missing.yml cannot be read'),
        (
            {'schedule': [{'name': 'a', 'ends_at': '2026-12-07T11:00Z'}], 'schedule_file': '{tmp}/s.yml'},
            'schedule and schedule_file cannot both be set',
        ),
    ],
)
def test_a_bad_schedule_stops_the_source_with_one_error(tmp_path, args, error):
    args = {key: value.format(tmp=tmp_path) if key == 'schedule_file' else value for key, value in args.items()}
    with pytest.raises(ConfigError) as caught:
        make_service(FakeClock(), **args)
    assert error in str(caught.value)
