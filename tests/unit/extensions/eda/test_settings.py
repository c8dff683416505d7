"""Unit tests of the source's arguments (vobiz_callbacks/settings.py)."""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import ConfigError, parse_args
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import TOKEN, URL

ENV = {'VOBIZ_AUTH_TOKEN': TOKEN, 'HOME': '/home/eda'}


@pytest.mark.parametrize(
    'args, named',
    [
        ({'port': 1}, 'public_url'),
        ({'port': 1, 'public_url': 'ftp://x/y'}, 'public_url'),
        ({'public_url': URL}, 'port is required'),
        ({'port': 70000, 'public_url': URL}, 'port'),
        ({'port': 1, 'public_url': URL, 'max_duration': -1}, 'max_duration'),
        ({'port': 1, 'public_url': URL, 'replay_window': 'soon'}, 'replay_window'),
        ({'port': 1, 'public_url': URL, 'max_rooms': 1.5}, 'max_rooms must be a whole number'),
        ({'port': 1, 'public_url': URL, 'accept_v2': 'maybe'}, 'accept_v2'),
        ({'port': 1, 'public_url': URL, 'max_duraton': 5}, 'unknown argument'),
        ({'port': 1, 'public_url': URL, 'max_duration': 86400}, r'forget_after \(86400\) must be longer than max_duration'),
        ({'port': 1, 'public_url': URL, 'max_connections': 10, 'max_connections_per_address': 20}, 'max_connections_per_address'),
        ({'port': 1, 'public_url': URL, 'state_file': 5}, 'state_file must be a string'),
    ],
)
def test_bad_arguments_are_refused_by_name(args, named):
    with pytest.raises(ConfigError, match=named):
        parse_args(args, environ=ENV)


def test_the_token_comes_from_the_environment_and_stays_out_of_repr():
    with pytest.raises(ConfigError, match='auth_token'):
        parse_args({'port': 1, 'public_url': URL}, environ={})
    settings = parse_args({'port': '5050', 'public_url': URL + '?q=1'}, environ=ENV)
    assert settings.path == '/vobiz/conference' and settings.auth_token == TOKEN and settings.port == 5050
    assert TOKEN not in repr(settings)


def test_the_state_file_is_kept_by_default_at_a_documented_path():
    assert parse_args({'port': 5050, 'public_url': URL}, environ=ENV).state_file == '/home/eda/.local/state/vobiz.voice/conference_callbacks-5050.json'
    with_xdg = dict(ENV, XDG_STATE_HOME='/var/lib/eda')
    assert (
        parse_args({'port': 5050, 'public_url': URL, 'state_file': ''}, environ=with_xdg).state_file
        == '/var/lib/eda/vobiz.voice/conference_callbacks-5050.json'
    )
    assert parse_args({'port': 5050, 'public_url': URL, 'state_file': '/data/rooms.json'}, environ=ENV).state_file == '/data/rooms.json'
    assert parse_args({'port': 5050, 'public_url': URL, 'keep_state': 'false'}, environ=ENV).state_file is None


def test_rulebook_values_arrive_as_text_and_are_read_as_numbers():
    settings = parse_args({'port': '5050', 'public_url': URL, 'replay_window': '600', 'check_interval': '0.5', 'max_duration': ''}, environ=ENV)
    assert (settings.replay_window, settings.check_interval, settings.max_duration) == (600, 0.5, 0)
