# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Which conferences a module acts on: name lists, ``match`` and ``exclude`` globs, ``Selection``, and the warning
texts.

PRIVATE: part of the vobiz.voice collection only; may change in any release.
"""

import difflib
import fnmatch
import re
import unicodedata

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._globs import broad_glob, matches_every_name
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import unescape_name
from ansible_collections.vobiz.voice.plugins.module_utils._registry import read_registry

#: Text that a shell, Ansible or Windows would have replaced: a pattern or name holding it was meant to hold a value.
#: ``%C3%`` and ``%A9t%`` in ``%C3%A9t%C3%A9`` are percent-encodings: a ``%`` then two hex digits is one unless what
#: follows up to the next ``%`` is an upper-case variable name (``%DEPLOY_ENV%``).
UNEXPANDED = re.compile(
    r'\$\{[^}]*\}|\$\([^)]*\)|\{\{.*?\}\}|%(?![0-9A-Fa-f]{2}(?:%|[A-Za-z0-9_]*[a-z]))[A-Za-z_][A-Za-z0-9_]*%'
)

LIST_MAY_LIE_WARNING = (
    'The Vobiz conference list {how}. Vobiz has been seen listing no rooms while some were live, so {consequence}'
)


#: The selector options that are not lists of names: their argument spec.
_OTHER_SELECTORS = dict(names_escaped=dict(type='bool', default=False), registry=dict(type='path'))


def selection_options(*names):
    """The argument spec of the selector options ``names`` (of ``name``, ``match``, ``exclude``, ``names_escaped``,
    ``registry``).

    ``type='raw'`` because a string is one entry, commas included (see ``normalize_name_list``); ``names_escaped`` is
    a bool, ``registry`` a path. The options are documented once, in the ``vobiz.voice.selection`` doc fragments.
    """
    return dict((name, dict(_OTHER_SELECTORS.get(name) or dict(type='raw'))) for name in names)


def registry_from_params(params):
    """The rooms of the event source's registry that option ``registry`` names (``_registry.read_registry``), or
    ``None`` without it; ``VobizInputError`` naming ``registry`` and the path when it cannot be read."""
    return read_registry(params['registry']) if params.get('registry') else None


def normalize_name_list(value, option, escaped=False):
    """Normalise a ``type='raw'`` option holding conference names or globs.

    A string is ONE entry (commas are part of it: ``"Smith, John"`` is one name); a list must hold
    non-empty strings. Duplicates are dropped, order kept. ``None`` stays ``None``. ``escaped``: the entries are
    names as the modules return them (``escape_name``), unescaped here; they came from the API, so a text that looks
    like an unexpanded variable is a name, not a mistake.
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
            '{0} must be a string or a list of strings, got {1} (quote names that look like numbers)'.format(
                option, type(value).__name__
            ),
            option=option,
        )
    if not values:
        raise VobizInputError('{0} must not be an empty list'.format(option), option=option)
    result = []
    seen = set()
    for index, entry in enumerate(values):
        if not isinstance(entry, str):
            raise VobizInputError(
                '{0}[{1}] must be a string, got {2} (quote names that look like numbers)'.format(
                    option, index, type(entry).__name__
                ),
                option=option,
            )
        if not entry:
            raise VobizInputError(
                '{0} must not contain an empty string (entry {1})'.format(option, index), option=option
            )
        try:
            entry.encode('utf-8')
        except UnicodeEncodeError:
            raise VobizInputError('{0}[{1}] is not valid Unicode text'.format(option, index), option=option)
        if escaped:
            try:
                entry = unescape_name(entry)
            except ValueError as exc:
                raise VobizInputError(
                    '{0}[{1}] is not an escaped name (names_escaped is true): {2}'.format(option, index, exc),
                    option=option,
                )
        unexpanded = None if escaped else UNEXPANDED.search(entry)
        if unexpanded:
            raise VobizInputError(
                '{0}[{1}] holds {2!r}, a variable that was never expanded '
                '(a shell, Ansible or Windows would have replaced it); '
                'refusing: it would select no conference, or the wrong ones. Pass the value itself.'.format(
                    option, index, unexpanded.group(0)
                ),
                option=option,
            )
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
        raise VobizInputError(
            '{0} must be "all" or a non-empty list of member ids (no empty ids, and "all" alone)'.format(option),
            option=option,
        )
    return 'all' if ids == ['all'] else ids


