# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _globs: the tokens read a glob as fnmatch does, and whether globs match every name is exact on what
brute force can check. (How vobiz_conference refuses such globs: test__selection.py; the event source's schedule:
tests/unit/extensions/eda/test_schedule.py.)"""

import fnmatch
import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils import _globs
from ansible_collections.vobiz.voice.plugins.module_utils._globs import glob_tokens, matches_every_name

#: Characters the generated globs and names are made of: glob syntax, a few letters, and characters at the edges.
ALPHABET = st.sampled_from(
    ['a', 'b', 'c', '-', '!', ']', '[', '*', '?', '\\', ' ', '\uffff', '\x00', '\U0010ffff', 'é']
)


GLOBS = st.lists(st.text(ALPHABET, min_size=1, max_size=5), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(
    GLOBS,
    st.lists(
        st.text(ALPHABET.filter(lambda char: char.isprintable()), min_size=1, max_size=6), min_size=1, max_size=20
    ),
)
def test_the_token_reading_agrees_with_fnmatch(globs, names):
    """The tokens read each glob as fnmatch does: the automaton run on a name agrees with fnmatchcase."""
    for pattern, name in itertools.product(globs, names):
        assert _tokens_match(glob_tokens(pattern), name) == fnmatch.fnmatchcase(name, pattern), (pattern, name)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(GLOBS)
def test_matches_every_name_is_exact_on_short_names(globs):
    """Sound and complete on what can be checked by brute force: every name of up to 4 characters made of the
    characters that tell the globs apart (one per interval, see ``_name_characters``) is matched exactly when the
    check says so; a "no" always has such a counterexample for globs this short."""
    verdict = matches_every_name(globs)
    characters = _globs._name_characters(globs)
    unmatched = next(
        (
            ''.join(name)
            for length in range(1, 5)
            for name in itertools.product(characters, repeat=length)
            if not any(fnmatch.fnmatchcase(''.join(name), pattern) for pattern in globs)
        ),
        None,
    )
    assert verdict is (unmatched is None), (globs, unmatched)


def _tokens_match(tokens, name):
    """A direct run of the token automaton (what ``matches_every_name`` builds on) over one name."""
    states = {0}
    states = _close(tokens, states)
    for char in name:
        following = set()
        for position in states:
            if position < len(tokens):
                token = tokens[position]
                if token == ('*',):
                    following.add(position)
                elif _globs._token_matches(token, char):
                    following.add(position + 1)
        states = _close(tokens, following)
    return len(tokens) in states


def _close(tokens, states):
    states = set(states)
    for position in sorted(states):
        while position < len(tokens) and tokens[position] == ('*',):
            position += 1
            states.add(position)
    return states
