#!/usr/bin/env python
"""Check an AWX / Automation Platform credential type file the way AWX validates one.

The file holds what ``POST /api/v2/credential_types/`` and the ``awx.awx.credential_type`` module
take: ``name``, ``description``, ``kind``, ``inputs`` and ``injectors``. The rules mirror AWX's own
(``awx/main/fields.py``: ``CredentialTypeInputField`` and ``CredentialTypeInjectorField``;
``awx/main/constants.py``: ``ENV_BLOCKLIST``; ``awx/api/serializers.py``:
``CredentialTypeSerializer``), plus a few of ours for this collection: ids listed in ``required``
must exist, a field that holds a token, password or secret must be ``secret: true``, and the env
injectors must set the variables the vobiz.voice modules read.

Every problem is printed as ``FILE:LINE: message``; the exit status is 1 when there is any.

    python tools/check_awx_credential_type.py [FILE ...]
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

ROOT = pathlib.Path(__file__).resolve().parent.parent
DEFAULT_FILE = ROOT / 'extensions' / 'awx' / 'credential_type_vobiz.yml'

# awx/main/constants.py (AWX devel after 24.6.1, October 2024): environment variables a credential must not set.
ENV_BLOCKLIST = frozenset(
    'VIRTUAL_ENV PATH PYTHONPATH JOB_ID INVENTORY_ID INVENTORY_SOURCE_ID INVENTORY_UPDATE_ID AD_HOC_COMMAND_ID REST_API_URL REST_API_TOKEN '
    'MAX_EVENT_RES CALLBACK_QUEUE CALLBACK_CONNECTION CACHE JOB_CALLBACK_DEBUG INVENTORY_HOSTVARS AWX_HOST PROJECT_REVISION SUPERVISOR_CONFIG_PATH'.split()
)
VARIABLE_NAME = '^[a-zA-Z_]+[a-zA-Z0-9_]*$'
# CredentialTypeInputField.schema()
FIELD_PROPERTIES = {
    'type': {'enum': ['string', 'boolean']},
    'format': {'enum': ['ssh_private_key', 'url']},
    'choices': {'type': 'array', 'minItems': 1, 'items': {'type': 'string'}, 'uniqueItems': True},
    'id': {'type': 'string', 'pattern': VARIABLE_NAME, 'error': '{instance} is an invalid variable name'},
    **{key: {'type': 'string'} for key in ('label', 'help_text')},
    **{key: {'type': 'boolean'} for key in ('multiline', 'secret', 'ask_at_runtime')},
    'default': {},
}
FIELD = {'type': 'object', 'properties': FIELD_PROPERTIES, 'additionalProperties': False, 'required': ['id', 'label']}
INPUTS_SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'properties': {'required': {'type': 'array', 'items': {'type': 'string'}}, 'fields': {'type': 'array', 'items': FIELD}},
}
# CredentialTypeInjectorField.schema()
EXTRA_VARS = {r'^[a-zA-Z_\{\}]+[a-zA-Z0-9_\{\}]*$': {'anyOf': [{'type': 'string'}, {'type': 'array'}, {'$ref': '#/properties/extra_vars'}]}}
INJECTORS_SCHEMA = {
    'type': 'object',
    'additionalProperties': False,
    'properties': {
        'file': {'type': 'object', 'patternProperties': {r'^template(\.[a-zA-Z_]+[a-zA-Z0-9_]*)?$': {'type': 'string'}}, 'additionalProperties': False},
        'env': {'type': 'object', 'patternProperties': {VARIABLE_NAME: {'type': 'string', 'pattern': '^[\x00-\x7f]*$'}}, 'additionalProperties': False},
        'extra_vars': {'type': 'object', 'patternProperties': EXTRA_VARS, 'additionalProperties': False},
    },
}
TOP_LEVEL = {'name': str, 'description': str, 'kind': str, 'inputs': dict, 'injectors': dict}
KINDS = ('cloud', 'net')  # CredentialTypeSerializer: the kinds a custom credential type may have
SECRET_WORDS = re.compile(r'token|password|passwd|secret|private_key|api_key', re.IGNORECASE)
# What the vobiz.voice modules read; the file exists to set them.
REQUIRED_ENV = ('VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL')
SECRET_ENV = ('VOBIZ_AUTH_TOKEN',)


class Checker:
    """Collects the problems of one file, each with the line it is on."""

    def __init__(self, path: pathlib.Path, display: str):
        self.path = path
        self.display = display
        self.problems: list[tuple[int, str]] = []
        self.root: yaml.Node | None = None

    def add(self, node_or_line, message: str) -> None:
        """Record a problem at a YAML node (or a line number)."""
        line = node_or_line if isinstance(node_or_line, int) else node_or_line.start_mark.line + 1
        self.problems.append((line, message))

    def node(self, path) -> yaml.Node | None:
        """The value node at ``path`` (keys and list indexes), or the deepest node that exists."""
        node = self.root
        for part in path:
            if isinstance(node, yaml.MappingNode):
                for key_node, value_node in node.value:
                    if key_node.value == part:
                        node = value_node
                        break
                else:
                    return node
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
            else:
                return node
        return node

    def key_node(self, path) -> yaml.Node | None:
        """The key node of the mapping entry at ``path`` (its line is the one to report)."""
        parent = self.node(list(path[:-1]))
        if isinstance(parent, yaml.MappingNode):
            for key_node, _value in parent.value:
                if key_node.value == path[-1]:
                    return key_node
        return self.node(list(path))

    def schema(self, where: str, schema: dict, value, prefix: tuple) -> bool:
        """Validate ``value`` like AWX's JSONSchemaField (Draft 4); True when valid."""
        valid = True
        for error in sorted(jsonschema.Draft4Validator(schema).iter_errors(value), key=lambda err: list(err.absolute_path)):
            valid = False
            message = error.message
            if error.validator == 'pattern' and 'error' in error.schema:
                message = error.schema['error'].format(instance=error.instance)
            path = prefix + tuple(error.absolute_path)
            node = self.key_node(path) if path else self.root
            label = '.'.join([where] + [str(part) for part in error.absolute_path])
            unexpected = re.findall(r"'([^']+)' (?:was|were) unexpected", message) if error.validator == 'additionalProperties' else []
            if unexpected:
                for name in unexpected:
                    self.add(self.key_node(path + (name,)) or node, f'{label}: {message}')
                continue
            self.add(node, f'{label}: {message}')
        return valid

    def run(self) -> None:
        """Check the file."""
        try:
            text = self.path.read_text(encoding='utf-8')
        except OSError as exc:
            self.add(0, f'cannot read: {exc}')
            return
        try:
            self.root = yaml.compose(text, Loader=yaml.SafeLoader)
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            mark = getattr(exc, 'problem_mark', None)
            what = ' '.join(str(part) for part in (getattr(exc, 'context', None), getattr(exc, 'problem', None)) if part) or str(exc)
            self.add(mark.line + 1 if mark else 0, f'not valid YAML: {what}' + (f' (column {mark.column + 1})' if mark else ''))
            return
        if not isinstance(data, dict):
            self.add(self.root or 0, 'the file must be a mapping with name, kind, inputs and injectors')
            return
        self.check_top_level(data)
        inputs = data.get('inputs') if isinstance(data.get('inputs'), dict) else {}
        injectors = data.get('injectors') if isinstance(data.get('injectors'), dict) else {}
        inputs_ok = isinstance(data.get('inputs'), dict) and self.check_inputs(inputs)
        if isinstance(data.get('injectors'), dict) and self.schema('injectors', INJECTORS_SCHEMA, injectors, ('injectors',)):
            self.check_env_names(injectors)
            if inputs_ok:  # like AWX: templates are only checked against valid inputs
                self.check_templates(inputs, injectors)
                self.check_policy(inputs, injectors)

    def check_top_level(self, data: dict) -> None:
        """The API body: name, description, kind, inputs, injectors."""
        for key, value in data.items():
            if key not in TOP_LEVEL:
                self.add(self.key_node((key,)), f"unknown key {key!r}; a credential type has {', '.join(TOP_LEVEL)}")
            elif not isinstance(value, TOP_LEVEL[key]):
                self.add(self.node([key]), f'{key} must be a {TOP_LEVEL[key].__name__}, not {type(value).__name__}')
        for key in ('name', 'kind', 'inputs', 'injectors'):
            if key not in data:
                self.add(self.root, f'{key} is missing')
        if isinstance(data.get('name'), str) and not data['name'].strip():
            self.add(self.node(['name']), 'name must not be empty')
        if 'kind' in data and data['kind'] not in KINDS:
            self.add(self.node(['kind']), f"kind: Must be 'cloud' or 'net', not {data['kind']}")

    def check_inputs(self, inputs: dict) -> bool:
        """CredentialTypeInputField.validate() and CredentialTypeSerializer.validate(); True when valid."""
        if 'dependencies' in inputs:
            self.add(self.key_node(('inputs', 'dependencies')), "inputs: 'dependencies' is not supported for custom credentials.")
            return False
        if not self.schema('inputs', INPUTS_SCHEMA, inputs, ('inputs',)):
            return False
        valid = True
        ids: set[str] = set()
        for index, field in enumerate(inputs.get('fields', [])):
            where = ('inputs', 'fields', index)
            field_id = field['id']
            if field_id == 'tower':
                self.add(self.node(list(where) + ['id']), '"tower" is a reserved field name')
                valid = False
            if field_id in ids:
                self.add(self.node(list(where) + ['id']), f'field IDs must be unique ({field_id})')
                valid = False
            ids.add(field_id)
            field_type = field.get('type', 'string')
            if 'default' in field and not isinstance(field['default'], {'string': str, 'boolean': bool}[field_type]):
                self.add(self.node(list(where) + ['default']), f"{field['default']} is not a {field_type}")
                valid = False
            for key in ('choices', 'multiline', 'format', 'secret'):
                if key in field and field_type != 'string':
                    self.add(self.key_node(where + (key,)), f'{key} not allowed for {field_type} type ({field_id})')
                    valid = False
            if field.get('ask_at_runtime', False):
                self.add(self.key_node(where + ('ask_at_runtime',)), "'ask_at_runtime' is not supported for custom credentials.")
                valid = False
        for index, required in enumerate(inputs.get('required', [])):
            if required not in ids:  # ours: AWX accepts it, but no credential could ever satisfy it
                self.add(self.node(['inputs', 'required', index]), f'required lists {required!r}, which is not the id of any field')
                valid = False
        return valid

    def check_env_names(self, injectors: dict) -> None:
        """CredentialTypeInjectorField.validate_env_var_allowed()."""
        for name in injectors.get('env', {}):
            node = self.key_node(('injectors', 'env', name))
            if name.startswith('ANSIBLE_'):
                self.add(node, f'Environment variable {name} may affect Ansible configuration so its use is not allowed in credentials.')
            elif name in ENV_BLOCKLIST:
                self.add(node, f'Environment variable {name} is not allowed to be used in credentials.')

    def check_templates(self, inputs: dict, injectors: dict) -> None:
        """Render every injector template against the defined fields, as AWX does before saving."""
        namespace: dict = {field['id']: 'EXAMPLE' for field in inputs.get('fields', [])}
        template_names = [name for name in injectors.get('file', {}) if name.startswith('template')]
        tower = _TowerNamespace()
        if 'template' in template_names:
            tower.filename = 'EXAMPLE_FILENAME'
            if len(template_names) > 1:
                self.add(self.key_node(('injectors', 'file')), 'Must use multi-file syntax when injecting multiple files')
        else:
            for name in template_names:
                setattr(tower.filename, name.split('.')[1], 'EXAMPLE_FILENAME')
        namespace['tower'] = tower
        environment = ImmutableSandboxedEnvironment(undefined=StrictUndefined)

        def render(kind: str, path: tuple, label: str, template) -> None:
            try:
                environment.from_string(template).render(namespace)
            except UndefinedError as exc:
                self.add(self.node(list(path)), f'{label} uses an undefined field ({exc})')
            except SecurityError as exc:
                self.add(self.node(list(path)), f'Encountered unsafe code execution: {exc}')
            except TemplateSyntaxError as exc:
                self.add(self.node(list(path)), f'Syntax error rendering template for {label} inside of {kind} ({exc})')

        def walk_extra_vars(key, node, path: tuple) -> None:
            if isinstance(node, dict):
                for name, value in node.items():
                    render('extra_vars', path + (name,), 'a key' if key is None else key, name)
                    walk_extra_vars(name if key is None else f'{key}.{name}', value, path + (name,))
            elif isinstance(node, list):
                for index, value in enumerate(node):
                    walk_extra_vars(f'{key}[{index}]', value, path + (index,))
            else:
                render('extra_vars', path, key, node)

        for kind, injector in injectors.items():
            if kind == 'extra_vars':
                walk_extra_vars(None, injector, ('injectors', 'extra_vars'))
            else:
                for key, template in injector.items():
                    render(kind, ('injectors', kind, key), key, template)

    def check_policy(self, inputs: dict, injectors: dict) -> None:
        """Ours: secrets are secret, and the modules' variables are all set."""
        fields = {field['id']: (index, field) for index, field in enumerate(inputs.get('fields', []))}
        for field_id, (index, field) in fields.items():
            if SECRET_WORDS.search(field_id) and field.get('type', 'string') == 'string' and not field.get('secret', False):
                self.add(
                    self.node(['inputs', 'fields', index, 'id']),
                    f'field {field_id!r} holds a secret but is not secret: true (AWX would show it and store it unencrypted)',
                )
        env = injectors.get('env', {})
        for name in REQUIRED_ENV:
            if name not in env:
                self.add(
                    self.key_node(('injectors', 'env')) or self.key_node(('injectors',)) or self.root,
                    f'injectors.env does not set {name}, which the vobiz.voice modules read',
                )
        for name in SECRET_ENV:
            for field_id in re.findall(r'\{\{-?\s*([A-Za-z_][A-Za-z0-9_]*)', str(env.get(name, ''))):
                if field_id in fields and not fields[field_id][1].get('secret', False):
                    index = fields[field_id][0]
                    self.add(self.node(['inputs', 'fields', index, 'id']), f'field {field_id!r} is injected as {name} but is not secret: true')


