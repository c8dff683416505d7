"""Unit tests of the source's arguments (vobiz_callbacks/settings.py)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks.settings import (
    ConfigError,
    duration_seconds,
    parse_args,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._policy import parse_duration
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import TOKEN, URL

ENV = {'VOBIZ_AUTH_TOKEN': TOKEN, 'HOME': '/home/eda'}
DURATION_TEXTS = st.from_regex(r'\A ?[0-9]{0,3}[hH]? ?[0-9]{0,3}[mM]?[0-9]{0,3}[sS]? ?\Z')


@pytest.mark.parametrize(
    'args, named',
    [
        ({'port': 1}, 'public_url'),
        ({'port': 1, 'public_url': 'ftp://x/y'}, 'public_url'),
        ({'public_url': URL}, 'port is required'),
        ({'port': 70000, 'public_url': URL}, 'port'),
        ({'port': 1, 'public_url': URL, 'max_duration': -1}, 'max_duration'),
        ({'port': 1, 'public_url': URL, 'max_members': -1}, 'max_members must be >= 0'),
        ({'port': 1, 'public_url': URL, 'max_members': 'twenty'}, 'max_members must be a number'),
        ({'port': 1, 'public_url': URL, 'replay_window': 'soon'}, 'replay_window'),
        ({'port': 1, 'public_url': URL, 'max_rooms': 1.5}, 'max_rooms must be a whole number'),
        ({'port': 1, 'public_url': URL, 'accept_v2': 'maybe'}, 'accept_v2'),
        ({'port': 1, 'public_url': URL, 'max_duraton': 5}, 'unknown argument'),
        (
            {'port': 1, 'public_url': URL, 'max_duration': 86400},
            r'forget_after \(86400\) must be longer than max_duration',
        ),
        (
            {'port': 1, 'public_url': URL, 'max_connections': 10, 'max_connections_per_address': 20},
            'max_connections_per_address',
        ),
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
    assert (
        parse_args({'port': 5050, 'public_url': URL}, environ=ENV).state_file
        == '/home/eda/.local/state/vobiz.voice/conference_callbacks-5050.json'
    )
    with_xdg = dict(ENV, XDG_STATE_HOME='/var/lib/eda')
    assert (
        parse_args({'port': 5050, 'public_url': URL, 'state_file': ''}, environ=with_xdg).state_file
        == '/var/lib/eda/vobiz.voice/conference_callbacks-5050.json'
    )
    assert (
        parse_args({'port': 5050, 'public_url': URL, 'state_file': '/data/rooms.json'}, environ=ENV).state_file
        == '/data/rooms.json'
    )
    assert parse_args({'port': 5050, 'public_url': URL, 'keep_state': 'false'}, environ=ENV).state_file is None


def test_rulebook_values_arrive_as_text_and_are_read_as_numbers():
    settings = parse_args(
        {'port': '5050', 'public_url': URL, 'replay_window': '600', 'check_interval': '0.5', 'max_duration': ''},
        environ=ENV,
    )
    assert (settings.replay_window, settings.check_interval, settings.max_duration) == (600, 0.5, 0)


def parse(environ=None, **args):
    return parse_args(dict({'port': 1, 'public_url': URL}, **args), environ=environ or ENV)


DURATIONS = [('4h', 14400), ('30m', 1800), ('90s', 90), ('1h30m', 5400), (' 2H 5m ', 7500), ('600', 600), (600, 600)]


@pytest.mark.parametrize('value, seconds', DURATIONS)
def test_durations_take_the_forms_of_the_playbook(value, seconds):
    settings = parse(max_duration=value, lonely_after=value, repeat_after=value)
    assert (settings.max_duration, settings.lonely_after, settings.repeat_after) == (seconds, seconds, seconds)


ANY_VALUE = st.one_of(
    st.integers(min_value=0, max_value=10**9),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.text(max_size=12),
    DURATION_TEXTS,
)


@given(ANY_VALUE)
def test_a_duration_reads_as_the_playbooks_parse_duration_reads_it(value):
    """The source cannot import module_utils (ansible-rulebook runs it outside the collection): its reading of a
    duration is its own, held to the playbooks' here."""
    try:
        expected = parse_duration(value, 'max_duration')
    except VobizInputError:
        expected = None
    assert duration_seconds(value) == expected


