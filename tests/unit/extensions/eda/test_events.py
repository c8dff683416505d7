"""Unit tests of the event shapes (vobiz_callbacks/events.py): no text from a callback leaves the source raw when it
could be a template, and the filter vobiz.voice.callback_text gives back exactly the text that came in."""

from __future__ import annotations

import types

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import events
from ansible_collections.vobiz.voice.plugins.filter.callback_text import callback_text
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import template_room_names


def could_be_a_template(text):
    """What any ansible-core version may evaluate: Jinja start strings anywhere, or a leading #jinja2: header."""
    return any(start in text for start in ('{{', '{%', '{#')) or text.startswith('#jinja2:')


@pytest.mark.parametrize('name', template_room_names('never-created-canary'))
def test_template_names_are_inert_and_come_back_exact(name):
    sent = events.inert(name)
    assert not could_be_a_template(sent)
    assert callback_text(sent) == name == events.literal(sent)


@pytest.mark.parametrize('name', ['Board Room', 'ci-42', 'Smith, John', 'café ☕', "it's", '100%'])
def test_ordinary_names_pass_unchanged(name):
    assert events.inert(name) == name and callback_text(name) == name


@given(st.text())
def test_inert_is_reversible_and_never_a_template(text):
    sent = events.inert(text)
    assert not could_be_a_template(sent) and '{' not in sent
    assert events.literal(sent) == text == callback_text(sent)


def test_every_text_of_a_callback_event_is_inert():
    hostile = "x{{ lookup('pipe', 'id') }}"
    fields = {
        key: hostile
        for key in (
            'ConferenceAction',
            'ConferenceName',
            'ConferenceUUID',
            'ConferenceMemberID',
            'CallUUID',
            'From',
            'To',
        )
    }
    fields.update({'Direction': hostile, 'CallStatus': hostile, hostile: hostile})
    event = events.callback_event(fields, None, 'v3')['vobiz']

    def texts(value):
        if isinstance(value, dict):
            for key, item in value.items():
                yield key
                yield from texts(item)
        elif isinstance(value, str):
            yield value

    assert all(not could_be_a_template(text) for text in texts(event))
    assert (
        events.literal(event['conference_name']) == hostile
        and events.literal(event['fields'][events.inert(hostile)]) == hostile
    )


def test_limit_events():
    room = types.SimpleNamespace(
        name='{{ x }}',
        uuid='U1',
        first_seen=100.0,
        lonely_since=130.0,
        emitted={'overdue': [1.0], 'lonely': [1.0, 2.0]},
    )
    overdue = events.limit_event('overdue', room, 190.5, 3, 60)['vobiz']
    assert overdue == {
        'type': 'overdue',
        'conference_name': events.inert('{{ x }}'),
        'conference_uuid': 'U1',
        'live_seconds': 90,
        'members': 3,
        'max_duration': 60,
        'emission': 1,
    }
    lonely = events.limit_event('lonely', room, 190.5, 1, 30)['vobiz']
    assert (lonely['lonely_seconds'], lonely['lonely_after'], lonely['emission']) == (60, 30, 2)