class _ExplodingNamespace:
    def __str__(self):
        raise UndefinedError('Must define unnamed file injector in order to reference `tower.filename`.')


class _TowerNamespace:
    def __init__(self):
        self.filename = _ExplodingNamespace()

    def __str__(self):
        raise UndefinedError('Cannot directly reference reserved `tower` namespace container.')


def display_path(path: pathlib.Path) -> str:
    """The path relative to the current directory when it is below it."""
    try:
        return str(path.resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_file(path: pathlib.Path) -> list[str]:
    """Return the problems of one file as ``FILE:LINE: message`` lines."""
    checker = Checker(path, display_path(path))
    checker.run()
    return [f'{checker.display}:{line}: {message}' for line, message in sorted(checker.problems)]


def main(argv: list[str] | None = None) -> int:
    """Check the files; print one line per problem and a summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('files', nargs='*', type=pathlib.Path, help=f'credential type files (default: {display_path(DEFAULT_FILE)})')
    args = parser.parse_args(argv)
    failed = 0
    for path in args.files or [DEFAULT_FILE]:
        problems = check_file(path)
        for problem in problems:
            print(problem)
        if problems:
            failed += 1
        else:
            print(f'{display_path(path)}: OK (AWX credential type rules: inputs, injectors, env names, templates, secrets)')
    print(f'check_awx_credential_type: {failed} file(s) with problems')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
