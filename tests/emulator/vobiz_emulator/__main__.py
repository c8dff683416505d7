"""Run the emulator: ``python tests/emulator/vobiz_emulator ARGS`` (the directory) or ``python -m <package> ARGS``."""

from __future__ import annotations

import os
import sys

if __package__:
    from .cli import main
else:
    # Started as a directory: Python put this directory itself on sys.path; import the package from its parent instead.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    from vobiz_emulator.cli import main  # pylint: disable=import-error

sys.exit(main())
