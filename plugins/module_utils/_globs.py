# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Which names a set of globs matches: whether together they match every name (``matches_every_name``) or nearly
every one (``broad_glob``).

PRIVATE: part of the vobiz.voice collection only; may change in any release.

One copy for both sides: the modules' ``match`` (``_selection.py``) and the event source's schedule (its unit
``extensions/eda/plugin_utils/vobiz_callbacks/schedule.py`` loads this file by its path, since the source runs outside
any package), so a glob the modules refuse is refused by the source too. Standard library only.
"""

import fnmatch

# A glob, as fnmatch reads it, is a sequence of tokens: '*' (any text), '?' (any one character), a bracket expression
# (one character of a set) or a literal character. Whether a set of globs matches every name is decided on that
# structure: the code points split into intervals on which every token answers alike (cut at each character the
# globs hold, and the one after it), and an automaton over those intervals tells whether every non-empty name is
# matched. Only characters that can show in a name count (``str.isprintable``): "[!\\uffff]*" spares only names that
# start with a noncharacter, so it selects every real name.

_STAR = ('*',)
_ANY = ('?',)
#: How many sets of automaton states a check may visit; more and the globs are refused as too intricate to check.
_MAX_STATES = 20000


def glob_tokens(pattern):
    """The tokens of a glob, scanned as ``fnmatch.translate`` scans it (an unclosed ``[`` is a literal)."""
    tokens = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        i += 1
        if char == '*':
            if not tokens or tokens[-1] != _STAR:
                tokens.append(_STAR)
        elif char == '?':
            tokens.append(_ANY)
        elif char == '[':
            j = i
            if j < n and pattern[j] == '!':
                j += 1
            if j < n and pattern[j] == ']':
                j += 1
            while j < n and pattern[j] != ']':
                j += 1
            if j >= n:
                tokens.append(('=', '['))
            else:
                tokens.append(('[', pattern[i - 1 : j + 1]))
                i = j + 1
        else:
            tokens.append(('=', char))
    return tokens


def _token_matches(token, char):
    if token == _ANY:
        return True
    if token[0] == '=':
        return token[1] == char
    return fnmatch.fnmatchcase(char, token[1])  # fnmatch's own reading of the bracket expression


def _shows(low, high):
    """Does the interval [low, high) hold a character that can show in a name?"""
    return any(chr(code).isprintable() for code in range(low, high))


def _name_characters(patterns):
    """One character for each interval of code points on which every token of ``patterns`` answers alike, for the
    intervals that hold a character that can show in a name."""
    cuts = {0, 0x110000}
    for pattern in patterns:
        for char in pattern:
            cuts.update((ord(char), ord(char) + 1))
    cuts = sorted(cut for cut in cuts if cut <= 0x110000)
    return [chr(low) for low, high in zip(cuts, cuts[1:]) if _shows(low, high)]


def matches_every_name(patterns):
    """True when the globs together match every non-empty name of characters that can show (see above).

    ``None`` when the check gave up (``_MAX_STATES``): the caller refuses, failing safe.
    """
    token_lists = [glob_tokens(pattern) for pattern in patterns]
    if not token_lists:
        return False
    characters = _name_characters(patterns)

    def closure(states):
        stack = list(states)
        result = set(stack)
        while stack:
            glob, position = stack.pop()
            tokens = token_lists[glob]
            if position < len(tokens) and tokens[position] == _STAR and (glob, position + 1) not in result:
                result.add((glob, position + 1))
                stack.append((glob, position + 1))
        return frozenset(result)

    def step(states, char):
        following = set()
        for glob, position in states:
            tokens = token_lists[glob]
            if position < len(tokens):
                token = tokens[position]
                if token == _STAR:
                    following.add((glob, position))
                elif _token_matches(token, char):
                    following.add((glob, position + 1))
        return closure(following)

    start = closure((glob, 0) for glob in range(len(token_lists)))
    pending = [step(start, char) for char in characters]
    seen = set()
    while pending:
        states = pending.pop()
        if states in seen:
            continue
        seen.add(states)
        if len(seen) > _MAX_STATES:
            return None
        if not any(position == len(token_lists[glob]) for glob, position in states):
            return False  # some name leads here and is not matched
        pending.extend(step(states, char) for char in characters)
    return True


def broad_glob(pattern):
    """True for a glob that selects rooms by little more than their length: a ``*`` and otherwise only ``?`` and
    negated sets (``[!c]*`` selects every name that does not start with ``c``)."""
    tokens = glob_tokens(pattern)
    return _STAR in tokens and all(
        token in (_STAR, _ANY) or (token[0] == '[' and token[1].startswith('[!')) for token in tokens
    )
