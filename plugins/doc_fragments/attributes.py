# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # Every module: vobiz.voice.attributes. Each module states its own support (and details); read-only modules add
    # vobiz.voice.attributes.info_module, which states them.
    DOCUMENTATION = r'''
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff
      mode.
'''

    # vobiz.voice.attributes.info_module: for read-only modules, together with DOCUMENTATION.
    INFO_MODULE = r'''
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
'''

    # vobiz.voice.attributes.actiongroup_vobiz: every module, together with the above.
    ACTIONGROUP_VOBIZ = r'''
options: {}
attributes:
  action_group:
    description: Use C(group/vobiz.voice.vobiz) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - vobiz.voice.vobiz
'''
