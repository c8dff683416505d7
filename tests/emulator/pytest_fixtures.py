"""The emulator fixtures shared by every pytest suite (tests/unit, tests/reliability, tests/emulator/tests).

Each suite's ``conftest.py`` imports the fixtures it uses from here, so there is one copy of them.

``emulator`` is a started Vobiz API emulator (see tests/emulator/README.md) on 127.0.0.1 with one
account, ``MA_TEST``, and no conferences; it is stopped at teardown.  Its ``auth_id``,
``auth_token``, ``url`` and ``api_url`` attributes give what a client needs.  ``make_emulator`` is a
factory of further started emulators (keyword arguments as ``Emulator``), all stopped at teardown.
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


@pytest.fixture
def make_emulator():
    """Factory for more emulators (other switches, TLS, ...), account MA_TEST by default; all stopped after the test."""
    started = []

    def factory(**kwargs):
        kwargs.setdefault('auth_id', EMULATOR_AUTH_ID)
        kwargs.setdefault('auth_token', EMULATOR_AUTH_TOKEN)
        emu = Emulator(**kwargs).start()
        started.append(emu)
        return emu

    try:
        yield factory
    finally:
        for emu in started:
            emu.stop()
