# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the fail-safe selection (_selection): globs that select every name, invisible characters in
``exclude``, unexpanded variables (issue 23)."""

import fnmatch
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils import _selection
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._selection import (
    Selection,
    broad_glob,
    exclusion_match,
    glob_tokens,
    matches_every_name,
    normalize_name_list,
)

EVERYTHING = [
    ['*'],
    ['**'],
    ['?*'],
    ['*?'],
    ['*?*'],
    ['[!\uffff]*'],  # spares only names starting with a noncharacter
    ['[\x01-\U0010ffff]*'],  # spares only names starting with NUL
    ['[!\ue000-\uf8ff]*'],  # spares only names starting with a private-use character
    ['[a-m]*', '[!a-m]*'],
    ['x*', '[!x]*'],
    ['[]]*', '[!]]*'],
    ['?', '??*'],
]
NOT_EVERYTHING = [['ci-*'], ['*-ci'], ['?'], ['??*'], ['[!]*'], ['ci-*', '[!c]*'], ['[!a]*', 'b*'], ['*a*'], ['[a-z]*'], ['[!\x00-\U0010fffe]*']]


@pytest.mark.parametrize('patterns', EVERYTHING, ids=repr)
def test_globs_that_match_every_name_are_refused(patterns):
    assert matches_every_name(patterns) is True
    with pytest.raises(VobizInputError, match='selects every conference') as info:
        Selection.from_params(dict(match=patterns))
    assert info.value.option == 'match'


@pytest.mark.parametrize('patterns', NOT_EVERYTHING, ids=repr)
def test_globs_that_spare_some_names_are_accepted(patterns):
    assert matches_every_name(patterns) is False
    Selection.from_params(dict(match=patterns))


def test_a_glob_that_selects_nearly_everything_is_warned_about_not_refused():
    """Issue 23: ["ci-*", "[!c]*"] spares only names starting with "c" but not "ci-": a warning."""
    selection = Selection.from_params(dict(match=['ci-*', '[!c]*']))
    targets, dummy, dummy = selection.resolve(['ci-1', 'prod-1', 'cab'])
    assert targets == ['ci-1', 'prod-1']
    assert len(selection.warnings) == 1 and "'[!c]*' selects nearly every conference" in selection.warnings[0]
    assert [broad_glob(pattern) for pattern in ('ci-*', '[!c]*', '?*', '[!a-z]?*', 'c*', '*[0-9]')] == [False, True, True, True, False, False]


def test_a_glob_set_too_intricate_to_check_is_refused(monkeypatch):
    monkeypatch.setattr(_selection, '_MAX_STATES', 1)
    with pytest.raises(VobizInputError, match='too intricate'):
        Selection.from_params(dict(match=['[a-m]*', '[!a-m]*', 'x*y']))


#: Characters the generated globs and names are made of: glob syntax, a few letters, and characters at the edges.
ALPHABET = st.sampled_from(['a', 'b', 'c', '-', '!', ']', '[', '*', '?', '\\', ' ', '\uffff', '\x00', '\U0010ffff', 'é'])
GLOBS = st.lists(st.text(ALPHABET, min_size=1, max_size=5), min_size=1, max_size=3)


@settings(max_examples=400, deadline=None, derandomize=True)
@given(GLOBS, st.lists(st.text(ALPHABET.filter(lambda char: char.isprintable()), min_size=1, max_size=6), min_size=1, max_size=20))
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
    characters = _selection._name_characters(globs)
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
                elif _selection._token_matches(token, char):
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


# --- exclude: invisible characters -------------------------------------------------------------------------------


@pytest.mark.parametrize('invisible', ['\u200e', '\u00ad', '\u2063', '\ufe0f', '\u200b', '\ufeff', '\u2066', '\U000e0041', '\U000e0100', '\u180b', '\u034f'])
def test_exclude_ignores_every_invisible_character(invisible):
    """Issue 23: "keep" written with U+200E, U+00AD, U+2063 or U+FE0F (and every other Cf, and variation selectors)."""
    for name in ('ke' + invisible + 'ep', invisible + 'keep', 'keep' + invisible):
        assert exclusion_match(name, ['keep']) == 'normalized'
        assert exclusion_match('keep', [name]) == 'normalized'
    assert exclusion_match('kept', ['keep']) is None


# --- unexpanded variables ----------------------------------------------------------------------------------------


@pytest.mark.parametrize('value', ['ci-${CI_PIPELINE_ID}-*', 'ci-$(date +%s)-*', 'ci-{{ id }}-*', 'ci-%BUILD_ID%-*', '${X}', '%CI%'])
@pytest.mark.parametrize('option', ['name', 'match', 'exclude'])
def test_an_unexpanded_variable_is_refused(option, value):
    with pytest.raises(VobizInputError, match='never expanded') as info:
        normalize_name_list([value], option)
    assert info.value.option == option and option in str(info.value)


@pytest.mark.parametrize('value', ['100%', 'Q$ review', '$5 deal', '$VIP', 'a%b', '{x}', 'costs $ and %', 'Board Room', '%C3%A9t%C3%A9', '%2E%2E'])
def test_dollar_and_percent_signs_alone_are_names(value):
    assert normalize_name_list(value, 'name') == [value]
