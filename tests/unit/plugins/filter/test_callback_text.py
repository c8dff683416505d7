# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of the filter vobiz.voice.callback_text (its round trip with the event source is in
tests/unit/extensions/eda/test_events.py)."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.vobiz.voice.plugins.filter.callback_text import FilterModule, callback_text

try:
    from ansible.template import is_trusted_as_template
except ImportError:  # ansible-core < 2.19
    from ansible.utils.unsafe_proxy import AnsibleUnsafe

    def is_trusted_as_template(value):
        return not isinstance(value, AnsibleUnsafe)


@pytest.mark.parametrize('value, text', [('base64:e3sgeCB9fQ==', '{{ x }}'), ('Board Room', 'Board Room'), ('', '')])
def test_the_text_comes_back_marked_as_data(value, text):
    result = callback_text(value)
    assert result == text and not is_trusted_as_template(result)


def test_null_stays_null_and_the_filter_is_registered():
    assert callback_text(None) is None
    assert FilterModule().filters()['callback_text'] is callback_text


@pytest.mark.parametrize(
    'value, message',
    [(7, 'expects a text value'), ('base64:!!', 'not valid base64'), ('base64:/w==', 'not valid base64 of UTF-8')],
)
def test_what_no_event_holds_is_refused(value, message):
    with pytest.raises(AnsibleFilterError, match=message):
        callback_text(value)


def test_escaped_gives_the_form_results_carry_for_names_escaped():
    # base64 of "{{ x }}\nline two": the name comes back literal, on one line, as vobiz_conference returns names.
    result = callback_text('base64:e3sgeCB9fQpsaW5lIHR3bw==', escaped=True)
    assert result == '{{ x }}\\nline two' and not is_trusted_as_template(result)
