# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Loaded at interpreter start-up (through PYTHONPATH) by the token_hygiene test.

Every HTTP send raises an error the collection does not expect, so that the module crashes with a
traceback: the crash output must not hold the token either.
"""

import urllib3.connectionpool


def _crash(self, *args, **kwargs):
    raise RuntimeError('injected by the token_hygiene test: HTTPConnectionPool.urlopen crashed')


# Every request goes through the connection pool's urlopen (the client calls it directly).
urllib3.connectionpool.HTTPConnectionPool.urlopen = _crash
