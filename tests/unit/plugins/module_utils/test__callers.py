# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of caller numbers and their patterns (_callers): E.164 normalisation, globs, masking."""

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.plugins.module_utils._callers import (
    NOT_A_NUMBER,
    CallerMatcher,
    mask,
    normalize_number,
    normalize_pattern,
    parse_patterns,
)


@pytest.mark.parametrize(
    'text, number',
    [
        ('+15551234567', '+15551234567'),
        ('+1 (555) 123-4567', '+15551234567'),
        ('001.555.123.4567', '+15551234567'),
        ('15551234567', '+15551234567'),
        ('\t+44 20 7123 4567 ', '+442071234567'),
        ('+123456789012345', '+123456789012345'),  # 15 digits: E.164's longest
        ('+1234567890123456', None),
        ('sip:alice@example.com', None),
        ('sip:+15551234567@example.com', None),  # a SIP URI is never read as the number inside it
        ('tel:+15551234567', None),
        ('anonymous', None),
        ('+1555123456x', None),
        ('1+555', None),
        ('++1555', None),
        ('+1555*', None),  # a glob is no number
        ('+١٥٥٥', None),  # Unicode digits are no number
        ('00', None),
        ('+', None),
        ('', None),
        (None, None),
        (15551234567, None),
        ('1' * 100, None),
    ],
)
def test_a_caller_is_read_in_e164_form_or_not_at_all(text, number):
    assert normalize_number(text) == number


@pytest.mark.parametrize(
    'text, pattern',
    [
        ('+1 555*', '+1555*'),
        ('0044 20*', '+4420*'),
        ('*1234', '+*1234'),
        ('+1-555-???-4567', '+1555???4567'),
        ('*', '+*'),
        ('sip:*', None),
        ('+1555[0-9]', None),
        ('+1555#', None),
        ('', None),
    ],
)
def test_a_pattern_is_normalised_as_a_number_keeping_its_wildcards(text, pattern):
    assert normalize_pattern(text) == pattern


def test_parse_patterns_names_the_option_and_the_bad_entry():
    assert parse_patterns(['+1 555*', '0044207'], 'caller_matches') == ['+1555*', '+44207']
    with pytest.raises(ValueError, match=r"^caller_matches: 'sip:x@y' is no caller number or glob"):
        parse_patterns(['+1555*', 'sip:x@y'], 'caller_matches')
    with pytest.raises(ValueError, match=r'^caller_matches: 15551234567 is not a string; quote every number'):
        parse_patterns([15551234567], 'caller_matches')
    for empty in ([], None, '+1555*'):
        with pytest.raises(ValueError, match='must be a non-empty list'):
            parse_patterns(empty, 'blocked_callers')


@pytest.mark.parametrize(
    'caller, matched',
    [
        ('+15551234567', '+15551234567'),
        ('1 555 999 0000', '+15559990000'),
        ('0015551234567', '+15551234567'),
        ('+4420712345', '+4420712345'),
        ('+4420712', None),  # ? is exactly one digit
        ('+15561234567', None),
        ('sip:+15551234567@example.com', None),
        (None, None),
    ],
)
def test_a_caller_matches_a_glob_in_its_e164_form(caller, matched):
    matcher = CallerMatcher(parse_patterns(['+1555*', '0044 207 ?? ?? ?'], 'caller_matches'))
    assert matcher.number_if_matched(caller) == matched


def test_a_star_alone_matches_every_number_and_nothing_else():
    matcher = CallerMatcher(parse_patterns(['*'], 'caller_matches'))
    assert matcher.number_if_matched('12') == '+12'
    assert matcher.number_if_matched('sip:bob@example.com') is None


@given(st.text(alphabet='0123456789 -.()+', max_size=30))
def test_normalising_is_idempotent_and_yields_e164_or_nothing(text):
    number = normalize_number(text)
    if number is not None:
        assert re.fullmatch(r'\+[0-9]{1,15}', number)
        assert normalize_number(number) == number
        assert CallerMatcher([number]).number_if_matched(text) == number  # a number always matches itself


@given(st.from_regex(r'\+[0-9]{1,15}', fullmatch=True))
def test_a_mask_shows_the_last_four_digits_at_most_and_never_the_number(number):
    masked = mask(number)
    digits = number[1:]
    assert len(masked) == len(number) and masked.startswith('+')
    if len(digits) > 4:
        assert masked.endswith(digits[-4:]) and masked[1:-4] == '*' * (len(digits) - 4)
    else:
        assert masked == '+' + '*' * len(digits)
    assert number not in masked


def test_mask_reads_any_form_and_shows_nothing_of_what_is_no_number():
    assert mask('+1 (555) 123-4567') == '+*******4567'
    assert mask('sip:alice@example.com') == NOT_A_NUMBER
    assert mask(None) == NOT_A_NUMBER
