# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's module_utils that import only the standard library (``_callers``, ``_globs``), loaded by their
path: this source runs outside any package, and one copy of a rule serves the modules and the source alike."""

from __future__ import annotations

import importlib.util
import os
import sys


def standalone_module_util(stem: str):
    """``plugins/module_utils/STEM.py``, loaded once under the name ``vobiz_voice_module_utils_STEM``."""
    name = 'vobiz_voice_module_utils' + stem
    if name in sys.modules:
        return sys.modules[name]
    path = os.path.join(
        os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, 'plugins', 'module_utils', stem + '.py'
    )
    spec = importlib.util.spec_from_file_location(name, os.path.normpath(path))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[name] = module
    return module
