# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the registry reader (_registry): the event source's own state file read back (the writer and the
reader agree), and every file that is not one refused with one error naming the option and the path."""

import json
import math
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.registry import RoomRegistry
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.signatures import NonceMemory
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.state_file import StateFile
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._registry import (
    RegistryRoom,
    known_rooms,
    read_registry,
)
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import FakeClock, enter, leave


def write_with_the_source(path, callbacks, clock=None):
    """The state file the event source writes after ``callbacks`` (form fields, in order, ten seconds apart)."""
    clock = clock or FakeClock()
    registry, memory = RoomRegistry(clock=clock), NonceMemory(300, clock)
    state = StateFile(str(path), registry, memory)
    state.load()
    for fields in callbacks:
        registry.apply(fields)
        clock.advance(10)
    state.save_now()
    return state


def test_the_sources_own_file_reads_back(tmp_path):
    path = tmp_path / 'conference_callbacks-5000.json'
    write_with_the_source(
        path,
        [
            enter('Board Room', '1', first=True, uuid='U-board'),  # every enter heard: the count is known
            enter('Board Room', '2', uuid='U-board'),
            enter('joined late', '7', uuid='U-late'),  # its first member's enter was missed: count unknown
            enter('gone', '3', first=True, uuid='U-gone'),
            leave('gone', '3', last=True, uuid='U-gone'),  # ended: the source keeps it among the ended rooms only
            leave('Board Room', '2', uuid='U-board'),
        ],
    )
    assert read_registry(str(path)) == {
        'Board Room': RegistryRoom('Board Room', 'U-board', 1000.0, 1050.0, 1),
        'joined late': RegistryRoom('joined late', 'U-late', 1020.0, 1020.0, None),
    }


def test_a_restarted_source_knows_no_member_count(tmp_path):
    path = tmp_path / 'state.json'
    clock = FakeClock()
    write_with_the_source(path, [enter('r', '1', first=True)], clock)
    assert read_registry(str(path))['r'].members == 1
    write_with_the_source(path, [], clock)  # loads the file, as after a restart, and writes it again
    assert read_registry(str(path))['r'].members is None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(st.text(st.characters(blacklist_categories=('Cs',)), min_size=1), min_size=1, max_size=5))
def test_any_name_the_source_writes_reads_back_the_same(tmp_path, names):
    path = tmp_path / 'state.json'
    if path.exists():
        path.unlink()
    write_with_the_source(path, [enter(name, '1', first=True) for name in names])
    assert sorted(read_registry(str(path))) == sorted(set(names))


def test_the_nonces_and_their_journal_are_not_read(tmp_path):
    path = tmp_path / 'state.json'
    state = write_with_the_source(path, [enter('r', '1')])
    state.journal.append(['a-nonce'], 1000)
    (tmp_path / 'state.json.nonces-99').write_text('not json at all', encoding='utf-8')  # damaged: never read here
    data = json.loads(path.read_text(encoding='utf-8'))
    data['nonces'] = {'n': 'not a time'}
    data['ended'] = 'nonsense'
    path.write_text(json.dumps(data), encoding='utf-8')
    assert list(read_registry(str(path))) == ['r']


GOOD_ROOM = {'name': 'r', 'uuid': 'U1', 'first_seen': 900.0, 'last_heard': 950, 'present': ['1'], 'left': []}


def state_with(room=None, **top):
    data = {'version': 1, 'saved_at': 990.0, 'rooms': [dict(GOOD_ROOM, **(room or {}))], 'ended': [], 'nonces': {}}
    data.update(top)
    return json.dumps(data)


def test_a_good_file_and_the_keys_it_does_not_use(tmp_path):
    path = tmp_path / 'state.json'
    path.write_text(state_with({'members_known': True, 'emitted': {'later': 'anything'}}, extra={'x': 1}))
    assert read_registry(str(path)) == {'r': RegistryRoom('r', 'U1', 900.0, 950, 1)}
    path.write_text(state_with({'uuid': None, 'last_heard': None}).replace(', "last_heard": null', ''))
    assert read_registry(str(path)) == {'r': RegistryRoom('r', None, 900.0, 900.0, None)}


@pytest.mark.parametrize(
    'content, why',
    [
        (state_with(version=2), 'of format version 2, and this collection reads version 1'),
        (state_with(version=True), 'of format version true'),
        (state_with(version='1'), 'of format version "1"'),
        ('{"rooms": []}', 'of format version null'),
        (state_with(rooms={'r': GOOD_ROOM}), 'rooms must be a list'),
        (state_with(rooms=['r']), 'rooms[0] must be an object, got "r"'),
        (state_with({'name': ''}), 'rooms[0].name must be a non-empty string, got ""'),
        (state_with({'name': 7}), 'rooms[0].name must be a non-empty string, got 7'),
        (state_with({'name': None}), 'rooms[0].name must be a non-empty string, got null'),
        (state_with({'name': 'bad\\ud800name'}).replace('\\\\ud800', '\\ud800'), 'rooms[0].name is not valid Unicode'),
        (state_with({'uuid': 5}), 'rooms[0].uuid must be a non-empty string or null, got 5'),
        (state_with({'first_seen': '900'}), 'rooms[0].first_seen must be a number, got "900"'),
        (state_with({'first_seen': True}), 'rooms[0].first_seen must be a number, got true'),
        (state_with().replace('900.0', 'NaN'), 'rooms[0].first_seen must be a number'),
        (state_with().replace('900.0', 'Infinity'), 'rooms[0].first_seen must be a number'),
        (state_with().replace('900.0', '1' + '0' * 400), 'rooms[0].first_seen must be a number, got 1000'),
        (state_with({'last_heard': []}), 'rooms[0].last_heard must be a number, got []'),
        (state_with({'present': '1,2'}), 'rooms[0].present must be a list, got "1,2"'),
        (state_with({'present': [1]}), 'rooms[0].present[0] must be a non-empty string, got 1'),
        (state_with({'members_known': 'yes'}), 'rooms[0].members_known must be true or false, got "yes"'),
        (state_with(rooms=[{'name': 'r'}]), 'rooms[0] has no uuid, first_seen, present'),
        (state_with(rooms=[GOOD_ROOM, GOOD_ROOM]), 'rooms[1].name "r" is there twice'),
        ('[]', 'the file must be an object, got []'),
    ],
)
def test_a_damaged_file_is_refused_naming_the_option_the_path_and_the_value(tmp_path, content, why):
    path = tmp_path / 'state.json'
    path.write_text(content, encoding='utf-8')
    with pytest.raises(VobizInputError) as caught:
        read_registry(str(path))
    message = str(caught.value)
    assert caught.value.options == ['registry']
    assert message.startswith('registry {0} is not a state file this collection can read: '.format(path))
    assert why in message and message.endswith('Nothing was sent.')


@pytest.mark.parametrize(
    'content, why',
    [
        (b'{"version": 1, "rooms": [', 'not JSON'),
        (b'\xff\xfe{}', 'not JSON'),
        (b'[' * 100000 + b']' * 100000, 'not JSON'),  # nested beyond the parser's recursion
        (b'', 'not JSON'),
    ],
)
def test_a_file_that_is_not_json_is_refused(tmp_path, content, why):
    path = tmp_path / 'state.json'
    path.write_bytes(content)
    with pytest.raises(VobizInputError, match='^registry .*state.json is not a state file of the event source'):
        read_registry(str(path))


def test_a_file_larger_than_the_cap_is_refused_unread(tmp_path):
    path = tmp_path / 'state.json'
    path.write_text(state_with(), encoding='utf-8')
    size = os.path.getsize(path)
    assert list(read_registry(str(path), max_bytes=size)) == ['r']
    with pytest.raises(VobizInputError, match='is larger than {0} bytes'.format(size - 1)) as caught:
        read_registry(str(path), max_bytes=size - 1)
    assert caught.value.options == ['registry']


@pytest.mark.parametrize('kind', ['missing', 'directory', 'fifo', 'device'])
def test_what_is_no_regular_file_is_refused_without_blocking(tmp_path, kind):
    path = str(tmp_path / 'state.json')
    if kind == 'directory':
        os.mkdir(path)
    elif kind == 'fifo':
        os.mkfifo(path)  # opening it for reading would block until a writer came
    elif kind == 'device':
        path = os.devnull
    with pytest.raises(VobizInputError) as caught:
        read_registry(path, option='enforce_limits_registry')
    assert caught.value.options == ['enforce_limits_registry']
    message = str(caught.value)
    assert message.startswith('enforce_limits_registry {0} '.format(path))
    if kind == 'missing':
        assert 'cannot be read: No such file or directory' in message and 'first callback' in message
    elif kind == 'directory':
        assert 'cannot be read: Is a directory' in message or 'is not a regular file' in message
    else:
        assert 'is not a regular file' in message


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([10**400]) | st.floats(allow_nan=True) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)
ROOMISH = st.fixed_dictionaries(
    {'name': JSON, 'uuid': JSON, 'first_seen': JSON, 'present': JSON},
    optional={'last_heard': JSON, 'members_known': JSON},
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.fixed_dictionaries({'version': st.just(1) | JSON, 'rooms': st.lists(ROOMISH, max_size=3) | JSON}))
def test_any_json_is_rooms_of_checked_types_or_one_refusal(tmp_path, data):
    path = tmp_path / 'state.json'
    path.write_text(json.dumps(data), encoding='utf-8')
    try:
        rooms = read_registry(str(path))
    except VobizInputError as exc:
        assert exc.options == ['registry'] and str(exc).startswith('registry ')
        return
    for name, room in rooms.items():
        assert isinstance(name, str) and name and room.name == name
        assert room.uuid is None or (isinstance(room.uuid, str) and room.uuid)
        for value in (room.first_seen, room.last_heard):
            assert isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        assert room.members is None or (isinstance(room.members, int) and not isinstance(room.members, bool))


def test_known_rooms_marks_which_source_knew_each_and_escapes_texts():
    registry = {
        'both': RegistryRoom('both', 'U-1', 10.0, 20.0, 2),
        'only\nregistry': RegistryRoom('only\nregistry', 'U\u2028X', 30.0, 40.0, None),
    }
    rooms = known_rooms(registry, ['listed', 'both'], lambda name: True)
    assert rooms == [
        dict(name='listed', known_from=['list'], uuid=None, first_seen=None, last_heard=None, members=None),
        dict(name='both', known_from=['list', 'registry'], uuid='U-1', first_seen=10.0, last_heard=20.0, members=2),
        dict(
            name='only\\nregistry',
            known_from=['registry'],
            uuid='U\\u2028X',
            first_seen=30.0,
            last_heard=40.0,
            members=None,
        ),
    ]
    assert [room['name'] for room in known_rooms(registry, None, lambda name: name != 'both')] == ['only\\nregistry']