def test_a_bad_duration_names_the_option_and_the_forms():
    message = "max_duration must be a number of seconds or a duration such as 4h, 30m, 90s or 1h30m, got '4 hours'"
    with pytest.raises(ConfigError, match=message):
        parse(max_duration='4 hours')


KNOWN = ['vobiz_callback_port', 'vobiz_callback_public_url', 'vobiz_max_duration', 'vobiz_lonely_after']


def test_a_misspelt_rulebook_variable_stops_the_source_naming_it():
    names = ['range', 'dict', 'vobiz_callback_port', 'vobiz_callback_public_url', 'vobiz_max_durration', 'owner']
    with pytest.raises(ConfigError) as error:
        parse(rulebook_variables=names, known_variables=KNOWN)
    assert str(error.value) == (
        'unknown rulebook variable(s): vobiz_max_durration (did you mean vobiz_max_duration?). Nothing was started: '
        'this rulebook reads vobiz_callback_port, vobiz_callback_public_url, vobiz_lonely_after, vobiz_max_duration'
    )


LOOKALIKES = ['vobis_max_duration', 'Vobiz_lonely_after', 'VOBIZ_MAX_DURATION', 'vbz_max_duration', 'vobizmax_duration']


@pytest.mark.parametrize('name', LOOKALIKES)
def test_names_that_look_like_the_rulebooks_are_checked_too(name):
    with pytest.raises(ConfigError, match='unknown rulebook variable'):
        parse(rulebook_variables=KNOWN + [name], known_variables=KNOWN)


def test_known_names_the_credentials_environment_and_other_variables_pass():
    names = KNOWN + ['VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL', 'eda', 'video_room', 'team']
    parse(rulebook_variables=names, known_variables=KNOWN)
    parse(rulebook_variables=['vobiz_max_durration'])  # without known_variables there is nothing to check against


@pytest.mark.parametrize(
    'files, environ, host',
    [
        ({'/run/.containerenv'}, {}, '0.0.0.0'),
        ({'/.dockerenv'}, {}, '0.0.0.0'),
        (set(), {'KUBERNETES_SERVICE_HOST': '10.0.0.1'}, '0.0.0.0'),
        (set(), {'container': 'podman'}, '0.0.0.0'),
        (set(), {}, '127.0.0.1'),
    ],
)
def test_the_default_address_is_every_address_in_a_container_and_loopback_on_a_host(files, environ, host):
    settings = parse_args({'port': 1, 'public_url': URL}, environ=dict(ENV, **environ), exists=files.__contains__)
    assert settings.host == host and settings.host_reason.startswith('in a container') == (host == '0.0.0.0')
    explicit = parse_args({'port': 1, 'public_url': URL, 'host': '10.1.2.3'}, environ=ENV, exists=files.__contains__)
    assert explicit.host == '10.1.2.3'


def test_tls_options_need_the_certificate():
    with pytest.raises(ConfigError, match='cafile, keyfile given without certfile'):
        parse(keyfile='/k.pem', cafile='/ca.pem')
    settings = parse(certfile='~/tls/cert.pem', password='secret-pass')
    assert settings.certfile == '/home/eda/tls/cert.pem' and 'secret-pass' not in repr(settings)


def test_the_health_path_is_documented_and_can_be_turned_off_but_not_over_the_callbacks():
    assert parse().health_path == '/healthz'
    assert parse(health_path='').health_path is None
    for bad in ('/vobiz/conference', 'healthz'):
        with pytest.raises(ConfigError, match='health_path'):
            parse(health_path=bad)


def test_paths_under_the_home_directory():
    settings = parse(state_file='~/limits/rooms.json', audit_log='~/limits/audit.jsonl')
    assert (settings.state_file, settings.audit_log) == ('/home/eda/limits/rooms.json', '/home/eda/limits/audit.jsonl')
