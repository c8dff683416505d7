# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
name: callback_text
short_description: The literal text of a value in a vobiz.voice.conference_callbacks event, never evaluated
version_added: 0.2.0
description:
  - A conference name, member id or any other text in an event of the event source C(vobiz.voice.conference_callbacks)
    comes from a callback, that is from the network. The source emits every such text that could be a template
    (one holding C({) or starting with C(#)) as V(base64:) and its UTF-8 bytes in base64, because ansible-core evaluates
    templates in the extra variables ansible-rulebook hands to a playbook.
  - This filter returns the literal text, marked as data, so that no later use evaluates it, also when it is stored with
    C(ansible.builtin.set_fact) (on ansible-core 2.16 to 2.18 it is marked unsafe; from 2.19 on, text a filter makes is
    never trusted as a template). Any other text passes unchanged, marked the same way; V(null) stays V(null).
  - Read event values through it, directly from C(ansible_eda.event); never copy an event value with
    C(ansible.builtin.set_fact) before this filter.
options:
  _input:
    description: A text value of the event, as the source emitted it.
    type: raw
    required: true
  escaped:
    description:
      - Return the text in the form in which vobiz.voice results carry names (non-printable characters and lone
        surrogates written out, as Python writes them in a string's C(repr)), for a module option read with
        C(names_escaped=true). Such names are taken literally; the module's refusal of names that look like unexpanded
        variables (C(${...}), C({{...}}), ...) does not apply to them, since they came from Vobiz, not from a user.
    type: bool
    default: false
seealso:
  - name: Enforcing time limits (the guide)
    description: The security model of the event path, and the event shapes.
    link: https://github.com/vobiz/vobiz.voice/blob/main/docs/docsite/rst/enforce_limits.rst
"""

EXAMPLES = r"""
- name: Hang up the room of an event, by its literal name
  vobiz.voice.vobiz_conference:
    name: "{{ ansible_eda.event.vobiz.conference_name | vobiz.voice.callback_text(escaped=true) }}"
    names_escaped: true
    conference_uuid: "{{ ansible_eda.event.vobiz.conference_uuid | vobiz.voice.callback_text }}"
"""

RETURN = r"""
_value:
  description: The literal text (or V(null)).
  type: string
"""

import base64
import binascii

from ansible.errors import AnsibleFilterError

from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name

try:
    # ansible-core 2.19+ (data tagging): text a filter makes is never trusted as a template
    from ansible.template import trust_as_template  # noqa: F401  pylint: disable=unused-import

    def _as_data(text):
        return text

except ImportError:  # ansible-core < 2.19: unsafe text is never templated
    from ansible.utils.unsafe_proxy import wrap_var as _as_data

PREFIX = 'base64:'


def callback_text(value, escaped=False):
    if value is None:
        return None
    if not isinstance(value, str):
        raise AnsibleFilterError(
            'vobiz.voice.callback_text expects a text value of a conference_callbacks event, got {0}'.format(
                type(value).__name__
            )
        )
    if value.startswith(PREFIX):
        try:
            value = base64.b64decode(value[len(PREFIX) :], validate=True).decode('utf-8', 'surrogatepass')
        except (binascii.Error, ValueError) as exc:
            raise AnsibleFilterError(
                'vobiz.voice.callback_text: {0} is not valid base64 of UTF-8 text: {1}'.format(value[:40], exc)
            ) from None
    return _as_data(escape_name(value) if escaped else str(value))


class FilterModule:
    def filters(self):
        return {'callback_text': callback_text}
