# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers for module unit tests: feed module args, catch exit_json/fail_json, run a module against the emulator."""

import contextlib
import json
from unittest.mock import patch

from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.vobiz.voice.tests.emulator.pytest_fixtures import EMULATOR_AUTH_ID as AUTH_ID
from ansible_collections.vobiz.voice.tests.emulator.pytest_fixtures import EMULATOR_AUTH_TOKEN as TOKEN

try:  # ansible-core >= 2.19
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19

    @contextlib.contextmanager
    def patch_module_args(args=None):
        """Set the module args the way ansible-core < 2.19 reads them."""
        serialized = to_bytes(json.dumps({'ANSIBLE_MODULE_ARGS': args or {}}))
        with patch.object(basic, '_ANSIBLE_ARGS', serialized):
            yield


class AnsibleExitJson(Exception):
    """Raised instead of exit_json; ``.result`` holds the module result."""

    def __init__(self, kwargs):
        super().__init__('exit_json')
        self.result = kwargs


class AnsibleFailJson(Exception):
    """Raised instead of fail_json; ``.result`` holds the module result."""

    def __init__(self, kwargs):
        super().__init__(kwargs.get('msg', 'fail_json'))
        self.result = kwargs


def _exit_json(self, **kwargs):  # pylint: disable=unused-argument
    kwargs.setdefault('changed', False)
    kwargs.setdefault('warnings', list(self._warnings) if hasattr(self, '_warnings') else [])
    raise AnsibleExitJson(kwargs)


def _fail_json(self, msg=None, **kwargs):  # pylint: disable=unused-argument
    kwargs['failed'] = True
    kwargs['msg'] = msg
    kwargs.setdefault('warnings', list(self._warnings) if hasattr(self, '_warnings') else [])
    raise AnsibleFailJson(kwargs)


def _collect_warn(self, warning):
    if not hasattr(self, '_warnings'):
        self._warnings = []
    self._warnings.append(warning)


def run_module(main, args, check_mode=False, diff=False):
    """Run a module's ``main()``; return ``(failed, result)``.

    ``result['warnings']`` holds what the module passed to ``module.warn``.
    """
    args = dict(args)
    if check_mode:
        args['_ansible_check_mode'] = True
    if diff:
        args['_ansible_diff'] = True
    with patch_module_args(args), patch.object(basic.AnsibleModule, 'exit_json', _exit_json), patch.object(
        basic.AnsibleModule, 'fail_json', _fail_json
    ), patch.object(basic.AnsibleModule, 'warn', _collect_warn):
        try:
            main()
        except AnsibleExitJson as exc:
            return False, exc.result
        except AnsibleFailJson as exc:
            return True, exc.result
    raise AssertionError('the module returned without calling exit_json or fail_json')


#: The conference path prefix of the test account (the emulator fixture's account).
PREFIX = '/api/v1/Account/MA_TEST/Conference/'

#: Conference names that a URL encoder easily gets wrong, and the one path segment each must become on the wire.
TRICKY = {
    'My Conf Room': 'My%20Conf%20Room',
    'Ünïcødé ☎': '%C3%9Cn%C3%AFc%C3%B8d%C3%A9%20%E2%98%8E',
    'a/b': 'a%2Fb',
    '?x': '%3Fx',
    '#frag': '%23frag',
    '100%': '100%25',
    'a;b': 'a%3Bb',
    'a+b': 'a%2Bb',
    'a,b': 'a%2Cb',
    '.': '%2E',
    '..': '%2E%2E',
    '...': '%2E%2E%2E',
    '%2E%2E': '%252E%252E',
}


def module_args(server, **kwargs):
    """The connection options for ``server`` (the emulator, or any stand-in with ``api_url``), plus ``kwargs``."""
    args = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=server.api_url)
    args.update(kwargs)
    return args


def run_against(main, server, check_mode=False, diff=False, **kwargs):
    """Run a module's ``main()`` against ``server`` with the test account's connection; ``(failed, result)``.

    A test file binds its module once: ``run = functools.partial(run_against, vobiz_conference.main)``.
    """
    return run_module(main, module_args(server, **kwargs), check_mode=check_mode, diff=diff)


#: Bad values of the connection options, each with the option the error must name. They are the rules that
#: ``validate_connection_params`` applies (tests/unit/plugins/module_utils/test__connection.py) and that every
#: module applies before any request (reliability case 11, tests/reliability/test_reliability_bad_input.py).
#: Each value already has its option's type, so both levels use the same rows.
BAD_CONNECTION_VALUES = [
    (dict(auth_id=''), 'auth_id'),
    (dict(auth_id='MA TEST'), 'auth_id'),
    (dict(auth_id='MA_TEST\n'), 'auth_id'),
    (dict(auth_token=''), 'auth_token'),
    (dict(auth_token='tok\r\nX-Injected: 1'), 'auth_token'),
    (dict(auth_token=TOKEN + '\n'), 'auth_token'),
    (dict(auth_token=' ' + TOKEN), 'auth_token'),
    (dict(auth_token=TOKEN + '\u00e9'), 'auth_token'),
    (dict(auth_token='tok\u260een'), 'auth_token'),
    (dict(api_url=''), 'api_url'),
    (dict(api_url='ftp://127.0.0.1/api/v1'), 'api_url'),
    (dict(api_url='127.0.0.1:8080/api/v1'), 'api_url'),
    (dict(api_url='https://user:s3cr3t@127.0.0.1/api/v1'), 'api_url'),
    (dict(api_url='https://127.0.0.1/api/v1?x=1'), 'api_url'),
    (dict(api_url='https://127.0.0.1/api/v1#frag'), 'api_url'),
    (dict(api_url='https:///api/v1'), 'api_url'),
    (dict(api_url='https://127.0.0.1:99999/api/v1'), 'api_url'),
    (dict(api_url='https://127.0.0.1/api v1'), 'api_url'),
    (dict(ca_path='/nonexistent/vobiz-ca.pem'), 'ca_path'),
    (dict(timeout=0), 'timeout'),
    (dict(timeout=-1), 'timeout'),
    (dict(timeout=float('nan')), 'timeout'),
    (dict(timeout=float('inf')), 'timeout'),
    (dict(retries=-1), 'retries'),
    (dict(retries=21), 'retries'),
    (dict(retry_max_wait=-1), 'retry_max_wait'),
    (dict(retry_max_wait=float('nan')), 'retry_max_wait'),
    (dict(parallel=0), 'parallel'),
    (dict(parallel=65), 'parallel'),
]


def write_registry(path, names, members=None):
    """A state file of the event source at ``path`` (format version 1) whose registry holds the rooms ``names``, each
    first heard of at 1000.0 and last at 1010.0; ``members``: their member counts by name (unknown to it otherwise).
    Its format is checked against the source's own writer in ``test__registry.py``."""
    rooms = []
    for name in names:
        present = [str(index) for index in range((members or {}).get(name, 0))]
        known = name in (members or {})
        room = dict(name=name, uuid='U-' + name, first_seen=1000.0, last_heard=1010.0, present=present, left=[])
        rooms.append(dict(room, emitted=dict(overdue=[], lonely=[]), members_known=known))
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(dict(version=1, saved_at=1010.0, rooms=rooms, ended=[], nonces={'n': 1000}), handle)
    return str(path)
