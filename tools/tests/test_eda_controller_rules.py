"""Our rulebooks, EDA credential type and guide, against the rules EDA controller applies to them.

The rules are eda-server's (commit d05189a9, 2026-08-18) and ansible-rulebook's, written down here as facts (the
fields and checks they apply, with the file each comes from), not imported: eda-server is a Django service that
cannot be installed beside the collection. Each fact names its source so that a newer eda-server can be compared.
"""

from __future__ import annotations

import json
import pathlib
import re

import jinja2
import pytest
import yaml
from jinja2.sandbox import SandboxedEnvironment

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
RULEBOOKS = ROOT / 'extensions' / 'eda' / 'rulebooks'
CREDENTIAL_TYPE = ROOT / 'extensions' / 'eda' / 'credential_type_vobiz.yml'
GUIDE = ROOT / 'docs' / 'docsite' / 'rst' / 'enforce_limits.rst'
SOURCE = 'vobiz.voice.conference_callbacks'

# src/aap_eda/services/project/imports.py: a project's rulebooks are the .yml/.yaml files under the first of these
# directories; a file is skipped ("Malformed rulebook") unless it is a list of rulesets, each with a list of rules,
# each rule with a non-empty name, condition and action or actions.
RULEBOOK_DIRS = ('extensions/eda/rulebooks', 'rulebooks')
RULE_KEYS = (('name',), ('condition',), ('action', 'actions'))
# src/aap_eda/settings/defaults.py: SAFE_PLUGINS_FOR_PORT_FORWARD, overridden by EDA_SAFE_PLUGINS_FOR_PORT_FORWARD.
SAFE_PLUGINS_FOR_PORT_FORWARD = ('ansible.eda.webhook', 'eda.builtin.webhook', 'ansible.eda.alertmanager')
# src/aap_eda/core/validators.py, check_rulesets_require_token: a rule with one of these actions needs a "Red Hat
# Ansible Automation Platform" credential (src/aap_eda/core/enums.py) on the activation.
TOKEN_ACTIONS = frozenset(('run_job_template', 'run_workflow_template'))
AAP_CREDENTIAL_TYPE = 'Red Hat Ansible Automation Platform'
# ansible_rulebook/app.py: INVENTORY_ACTIONS stop ansible-rulebook without an inventory; an activation has none.
INVENTORY_ACTIONS = frozenset(('run_playbook', 'run_module'))
# src/aap_eda/core/utils/credentials.py: validate_schema and validate_injectors.
INJECTOR_KEYS = frozenset(('env', 'extra_vars', 'file'))
RESERVED_EXTRA_VAR_KEYS = frozenset(('ansible', 'eda'))
FIELD_TYPES = ('string', 'boolean')
FIELD_FORMATS = frozenset(
    ('aes_key', 'aes_salt', 'binary_base64', 'pem_certificate', 'ssh_private_key', 'url', 'vault_id')
)
FIELD_STRINGS, FIELD_BOOLEANS = ('help_text', 'format'), ('secret', 'multiline')
EDA_PREFIX = 'EDA_'


def load(path: pathlib.Path):
    return yaml.safe_load(path.read_text(encoding='utf-8'))


def rules(rulebook: list) -> list[dict]:
    return [rule for ruleset in rulebook for rule in ruleset['rules']]


def actions(rule: dict) -> set[str]:
    """The action names of a rule (``action:`` one dict, ``actions:`` a list of them)."""
    return set(rule.get('action') or {}) | {name for action in rule.get('actions') or [] for name in action}


def find_ports(rulebook: list, safe_plugins, variables: dict) -> list[tuple]:
    """eda-server's find_ports (src/aap_eda/services/activation/engine/ports.py): for each source whose plugin (its
    first key after ``name``) is a safe plugin, (host as written, port rendered with the activation's variables)."""
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    found = []
    for ruleset in rulebook:
        for source in ruleset.get('sources', []):
            source = {key: value for key, value in source.items() if key != 'name'}
            plugin = next(iter(source))
            args = source[plugin]
            if plugin in safe_plugins and args and args.get('port') is not None:
                found.append((args.get('host'), int(env.from_string(str(args['port'])).render(variables))))
    return found


def guide_port_forward_setting() -> list[str]:
    """The plugins of the EDA_SAFE_PLUGINS_FOR_PORT_FORWARD line the guide gives (dynaconf's ``@json`` form)."""
    match = re.search(
        r"^\s*EDA_SAFE_PLUGINS_FOR_PORT_FORWARD='@json (\[.*\])'$", GUIDE.read_text(encoding='utf-8'), re.M
    )
    assert match, 'the guide gives no EDA_SAFE_PLUGINS_FOR_PORT_FORWARD setting'
    return json.loads(match.group(1))


