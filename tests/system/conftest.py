# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the system suite: the emulator (tests/emulator/pytest_fixtures.py) and ansible-rulebook as a process
(tests/emulator/ansible_runs.py, which tools/demo.py and bench/bench.py share)."""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.tests.emulator.ansible_runs import Rulebook

# pytest finds fixtures by their names in a conftest module, so importing them is how they are shared.
from ansible_collections.vobiz.voice.tests.emulator.pytest_fixtures import make_emulator  # noqa: F401  pylint: disable=unused-import


@pytest.fixture
def start_rulebook(tmp_path):
    """Factory: ``start_rulebook(emulator, variables, run)`` starts ansible-rulebook against that emulator's account,
    in ``tmp_path``; every one started is stopped after the test."""
    started = []

    def start(emulator, variables: dict, run: str = 'ansible-rulebook') -> Rulebook:
        rulebook = Rulebook(tmp_path, emulator.api_url, emulator.auth_token, variables, emulator.auth_id, run)
        started.append(rulebook)
        return rulebook

    yield start
    for rulebook in started:
        rulebook.stop()
