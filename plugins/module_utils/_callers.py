# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Caller numbers and the patterns that match them: E.164 normalisation, globs and masking.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

One copy for both sides: the modules' ``caller_matches`` (``_policy.py``) and the event source's ``blocked_callers``
(its unit ``extensions/eda/plugin_utils/vobiz_callbacks/callers.py`` loads this file by its path, since the source
runs outside any package). So this file imports nothing but the standard library.

A caller (a callback's ``From``, a member's ``from`` in retrieve's answer) is normalised thus: spaces, tabs, dashes,
dots and parentheses are removed; what is left must be ASCII digits, after at most one leading ``+``; a leading
``00`` becomes ``+``, and digits without ``+`` get one; there must be 1 to 15 digits (E.164's longest). So
``+1 (555) 123-4567``, ``001.555.123.4567`` and ``15551234567`` are all ``+15551234567``. Anything else - a SIP URI
(``sip:alice@example.com``), ``anonymous``, a letter, another separator, Unicode digits, an empty text - is no phone
number: it matches no pattern. A pattern is normalised the same way with ``*`` (any digits, also none) and ``?``
(one digit) kept: ``+1 555*`` is ``+1555*``, ``0044 20*`` is ``+4420*``, ``*1234`` is ``+*1234``; a pattern that is
anything else is refused.
"""

import re

_SEPARATORS = re.compile(r'[ \t.()\-]')
_NUMBER = re.compile(r'\+?[0-9]+', re.ASCII)
_PATTERN = re.compile(r'\+?[0-9*?]+', re.ASCII)
#: E.164's longest number, and the longest text read as one (longer is no number: nothing is kept or matched).
MAX_DIGITS = 15
MAX_TEXT = 64
NOT_A_NUMBER = '(not a phone number)'


def _plus_form(text, form):
    """``text`` without separators, as ``+...`` when it has the ``form``, else None."""
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None
    text = _SEPARATORS.sub('', text)
    if not form.fullmatch(text):
        return None
    if text.startswith('00'):
        text = '+' + text[2:]
    elif not text.startswith('+'):
        text = '+' + text
    return text if len(text) > 1 else None


def normalize_number(text):
    """The E.164 form (``+`` and 1 to 15 digits) of a caller number, or None when ``text`` is no phone number."""
    number = _plus_form(text, _NUMBER)
    return number if number is not None and len(number) - 1 <= MAX_DIGITS else None


def normalize_pattern(text):
    """The normalised form of one number or glob, or None when it is neither."""
    return _plus_form(text, _PATTERN)


def parse_patterns(values, option):
    """The normalised patterns of a list of numbers and globs. Raises ``ValueError`` naming ``option`` and the
    first entry that is not one (a number YAML read as an integer included: ``0044...`` would be octal)."""
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError('{0} must be a non-empty list of caller numbers or globs such as +1555*'.format(option))
    patterns = []
    for value in values:
        if not isinstance(value, str):
            raise ValueError(
                '{0}: {1!r} is not a string; quote every number (YAML reads +15551234567 as an integer and '
                '0044... as an octal one)'.format(option, value)
            )
        pattern = normalize_pattern(value)
        if pattern is None:
            raise ValueError(
                '{0}: {1!r} is no caller number or glob (digits, an optional leading + or 00, * and ?; spaces, '
                'dashes, dots and parentheses are ignored)'.format(option, value)
            )
        patterns.append(pattern)
    return patterns


class CallerMatcher:
    """Normalised patterns (``parse_patterns``) as one regular expression: ``*`` any digits, ``?`` one digit."""

    def __init__(self, patterns):
        self.patterns = list(patterns)
        glob = {'*': '[0-9]*', '?': '[0-9]', '+': r'\+'}
        alternatives = (''.join(glob.get(char, char) for char in pattern) for pattern in self.patterns)
        self._regex = re.compile('|'.join('(?:{0})'.format(alternative) for alternative in alternatives), re.ASCII)

    def number_if_matched(self, text):
        """The normalised number of ``text`` when it matches a pattern, else None (also for no phone number)."""
        number = normalize_number(text)
        return number if number is not None and self._regex.fullmatch(number) else None


def mask(text):
    """A caller number masked except its last four digits (``+15551234567``: ``+*******4567``); every digit of a
    number of four digits or fewer; ``NOT_A_NUMBER`` for what is no phone number (nothing of it shown)."""
    number = normalize_number(text)
    if number is None:
        return NOT_A_NUMBER
    digits = number[1:]
    shown = 4 if len(digits) > 4 else 0
    return '+' + '*' * (len(digits) - shown) + digits[len(digits) - shown :]
