# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 11: every invalid option combination of every module fails with an error naming the option, before any request.

(The role's invalid combinations are run for real in the integration target ``bad_input_role``.)
"""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.vobiz.voice.tests.reliability.helpers import MODULES, TOKEN
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import (
    BAD_CONNECTION_VALUES,
    module_args,
    run_module,
)

MISSING = object()

#: Valid arguments of each module besides the connection; each bad case changes them.
BASE = {
    'vobiz_conference': dict(name='Board Room'),
    'vobiz_conference_info': dict(name='Board Room'),
    'vobiz_conference_announce': dict(name='Board Room', text='Closing.'),
    'vobiz_conference_member': dict(conference='Board Room', member_id=['1'], state='muted'),
}

#: Values of the wrong type for Ansible's argument spec, and an option no module has.
MISTYPED_OR_UNKNOWN = {
    'validate_certs': 'maybe',
    'timeout': 'soon',
    'retries': 'many',
    'parallel': 'x',
    'bogus_option': 1,
}

#: The connection options, shared by every module: (changes, option the message must name). The bad values are
#: the unit tests' table of connection rules; here come what only a module shows: required options, Ansible's
#: type checks and unknown options.
CONNECTION = (
    [
        (dict(auth_id=MISSING), 'auth_id'),
        (dict(auth_token=MISSING), 'auth_token'),
    ]
    + BAD_CONNECTION_VALUES
    # the message names the option that was changed
    + [({option: value}, option) for option, value in MISTYPED_OR_UNKNOWN.items()]
)

#: Each module's own options.
OWN = {
    'vobiz_conference': [
        (dict(name=MISSING), 'name'),
        (dict(name=[]), 'name'),
        (dict(name=['']), 'name'),
        (dict(name=''), 'name'),
        (dict(name=5), 'name'),
        (dict(name=[5]), 'name'),
        (dict(name={'Board Room': 1}), 'name'),
        (dict(name=['ok', None]), 'name'),
        (dict(name=MISSING, match=[]), 'match'),
        (dict(name=MISSING, match=''), 'match'),
        (dict(match=[1]), 'match'),
        (dict(exclude=[]), 'exclude'),
        (dict(exclude=7), 'exclude'),
        (dict(all=True), 'all'),
        (dict(name=MISSING, all=True, match='ci-*'), 'all'),
        (dict(name=MISSING, all=True, exclude='keep'), 'all'),
        (dict(all='sometimes'), 'all'),
        (dict(state='present'), 'state'),
        (dict(audit_log='/nonexistent/vobiz/audit.jsonl'), 'audit_log'),
        (dict(audit_log='/'), 'audit_log'),
    ],
    'vobiz_conference_info': [
        (dict(name=[]), 'name'),
        (dict(name=['']), 'name'),
        (dict(name=5), 'name'),
        (dict(name=MISSING, match=['']), 'match'),
        (dict(match=3), 'match'),
        (dict(all=True), 'all'),
        (dict(state='absent'), 'state'),
    ],
    'vobiz_conference_announce': [
        (dict(text=MISSING), 'text'),
        (dict(url='https://media.example.com/a.mp3'), 'text'),
        (dict(text=''), 'text'),
        (dict(text='   '), 'text'),
        (dict(text='x' * 1001), 'text'),
        (dict(text=MISSING, url='http://media.example.com/a.mp3'), 'url'),
        (dict(text=MISSING, url='not a url'), 'url'),
        (dict(text=MISSING, url='https://'), 'url'),
        (dict(text=MISSING, url='https://media.example.com/a b.mp3'), 'url'),
        (dict(text=MISSING, url='https://[::1/a.mp3'), 'url'),
        (dict(wait=-1), 'wait'),
        (dict(wait=3601), 'wait'),
        (dict(wait='nan'), 'wait'),
        (dict(wait='soon'), 'wait'),
        (dict(member=[]), 'member'),
        (dict(member=['all', '1']), 'member'),
        (dict(member=['']), 'member'),
        (dict(member=['1,,2']), 'member'),
        (dict(voice='ROBOT'), 'voice'),
        (dict(language=''), 'language'),
        (dict(name=MISSING), 'name'),
        (dict(name=[]), 'name'),
        (dict(exclude=[]), 'exclude'),
        (dict(all=True), 'all'),
        (dict(audit_log='/nonexistent/vobiz/audit.jsonl'), 'audit_log'),
    ],
    'vobiz_conference_member': [
        (dict(conference=MISSING), 'conference'),
        (dict(conference=''), 'conference'),
        (dict(member_id=MISSING), 'member_id'),
        (dict(member_id=[]), 'member_id'),
        (dict(member_id=['all', '3']), 'member_id'),
        (dict(member_id=['1,,2']), 'member_id'),
        (dict(member_id=['']), 'member_id'),
        (dict(state=MISSING), 'state'),
        (dict(state='present'), 'state'),
        (dict(name='Board Room'), 'name'),
    ],
}


def arguments(emu, module, changes):
    args = module_args(emu, **BASE[module])
    for key, value in changes.items():
        if value is MISSING:
            args.pop(key, None)
        else:
            args[key] = value
    return args


@pytest.mark.parametrize('module', sorted(MODULES))
@pytest.mark.parametrize('check_mode', [False, True], ids=['run', 'check'])
def test_every_invalid_combination_fails_before_any_request(emu, figures, no_vobiz_env, module, check_mode):  # pylint: disable=unused-argument
    emu.add_conference('Board Room', members=['1'])
    cases = CONNECTION + OWN[module]
    problems = []
    started = time.monotonic()
    for changes, option in cases:
        args = arguments(emu, module, changes)
        failed, result = run_module(MODULES[module], args, check_mode=check_mode)
        requests = emu.requests()
        emu.clear_log()
        shown = json.dumps(result)
        label = '{0} {1!r}'.format(module, dict((k, '<missing>' if v is MISSING else v) for k, v in changes.items()))[
            :160
        ]
        if not failed:
            problems.append('{0}: did not fail ({1})'.format(label, result.get('msg')))
        elif option not in (result.get('msg') or ''):
            problems.append('{0}: the message does not name {1!r}: {2}'.format(label, option, result.get('msg')))
        elif result.get('refused_options', [option])[0] != option:  # absent where Ansible itself refused
            refused = result['refused_options']
            problems.append('{0}: refused_options {1!r} does not start with {2!r}'.format(label, refused, option))
        if requests:
            problems.append('{0}: sent {1} request(s)'.format(label, len(requests)))
        if TOKEN in shown or 's3cr3t' in shown:
            problems.append('{0}: a secret shows in the result'.format(label))
    assert problems == []
    assert emu.live_names() == ['Board Room']
    if not check_mode:
        figures.record(
            '11',
            'bad input: ' + module,
            '{0} invalid combinations (+ the same in check mode)'.format(len(cases)),
            'none',
            0,
            0,
            0,
            0,
            time.monotonic() - started,
        )
