# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Fixtures of the module_utils unit tests."""

import pytest

from ansible_collections.vobiz.voice.tests.emulator.stand_ins import ScriptedServer


@pytest.fixture
def scripted():
    """Factory of started ``ScriptedServer``; all stopped afterwards."""
    servers = []

    def factory(answer):
        server = ScriptedServer(answer).start()
        servers.append(server)
        return server

    try:
        yield factory
    finally:
        for server in servers:
            server.stop()
