# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The credential types of extensions/awx and extensions/eda pass AWX's validation and ours (credential_type_rules.py),
and each rule fails a broken variant of the AWX one, naming the file and the line."""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.tests.unit.extensions.awx import credential_type_rules as rules

GOOD = rules.SHIPPED[0].read_text(encoding='utf-8')
TOKEN_FIELD = '- id: vobiz_auth_token\n      label: Auth token\n      type: string\n      secret: true'
FILES = '  file:\n    template: "id={{ vobiz_auth_id }}"\n'

# Each rule: {old text: new text}, text on the first line that must be reported, part of its message.
BROKEN = {
    'not YAML': ({'kind: cloud': 'kind: [cloud'}, 'inputs:', 'not valid YAML'),
    'not a mapping': ({GOOD: '- a list'}, '- a list', "is not of type 'object'"),
    # The API body (CredentialTypeSerializer) and our injectors.env
    'unknown top-level key': ({'kind: cloud': 'kind: cloud\nmanaged: true'}, 'managed:', "'managed' was unexpected"),
    'missing top-level key': ({'kind: cloud\n': ''}, 'name:', "'kind' is a required property"),
    'name not a text': ({'name: Vobiz API': 'name: [Vobiz]'}, 'name:', "is not of type 'string'"),
    'empty name': ({'name: Vobiz API': 'name: " "'}, 'name:', 'name must not be empty'),
    'kind of a managed type': ({'kind: cloud': 'kind: vault'}, 'kind:', "'vault' is not one of ['cloud', 'net']"),
    'env without VOBIZ_API_URL': ({'VOBIZ_API_URL:': 'VOBIZ_URL:'}, '  env:', "'VOBIZ_API_URL' is a required"),
    # inputs: AWX's schema
    'dependencies': ({'inputs:\n': 'inputs:\n  dependencies: {}\n'}, 'dependencies:', "'dependencies' was unexpected"),
    'invalid field id': ({'id: vobiz_api_url': 'id: vobiz-api-url'}, 'vobiz-api-url', 'is an invalid variable name'),
    'unknown field key': ({'help_text: Change': 'helptext: Change'}, 'helptext:', "'helptext' was unexpected"),
    'field without label': ({'      label: Auth ID\n': ''}, 'id: vobiz_auth_id', "'label' is a required property"),
    'unknown field type': ({'type: string': 'type: integer'}, 'type: integer', "'integer' is not one of"),
    'unknown format': ({'format: url': 'format: uri'}, 'format: uri', "'uri' is not one of"),
    'empty choices': ({'format: url': 'format: url\n      choices: []'}, 'choices:', 'inputs.fields.2.choices: []'),
    'secret not a boolean': ({'secret: true': 'secret: "true"'}, 'secret:', "'true' is not of type 'boolean'"),
    # inputs: AWX's code
    'reserved field id': ({'id: vobiz_api_url': 'id: tower'}, 'id: tower', '"tower" is a reserved field name'),
    'duplicate field id': ({'id: vobiz_api_url': 'id: vobiz_auth_id  # 2'}, '# 2', 'field IDs must be unique'),
    'default of another type': ({'default: https': 'default: 1 # https'}, 'default:', '1 is not a string'),
    'secret on a boolean': (
        {'      type: string\n      secret': '      type: boolean\n      secret'},
        'secret:',
        'secret not allowed for boolean type',
    ),
    'ask_at_runtime': (
        {'format: url': 'format: url\n      ask_at_runtime: true'},
        'ask_at_runtime:',
        "'ask_at_runtime' is not supported",
    ),
    # injectors: AWX's schema
    'unknown injector kind': ({'  env:': '  environment:'}, 'environment:', "'environment' was unexpected"),
    'invalid env name': (
        {'env:\n': 'env:\n    VOBIZ-X: x\n'},
        'VOBIZ-X:',
        "'VOBIZ-X' does not match any of the regexes",
    ),
    'non-ASCII env value': (
        {'vobiz_api_url }}"': 'vobiz_api_url }}é"'},
        'VOBIZ_API_URL:',
        'injectors.env.VOBIZ_API_URL:',
    ),
    'invalid file template name': (
        {'injectors:\n': 'injectors:\n  file:\n    cfg: x\n'},
        'cfg:',
        "'cfg' does not match",
    ),
    'invalid extra_vars key': (
        {'injectors:\n': 'injectors:\n  extra_vars:\n    a-b: x\n'},
        'a-b:',
        "'a-b' does not match",
    ),
    # injectors: AWX's code
    'reserved env name': ({'env:\n': 'env:\n    PATH: x\n'}, 'PATH:', 'Environment variable PATH is not allowed'),
    'ANSIBLE_ env name': (
        {'env:\n': 'env:\n    ANSIBLE_CONFIG: x\n'},
        'ANSIBLE_CONFIG:',
        'may affect Ansible configuration',
    ),
    'undefined field': (
        {'{{ vobiz_auth_token }}': '{{ vobiz_auth_tokn }}'},
        'VOBIZ_AUTH_TOKEN:',
        "'vobiz_auth_tokn' is undefined",
    ),
    'template syntax error': (
        {'{{ vobiz_auth_id }}': '{{ vobiz_auth_id }'},
        'VOBIZ_AUTH_ID:',
        'Syntax error rendering template',
    ),
    'unsafe template': (
        {'{{ vobiz_auth_id }}': '{{ vobiz_auth_id.__class__ }}'},
        'VOBIZ_AUTH_ID:',
        'Encountered unsafe code execution',
    ),
    'tower itself': (
        {'{{ vobiz_auth_id }}': '{{ tower }}'},
        'VOBIZ_AUTH_ID:',
        'Cannot directly reference reserved `tower`',
    ),
    'tower.filename without a file': (
        {'{{ vobiz_auth_id }}': '{{ tower.filename }}'},
        'VOBIZ_AUTH_ID:',
        'Must define unnamed file injector',
    ),
    'both file syntaxes': (
        {'injectors:\n': f'injectors:\n{FILES}    template.b: x\n'},
        '  file:',
        'Must use multi-file syntax',
    ),
    'undefined file name': (
        {'injectors:\n': 'injectors:\n  file:\n    template.a: x\n  extra_vars:\n    b: "{{ tower.filename.b }}"\n'},
        '    b: ',
        'b uses an undefined field',
    ),
    'undefined extra_vars key': (
        {'injectors:\n': 'injectors:\n  extra_vars:\n    "{{nope}}": x\n'},
        'nope',
        'a key uses an undefined field',
    ),
    # ours
    'required id missing': (
        {'- vobiz_api_url\n': '- vobiz_api_uri\n'},
        '- vobiz_api_uri',
        "'vobiz_api_uri', which is not the id",
    ),
    'token not secret': (
        {'secret: true': 'secret: false'},
        'id: vobiz_auth_token',
        'holds a secret but is not secret: true',
    ),
    'injected token not secret': (
        {TOKEN_FIELD: '- id: vobiz_key\n      label: Key', '{{ vobiz_auth_token }}': '{{ vobiz_key }}'},
        'id: vobiz_key',
        'holds a secret',
    ),
}


@pytest.mark.parametrize('path', rules.SHIPPED, ids=lambda path: path.parent.name)
def test_the_shipped_credential_types_pass(path):
    assert rules.check_file(path) == []


@pytest.mark.parametrize('case', sorted(BROKEN))
def test_each_rule_fails_a_broken_variant_with_file_and_line(case, tmp_path):
    edits, marker, message = BROKEN[case]
    text = GOOD
    for old, new in edits.items():
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / 'credential_type.yml'
    path.write_text(text, encoding='utf-8')
    line = next(
        number for number, line in enumerate(text.splitlines(), start=1) if marker in line and not line.startswith('#')
    )
    found = rules.check_file(path)
    assert any(problem.startswith(f'{path}:{line}: ') and message in problem for problem in found), found


def test_templates_are_not_rendered_against_invalid_inputs(tmp_path):
    """As AWX: with an invalid field, its uses in the templates are not reported as undefined too."""
    path = tmp_path / 'credential_type.yml'
    path.write_text(GOOD.replace('id: vobiz_api_url', 'id: vobiz-api-url'), encoding='utf-8')
    assert [problem.split(': ', 2)[1] for problem in rules.check_file(path)] == ['inputs.fields.2.id']


def test_a_file_with_an_undefined_file_name_is_still_valid_with_both_defined(tmp_path):
    text = GOOD.replace(
        'injectors:\n', 'injectors:\n  file:\n    template.a: x\n  extra_vars:\n    b: "{{ tower.filename.a }}"\n'
    )
    path = tmp_path / 'credential_type.yml'
    path.write_text(text, encoding='utf-8')
    assert rules.check_file(path) == []


def test_the_command_line(tmp_path, capsys):
    assert rules.main([]) == 0
    assert capsys.readouterr().out.count(': OK (') == 2
    missing = tmp_path / 'nope.yml'
    assert rules.main([str(rules.SHIPPED[0]), str(missing)]) == 1
    assert f'{missing}:0: cannot read' in capsys.readouterr().out
    (tmp_path / 'empty.yml').write_text('# nothing\n', encoding='utf-8')
    assert rules.check_file(tmp_path / 'empty.yml') == [f'{tmp_path / "empty.yml"}:0: the file is empty']
