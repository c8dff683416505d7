"""Fixtures of the unit tests: the emulator fixtures shared with the other suites
(tests/emulator/pytest_fixtures.py)."""

from __future__ import annotations

# pytest finds fixtures by their names in a conftest module, so importing them is how they are shared.
from ansible_collections.vobiz.voice.tests.emulator.pytest_fixtures import emulator, make_emulator  # noqa: F401  pylint: disable=unused-import
