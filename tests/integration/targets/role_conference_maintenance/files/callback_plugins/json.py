# -*- coding: utf-8 -*-
# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""A stand-in for the ``json`` stdout callback of ansible.posix, which ansible-core does not ship (and which these
tests cannot install): standard output is one JSON document, written at the end, with the results of every task
under ``plays[].tasks[].hosts``, the shape of ansible.posix's. What it checks is that nothing else reaches stdout."""

import json

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = '''
name: json
type: stdout
short_description: One JSON document on stdout (test stand-in for ansible.posix.json)
description:
  - Collects every task result and writes one JSON document at the end of the playbook.
'''


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = 'stdout'
    CALLBACK_NAME = 'json'

    def __init__(self, display=None):
        super().__init__(display)
        self.plays = []

    def v2_playbook_on_play_start(self, play):
        self.plays.append({'play': {'name': play.get_name()}, 'tasks': []})

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.plays[-1]['tasks'].append({'task': {'name': task.get_name()}, 'hosts': {}})

    def _record(self, result, **status):
        self.plays[-1]['tasks'][-1]['hosts'][result._host.get_name()] = dict(self._convert(result._result), **status)

    @staticmethod
    def _convert(value):
        return json.loads(json.dumps(value, default=str))

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result, failed=True)

    def v2_runner_on_skipped(self, result):
        self._record(result, skipped=True)

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        self._display.display(
            json.dumps(
                {'plays': self.plays, 'stats': {host: stats.summarize(host) for host in hosts}},
                indent=4,
                sort_keys=True,
            )
        )
