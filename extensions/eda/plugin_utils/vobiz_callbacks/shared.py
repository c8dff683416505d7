# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's module_utils this source reuses (``_callers``, ``_globs``, ``_audit``, ``_redaction``): one copy
of each rule serves the modules and the source alike."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys

MODULE_UTILS = 'ansible_collections.vobiz.voice.plugins.module_utils.'
#: The module_utils each reused one imports, loaded before it.
IMPORTS = {'_audit': ('_errors',)}


def module_util(stem: str):
    """``plugins/module_utils/STEM.py``: imported when the collection is importable (the tests), else loaded from its
    path (ansible-rulebook runs this source outside any package) under its full name, after what it imports, so that
    its imports resolve."""
    full = MODULE_UTILS + stem
    if full in sys.modules:
        return sys.modules[full]
    try:
        return importlib.import_module(full)
    except ImportError:
        pass
    directory = os.path.join(os.path.dirname(os.path.abspath(__file__)), *[os.pardir] * 4, 'plugins', 'module_utils')
    for each in (*IMPORTS.get(stem, ()), stem):
        if MODULE_UTILS + each not in sys.modules:
            spec = importlib.util.spec_from_file_location(MODULE_UTILS + each, os.path.join(directory, each + '.py'))
            module = importlib.util.module_from_spec(spec)
            sys.modules[MODULE_UTILS + each] = module
            spec.loader.exec_module(module)
    return sys.modules[full]
