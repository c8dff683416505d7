# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The room registry of the event source ``vobiz.voice.conference_callbacks``, read from its state file (option
``registry``), and the rooms a run knew from the live list and from it (``known_rooms``).

PRIVATE: part of the vobiz.voice collection only; may change in any release.

The source writes its state file (``extensions/eda/plugin_utils/vobiz_callbacks/state_file.py``, format version 1):
its rooms, the rooms that ended and the nonces of its replay window, with a nonce journal beside it. Only the rooms
are read here (name, UUID, first seen, last heard, and the member count where every member's enter was heard); the
rest, the journal included, is none of a playbook's business. The file is a hint built from callbacks, never proof:
every value read is checked, and a file that is missing, not a regular file, larger than ``MAX_REGISTRY_BYTES``, not
JSON, of another version or holding a wrong value is refused with one ``VobizInputError`` naming the option and the
path, before any request. A room read here is only a name to try: the API decides whether it is live.
"""

import json
import math
import os
import stat
from collections import OrderedDict, namedtuple

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name

#: The state file format this reader knows (``STATE_VERSION`` of the event source's ``state_file.py``).
STATE_VERSION = 1
#: The largest state file read; the source keeps at most ``max_rooms`` rooms (50000 by default) of a few hundred bytes.
MAX_REGISTRY_BYTES = 64 * 1024 * 1024
#: The values of ``known_from``: which source knew a room.
FROM_LIST = 'list'
FROM_REGISTRY = 'registry'

#: One room of the registry: ``members`` is ``None`` when the source did not hear every member's enter.
RegistryRoom = namedtuple('RegistryRoom', 'name uuid first_seen last_heard members')


class _Damaged(Exception):
    pass


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not _finite(value):
        raise _Damaged('{0} must be a number, got {1}'.format(where, _shown(value)))
    return value


def _finite(number):
    try:
        return math.isfinite(number)
    except OverflowError:  # an integer beyond any float (JSON's integers have no bound)
        return False


def _text(value, where, optional=False):
    if value is None and optional:
        return None
    if not isinstance(value, str) or not value:
        raise _Damaged(
            '{0} must be a non-empty string{1}, got {2}'.format(where, ' or null' if optional else '', _shown(value))
        )
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise _Damaged('{0} is not valid Unicode text'.format(where))
    return value


def _shown(value):
    """A wrong value as the message shows it: JSON, cut short."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= 80 else text[:77] + '...'


def _room(item, where):
    if not isinstance(item, dict):
        raise _Damaged('{0} must be an object, got {1}'.format(where, _shown(item)))
    missing = [key for key in ('name', 'uuid', 'first_seen', 'present') if key not in item]
    if missing:
        raise _Damaged('{0} has no {1}'.format(where, ', '.join(missing)))
    present = item['present']
    if not isinstance(present, list):
        raise _Damaged('{0}.present must be a list, got {1}'.format(where, _shown(present)))
    for index, member in enumerate(present):
        _text(member, '{0}.present[{1}]'.format(where, index))
    known = item.get('members_known', False)
    if not isinstance(known, bool):
        raise _Damaged('{0}.members_known must be true or false, got {1}'.format(where, _shown(known)))
    first_seen = _number(item['first_seen'], where + '.first_seen')
    return RegistryRoom(
        name=_text(item['name'], where + '.name'),
        uuid=_text(item['uuid'], where + '.uuid', optional=True),
        first_seen=first_seen,
        last_heard=_number(item['last_heard'], where + '.last_heard') if 'last_heard' in item else first_seen,
        members=len(present) if known else None,
    )


def registry_rooms(data):
    """The rooms of a parsed state file, by name, in the file's order; ``_Damaged`` naming the first wrong value.

    Keys this reader does not use are left alone (the source checks its own file); those it uses must be right.
    """
    if not isinstance(data, dict):
        raise _Damaged('the file must be an object, got {0}'.format(_shown(data)))
    version = data.get('version')
    if version != STATE_VERSION or isinstance(version, bool):
        raise _Damaged(
            'it is of format version {0}, and this collection reads version {1}: use the event source of the same '
            'vobiz.voice release'.format(_shown(version), STATE_VERSION)
        )
    if not isinstance(data.get('rooms'), list):
        raise _Damaged('rooms must be a list, got {0}'.format(_shown(data.get('rooms'))))
    rooms = OrderedDict()
    for index, item in enumerate(data['rooms']):
        room = _room(item, 'rooms[{0}]'.format(index))
        if room.name in rooms:
            raise _Damaged('rooms[{0}].name {1} is there twice'.format(index, _shown(room.name)))
        rooms[room.name] = room
    return rooms


def read_registry(path, option='registry', max_bytes=MAX_REGISTRY_BYTES):
    """The rooms of the state file at ``path`` (``registry_rooms``), or ``VobizInputError`` naming ``option`` and the
    path. Never blocks on a FIFO or device (only a regular file is read) and never reads more than ``max_bytes``."""
    head = '{0} {1}'.format(option, path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, 'O_NONBLOCK', 0))
    except OSError as exc:
        hint = ' (the event source writes it within a second of the first callback it hears)'
        missing = isinstance(exc, FileNotFoundError)
        raise VobizInputError(
            '{0} cannot be read: {1}{2}'.format(head, exc.strerror or exc, hint if missing else ''), option=option
        )
    try:
        with os.fdopen(fd, 'rb') as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise VobizInputError('{0} is not a regular file; refusing to read it'.format(head), option=option)
            content = handle.read(max_bytes + 1)
    except OSError as exc:
        raise VobizInputError('{0} cannot be read: {1}'.format(head, exc.strerror or exc), option=option)
    if len(content) > max_bytes:
        raise VobizInputError(
            '{0} is larger than {1} bytes, more than any registry the event source writes; refusing to read it'.format(
                head, max_bytes
            ),
            option=option,
        )
    try:
        data = json.loads(content.decode('utf-8'))
    except (ValueError, RecursionError) as exc:  # UnicodeDecodeError is a ValueError
        raise VobizInputError(
            '{0} is not a state file of the event source (not JSON: {1})'.format(head, exc), option=option
        )
    try:
        return registry_rooms(data)
    except _Damaged as exc:
        raise VobizInputError(
            '{0} is not a state file this collection can read: {1}. Nothing was sent.'.format(head, exc), option=option
        )


def known_rooms(registry, listed, covers):
    """The rooms the live list (``listed``; ``None`` when this run did not read it) or the ``registry`` knew, for which
    ``covers(name)`` holds: the listed ones first, in the list's order, then the others of the registry. Each is a dict
    with ``name``, ``known_from`` (``['list']``, ``['registry']`` or both) and the registry's ``uuid``, ``first_seen``,
    ``last_heard`` and ``members`` (``None`` where it knows none); texts escaped as names are (``escape_name``)."""
    listed = list(listed or ())
    seen = set(listed)
    names = listed + [name for name in registry if name not in seen]
    rooms = []
    for name in names:
        if not covers(name):
            continue
        room = registry.get(name)
        known_from = ([FROM_LIST] if name in seen else []) + ([FROM_REGISTRY] if room is not None else [])
        rooms.append(
            dict(
                name=escape_name(name),
                known_from=known_from,
                uuid=escape_name(room.uuid) if room is not None else None,
                first_seen=room.first_seen if room is not None else None,
                last_heard=room.last_heard if room is not None else None,
                members=room.members if room is not None else None,
            )
        )
    return rooms
