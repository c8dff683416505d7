"""Shared pytest fixtures for the vobiz.voice unit tests.

``emulator`` is a started Vobiz API emulator (see tests/emulator/README.md) on 127.0.0.1 with one
account, ``MA_TEST``, and no conferences; it is stopped at teardown.  Its ``auth_id``,
``auth_token``, ``url`` and ``api_url`` attributes give what a client needs.
"""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import Emulator

EMULATOR_AUTH_ID = 'MA_TEST'
EMULATOR_AUTH_TOKEN = 'unit-test-token-9f8e7d'


@pytest.fixture
def emulator():
    """A started emulator (account MA_TEST, no conferences), stopped after the test."""
    emu = Emulator(auth_id=EMULATOR_AUTH_ID, auth_token=EMULATOR_AUTH_TOKEN).start()
    try:
        yield emu
    finally:
        emu.stop()
