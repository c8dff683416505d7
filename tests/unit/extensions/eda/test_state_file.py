"""Unit tests of the state file (vobiz_callbacks/state_file.py): what survives a restart, damaged files that fail
closed with one error, and the writer (at most once per interval, in a worker thread, atomically)."""

from __future__ import annotations

import asyncio
import json
import os
import stat
import threading

import pytest

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import state_file
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.registry import RoomRegistry
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import ConfigError
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.signatures import (
    NonceMemory,
    SignatureVerifier,
)
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.timers import LimitTimers
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import (
    TOKEN,
    URL,
    FakeClock,
    enter,
    leave,
    v3_headers,
)


def source(path, clock, window=300):
    """A registry, nonce memory and state file as one source has them."""
    registry, nonces = RoomRegistry(clock=clock), NonceMemory(window, clock)
    return registry, nonces, state_file.StateFile(str(path), registry, nonces)


def test_rooms_and_nonces_survive_a_restart_but_not_member_trust(tmp_path):
    clock = FakeClock()
    path = tmp_path / 'rooms.json'
    registry, nonces, state = source(path, clock)
    SignatureVerifier(URL, TOKEN, nonces=nonces).check(v3_headers('n-9'))
    registry.apply(enter('r', '1', first=True))
    state.save_now()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert TOKEN not in path.read_text(encoding='utf-8')

    clock.advance(60)
    registry2, nonces2, state2 = source(path, clock)
    assert state2.load() is True
    assert SignatureVerifier(URL, TOKEN, nonces=nonces2).check(v3_headers('n-9')) == (403, 'replayed nonce')
    timers = LimitTimers(max_duration=59, lonely_after=1)
    assert [event['vobiz']['type'] for event in timers.due(registry2, clock())] == ['overdue']  # its age survives
    clock.advance(1000)
    assert all(event['vobiz']['type'] != 'lonely' for event in timers.due(registry2, clock()))


def test_the_first_write_after_a_restart_keeps_the_rooms_loaded(tmp_path):
    clock = FakeClock()
    path = tmp_path / 'rooms.json'
    registry, nonces, state = source(path, clock)
    registry.apply(enter('quiet', '1', first=True))
    registry.apply(enter('ended', '2', first=True, uuid='U2'))
    registry.apply(leave('ended', '2', last=True, uuid='U2'))
    state.save_now()

    registry2, nonces2, state2 = source(path, clock)
    assert state2.load()
    registry2.apply(enter('new', '3', first=True))  # heard of after the restart; 'quiet' is not
    state2.save_now()
    registry3, nonces3, state3 = source(path, clock)
    assert state3.load()
    assert sorted(registry3.rooms) == ['new', 'quiet'] and list(registry3.ended) == ['ended']


def test_nonces_of_the_last_second_survive_a_stop_that_writes_nothing(tmp_path):
    """ansible-rulebook's JVM ends the process at SIGTERM: no state file write at the stop. The journal keeps the
    nonces."""
    clock = FakeClock()
    path = tmp_path / 'rooms.json'
    registry, nonces, state = source(path, clock)
    state.load()
    check = SignatureVerifier(URL, TOKEN, nonces=nonces)
    check.check(v3_headers('written'))
    state.save_now()
    check.check(v3_headers('last-second'))  # accepted, then the process is killed before the next write
    assert 'last-second' not in path.read_text(encoding='utf-8')
    journal = sorted(os.listdir(tmp_path))
    assert len(journal) == 2 and stat.S_IMODE(os.stat(tmp_path / journal[1]).st_mode) == 0o600

    registry2, nonces2, state2 = source(path, clock)
    assert state2.load()
    check2 = SignatureVerifier(URL, TOKEN, nonces=nonces2)
    assert check2.check(v3_headers('last-second')) == (403, 'replayed nonce')
    assert check2.check(v3_headers('written')) == (403, 'replayed nonce')
    state2.save_now()  # now the state file holds every nonce: the older journal segments go
    assert sorted(os.listdir(tmp_path)) == ['rooms.json', 'rooms.json.nonces-%d' % state2.journal.sequence]