def matches_any(name, patterns):
    """Shell-style, case-sensitive glob match (``fnmatch.fnmatchcase``); ``/`` is an ordinary character."""
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns or ())


def matches_any_name(pattern, names):
    """Does the glob ``pattern`` match any of ``names``?"""
    return any(fnmatch.fnmatchcase(name, pattern) for name in names or ())


def _invisible(char):
    """Format characters (category Cf: zero-width, bidi marks, soft hyphen, invisible operators, BOM...) and variation
    selectors: nothing a reader sees, so nothing that may tell a protected name from another."""
    code = ord(char)
    return (
        unicodedata.category(char) == 'Cf'
        or 0xFE00 <= code <= 0xFE0F
        or 0xE0100 <= code <= 0xE01EF
        or 0x180B <= code <= 0x180F
        or code == 0x034F  # combining grapheme joiner
    )


def normalize_for_exclude(text):
    """NFC-normalised ``text`` without invisible characters (``_invisible``): how ``exclude`` also compares, to err on
    protecting."""
    return ''.join(char for char in unicodedata.normalize('NFC', text) if not _invisible(char))


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
        '(format characters such as zero-width spaces, bidi marks and soft hyphens, and variation selectors) are '
        'ignored: it was not touched. Check the spelling in exclude.'
    ).format(name)


def refuse_match_everything(match, all_option='all'):
    """Raise ``VobizInputError`` when the ``match`` globs together select every conference: that is ``all``'s job.

    Decided by what the globs match (``matches_every_name``), not by their spelling: ``*``, ``?*``, ``[!\\uffff]*``,
    ``["[a-m]*", "[!a-m]*"]``... Returns the warnings for globs that select nearly everything (``broad_glob``).
    """
    verdict = matches_every_name(match)
    if verdict or verdict is None:
        shown = ', '.join(repr(pattern) for pattern in match)
        raise VobizInputError(
            'match {0} {1} (as "${{PREFIX}}*" does when the prefix is empty); refusing. '
            'To hang up every live conference, set {2}=true instead.'.format(
                shown,
                'selects every conference'
                if verdict
                else 'is too intricate to check against selecting every conference',
                all_option,
            ),
            option='match',
            also=(all_option,),
        )
    return [
        'match {0!r} selects nearly every conference (every name of the right length, except those a negated set '
        'such as [!c] leaves out); check that this is meant.'.format(pattern)
        for pattern in match
        if broad_glob(pattern)
    ]


