# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The machine-read summary line (``PREFIX {json}``), printed on the controller.

PRIVATE: part of the vobiz.voice collection only; may change in any release. Used by the ``summary_line`` lookup and
the ``summary_on_interrupt`` strategy, so that the line is the same whichever prints it.
"""

import json
import re

from ansible import constants as C
from ansible.errors import AnsibleError
from ansible.utils.display import Display

display = Display()


def summary_line(prefix, summary):
    """``PREFIX {json}``: one line whatever the content (the JSON is ASCII, so no text can put a line break of any kind
    into it)."""
    if not re.match(r'^[A-Za-z0-9_]+$', prefix or ''):
        raise AnsibleError(
            'summary_line: prefix must hold letters, digits and underscores only, not {0!r}'.format(prefix)
        )
    if not isinstance(summary, dict):
        raise AnsibleError('summary_line: each term must be a dictionary, not {0}'.format(type(summary).__name__))
    return '{0} {1}'.format(prefix, json.dumps(summary, sort_keys=True, ensure_ascii=True))


def stdout_is_a_document():
    """Whether the stdout callback writes a machine-read document (``json``, ``ansible.posix.json``, ``...jsonl``): a
    line of ours there would break it."""
    name = str(getattr(C, 'DEFAULT_STDOUT_CALLBACK', None) or '')
    return 'json' in name.rsplit('.', 1)[-1].lower()


def show(text, color=None):
    """Print ``text`` on the controller: on standard output, or on standard error when standard output is a document."""
    display.display(text, color=color, stderr=stdout_is_a_document())
