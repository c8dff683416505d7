# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 5: any conference name produces exactly one request, on exactly that name's path.

A property test (hypothesis, 1000 generated names, derandomised so that CI is reproducible). For each
name the emulator holds that room plus look-alikes (its path segments, its encoded and decoded
forms, other case, without its last character, ...), and the module hangs up only the name.
"""

from __future__ import annotations

import re
import time
import urllib.parse

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_names
from ansible_collections.vobiz.voice.plugins.module_utils._selection import UNEXPANDED
from ansible_collections.vobiz.voice.tests.reliability.helpers import PREFIX, run

SPECIALS = [
    '/',
    '?',
    '#',
    '%',
    ';',
    '+',
    '.',
    '..',
    ' ',
    '&',
    '=',
    '@',
    ':',
    ',',
    '\\',
    '"',
    "'",
    '<',
    '>',
    '~',
    '*',
    '[',
    ']',
    '%2F',
    '%2f',
    '%2E',
    '%2E%2E',
    '%25',
    '%%',
    '%zz',
    '%C3%A9',
    '%00',
    '\x00',
    '\x01',
    '\x1f',
    '\x7f',
    '\t',
    '\n',
    '\r',
    '\u00a0',
    '\u200b',
    '\ufeff',
    '\u2028',
    '\u202e',
    '\u00e9',
    'e\u0301',
    '\u0130',
    '\u00df',
    '\U0001f600',
    '\uffff',
]
FIXED = [
    '.',
    '..',
    '...',
    '/',
    '//',
    '?',
    '#',
    '%',
    ';',
    '+',
    ' ',
    'a/../b',
    './x',
    'x/.',
    '../..',
    '%2F',
    '?a=b#c',
    'all',
    'Conference',
    'Member',
    'Board Room',
    'Smith, John',
]

# Names that hold an unexpanded variable (${X}, %X%, ...) are refused before any request (issue 23): left out here.
NAMES = st.one_of(
    st.text(min_size=1, max_size=40),  # any Unicode text (hypothesis leaves out lone surrogates, which are not text)
    st.lists(st.one_of(st.sampled_from(SPECIALS), st.text(min_size=1, max_size=4)), min_size=1, max_size=12).map(
        ''.join
    ),
    st.sampled_from(FIXED),
    st.builds(
        lambda unit, count: unit * count,  # very long names: up to 36 kB of path
        st.sampled_from(['a', '\u00e9', '/', '.', '%', '\U0001f600', ' ']),
        st.integers(min_value=300, max_value=3000),
    ),
).filter(lambda name: not UNEXPANDED.search(name))

SAFE_SEGMENT = re.compile(r'^(?:[A-Za-z0-9_~-]|%[0-9A-F]{2})+$')


def lookalikes(name):
    """Rooms that resemble ``name`` (and must survive its hang-up)."""
    candidates = {
        name.strip(),
        name.lower(),
        name.upper(),
        name.swapcase(),
        name[:-1],
        name[1:],
        name + '/',
        '/' + name,
        name + ' ',
        name.replace('/', ''),
        name.replace('+', ' '),
        name.replace(' ', '+'),
        urllib.parse.quote(name, safe=''),
        urllib.parse.quote(name),
        urllib.parse.unquote(name),
        name.replace('.', '%2E'),
        name + '.',
        name[:200],
    }
    candidates.update(name.split('/'))
    candidates.update(name.split('?', 1)[:1] + name.split('#', 1)[:1])
    return sorted(c for c in candidates if c and c != name)


def expected_segment(raw_path):
    """The one path segment after ``Conference/`` (asserting the rest of the path)."""
    assert raw_path.startswith(PREFIX) and raw_path.endswith('/'), raw_path[:200]
    segment = raw_path[len(PREFIX) : -1]
    assert '/' not in segment and SAFE_SEGMENT.match(segment), segment[:200]
    return segment


def check_one_run(emu, names):
    """Hang up ``names`` among their look-alikes; assert one exact request per name. Returns the log."""
    others = sorted(set(o for name in names for o in lookalikes(name)) - set(names))
    emu.set_conferences(names + others, members=0)
    emu.clear_log()

    failed, result = run('vobiz_conference', emu, name=names, parallel=4)

    log = emu.requests()
    assert not failed, result['msg']
    assert result['hung_up'] == escape_names(names) and result['changed'] is True  # returned escaped (issue 23)
    assert len(log) == len(names)
    assert sorted(e['conference'] for e in log) == sorted(names)  # the emulator decoded exactly the names
    for entry in log:
        assert (entry['method'], entry['action'], entry['status']) == ('DELETE', 'hangup', 204)
        segment = expected_segment(entry['raw_path'])
        assert urllib.parse.unquote(segment, errors='strict') == entry['conference']
    assert emu.live_names() == others  # every look-alike survived
    return log, others


def test_any_name_one_request_exact_path(emulators, figures):
    # Each module run opens a connection of its own; let the emulator drop idle ones soon.
    emu = emulators(socket_timeout=0.5)
    stats = dict(names=0, requests=0, bystanders=0, longest=0)

    @settings(
        max_examples=1000, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(name=NAMES)
    def check(name):
        log, others = check_one_run(emu, [name])
        stats['names'] += 1
        stats['requests'] += len(log)
        stats['bystanders'] += len(others)
        stats['longest'] = max(stats['longest'], len(log[0]['raw_path']))

    started = time.monotonic()
    check()  # pylint: disable=no-value-for-parameter
    seconds = time.monotonic() - started
    assert stats['names'] >= 1000
    assert stats['requests'] == stats['names']
    figures.record(
        '5a',
        'generated names (hypothesis)',
        '{0} names, {1} look-alike bystanders, longest path {2} B'.format(
            stats['names'], stats['bystanders'], stats['longest']
        ),
        'none',
        stats['requests'],
        stats['names'],
        stats['names'],
        0,
        seconds,
    )


def test_tricky_names_in_one_batch(emu, figures):
    """The hand-picked names all in one task: still one exact request each, and the look-alikes survive."""
    names = FIXED + [s for s in SPECIALS if s not in FIXED] + ['a' * 3000, '\U0001f600' * 2000, 'x' + '/' * 500]
    started = time.monotonic()
    log, others = check_one_run(emu, names)
    figures.record(
        '5b',
        'tricky names in one batch',
        '{0} names, {1} look-alike bystanders'.format(len(names), len(others)),
        'none',
        len(log),
        len(names),
        len(names),
        0,
        time.monotonic() - started,
    )
