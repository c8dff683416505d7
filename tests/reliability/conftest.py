# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the reliability suite, and its figures table.

Every case records one or more rows (``figures.record(...)``). A row is appended as one JSON line
to a file that the controlling pytest process creates in ``pytest_configure`` and hands to the
pytest-xdist workers (and to ansible-test's per-test forks) through the ``VOBIZ_RELIABILITY_ROWS``
environment variable. The controller (the process without ``workerinput``) prints the rows as a
Markdown table in ``pytest_terminal_summary`` and writes the table to ``VOBIZ_FIGURES_FILE``, or by
default to ``tests/output/reliability-figures.md`` in the collection.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import tempfile
import threading

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api

# pytest finds fixtures by their names in a conftest module, so importing them is how they are shared.
from ansible_collections.vobiz.voice.tests.emulator.pytest_fixtures import make_emulator  # noqa: F401  pylint: disable=unused-import

ROWS_ENV = 'VOBIZ_RELIABILITY_ROWS'
FIGURES_ENV = 'VOBIZ_FIGURES_FILE'
COLLECTION_ROOT = pathlib.Path(__file__).resolve().parents[2]
COLUMNS = ('case', 'load', 'faults injected', 'requests sent', 'rooms hung up / expected', 'lost', 'time')


def _is_worker(config):
    return hasattr(config, 'workerinput')


def pytest_configure(config):
    """In the controller: create the rows file before the xdist workers are started (they inherit the variable)."""
    if _is_worker(config) or os.environ.get(ROWS_ENV):
        return
    directory = tempfile.mkdtemp(prefix='vobiz-reliability-')
    os.environ[ROWS_ENV] = os.path.join(directory, 'rows.jsonl')
    config.vobiz_rows_dir = directory


def _sort_key(row):
    case = str(row['case'])
    digits = ''.join(c for c in case if c.isdigit())
    return (int(digits or 0), case)


def _cell(value):
    return str(value).replace('|', '\\|').replace('\n', ' ')


def figures_table(rows):
    """The rows as a Markdown table (one line per row)."""
    lines = ['| ' + ' | '.join(COLUMNS) + ' |', '|' + '|'.join('---' for dummy in COLUMNS) + '|']
    for row in sorted(rows, key=_sort_key):
        cells = [
            '{0} {1}'.format(row['case'], row['title']),
            row['load'],
            row['faults'],
            row['requests'],
            '{0} / {1}'.format(row['hung_up'], row['expected']),
            row['lost'],
            '{0:.2f} s'.format(row['seconds']),
        ]
        lines.append('| ' + ' | '.join(_cell(c) for c in cells) + ' |')
    return lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # pylint: disable=unused-argument
    """Print the figures table (controller only) and write it to a file."""
    if _is_worker(config):
        return
    path = os.environ.get(ROWS_ENV)
    rows = []
    if path and os.path.exists(path):
        with open(path, encoding='utf-8') as handle:
            rows = [json.loads(line) for line in handle if line.strip()]
    owned = getattr(config, 'vobiz_rows_dir', None)
    if owned:
        shutil.rmtree(owned, ignore_errors=True)
        os.environ.pop(ROWS_ENV, None)
    if not rows:
        return
    table = figures_table(rows)
    terminalreporter.write_sep('=', 'vobiz.voice reliability figures ({0} rows)'.format(len(rows)))
    for line in table:
        terminalreporter.write_line(line)
    target = os.environ.get(FIGURES_ENV) or str(COLLECTION_ROOT / 'tests' / 'output' / 'reliability-figures.md')
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(table) + '\n')
    except OSError as exc:
        terminalreporter.write_line('(could not write {0}: {1})'.format(target, exc))
    else:
        terminalreporter.write_line('(table written to {0})'.format(target))


class Figures:
    """Records rows of the figures table from a test (in any worker or fork)."""

    def __init__(self):
        self._path = os.environ.get(ROWS_ENV)

    def record(self, case, title, load, faults, requests, hung_up, expected, lost, seconds):
        row = dict(
            case=str(case),
            title=title,
            load=load,
            faults=faults,
            requests=int(requests),
            hung_up=hung_up,
            expected=expected,
            lost=lost,
            seconds=round(float(seconds), 3),
        )
        if not self._path:
            return row
        data = (json.dumps(row, sort_keys=True) + '\n').encode('utf-8')
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, data)  # one write per row: rows from concurrent workers never interleave
        finally:
            os.close(fd)
        return row


@pytest.fixture
def figures():
    """``figures.record(case, title, load, faults, requests, hung_up, expected, lost, seconds)``."""
    return Figures()


@pytest.fixture
def sleeps(monkeypatch):
    """Record the client's backoff waits instead of sleeping them (the waits are still asserted).

    Waiting for real would only make the suite slower: the emulator's Retry-After is in whole seconds.
    """
    recorded = []
    lock = threading.Lock()

    def fake_sleep(self, seconds):  # pylint: disable=unused-argument
        with lock:
            recorded.append(seconds)

    monkeypatch.setattr(_conference_api.ConferenceApi, '_sleep', fake_sleep)
    # The pacer's waits (every worker holds for a 429's Retry-After) are not backoff; test__pacing.py tests them.
    monkeypatch.setattr(_conference_api.ConferenceApi, '_pace_wait', lambda self, seconds: None)
    return recorded


@pytest.fixture
def emulators(make_emulator):  # noqa: F811  (the fixture imported above, by name)
    """The shared emulator factory (``make_emulator`` in tests/emulator/pytest_fixtures.py) under this suite's name."""
    return make_emulator


@pytest.fixture
def emu(emulators):
    """One started emulator, no conferences."""
    return emulators()


@pytest.fixture
def no_vobiz_env(monkeypatch):
    """No VOBIZ_* or REQUESTS_CA_BUNDLE from the caller's environment."""
    for name in ('VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL', 'REQUESTS_CA_BUNDLE', 'CURL_CA_BUNDLE'):
        monkeypatch.delenv(name, raising=False)