def test_a_journal_line_cut_short_is_left_out_and_a_damaged_one_fails_closed(tmp_path):
    path = tmp_path / 'rooms.json'
    (tmp_path / 'rooms.json.nonces-3').write_text('["a", 990]\n["b", 99', encoding='utf-8')
    registry, nonces, state = source(path, FakeClock())
    assert state.load() and nonces.seen('a') and not nonces.seen('b')
    (tmp_path / 'rooms.json.nonces-4').write_text('{"a": 1}\n', encoding='utf-8')
    with pytest.raises(
        ConfigError, match=r'nonce journal is damaged: .*rooms.json.nonces-4 line 1 must be \[nonce, second\]'
    ):
        source(path, FakeClock())[2].load()


def test_no_file_is_a_fresh_start_and_its_directory_is_made(tmp_path):
    registry, nonces, state = source(tmp_path / 'new' / 'rooms.json', FakeClock())
    assert state.load() is False and (tmp_path / 'new').is_dir()


GOOD_ROOM = {
    'name': 'r',
    'uuid': 'U1',
    'first_seen': 900.0,
    'present': ['1'],
    'left': [],
    'emitted': {'overdue': [950.0], 'lonely': []},
}


def state_with(**changes):
    data = {'version': 1, 'saved_at': 990.0, 'rooms': [dict(GOOD_ROOM)], 'ended': [], 'nonces': {'n-1': 990}}
    for key, value in changes.items():
        if key.startswith('room_'):
            data['rooms'][0][key[5:]] = value
        else:
            data[key] = value
    return json.dumps(data)


@pytest.mark.parametrize(
    'content, where',
    [
        (state_with(nonces=['a']), 'nonces must be an object'),
        (state_with(nonces={'n-1': 'yesterday'}), 'nonces["n-1"] must be a number'),
        (state_with(room_emitted={'overdue': '123'}), 'rooms[0].emitted.overdue must be a list, got "123"'),
        (state_with(room_emitted={'overdue': ['123']}), 'rooms[0].emitted.overdue[0] must be a number'),
        (state_with(room_emitted={'overdue': [1e12]}), 'rooms[0].emitted.overdue[0] is in the future'),
        (state_with(room_emitted={'late': []}), 'rooms[0].emitted has unknown keys late'),
        (state_with(room_first_seen='900'), 'rooms[0].first_seen must be a number'),
        (state_with(room_first_seen=True), 'rooms[0].first_seen must be a number'),
        (state_with(room_present=[7]), 'rooms[0].present[0] must be a non-empty string'),
        (state_with(room_name=''), 'rooms[0].name must be a non-empty string'),
        (state_with(room_uuid=5), 'rooms[0].uuid must be a non-empty string or null'),
        (state_with(rooms={'r': GOOD_ROOM}), 'rooms must be a list'),
        (state_with(rooms=['r']), 'rooms[0] must be an object'),
        (
            state_with(ended=[{'name': 'e', 'uuid': None, 'time': 1.0, 'members': 'abc'}]),
            'ended[0].members must be a list',
        ),
        (state_with(version=2), 'version must be 1'),
        (state_with(version=True), 'version must be 1'),
        ('{"version": 1, "rooms": []}', 'the file has no ended, nonces'),
        ('[]', 'the file must be an object'),
        (state_with().replace('900.0', 'NaN'), 'rooms[0].first_seen must be a number'),
        (state_with().replace('900.0', '1' + '0' * 400), 'rooms[0].first_seen must be a number'),
    ],
)
def test_damaged_state_fails_closed_with_one_error_naming_the_value(tmp_path, content, where):
    path = tmp_path / 'rooms.json'
    path.write_text(content, encoding='utf-8')
    registry, nonces, state = source(path, FakeClock())
    with pytest.raises(ConfigError) as raised:
        state.load()
    message = str(raised.value)
    assert message.startswith('state_file %s is damaged: %s' % (path, where)) and '\n' not in message
    assert not registry.rooms and len(nonces) == 0  # nothing half-loaded


