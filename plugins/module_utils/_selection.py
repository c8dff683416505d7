# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Which conferences a module acts on: name lists, ``match`` and ``exclude`` globs, ``Selection``, and the warning texts.

PRIVATE: part of the vobiz.voice collection only; may change in any release.
"""

import fnmatch
import unicodedata

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError

LIST_MAY_LIE_WARNING = 'The Vobiz conference list {how}. Vobiz has been seen listing no rooms while some were live, so {consequence}'


def selection_options(*names):
    """The argument spec of the selector options ``names`` (of ``name``, ``match``, ``exclude``): each a string or a list.

    ``type='raw'`` because a string is one entry, commas included (see ``normalize_name_list``);
    the options are documented once, in the ``vobiz.voice.selection`` doc fragment.
    """
    return dict((name, dict(type='raw')) for name in names)


def normalize_name_list(value, option):
    """Normalise a ``type='raw'`` option holding conference names or globs.

    A string is ONE entry (commas are part of it: ``"Smith, John"`` is one name); a list must hold
    non-empty strings. Duplicates are dropped, order kept. ``None`` stays ``None``.
    Raises ``VobizInputError`` naming ``option``.
    """
    if value is None:
        return None
    if isinstance(value, str):
        values = [value]
    elif isinstance(value, (list, tuple)):
        values = list(value)
    else:
        raise VobizInputError(
            '{0} must be a string or a list of strings, got {1} (quote names that look like numbers)'.format(option, type(value).__name__), option=option
        )
    if not values:
        raise VobizInputError('{0} must not be an empty list'.format(option), option=option)
    result = []
    seen = set()
    for index, entry in enumerate(values):
        if not isinstance(entry, str):
            raise VobizInputError(
                '{0}[{1}] must be a string, got {2} (quote names that look like numbers)'.format(option, index, type(entry).__name__), option=option
            )
        if not entry:
            raise VobizInputError('{0} must not contain an empty string (entry {1})'.format(option, index), option=option)
        try:
            entry.encode('utf-8')
        except UnicodeEncodeError:
            raise VobizInputError('{0}[{1}] is not valid Unicode text'.format(option, index), option=option)
        if entry not in seen:
            seen.add(entry)
            result.append(entry)
    return result


def normalize_member_ids(value, option):
    """A list of member ids (entries may hold ``'10,15'``) -> ``'all'`` or the ids without duplicates, order kept.

    Raises ``VobizInputError`` naming ``option`` for no id, an empty id, or ``all`` beside ids.
    """
    ids = list(dict.fromkeys(item.strip() for entry in value or () for item in str(entry).split(',')))
    if not ids or not all(ids) or ('all' in ids and len(ids) > 1):
        raise VobizInputError('{0} must be "all" or a non-empty list of member ids (no empty ids, and "all" alone)'.format(option), option=option)
    return 'all' if ids == ['all'] else ids


def matches_any(name, patterns):
    """Shell-style, case-sensitive glob match (``fnmatch.fnmatchcase``); ``/`` is an ordinary character."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns or ())


def matches_any_name(pattern, names):
    """Does the glob ``pattern`` match any of ``names``?"""
    return any(fnmatch.fnmatchcase(name, pattern) for name in names or ())


#: Characters that do not show: zero-width space, non-joiner, joiner, word joiner, byte order mark.
INVISIBLE_CHARACTERS = ('\u200b', '\u200c', '\u200d', '\u2060', '\ufeff')


def normalize_for_exclude(text):
    """NFC-normalised ``text`` without invisible characters: how ``exclude`` also compares, to err on protecting."""
    text = unicodedata.normalize('NFC', text)
    for char in INVISIBLE_CHARACTERS:
        text = text.replace(char, '')
    return text


def exclusion_match(name, patterns):
    """How ``exclude`` protects ``name``: ``'exact'``, ``'normalized'`` or ``None`` (not protected).

    An entry protects a name it equals (even one with glob characters, such as ``room[1]``) or
    matches as a glob. When neither holds, both sides are compared again NFC-normalised and
    without invisible characters (``'normalized'``: worth a warning, the texts differ).
    """
    patterns = patterns or ()
    if name in patterns or matches_any(name, patterns):
        return 'exact'
    normalized = normalize_for_exclude(name)
    for pattern in patterns:
        other = normalize_for_exclude(pattern)
        if normalized == other or fnmatch.fnmatchcase(normalized, other):
            return 'normalized'
    return None


def normalized_exclude_warning(name):
    return (
        'Conference {0!r} is protected by exclude only when Unicode normalisation (NFC) and invisible characters '
        '(zero-width, BOM) are ignored: it was not touched. Check the spelling in exclude.'
    ).format(name)


def matches_every_name(pattern):
    """True for a glob made of wildcards alone (``*``, ``**``, ``?*``, ``*?*``...): it selects every room.

    Names are never empty, so any mix of ``*`` and ``?`` with at least one ``*`` and at most one ``?``
    matches every name; with more ``?`` it still matches every name but the shortest, which is the
    same mistake (an empty prefix before ``*``), so every such pattern counts.
    """
    return '*' in pattern and not pattern.strip('*?')


