# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The source's blocked callers (unit ``callers``, with ``service`` and ``settings``): which enter emits
``blocked_caller``, what the event and the log carry (the caller masked), and what ``blocked_callers`` accepts."""

from __future__ import annotations

import logging
import os

import pytest

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import callers as callers_unit
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import service as service_unit
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.events import literal
from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import ConfigError, parse_args
from ansible_collections.vobiz.voice.plugins.module_utils import _callers
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import TOKEN, URL, FakeClock, enter, leave

ENV = {'VOBIZ_AUTH_TOKEN': TOKEN}
NUMBER = '+1 (555) 123-4567'


def make_service(**args):
    settings = parse_args(dict({'port': 1, 'public_url': URL, 'keep_state': False}, **args), environ=ENV)
    return service_unit.CallbackService(settings, clock=FakeClock(), monotonic=FakeClock())


def blocked_events(service):
    return [event['vobiz'] for event in service.pending if event['vobiz']['type'] == 'blocked_caller']


def caller_enter(name, member, caller, first=False, uuid='U1'):
    return dict(enter(name, member, first=first, uuid=uuid), From=caller, CallUUID='call-' + member)


def test_the_enter_of_a_blocked_caller_names_the_member_and_masks_the_number(caplog):
    service = make_service(blocked_callers=['+1555*'])
    caplog.set_level(logging.INFO, logger='vobiz.voice.conference_callbacks')
    service.accept(caller_enter('{{ room }}', '1', '+442071234567', first=True, uuid='{U}'), 'v3')
    assert blocked_events(service) == []
    service.accept(caller_enter('{{ room }}', '2', NUMBER, uuid='{U}'), 'v3')
    service.accept(caller_enter('{{ room }}', '2', NUMBER, uuid='{U}'), 'v3')  # Vobiz sends duplicates
    [event] = blocked_events(service)
    assert event == {
        'type': 'blocked_caller',
        'conference_name': event['conference_name'],
        'conference_uuid': event['conference_uuid'],
        'member_id': '2',
        'call_uuid': 'call-2',
        'caller': '+*******4567',
    }
    assert literal(event['conference_name']) == '{{ room }}' and event['conference_name'].startswith('base64:')
    assert literal(event['conference_uuid']) == '{U}'
    assert '+*******4567' in caplog.text
    for form in ('5551234567', '555) 123', '123-4567'):
        assert form not in caplog.text and form not in repr(event)


def test_a_member_who_left_and_a_late_enter_emit_nothing_a_new_member_does():
    service = make_service(blocked_callers=['+15551234567'])
    service.accept(leave('r', '3'), 'v3')  # delivered before its own enter
    service.accept(caller_enter('r', '3', NUMBER), 'v3')
    service.accept(caller_enter('r', '4', '001-555-123-4567'), 'v3')  # the same caller dials in again
    assert [event['member_id'] for event in blocked_events(service)] == ['4']


@pytest.mark.parametrize(
    'fields',
    [
        caller_enter('r', '1', 'sip:+15551234567@example.com'),  # a SIP URI is never read as a number
        caller_enter('r', '1', 'anonymous'),
        caller_enter('r', '1', '+15561234567'),
        dict(caller_enter('r', '1', NUMBER), ConferenceMemberID=''),  # nobody the action could kick by id
        {key: value for key, value in caller_enter('r', '1', NUMBER).items() if key != 'From'},
        dict(leave('r', '1'), From=NUMBER),
    ],
    ids=['sip uri', 'anonymous', 'another number', 'no member id', 'no From', 'an exit'],
)
def test_what_is_not_a_blocked_callers_enter_emits_nothing(fields):
    service = make_service(blocked_callers=['+1555*'])
    service.accept(fields, 'v3')
    assert blocked_events(service) == []


def test_without_blocked_callers_nothing_is_matched():
    for value in (None, [], ''):
        service = make_service(blocked_callers=value)
        assert service.settings.blocked_callers == () and service.blocked is None
        service.accept(caller_enter('r', '1', NUMBER, first=True), 'v3')
        assert blocked_events(service) == []


def test_blocked_callers_are_normalised_once_and_a_bad_entry_stops_the_source():
    assert make_service(blocked_callers=['+1 555*', '0044 20?']).settings.blocked_callers == ('+1555*', '+4420?')
    with pytest.raises(ConfigError, match=r"^blocked_callers: 'sip:spam@example.com' is no caller number or glob"):
        make_service(blocked_callers=['+1555*', 'sip:spam@example.com'])
    with pytest.raises(ConfigError, match=r'^blocked_callers: 15551234567 is not a string; quote every number'):
        make_service(blocked_callers=[15551234567])
    with pytest.raises(ConfigError, match='must be a non-empty list'):
        make_service(blocked_callers='+1555*')


def test_a_blocked_action_other_than_kick_or_end_stops_the_source():
    assert make_service().settings.blocked_action == 'kick'
    assert make_service(blocked_action='end').settings.blocked_action == 'end'
    with pytest.raises(ConfigError, match=r"^blocked_action must be kick or end, got 'ban'. Nothing was started"):
        make_service(blocked_action='ban')


def test_the_source_and_the_modules_share_one_copy_of_the_number_rules():
    """The unit loads plugins/module_utils/_callers.py by its path (the source runs outside any package)."""
    assert os.path.realpath(callers_unit.shared.__file__) == os.path.realpath(_callers.__file__)
