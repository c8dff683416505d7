# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the module unit tests."""

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _conference_api


@pytest.fixture(autouse=True)
def no_real_backoff(monkeypatch):
    """Record the client's backoff delays instead of sleeping (tests that ask for this fixture assert on them)."""
    sleeps = []
    monkeypatch.setattr(_conference_api.ConferenceApi, '_sleep', lambda self, seconds: sleeps.append(seconds))
    # The pacer's waits (all workers hold for a 429's Retry-After) are not backoff:
    # tests/unit/plugins/module_utils/test__pacing.py
    monkeypatch.setattr(_conference_api.ConferenceApi, '_pace_wait', lambda self, seconds: None)
    return sleeps
