# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
name: summary_line
short_description: Print a machine-readable summary line on the controller's output
version_added: 0.2.0
description:
  - Turns a dictionary into one line, O(prefix), a space, and the dictionary as compact JSON, prints that line on the
    controller's standard output as it is (not inside a task result, so no quoting or escaping), and returns it.
  - The line is printed whatever the output callback hides, for example with C(ANSIBLE_DISPLAY_OK_HOSTS=false), so
    a CI job can always find it and read it with one C(json.loads) of what follows the prefix.
  - The JSON is ASCII (every other character escaped), so no text in the dictionary can put a line break of any kind
    into the line.
  - When the stdout callback writes one JSON document (C(ANSIBLE_STDOUT_CALLBACK) V(json), V(ansible.posix.json) or
    any other whose name holds V(json)), the line goes to standard error instead, so that standard output stays one
    parseable document; the dictionary is then in that document too, as the result of the task that called the lookup.
  - Used by the C(vobiz.voice.ci_teardown) playbook for its C(VOBIZ_TEARDOWN_SUMMARY) line.
author:
  - vobiz.voice maintainers (@vobiz)
options:
  _terms:
    description: The dictionaries to print, one line each.
    type: list
    elements: dict
    required: true
  prefix:
    description: The word the line starts with; letters, digits and underscores only.
    type: str
    required: true
'''

EXAMPLES = r'''
- name: Print the summary as one JSON line
  ansible.builtin.set_fact:
    printed: "{{ lookup('vobiz.voice.summary_line', {'status': 'ok', 'hung_up': ['ci-1']}, prefix='MY_SUMMARY') }}"
'''

RETURN = r'''
_raw:
  description: The lines printed.
  type: list
  elements: str
'''

import json
import re

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase
from ansible.utils.display import Display

display = Display()


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        prefix = self.get_option('prefix')
        if not re.match(r'^[A-Za-z0-9_]+$', prefix or ''):
            raise AnsibleError('summary_line: prefix must hold letters, digits and underscores only, not {0!r}'.format(prefix))
        lines = []
        for term in terms:
            if not isinstance(term, dict):
                raise AnsibleError('summary_line: each term must be a dictionary, not {0}'.format(type(term).__name__))
            # One line whatever the content: json.dumps escapes newlines inside strings.
            lines.append('{0} {1}'.format(prefix, json.dumps(term, sort_keys=True, ensure_ascii=True)))
        for line in lines:
            display.display(line, stderr=stdout_is_a_document())
        return lines


def stdout_is_a_document():
    """Whether the stdout callback writes a machine-read document (``json``, ``ansible.posix.json``, ``...jsonl``): a line
    of ours there would break it."""
    name = str(getattr(C, 'DEFAULT_STDOUT_CALLBACK', None) or '')
    return 'json' in name.rsplit('.', 1)[-1].lower()