class Selection:
    """Which conferences a module acts on: ``name`` + ``match`` + ``exclude`` (+ ``all``).

    * ``name``: exact, case-sensitive names;
    * ``match``: globs applied to the live list (one ``GET Conference/``);
    * ``exclude``: names or globs never touched, applied after ``match`` AND to explicit names; an
      entry equal to a name protects it even if it holds glob characters, and so does a match after
      NFC normalisation without invisible characters (then ``warnings`` says so);
    * ``all``: every live conference; exclusive with the other three;
    * ``registry``: the rooms of the event source's registry (``_registry.read_registry``, by name): ``match`` selects
      among those the live list omitted too (a hint: the API decides whether each is live), in ``from_registry``.
    """

    def __init__(self, names=None, match=None, exclude=None, all_conferences=False, registry=None):
        self.names = names or []
        self.match = match or []
        self.exclude = exclude or []
        self.all = bool(all_conferences)
        self.registry = registry or {}
        #: The names the last ``resolve`` selected only because the registry named them (the live list did not).
        self.from_registry = []
        #: Warnings about the input (globs that select nearly everything), repeated by every ``resolve``.
        self.input_warnings = []
        #: Warnings from the last ``resolve`` (and ``input_warnings``): names that only a normalised ``exclude``
        #: comparison protected.
        self.warnings = []

    @classmethod
    def from_params(cls, params, name_option='name', all_option='all', policy=False):
        """Validate the selector options; raises ``VobizInputError`` naming the option. Sends nothing.

        ``policy``: a selection policy (``running_longer_than``, ``members_at_most``) filters the
        candidates, so without ``name`` or ``match`` every live conference is a candidate.
        """
        names = normalize_name_list(params.get(name_option), name_option, escaped=bool(params.get('names_escaped')))
        match = normalize_name_list(params.get('match'), 'match')
        exclude = normalize_name_list(params.get('exclude'), 'exclude')
        all_conferences = bool(params.get(all_option)) if all_option else False
        if params.get('registry') and (all_conferences or not (match or policy)):
            refused = f'cannot be combined with {all_option}=true' if all_conferences else 'needs match'
            raise VobizInputError(
                f'registry {refused}: it adds the rooms of the registry that the globs of match select',
                option='registry',
                also=(all_option,) if all_conferences else ('match',),
            )
        registry = registry_from_params(params)
        if all_conferences:
            for option, value in ((name_option, names), ('match', match), ('exclude', exclude)):
                if value is not None:
                    alone = '{0}=true cannot be combined with {1}: {0} hangs up every live conference with one call'
                    raise VobizInputError(
                        alone.format(all_option, option),
                        option=all_option,
                        also=(option,),
                    )
        elif not names and not match and policy:
            # Not a user's glob (which may not select everything): the policy decides what is selected.
            return cls(None, ['*'], exclude, False, registry)
        elif not names and not match:
            raise VobizInputError(
                'no conference selected: set {0} (exact names), match (globs on the live list){1}'.format(
                    name_option, ' or {0}=true'.format(all_option) if all_option else ''
                ),
                option=name_option,
                also=('match',) + ((all_option,) if all_option else ()),
            )
        selection = cls(names, match, exclude, all_conferences, registry)
        if all_option and match:
            selection.input_warnings = refuse_match_everything(match, all_option)
        return selection

    def list_consequence(self, check_mode):
        """What an empty or unreadable live list means for a run of this selection (see ``list_warning``)."""
        regardless = 'the hang-up of all conferences'
        if not self.all:
            return 'match may have missed rooms.'
        if check_mode:
            return f'this dry run cannot tell whether any room is live; a real run sends {regardless} regardless.'
        return f'rooms may have been hung up regardless: {regardless} was sent anyway.'

    def nothing_selected(self, excluded):
        """The message of a run that selected nothing to act on (``excluded``: the names ``exclude`` protected)."""
        if self.match and not self.names:
            return 'No live conference matched {0}; nothing to do.'.format(', '.join(self.match))
        return 'Nothing to do: every selected conference is excluded.' if excluded else None

    def unmatched(self, live_names):
        """The ``match`` globs that matched none of ``live_names`` and none of the registry's rooms."""
        names = list(live_names or ()) + list(self.registry)
        return [pattern for pattern in self.match if not matches_any_name(pattern, names)]

    def covers(self, name):
        """Does this selection take ``name`` when a source names it (every name when nothing is selected)?"""
        return name in self.names or matches_any(name, self.match) or not (self.names or self.match or self.all)

    def unlisted(self, live_names):
        """The registry's rooms that ``live_names`` omits: ``(those to read, those exclude protects)``."""
        listed = set(live_names or ())
        names = [name for name in self.registry if name not in listed]
        protected = [name for name in names if exclusion_match(name, self.exclude)]
        return [name for name in names if name not in protected], protected

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
        self.warnings = list(self.input_warnings)
        self.from_registry = []
        targets = []
        excluded = []
        excluded_explicit = []
        seen = set()
        candidates = [(n, True) for n in self.names]
        if self.all:
            candidates.extend((n, False) for n in live_names or ())
        elif self.match:
            candidates.extend((n, False) for n in live_names or () if matches_any(n, self.match))
            listed = set(live_names or ()).union(self.names)
            self.from_registry = [n for n in self.registry if n not in listed and matches_any(n, self.match)]
            candidates.extend((n, False) for n in self.from_registry)
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
        chosen = set(targets)
        self.from_registry = [name for name in self.from_registry if name in chosen]
        return targets, excluded, excluded_explicit


def closest_names(words, live_names):
    """For each of ``words`` (a name that is not live, a glob that matched nothing), the closest live names (up to
    three, by similarity: ``difflib``), to tell a typo; words with none are left out."""
    closest = ((word, difflib.get_close_matches(word, live_names, n=3, cutoff=0.6)) for word in words)
    return dict((word, names) for word, names in closest if names)


def excluded_name_warning(name, option='name'):
    return 'Conference {0!r} is listed in {1} but matches exclude: it was not touched.'.format(name, option)


def list_warning(problem, consequence):
    """The warning for an empty or unreadable conference list.

    ``problem``: ``'empty'`` or ``'unreadable'``. ``consequence``: what it means for this run,
    e.g. ``'match may have missed rooms.'``.
    """
    how = 'came back empty' if problem == 'empty' else 'could not be read (the answer held no list of names)'
    return LIST_MAY_LIE_WARNING.format(how=how, consequence=consequence)
