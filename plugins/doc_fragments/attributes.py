# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Modules that change things: vobiz.voice.attributes
    # Read-only modules use vobiz.voice.attributes.info_module INSTEAD of this one (not together:
    # when fragments overlap, the first one listed wins, so support values would clash).
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: full
'''

    # vobiz.voice.attributes.info_module: for read-only modules, instead of DOCUMENTATION.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
    support: N/A
    details:
      - This action does not modify state.
'''

    # vobiz.voice.attributes.actiongroup_vobiz: together with one of the above.
    ACTIONGROUP_VOBIZ = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/vobiz.voice.vobiz) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vobiz.voice.vobiz
'''
