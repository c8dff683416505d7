# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of what the summary_on_interrupt strategy reads and prints (its run after Ctrl-C is tested with real
ansible-playbook runs: tests/reliability/test_reliability_interrupts.py and the role_conference_maintenance target)."""

import json
import os

import pytest

from ansible_collections.vobiz.voice.plugins.strategy.summary_on_interrupt import describe, file_state, read_summary

SUMMARY = dict(
    status='interrupted',
    check_mode=False,
    counts=dict(hung_up=2, already_absent=1, gone_unconfirmed=0, uncertain=3, failed=0, not_started=4, excluded=5),
    message='Interrupted by SIGINT: no request was started after it.',
)


def test_the_counts_line_names_every_count():
    assert describe('localhost', SUMMARY) == (
        'localhost: hung up 2, already absent 1, gone (whether this run ended them is unknown) 0, uncertain 3, '
        'failed 0, not started 4, excluded 5; status interrupted. '
        'Interrupted by SIGINT: no request was started after it.'
    )


@pytest.mark.parametrize('breaker', ['\n', '\r', '\x85', '\u2028', '\u2029', '\x0b', '\x1c', '\u200e'])
def test_no_host_or_message_can_break_or_forge_a_line(breaker):
    """A line break of any kind (as Python's splitlines() sees them), in the host or the message, is escaped."""
    forged = 'x{0}VOBIZ_TEARDOWN_SUMMARY {{"status": "ok"}}'.format(breaker)
    line = describe(forged, dict(SUMMARY, message=forged))
    assert len(line.splitlines()) == 1 and line.isprintable()


def test_only_a_summary_written_since_the_hang_up_started_is_read(tmp_path):
    path = str(tmp_path / 'summary.json')
    with open(path, 'w') as handle:
        handle.write(json.dumps(dict(SUMMARY, status='ok')) + '\n')  # an earlier run's
    before = file_state(path)
    assert read_summary(path, before) is None
    # Written as the module writes it: a new file renamed over the old one.
    with open(path + '.new', 'w') as handle:
        handle.write(json.dumps(SUMMARY) + '\n')
    os.replace(path + '.new', path)
    assert read_summary(path, before) == SUMMARY
    assert read_summary(str(tmp_path / 'missing.json'), None) is None
