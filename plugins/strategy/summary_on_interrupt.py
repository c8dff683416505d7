# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
name: summary_on_interrupt
short_description: The linear strategy, and after Ctrl-C a summary of what the hang-up did
version_added: 0.2.0
description:
  - Runs the play's tasks exactly as P(ansible.builtin.linear#strategy) does.
  - When C(ansible-playbook) is interrupted with SIGINT (Ctrl-C in a terminal, or a CI job cancelled), Ansible stops
    at once with C(User interrupted execution) and exit code 99. No later task, C(always) section or callback runs,
    so the play cannot say what it did. This strategy says it first, for each host of the play.
  - For a host whose M(vobiz.voice.vobiz_conference) task with O(vobiz.voice.vobiz_conference#module:summary_file)
    was started in this play, it waits until that task has written its final summary (the module stops within about
    a second of the signal and writes it before it exits). Then it prints the counts (hung up, already absent, gone
    without proof of who ended them, uncertain, failed, not started, excluded) and the summary's message.
  - The wait only guards against a module that never finishes. It ends after 300 seconds, or at once with a second
    Ctrl-C; the summary is then printed as it is, and its status V(running) says that the module had not finished.
  - For a host whose hang-up had not started, it says that no conference was hung up, and that the rooms an
    announcement reached are still live when one was sent. For a hang-up without
    O(vobiz.voice.vobiz_conference#module:summary_file), it says that only the audit log can tell.
  - A play that started no task of this collection (and sets no C(vobiz_summary_line_prefix)) runs and stops exactly
    as with P(ansible.builtin.linear#strategy).
  - When the play's C(vars) set C(vobiz_summary_line_prefix) to a word such as C(VOBIZ_TEARDOWN_SUMMARY), it also
    prints each summary as one line, that word, a space and the summary as JSON, as the
    P(vobiz.voice.summary_line#lookup) lookup prints it at the end of a run that was not interrupted.
  - Everything goes to standard output, or to standard error when the stdout callback writes one JSON document, as
    with the lookup. Names are printed as the module returns them (escaped), and no text can put a line break into
    a line. Then Ansible stops as it would have, with exit code 99.
  - Choose it for a run with E(ANSIBLE_STRATEGY=vobiz.voice.summary_on_interrupt) (or C(strategy) in the
    C([defaults]) section of C(ansible.cfg)), or for a play with its keyword C(strategy). The
    C(vobiz.voice.ci_teardown) and C(vobiz.voice.maintenance_window) playbooks write the summary files it reads, and
    C(ci_teardown) sets C(vobiz_summary_line_prefix); they do not choose it themselves (see the notes).
notes:
  - ansible-core 2.19 and later print a deprecation warning for every strategy plugin that is not part of
    ansible-core, this one included, on every run that uses it, and say that they may drop such plugins. That is why
    the collection's playbooks leave the choice to you.
  - SIGTERM and SIGKILL end C(ansible-playbook) without running any Python code, so nothing can be printed then. The
    summary file still tells what happened (see O(vobiz.voice.vobiz_conference#module:summary_file), and the
    C(ci_teardown) guide for a CI step that prints it when a job is cancelled).
author:
  - vobiz.voice maintainers (@vobiz)
'''

import json
import os
import signal
import time

from ansible import constants as C
from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule
from ansible.template import Templar

from ansible_collections.vobiz.voice.plugins.module_utils._audit import outcome_summary
from ansible_collections.vobiz.voice.plugins.plugin_utils._summary_line import show, summary_line

#: The actions of this collection: a play that started none of them gets no report.
COLLECTION_PREFIX = 'vobiz.voice.'
#: The module whose ``summary_file`` this strategy reports.
HANG_UP_ACTION = 'vobiz.voice.vobiz_conference'
#: The module that announces before a hang-up: rooms it reached stay live when the run stops before the hang-up.
ANNOUNCE_ACTION = 'vobiz.voice.vobiz_conference_announce'
#: How long to wait for a module to write its final summary after the interrupt (seconds): only a guard against a
#: module that never finishes; the module itself stops within about a second.
SUMMARY_WAIT_SECONDS = 300
#: How often to look at the summary file meanwhile (seconds).
POLL_SECONDS = 0.1
#: The variable a play sets to have each summary printed as one machine-read line too.
PREFIX_VARIABLE = 'vobiz_summary_line_prefix'
#: The counts shown, in order, with their label.
COUNTS = (
    ('hung_up', 'hung up'),
    ('already_absent', 'already absent'),
    ('gone_unconfirmed', 'gone (whether this run ended them is unknown)'),
    ('uncertain', 'uncertain'),
    ('failed', 'failed'),
    ('not_started', 'not started'),
    ('excluded', 'excluded'),
)


class StrategyModule(LinearStrategyModule):
    """``linear``, plus: on KeyboardInterrupt (SIGINT), print what each host's hang-up did, then re-raise."""

    def __init__(self, tqm):
        super().__init__(tqm)
        #: host name -> (summary file, its state when the hang-up was started): the last hang-up of the host in this
        #: play.
        self._hang_ups = {}
        #: The hosts an announcement was started for in this play.
        self._announced = set()
        #: Whether this play started any task of this collection: a play that did not gets no report.
        self._vobiz_play = False

    def _queue_task(self, host, task, task_vars, play_context):
        # Noted before the worker starts: the module cannot have written anything yet.
        # (An action given as a template is resolved only in the worker: none of ours is.)
        action = None if '{' in str(task.action) else task.resolved_action
        self._vobiz_play = self._vobiz_play or str(action).startswith(COLLECTION_PREFIX)
        if action == HANG_UP_ACTION:
            path = summary_file(self._loader, task, task_vars)
            if path:
                self._hang_ups[host.name] = (path, file_state(path))
            elif not in_check_mode(task, play_context):  # a hang-up without a summary file (a dry run only reads)
                self._hang_ups[host.name] = (None, None)
        elif action == ANNOUNCE_ACTION:
            self._announced.add(host.name)
        return super()._queue_task(host, task, task_vars, play_context)

    def run(self, iterator, play_context):
        try:
            return super().run(iterator, play_context)
        except KeyboardInterrupt:
            try:
                self._report_interrupt(iterator, play_context)
            except Exception as exc:  # pylint: disable=broad-except
                # Never let the report replace the interrupt (and its exit code 99).
                show(
                    'vobiz.voice: could not say what the hang-up did: {0}: {1}'.format(
                        type(exc).__name__, printable(str(exc))
                    ),
                    C.COLOR_ERROR,
                )
            raise

    def _report_interrupt(self, iterator, play_context):
        prefix = iterator._play.vars.get(PREFIX_VARIABLE)
        if not (self._vobiz_play or prefix):
            return  # not a play of ours (the strategy may be chosen for every play, with ANSIBLE_STRATEGY)
        show('')  # after the ^C the terminal echoed
        hosts = self._hosts_cache or sorted(self._hang_ups)
        # A hang-up whose result has not come back may still be running: it writes its summary when it stops.
        summaries = self._wait_for_summaries(
            [name for name in hosts if self._hang_ups.get(name, (None,))[0] and self._blocked_hosts.get(name)]
        )
        for name in hosts:
            if name in self._hang_ups:
                path, before = self._hang_ups[name]
                if path is None:
                    show(
                        '{0}: the hang-up has no summary_file: its audit log, if it has one, says what it did.'.format(
                            printable(name)
                        ),
                        C.COLOR_ERROR,
                    )
                    continue
                summary = summaries.get(name) or read_summary(path, before)
                if summary is None:
                    show(
                        '{0}: the hang-up wrote no summary to {1}; its audit log has what it recorded.'.format(
                            printable(name), printable(path)
                        ),
                        C.COLOR_ERROR,
                    )
                    continue
                show(describe(name, summary), C.COLOR_WARN)
            else:
                message = 'Interrupted before the hang-up started: no conference was hung up.'
                if name in self._announced:
                    message += (
                        ' An announcement was sent or started: the rooms it reached are still live '
                        '(its audit log names them).'
                    )
                summary = outcome_summary({}, getattr(play_context, 'check_mode', False), message, interrupted=True)
                show('{0}: {1}'.format(printable(name), message), C.COLOR_WARN)
            if prefix:
                show(summary_line(str(prefix), summary))

    def _wait_for_summaries(self, names):
        """The final summary of each host's hang-up in flight, waiting for it; a second Ctrl-C stops the wait."""
        found = {}
        if not names:
            return found
        show(
            'Interrupted: waiting for the hang-up to stop and write its summary (Ctrl-C again to stop waiting) ...',
            C.COLOR_WARN,
        )
        # ansible-core 2.19+ left SIGINT at SIG_DFL (a second Ctrl-C would kill this process before it prints anything):
        # a second Ctrl-C only ends the wait here.
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
        try:
            deadline = time.monotonic() + SUMMARY_WAIT_SECONDS
            while True:
                for name in names:
                    if name not in found:
                        summary = read_summary(*self._hang_ups[name])
                        if summary is not None and summary.get('status') != 'running':
                            found[name] = summary
                if len(found) == len(names) or time.monotonic() >= deadline:
                    break
                time.sleep(POLL_SECONDS)
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGINT, previous if previous is not None else signal.SIG_DFL)
        return found


def summary_file(loader, task, task_vars):
    """The summary file a hang-up task writes (its ``summary_file``, templated as the worker will), or None."""
    if 'summary_file' not in task.args:
        return None
    try:
        path = Templar(loader=loader, variables=task_vars).template(task.args['summary_file'])
    except Exception:  # pylint: disable=broad-except
        return None  # the worker reports it; nothing to wait for
    if not isinstance(path, str) or not path or path.startswith('__omit_place_holder__'):
        return None
    return os.path.abspath(os.path.expanduser(path))


def in_check_mode(task, play_context):
    """Whether the task runs in check mode: its own keyword when it is set, else the run's ``--check``."""
    keyword = getattr(task, 'check_mode', None)
    return keyword if isinstance(keyword, bool) else bool(getattr(play_context, 'check_mode', False))


def file_state(path):
    """What tells one version of a file from the next (the module replaces it whole, by a rename), or None."""
    try:
        status = os.stat(path)
    except OSError:
        return None
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


def read_summary(path, before):
    """The summary in ``path`` if it was written since ``before`` (its state when the hang-up started), else None."""
    if file_state(path) in (None, before):
        return None
    try:
        with open(path, encoding='utf-8') as handle:
            summary = json.load(handle)
    except (OSError, ValueError):
        return None  # not there, or being replaced: read again
    return summary if isinstance(summary, dict) else None


def describe(host, summary):
    """One line for people: the host, every count, the status and the message."""
    counts = summary.get('counts') or {}
    predicted = bool(summary.get('check_mode'))
    shown = ', '.join(
        '{0} {1}'.format(
            'would hang up' if predicted and key == 'hung_up' else label, counts.get(key, len(summary.get(key) or []))
        )
        for key, label in COUNTS
    )
    mode = ' (check mode: predictions)' if predicted else ''
    return '{0}: {1}{2}; status {3}. {4}'.format(
        printable(host),
        shown,
        mode,
        printable(str(summary.get('status'))),
        printable(str(summary.get('message') or '')),
    )


def printable(text):
    """``text`` with every character that cannot be shown (line breaks of every kind, controls, format characters)
    escaped as Python writes it, so that nothing can break or forge a line."""
    if text.isprintable():
        return text
    return ''.join(char if char.isprintable() else char.encode('unicode_escape').decode('ascii') for char in text)
