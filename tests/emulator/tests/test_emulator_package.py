"""The emulator package ships whole to ansible-test's integration targets."""

from __future__ import annotations

import pathlib

from ansible_collections.vobiz.voice.tests.emulator import vobiz_emulator

PACKAGE = pathlib.Path(vobiz_emulator.__file__).parent
ALIASES = PACKAGE.parents[1] / 'integration' / 'targets' / 'setup_emulator' / 'aliases'


def test_setup_emulator_needs_every_file_of_the_package():
    # ansible-test copies a target only the files its aliases name with needs/file/: a file missing there
    # makes the emulator fail to import in every integration target
    prefix = 'needs/file/tests/emulator/vobiz_emulator/'
    needed = {line[len(prefix) :] for line in ALIASES.read_text(encoding='utf-8').split() if line.startswith(prefix)}
    assert needed == {path.name for path in PACKAGE.glob('*.py')}