@pytest.mark.parametrize('name', ['enforce_limits.yml', 'enforce_limits_controller.yml'])
def test_eda_server_imports_the_rulebook_from_the_collection_repository(name):
    assert (ROOT / RULEBOOK_DIRS[0]) == RULEBOOKS
    rulebook = load(RULEBOOKS / name)
    assert isinstance(rulebook, list) and all(isinstance(ruleset.get('rules'), list) for ruleset in rulebook)
    for rule in rules(rulebook):
        assert all(any(rule.get(key) is not None for key in keys) for keys in RULE_KEYS), rule


def test_only_the_controller_rulebook_can_run_in_an_activation_and_it_needs_the_aap_credential():
    controller = rules(load(RULEBOOKS / 'enforce_limits_controller.yml'))
    plain = rules(load(RULEBOOKS / 'enforce_limits.yml'))
    assert all(actions(rule) & TOKEN_ACTIONS and not actions(rule) & INVENTORY_ACTIONS for rule in controller)
    assert all(actions(rule) & INVENTORY_ACTIONS for rule in plain)
    guide = ' '.join(GUIDE.read_text(encoding='utf-8').split())
    assert 'Only ``enforce_limits_controller.yml`` runs there.' in guide
    assert '*%s*' % AAP_CREDENTIAL_TYPE in guide


@pytest.mark.parametrize('name', ['enforce_limits.yml', 'enforce_limits_controller.yml'])
def test_the_port_is_published_only_with_the_guides_setting(name):
    rulebook = load(RULEBOOKS / name)
    variables = {'vobiz_callback_port': 5000, 'vobiz_callback_public_url': 'https://eda.example.com/vobiz/conference'}
    assert find_ports(rulebook, SAFE_PLUGINS_FOR_PORT_FORWARD, variables) == []
    setting = guide_port_forward_setting()
    assert set(SAFE_PLUGINS_FOR_PORT_FORWARD) | {SOURCE} == set(setting)  # the defaults kept, ours added
    assert [found[1] for found in find_ports(rulebook, setting, variables)] == [5000]


def check_credential_type(credential_type: dict) -> None:
    """eda-server's validate_schema and validate_injectors, as assertions."""
    fields, injectors = credential_type['inputs']['fields'], credential_type['injectors']
    ids = [field['id'] for field in fields]
    assert len(ids) == len(set(ids))
    for field in fields:
        assert isinstance(field.get('id'), str) and isinstance(field.get('label'), str), field
        assert re.match(r'^\w+$', field['id']) and not field['id'].upper().startswith(EDA_PREFIX), field
        assert field.get('type', 'string') in FIELD_TYPES, field
        assert field.get('format') is None or field['format'] in FIELD_FORMATS, field
        assert all(isinstance(field.get(key), str) for key in FIELD_STRINGS if key in field), field
        assert all(isinstance(field.get(key), bool) for key in FIELD_BOOLEANS if key in field), field
        assert field.get('default') is None or isinstance(field['default'], (str, bool)), field
    assert set(credential_type['inputs'].get('required', [])) <= set(ids)
    assert set(injectors) <= INJECTOR_KEYS
    assert not set(injectors.get('env', {})) & RESERVED_EXTRA_VAR_KEYS
    assert not set(injectors.get('extra_vars', {})) & RESERVED_EXTRA_VAR_KEYS
    # every injector template renders from the fields (their defaults, else ''), undefined names refused
    context = {
        field['id']: field.get('default') or (True if field.get('type') == 'boolean' else '') for field in fields
    }
    env = SandboxedEnvironment(undefined=jinja2.StrictUndefined)
    for value in [value for section in injectors.values() for value in section.values()]:
        env.from_string(value).render(context)


def test_the_eda_credential_type_passes_eda_servers_checks_and_the_guide_names_it():
    credential_type = load(CREDENTIAL_TYPE)
    check_credential_type(credential_type)
    assert set(credential_type['injectors']['env']) == {'VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL'}
    assert '*%s*' % credential_type['name'] in GUIDE.read_text(encoding='utf-8')


@pytest.mark.parametrize(
    'change',
    [
        lambda data: data['inputs']['fields'][0].update(id='eda_auth_id'),
        lambda data: data['inputs']['fields'][0].update(type='integer'),
        lambda data: data['injectors'].update(files={'x': 'y'}),
        lambda data: data['injectors']['env'].update(VOBIZ_AUTH_ID='{{ vobiz_account }}'),
    ],
    ids=['EDA_ prefix', 'integer field', 'unknown injector', 'undefined name'],
)
def test_what_eda_server_refuses_these_rules_refuse(change):
    credential_type = load(CREDENTIAL_TYPE)
    change(credential_type)
    with pytest.raises((AssertionError, jinja2.UndefinedError)):
        check_credential_type(credential_type)
