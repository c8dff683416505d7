# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check an AWX / Automation Platform credential type file the way AWX validates one, and by our own rules.

AWX's schemas of ``inputs`` and ``injectors``, its blocklist of environment variables and the kinds of a custom type
are vendored as data (``awx_credential_type_rules.yml``) and validated with jsonschema, as AWX does. Written here: what
AWX checks in code (``awx/main/fields.py``, the ``validate()`` of ``CredentialTypeInputField`` and
``CredentialTypeInjectorField``, templates rendered in Jinja's sandbox) and ours: ids in ``required`` exist, secrets
are ``secret: true``, ``injectors.env`` sets what the vobiz.voice modules read. Needs PyYAML, Jinja2 and jsonschema.

    python tests/unit/extensions/awx/credential_type_rules.py [FILE ...]   # default: both shipped files

Each problem is printed as ``FILE:LINE: message``; the exit status is 1 when there is any.
"""

from __future__ import annotations

import argparse
import pathlib
import re
import sys

import jsonschema
import yaml
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

HERE = pathlib.Path(__file__).resolve().parent
SHIPPED = [HERE.parents[3] / 'extensions' / kind / 'credential_type_vobiz.yml' for kind in ('awx', 'eda')]
REQUIRED_ENV = ['VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL']
AWX = yaml.safe_load((HERE / 'awx_credential_type_rules.yml').read_text(encoding='utf-8'))
# The body of POST /api/v2/credential_types/ (CredentialTypeSerializer); inputs and injectors are AWX's own schemas.
BODY = {
    'type': 'object',
    'required': ['name', 'kind', 'inputs', 'injectors'],
    'additionalProperties': False,
    'properties': {
        'name': {'type': 'string', 'pattern': r'\S', 'error': 'name must not be empty'},
        'description': {'type': 'string'},
        'kind': {'enum': AWX['custom_kinds']},
        'inputs': {'type': 'object'},
        # Ours: the variables the vobiz.voice modules read.
        'injectors': {'type': 'object', 'required': ['env'], 'properties': {'env': {'required': REQUIRED_ENV}}},
    },
}
SECRET_WORDS = re.compile(r'token|password|passwd|secret|private_key|api_key', re.IGNORECASE)


def schema_problems(schema: dict, value, prefix: tuple) -> list:
    """(path, message) of each error, as AWX's JSONSchemaField (Draft 4, a pattern's own 'error'); an unexpected key
    is reported at its own path, so at its own line."""
    found = []
    for error in jsonschema.Draft4Validator(schema).iter_errors(value):
        path = prefix + tuple(error.absolute_path)
        message = error.message
        if error.validator == 'pattern' and 'error' in error.schema:
            message = error.schema['error'].format(instance=error.instance)
        extras = []
        if error.validator == 'additionalProperties':
            patterns = error.schema.get('patternProperties', {})
            extras = [key for key in error.instance if key not in error.schema.get('properties', {})]
            extras = [key for key in extras if not any(re.search(pattern, key) for pattern in patterns)]
        found += [(path + (key,), message) for key in extras] or [(path, message)]
    return found


def field_problems(fields: list) -> list:
    """What CredentialTypeInputField.validate() and the serializer check in code, past the schema."""
    found, ids = [], [field['id'] for field in fields]
    for index, field in enumerate(fields):
        at, kind, field_id = ('inputs', 'fields', index), field.get('type', 'string'), field['id']
        if field_id == 'tower':
            found.append((at + ('id',), '"tower" is a reserved field name'))
        if field_id in ids[:index]:
            found.append((at + ('id',), f'field IDs must be unique ({field_id})'))
        if 'default' in field and not isinstance(field['default'], {'string': str, 'boolean': bool}[kind]):
            found.append((at + ('default',), f'{field["default"]} is not a {kind}'))
        for key in ('choices', 'multiline', 'format', 'secret'):
            if key in field and kind != 'string':
                found.append((at + (key,), f'{key} not allowed for {kind} type ({field_id})'))
        if field.get('ask_at_runtime', False):
            found.append((at + ('ask_at_runtime',), "'ask_at_runtime' is not supported for custom credentials."))
    return found


class _ExplodingNamespace:
    def __str__(self):
        raise UndefinedError('Must define unnamed file injector in order to reference `tower.filename`.')


class _TowerNamespace:
    def __init__(self):
        self.filename = _ExplodingNamespace()

    def __str__(self):
        raise UndefinedError('Cannot directly reference reserved `tower` namespace container.')


def injector_problems(injectors: dict, fields: list) -> list:
    """CredentialTypeInjectorField.validate(): the environment names, then every template rendered in Jinja's sandbox
    against the defined fields (keys of extra_vars too), undefined names as errors."""
    found = []
    for name in injectors.get('env', {}):
        if name.startswith('ANSIBLE_'):
            message = f'Environment variable {name} may affect Ansible configuration so its use is not allowed'
            found.append((('injectors', 'env', name), message + ' in credentials.'))
        elif name in AWX['env_blocklist']:
            message = f'Environment variable {name} is not allowed to be used in credentials.'
            found.append((('injectors', 'env', name), message))
    namespace = {field['id']: 'EXAMPLE' for field in fields}
    namespace['tower'] = tower = _TowerNamespace()
    templates = [name for name in injectors.get('file', {}) if name.startswith('template')]
    if 'template' in templates:
        tower.filename = 'EXAMPLE_FILENAME'
        if len(templates) > 1:
            found.append((('injectors', 'file'), 'Must use multi-file syntax when injecting multiple files'))
    else:
        for name in templates:
            setattr(tower.filename, name.split('.')[1], 'EXAMPLE_FILENAME')
    environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined)

    def render(kind: str, path: tuple, label, template: str) -> None:
        try:
            environment.from_string(template).render(namespace)
        except UndefinedError as exc:
            found.append((path, f'{label} uses an undefined field ({exc})'))
        except SecurityError as exc:
            found.append((path, f'Encountered unsafe code execution: {exc}'))
        except TemplateSyntaxError as exc:
            found.append((path, f'Syntax error rendering template for {label} inside of {kind} ({exc})'))

    def render_extra_vars(label, node, path: tuple) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                render('extra_vars', path + (key,), 'a key' if label is None else label, key)
                render_extra_vars(key if label is None else f'{label}.{key}', value, path + (key,))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                render_extra_vars(f'{label}[{index}]', value, path + (index,))
        else:
            render('extra_vars', path, label, node)

    for kind, injector in injectors.items():
        if kind == 'extra_vars':
            render_extra_vars(None, injector, ('injectors', 'extra_vars'))
        else:
            for key, template in injector.items():
                render(kind, ('injectors', kind, key), key, template)
    return found


def our_problems(inputs: dict, injectors: dict) -> list:
    """Ours: a required id names a field (AWX accepts any, but no credential could satisfy it), and a field that holds
    a secret or is injected as the token is secret (else AWX shows it and stores it unencrypted)."""
    fields = {field['id']: (index, field) for index, field in enumerate(inputs.get('fields', []))}
    found = [
        (('inputs', 'required', index), f'required lists {name!r}, which is not the id of any field')
        for index, name in enumerate(inputs.get('required', []))
        if name not in fields
    ]
    injected = re.findall(r'\{\{-?\s*([A-Za-z_]\w*)', injectors.get('env', {}).get('VOBIZ_AUTH_TOKEN', ''))
    for field_id, (index, field) in fields.items():
        if field.get('type', 'string') == 'string' and not field.get('secret', False):
            if SECRET_WORDS.search(field_id) or field_id in injected:
                message = f'field {field_id!r} holds a secret but is not secret: true (AWX would show it)'
                found.append((('inputs', 'fields', index, 'id'), message))
    return found


def problems(data) -> list:
    """(path, message) of every problem of a loaded credential type; templates are only rendered against valid inputs,
    as AWX does."""
    found = schema_problems(BODY, data, ())
    inputs, injectors = (data.get(key) if isinstance(data, dict) else None for key in ('inputs', 'injectors'))
    inputs_valid = False
    if isinstance(inputs, dict):
        inputs_found = schema_problems(AWX['inputs'], inputs, ('inputs',)) or field_problems(inputs.get('fields', []))
        found += inputs_found
        inputs_valid = not inputs_found
    if isinstance(injectors, dict):
        injectors_found = schema_problems(AWX['injectors'], injectors, ('injectors',))
        found += injectors_found
        if inputs_valid and not injectors_found:
            found += injector_problems(injectors, inputs.get('fields', [])) + our_problems(inputs, injectors)
    return found


def line_of(node: yaml.Node, path: tuple) -> int:
    """The line of the deepest key or item of ``path`` in the file."""
    line = node.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            entry = next(((key, value) for key, value in node.value if key.value == part), None)
            if entry is None:
                break
            line, node = entry[0].start_mark.line + 1, entry[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def check_file(path: pathlib.Path) -> list[str]:
    """The problems of one file as ``FILE:LINE: message`` lines, in the order of the lines."""
    try:
        text = path.read_text(encoding='utf-8')
        root, data = yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except (OSError, ValueError) as exc:
        return [f'{path}:0: cannot read: {exc}']
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        where = f'{mark.line + 1}: not valid YAML: {exc.problem} (column {mark.column + 1})' if mark else f'0: {exc}'
        return [f'{path}:{where}']
    if root is None:
        return [f'{path}:0: the file is empty']
    found = [(line_of(root, where), '.'.join(map(str, where)), message) for where, message in problems(data)]
    return [f'{path}:{line}: {where}{": " if where else ""}{message}' for line, where, message in sorted(found)]


def main(argv: list[str] | None = None) -> int:
    """Check the files; print one line per problem, or OK."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('files', nargs='*', type=pathlib.Path, help='credential type files (default: the shipped ones)')
    failed = 0
    for path in parser.parse_args(argv).files or SHIPPED:
        found = check_file(path)
        print('\n'.join(found) if found else f'{path}: OK (AWX credential type rules and ours)')
        failed += bool(found)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
