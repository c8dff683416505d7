# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the fail-safe selection (_selection): globs that select every name, invisible characters in
``exclude``, unexpanded variables (issue 23).

And the rules of selection: name lists, ``all`` alone, ``exclude`` protecting what it names."""

import fnmatch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils import _globs
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._globs import broad_glob, matches_every_name
from ansible_collections.vobiz.voice.plugins.module_utils._registry import RegistryRoom
from ansible_collections.vobiz.voice.plugins.module_utils._selection import (
    Selection,
    exclusion_match,
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


NOT_EVERYTHING = [
    ['ci-*'],
    ['*-ci'],
    ['?'],
    ['??*'],
    ['[!]*'],
    ['ci-*', '[!c]*'],
    ['[!a]*', 'b*'],
    ['*a*'],
    ['[a-z]*'],
    ['[!\x00-\U0010fffe]*'],
]


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
    assert [broad_glob(pattern) for pattern in ('ci-*', '[!c]*', '?*', '[!a-z]?*', 'c*', '*[0-9]')] == [
        False,
        True,
        True,
        True,
        False,
        False,
    ]


def test_a_glob_set_too_intricate_to_check_is_refused(monkeypatch):
    monkeypatch.setattr(_globs, '_MAX_STATES', 1)
    with pytest.raises(VobizInputError, match='too intricate'):
        Selection.from_params(dict(match=['[a-m]*', '[!a-m]*', 'x*y']))


@pytest.mark.parametrize(
    'invisible',
    [
        '\u200e',
        '\u00ad',
        '\u2063',
        '\ufe0f',
        '\u200b',
        '\ufeff',
        '\u2066',
        '\U000e0041',
        '\U000e0100',
        '\u180b',
        '\u034f',
    ],
)
def test_exclude_ignores_every_invisible_character(invisible):
    """Issue 23: "keep" written with U+200E, U+00AD, U+2063 or U+FE0F (and every other Cf, and variation selectors)."""
    for name in ('ke' + invisible + 'ep', invisible + 'keep', 'keep' + invisible):
        assert exclusion_match(name, ['keep']) == 'normalized'
        assert exclusion_match('keep', [name]) == 'normalized'
    assert exclusion_match('kept', ['keep']) is None


@pytest.mark.parametrize(
    'value', ['ci-${CI_PIPELINE_ID}-*', 'ci-$(date +%s)-*', 'ci-{{ id }}-*', 'ci-%BUILD_ID%-*', '${X}', '%CI%']
)
@pytest.mark.parametrize('option', ['name', 'match', 'exclude'])
def test_an_unexpanded_variable_is_refused(option, value):
    with pytest.raises(VobizInputError, match='never expanded') as info:
        normalize_name_list([value], option)
    assert info.value.option == option and option in str(info.value)


@pytest.mark.parametrize(
    'value',
    ['100%', 'Q$ review', '$5 deal', '$VIP', 'a%b', '{x}', 'costs $ and %', 'Board Room', '%C3%A9t%C3%A9', '%2E%2E'],
)
def test_dollar_and_percent_signs_alone_are_names(value):
    assert normalize_name_list(value, 'name') == [value]


def test_normalize_name_list():
    assert normalize_name_list('Smith, John', 'name') == ['Smith, John']
    assert normalize_name_list(['a', 'b', 'a'], 'name') == ['a', 'b']
    assert normalize_name_list(None, 'name') is None
    for bad in ('', [], [''], [1], 5, {'a': 1}, ['ok', None], ['\udc80']):
        with pytest.raises(VobizInputError) as info:
            normalize_name_list(bad, 'match')
        assert info.value.option == 'match' and 'match' in str(info.value)


def test_selection_rules():
    with pytest.raises(VobizInputError) as info:
        Selection.from_params({})
    assert 'name' in str(info.value)
    for other in ('name', 'match', 'exclude'):
        with pytest.raises(VobizInputError) as info:
            Selection.from_params({'all': True, other: 'x'})
        assert other in str(info.value) and info.value.option == 'all'
    with pytest.raises(VobizInputError):
        Selection.from_params({'exclude': 'x'})
    selection = Selection.from_params({'name': ['keep-me', 'b'], 'match': 'ci-*', 'exclude': ['keep-*', 'ci-keep']})
    live = ['ci-1', 'prod-ci-3', 'CI-upper', 'ci-keep', 'b', 'ci-2']
    targets, excluded, explicit = selection.resolve(live)
    assert targets == ['b', 'ci-1', 'ci-2']
    assert excluded == ['keep-me', 'ci-keep'] and explicit == ['keep-me']
    assert Selection.from_params({'all': True}).resolve(['x', 'y']) == (['x', 'y'], [], [])


@pytest.mark.parametrize(
    'exclude, live, protected, warned',
    [
        # equal to the name protects it; as a glob it also matches room1 (protecting more errs on the safe side)
        (['room[1]'], ['room[1]', 'room1', 'room2'], ['room[1]', 'room1'], False),
        (['Caf\u00e9'], ['Cafe\u0301', 'Cafe'], ['Cafe\u0301'], True),
        (['room\u200b1'], ['room1', 'room2'], ['room1'], True),
        (['\ufeffroom*'], ['room1', 'other'], ['room1'], True),
        (['room*'], ['room1', 'other'], ['room1'], False),
    ],
)
def test_exclude_protects_what_it_names(exclude, live, protected, warned):
    selection = Selection(match=['*'], exclude=exclude)
    targets, excluded, dummy = selection.resolve(live)
    assert excluded == protected and targets == [n for n in live if n not in protected]
    assert bool(selection.warnings) is warned
    if warned:
        assert repr(protected[0]) in selection.warnings[0] and 'normalisation' in selection.warnings[0]


def test_name_targeting_stays_exact():
    selection = Selection(names=['room[1]', 'Cafe\u0301'])
    assert selection.resolve(['room1', 'Caf\u00e9'])[0] == ['room[1]', 'Cafe\u0301']


# --- the registry: match also selects among the rooms of the event source's registry --------------------------------


def registry_of(*names):
    return dict((name, RegistryRoom(name, None, 1.0, 1.0, None)) for name in names)


def test_match_selects_the_registry_rooms_the_list_omitted_once_each():
    selection = Selection(
        ['named'], ['ci-*'], ['ci-keep'], registry=registry_of('ci-2', 'ci-1', 'named', 'ci-keep', 'x')
    )
    targets, excluded, dummy = selection.resolve(['ci-1', 'other'])
    assert targets == ['named', 'ci-1', 'ci-2'] and excluded == ['ci-keep']
    assert selection.from_registry == ['ci-2']  # ci-1 was listed, named was named, ci-keep is excluded
    assert selection.unmatched(['other']) == []  # the registry's ci-* rooms count
    assert Selection(None, ['zz-*'], registry=registry_of('ci-1')).unmatched([]) == ['zz-*']


def test_a_new_resolve_forgets_the_last_ones_registry_rooms():
    selection = Selection(None, ['ci-*'], registry=registry_of('ci-1'))
    assert selection.resolve([])[0] == ['ci-1'] and selection.from_registry == ['ci-1']
    selection.resolve(['ci-1'])
    assert selection.from_registry == []


def test_without_a_selector_the_registry_rooms_the_list_omitted_are_to_be_read():
    selection = Selection(None, None, ['vip-*'], registry=registry_of('a', 'b', 'vip-1'))
    assert selection.unlisted(['a']) == (['b'], ['vip-1'])
    assert selection.covers('anything') and not Selection(['a']).covers('b')


@settings(max_examples=200, deadline=None)
@given(
    listed=st.lists(st.text(min_size=1, max_size=3), max_size=6),
    registered=st.lists(st.text(min_size=1, max_size=3), max_size=6),
    match=st.lists(st.sampled_from(['a*', '?', '[ab]*', '*b']), min_size=1, max_size=2, unique=True),
)
def test_the_merge_is_the_union_of_both_sources_matches_without_duplicates(listed, registered, match):
    listed = list(dict.fromkeys(listed))
    selection = Selection(None, match, registry=registry_of(*registered))
    targets, dummy, dummy = selection.resolve(listed)
    expected = [name for name in listed + registered if any(fnmatch.fnmatchcase(name, glob) for glob in match)]
    assert targets == list(dict.fromkeys(expected))
    assert selection.from_registry == [name for name in targets if name not in listed]


@pytest.mark.parametrize(
    'params, refused',
    [
        (dict(name=['a']), ['registry', 'match']),
        (dict(all=True), ['registry', 'all']),
    ],
)
def test_registry_is_refused_where_match_selects_nothing(tmp_path, params, refused):
    params = dict(dict(name=None, match=None, exclude=None, all=False), registry=str(tmp_path / 'none'), **params)
    with pytest.raises(VobizInputError) as caught:
        Selection.from_params(params)
    assert caught.value.options == refused


def test_from_params_reads_the_registry_and_refuses_an_unreadable_one(tmp_path):
    path = tmp_path / 'state.json'
    params = dict(name=None, match=['ci-*'], exclude=None, all=False, registry=str(path))
    with pytest.raises(VobizInputError, match='^registry .*state.json cannot be read') as caught:
        Selection.from_params(params)
    assert caught.value.options == ['registry']
    path.write_text('{"version": 1, "rooms": [{"name": "ci-1", "uuid": null, "first_seen": 1, "present": []}]}')
    assert list(Selection.from_params(params).registry) == ['ci-1']
    assert list(Selection.from_params(dict(params, match=None), policy=True).registry) == ['ci-1']
