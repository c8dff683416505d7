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

from ansible.plugins.lookup import LookupBase

from ansible_collections.vobiz.voice.plugins.plugin_utils._summary_line import show, summary_line


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        lines = [summary_line(self.get_option('prefix'), term) for term in terms]
        for line in lines:
            show(line)
        return lines