@pytest.mark.parametrize('content', ['{"version": 1,', '\x00\x01'])
def test_a_file_that_is_not_json_cannot_be_read(tmp_path, content):
    path = tmp_path / 'rooms.json'
    path.write_text(content, encoding='utf-8')
    with pytest.raises(ConfigError, match='state_file .* cannot be read'):
        source(path, FakeClock())[2].load()


def test_a_good_file_loads(tmp_path):
    path = tmp_path / 'rooms.json'
    path.write_text(state_with(), encoding='utf-8')
    registry, nonces, state = source(path, FakeClock())
    assert (
        state.load()
        and list(registry.rooms) == ['r']
        and registry.rooms['r'].emitted['overdue'] == [950.0]
        and nonces.seen('n-1')
    )


def test_a_write_makes_json_only_for_what_changed_a_few_hundred_rooms_a_turn(tmp_path, monkeypatch):
    registry, nonces, state = source(tmp_path / 'rooms.json', FakeClock())
    for name in ('a', 'b'):
        registry.apply(enter(name, '1', first=True))
    state.save_now()
    first = dict(state._rooms)
    registry.apply(enter('b', '2'))
    asyncio.run(state.collect())
    assert state._rooms['a'] is first['a'] and state._rooms['b'] != first['b']  # only b's JSON was made again

    turns = []
    monkeypatch.setattr(state_file, 'STEP', 100)
    real_update = state._update
    monkeypatch.setattr(state, '_update', lambda names: turns.append(len(names)) or real_update(names))
    for number in range(250):
        registry.apply(enter('room-%d' % number, '1', first=True))
    asyncio.run(state.collect())
    assert turns == [100, 100, 50]  # the event loop answers callbacks between the turns


def test_a_failed_write_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / 'rooms.json'
    registry, nonces, state = source(path, FakeClock())
    registry.apply(enter('a', '1', first=True))
    state.save_now()
    before = path.read_bytes()
    registry.apply(enter('b', '1', first=True))

    def broken_replace(src, dst):
        raise OSError(28, 'No space left on device')

    monkeypatch.setattr(state_file.os, 'replace', broken_replace)
    with pytest.raises(OSError):
        state.save_now()
    assert path.read_bytes() == before and not [
        name for name in os.listdir(tmp_path) if name.startswith('.vobiz-state-')
    ]  # no temp file left


def test_the_writer_writes_at_most_once_per_interval_in_a_worker_thread(tmp_path, monkeypatch):
    clock = FakeClock(0.0)
    registry, nonces = RoomRegistry(clock=clock), NonceMemory(300, clock)
    writer_threads = []
    real_write = state_file.write_atomically

    def recording_write(path, chunks):
        writer_threads.append(threading.get_ident())
        real_write(path, chunks)

    monkeypatch.setattr(state_file, 'write_atomically', recording_write)

    async def fake_sleep(seconds):
        target = clock.now + seconds
        while clock.now < target:  # the fake time goes on only as the changes below come in
            await asyncio.sleep(0)

    async def settle(state):
        """Let the writer take its turn: finish a write under way (it runs in a thread: wait for it, not for time)."""
        if state._writing is not None:
            await asyncio.shield(state._writing)
        await asyncio.sleep(0)

    async def scenario():
        state = state_file.StateFile(
            str(tmp_path / 'rooms.json'), registry, nonces, interval=1.0, monotonic=clock, sleep=fake_sleep
        )
        task = asyncio.ensure_future(state.run())
        for index in range(1000):  # 1000 changes over 10 s of the fake clock, the writer given a turn after each
            registry.apply(enter('room-%d' % index, '1', first=True))
            state.changed()
            clock.advance(0.01)
            await settle(state)
        clock.advance(1)
        while state._dirty.is_set() or not state._writing.done():  # until the last change is written
            await settle(state)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return state

    loop_thread = threading.get_ident()
    state = asyncio.run(scenario())
    assert 2 <= state.writes <= 11  # at most one per second of the fake clock (plus the first, at once)
    assert writer_threads and loop_thread not in writer_threads  # never on the event loop's thread
    saved = json.loads((tmp_path / 'rooms.json').read_text(encoding='utf-8'))
    assert len(saved['rooms']) == 1000
