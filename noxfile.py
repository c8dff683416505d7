# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The community's collection checks (antsibull-nox); the sessions are configured in antsibull-nox.toml.

``nox -l`` lists them, ``nox -s lint`` runs one. ``make test`` runs them through tools/gate.py.
"""

from __future__ import annotations

import sys

import nox

try:
    import antsibull_nox
except ImportError:
    print('You need to install antsibull-nox in the same Python environment as nox (requirements-dev.txt pins both).')
    sys.exit(1)


antsibull_nox.load_antsibull_nox_toml()


# Allow `python noxfile.py` as well as `nox`.
if __name__ == '__main__':
    nox.main()
