# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The options that select conferences, documented once: name and match (vobiz.voice.selection), and
    # exclude (vobiz.voice.selection.exclude) for the modules that change conferences.
    # The argument spec lives in plugins/module_utils/_selection.py (selection_options()); Selection applies them.
    DOCUMENTATION = r'''
options:
  name:
    description:
      - Exact, case-sensitive names of the conferences.
      - A string is B(one) name, commas included (V(Smith, John) is one conference); give a list for several.
      - Names are sent percent-encoded, so any text is a valid name (spaces, V(/), V(?), V(#), V(%), V(.), V(..),
        Unicode).
      - Can be combined with O(match).
    type: raw
  match:
    description:
      - Shell-style globs (V(*), V(?), V([seq])) matched case-sensitively against the names of the live conferences,
        as listed by one C(GET) of the conference list. V(ci-*) selects V(ci-42) but neither V(prod-ci-3) nor
        V(CI-upper).
      - A string is one glob; give a list for several. A conference is selected when any glob matches it.
      - Vobiz has been seen listing no rooms while some were live; the module warns when the list comes back empty
        or unreadable, because O(match) may then miss rooms.
      - Selecting nothing is not an error (C(changed=false)).
      - A name or glob (in O(name) and O(match), and in C(exclude) where a module has it) holding a variable that was
        never expanded (V(${...}), V($(...)), V({{...}}), V(%VAR%)) is refused before any request.
    type: raw
'''

    # vobiz.voice.selection.exclude: together with the above.
    EXCLUDE = r'''
options:
  exclude:
    description:
      - Names or shell-style, case-sensitive globs of conferences that are never touched.
      - An entry equal to a name protects it even when the name contains glob characters (V(room[1])).
      - Exclusion errs on the side of protecting; a name is also protected when it equals or matches an entry once
        both are Unicode NFC-normalised and stripped of invisible characters (every format character, Unicode
        category Cf, such as zero-width characters, bidi marks, soft hyphens and the byte order mark, and the
        variation selectors). That draws a warning, because the texts differ.
      - Applied after O(match) B(and) to the names in O(name); an excluded name is skipped with a warning and
        returned in RV(excluded).
    type: raw
'''

    # vobiz.voice.selection.names_escaped: for the modules whose O(name) takes the names another task returned.
    NAMES_ESCAPED = r'''
options:
  names_escaped:
    description:
      - The entries of O(name) are names as the modules of this collection return them, which they unescape first.
      - Every module returns names escaped, so that Ansible can always carry them and no name puts a line break into
        an output line. A backslash is doubled, and each character that cannot be shown (controls, line breaks of
        every kind such as U+2028 and NEL, format characters, lone surrogates) is written as Python writes it
        (V(\\n), V(\\x85), V(\\u2028), V(\\ud800), V(\\U000e0041)). Other names are returned as they are.
      - Set it when O(name) comes from another task's result, for example the
        RV(vobiz.voice.vobiz_conference#module:hung_up) of a check-mode run that resolved the targets.
    type: bool
    default: false
    version_added: 0.2.0
'''

    # vobiz.voice.selection.registry: for the modules that also take the rooms of the event source's registry.
    REGISTRY = r'''
options:
  registry:
    description:
      - The state file of the event source C(vobiz.voice.conference_callbacks) (its C(state_file), the rulebook
        variable C(vobiz_state_file)), whose room registry names the rooms its callbacks told of. A leading V(~/) is the
        home directory.
      - Vobiz has been seen listing no rooms while some were live; the registry names rooms the list omitted. Its rooms
        are hints, never proof - each is read or acted on like a name the list gave, and the API decides whether it is
        live (a room that is gone answers V(404) and is reported as absent).
      - Only the rooms are read (name, UUID, when first seen and last heard of, and the member count where the source
        heard every member enter); not the nonces, nor the nonce journal beside the file.
      - A file that is missing (the source writes it within a second of the first callback it hears), not a regular
        file, larger than 64 MiB, not JSON, of another format version or holding a wrong value is refused before any
        request, naming this option and the path.
      - In M(vobiz.voice.vobiz_conference), it needs O(match) or a policy (such as
        O(vobiz.voice.vobiz_conference#module:running_longer_than)), and the globs also select the rooms of the
        registry that the live list omitted, returned in RV(vobiz.voice.vobiz_conference#module:from_registry) too.
        It cannot be combined with O(vobiz.voice.vobiz_conference#module:all) or
        O(vobiz.voice.vobiz_conference#module:plan).
      - In M(vobiz.voice.vobiz_conference_info), the rooms of the registry are returned beside those of the live list
        in RV(vobiz.voice.vobiz_conference_info#module:rooms), each marked with the sources that knew it. Without
        O(name) and O(match), the rooms the list omitted are retrieved (one C(GET) each) and, when live, returned in
        RV(vobiz.voice.vobiz_conference_info#module:names) and RV(vobiz.voice.vobiz_conference_info#module:conferences);
        with O(match), the globs select among them too.
    type: path
    version_added: 0.2.0
'''