def refuse_match_everything(match, all_option='all'):
    """Raise ``VobizInputError`` when a ``match`` glob is wildcards alone: selecting everything is ``all``'s job."""
    for pattern in match:
        if matches_every_name(pattern):
            raise VobizInputError(
                'match {0!r} selects every conference (a glob made of wildcards alone, as "${{PREFIX}}*" becomes when '
                'the prefix is empty); refusing. To hang up every live conference, set {1}=true instead.'.format(pattern, all_option),
                option='match',
            )


class Selection:
    """Which conferences a module acts on: ``name`` + ``match`` + ``exclude`` (+ ``all``).

    * ``name``: exact, case-sensitive names;
    * ``match``: globs applied to the live list (one ``GET Conference/``);
    * ``exclude``: names or globs never touched, applied after ``match`` AND to explicit names; an
      entry equal to a name protects it even if it holds glob characters, and so does a match after
      NFC normalisation without invisible characters (then ``warnings`` says so);
    * ``all``: every live conference; exclusive with the other three.
    """

    def __init__(self, names=None, match=None, exclude=None, all_conferences=False):
        self.names = names or []
        self.match = match or []
        self.exclude = exclude or []
        self.all = bool(all_conferences)
        #: Warnings from the last ``resolve`` (names that only a normalised ``exclude`` comparison protected).
        self.warnings = []

    @classmethod
    def from_params(cls, params, name_option='name', all_option='all', policy=False):
        """Validate the selector options; raises ``VobizInputError`` naming the option. Sends nothing.

        ``policy``: a selection policy (``running_longer_than``, ``members_at_most``) filters the
        candidates, so without ``name`` or ``match`` every live conference is a candidate.
        """
        names = normalize_name_list(params.get(name_option), name_option)
        match = normalize_name_list(params.get('match'), 'match')
        exclude = normalize_name_list(params.get('exclude'), 'exclude')
        all_conferences = bool(params.get(all_option)) if all_option else False
        if all_conferences:
            for option, value in ((name_option, names), ('match', match), ('exclude', exclude)):
                if value is not None:
                    raise VobizInputError(
                        '{0}=true cannot be combined with {1}: {0} hangs up every live conference with one call'.format(all_option, option), option=all_option
                    )
        elif not names and not match and policy:
            # Not a user's glob (which may not select everything): the policy decides what is selected.
            return cls(None, ['*'], exclude, False)
        elif not names and not match:
            raise VobizInputError(
                'no conference selected: set {0} (exact names), match (globs on the live list){1}'.format(
                    name_option, ' or {0}=true'.format(all_option) if all_option else ''
                ),
                option=name_option,
            )
        if all_option and match:
            refuse_match_everything(match, all_option)
        return cls(names, match, exclude, all_conferences)

    def unmatched(self, live_names):
        """The ``match`` globs that matched none of ``live_names``."""
        return [pattern for pattern in self.match if not matches_any_name(pattern, live_names)]

    @property
    def needs_list(self):
        """True when the live list must be read (``match`` or ``all``)."""
        return bool(self.match) or self.all

    def resolve(self, live_names=None):
        """Return ``(targets, excluded, excluded_explicit)``.

        ``targets``: explicit names then matched live names, without excluded ones, no duplicates;
        ``excluded``: every selected name that ``exclude`` protected; ``excluded_explicit``: those
        of them that were named explicitly (worth a warning). Names protected only by the normalised
        comparison get a warning in ``self.warnings``.
        """
        self.warnings = []
        targets = []
        excluded = []
        excluded_explicit = []
        seen = set()
        candidates = [(n, True) for n in self.names]
        if self.all:
            candidates.extend((n, False) for n in live_names or ())
        elif self.match:
            candidates.extend((n, False) for n in live_names or () if matches_any(n, self.match))
        for name, explicit in candidates:
            if name in seen:
                continue
            seen.add(name)
            protected = exclusion_match(name, self.exclude)
            if protected:
                if protected == 'normalized':
                    self.warnings.append(normalized_exclude_warning(name))
                excluded.append(name)
                if explicit:
                    excluded_explicit.append(name)
            else:
                targets.append(name)
        return targets, excluded, excluded_explicit


def excluded_name_warning(name, option='name'):
    return 'Conference {0!r} is listed in {1} but matches exclude: it was not touched.'.format(name, option)


def list_warning(problem, consequence):
    """The warning for an empty or unreadable conference list.

    ``problem``: ``'empty'`` or ``'unreadable'``. ``consequence``: what it means for this run,
    e.g. ``'match may have missed rooms.'``.
    """
    how = 'came back empty' if problem == 'empty' else 'could not be read (the answer held no list of names)'
    return LIST_MAY_LIE_WARNING.format(how=how, consequence=consequence)
