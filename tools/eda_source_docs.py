#!/usr/bin/env python
"""The event source ``vobiz.voice.conference_callbacks`` documented from its ``DOCUMENTATION``, two ways.

antsibull-docs documents modules and plugins, not Event-Driven Ansible sources. This renders the source's own
``DOCUMENTATION`` (``extensions/eda/plugins/event_source/conference_callbacks.py``), so that nothing is copied by
hand:

- ``rst()``: the docsite page *The conference_callbacks event source* (``tools/build_docs.py`` adds it to the
  build; Ansible markup such as ``O(port)`` through antsibull-docs-parser, as antsibull-docs renders it);
- ``schema()``: the argument schema in ansible.eda's layout (JSON Schema 2020-12, one object, its ``properties``
  and ``required``), shipped as ``extensions/eda/plugins/event_source/schemas/conference_callbacks.json`` where
  ansible.eda ships its own. eda-server reads no such schema (its source at 2026-08-18, d05189a9, has no reader);
  it is there for editors, linters and whoever validates an activation's variables.

    python tools/eda_source_docs.py --write    # after a change of DOCUMENTATION: rewrite the schema file
    python tools/eda_source_docs.py            # exit status 1 when the schema file is not up to date
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCE = ROOT / 'extensions' / 'eda' / 'plugins' / 'event_source' / 'conference_callbacks.py'
SCHEMA = SOURCE.parent / 'schemas' / 'conference_callbacks.json'
NAME = 'vobiz.voice.conference_callbacks'
LABEL = 'ansible_collections.vobiz.voice.docsite.event_source'
#: DOCUMENTATION types -> JSON Schema types. ``raw`` is a duration here: seconds, or a text such as ``4h``.
JSON_TYPES = {
    'str': 'string',
    'int': 'integer',
    'float': 'number',
    'bool': 'boolean',
    'list': 'array',
    'raw': ['integer', 'string'],
    'dict': 'object',
}
TYPE_NAMES = {
    'str': 'string',
    'int': 'integer',
    'float': 'float',
    'bool': 'boolean',
    'list': 'list',
    'raw': 'duration',
    'dict': 'mapping',
}


def documentation(path: pathlib.Path = SOURCE) -> dict:
    """The source's DOCUMENTATION, read without importing the file (it needs aiohttp)."""
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(target, 'id', None) for target in node.targets] == [
            'DOCUMENTATION'
        ]:
            return yaml.safe_load(node.value.value)
    raise ValueError('%s has no DOCUMENTATION' % path)


def _paragraphs(text) -> list:
    return [text] if isinstance(text, str) else list(text or [])


def _plain_part(part) -> str:
    if getattr(part, 'name', None) is not None:  # O(name) and O(name=value), E(NAME)
        value = getattr(part, 'value', None)
        return part.name if value is None else '%s=%s' % (part.name, value)
    for attribute in ('text', 'value', 'url'):  # text, C(), V(), I(), B(), L() (its text), U()
        if getattr(part, attribute, None) is not None:
            return getattr(part, attribute)
    return ''


def _plain(text) -> str:
    """A description as plain text for JSON: the markup's content without its letters and brackets (O(port): port)."""
    from antsibull_docs_parser.parser import Context, parse  # pylint: disable=import-outside-toplevel

    return ' '.join(
        ''.join(_plain_part(part) for part in paragraph) for paragraph in parse(_paragraphs(text), Context())
    )


def schema(doc: dict | None = None) -> dict:
    """The argument schema, in the shape of ansible.eda's (``extensions/eda/plugins/event_source/schemas/*.json``)."""
    doc = documentation() if doc is None else doc
    properties = {}
    for name, option in doc['options'].items():
        prop = {
            'description': _plain(option['description']),
            'type': JSON_TYPES[option['type']],
            'title': name.replace('_', ' ').capitalize(),
        }
        if option['type'] == 'list':
            prop['items'] = {'type': JSON_TYPES[option.get('elements', 'str')]}
        if 'default' in option:
            prop['default'] = option['default']
        properties[name] = prop
    return {
        '$schema': 'https://json-schema.org/draft/2020-12/schema',
        '$id': 'https://github.com/vobiz-ai/vobiz.voice/extensions/eda/plugins/event_source/schemas/conference_callbacks.json',
        'title': 'Vobiz conference callbacks',
        'description': _plain(doc['short_description']),
        'type': 'object',
        'properties': properties,
        'required': [name for name, option in doc['options'].items() if option.get('required')],
    }


def schema_text(doc: dict | None = None) -> str:
    return json.dumps(schema(doc), indent=4, ensure_ascii=False) + '\n'


def _rst(text, indent: str = '') -> str:
    from antsibull_docs_parser.parser import Context, parse  # pylint: disable=import-outside-toplevel
    from antsibull_docs_parser.rst import to_rst_plain  # pylint: disable=import-outside-toplevel

    rendered = to_rst_plain(parse(_paragraphs(text), Context()), par_sep='\n\n')
    return '\n'.join((indent + line) if line else '' for line in rendered.splitlines())


def _default(option: dict) -> str:
    if 'default' not in option:
        return ''
    value = option['default']
    text = json.dumps(value) if not isinstance(value, str) else value
    return '``%s``' % text if text else '``""``'


def rst(doc: dict | None = None) -> str:
    """The docsite page of the source's options."""
    doc = documentation() if doc is None else doc
    title = 'The conference_callbacks event source'
    lines = [
        '.. Generated by tools/build_docs.py (tools/eda_source_docs.py) from the DOCUMENTATION of',
        '   extensions/eda/plugins/event_source/conference_callbacks.py: edit that, not this page.',
        '',
        '.. _%s:' % LABEL,
        '',
        title,
        '=' * len(title),
        '',
        '``%s``: %s' % (NAME, _rst(doc['short_description'])),
        '',
        'Use it in a rulebook (the collection\'s own are in ``extensions/eda/rulebooks/``; the guide',
        ':ref:`ansible_collections.vobiz.voice.docsite.enforce_limits` walks through them). The argument schema in',
        'ansible.eda\'s layout is ``extensions/eda/plugins/event_source/schemas/conference_callbacks.json``.',
        '',
        'Synopsis',
        '--------',
        '',
    ]
    for paragraph in _paragraphs(doc['description']):
        lines.append('* ' + _rst(paragraph, '  ').lstrip())
    lines += ['', 'Options', '-------', '', '.. list-table::', '   :header-rows: 1', '   :widths: 20 10 10 60', '']
    lines += ['   * - Option', '     - Type', '     - Default', '     - Comments']
    for name, option in doc['options'].items():
        kind = TYPE_NAMES[option['type']]
        if option['type'] == 'list':
            kind += ' of %ss' % TYPE_NAMES[option.get('elements', 'str')]
        lines.append('   * - ``%s``%s' % (name, ' (required)' if option.get('required') else ''))
        lines.append('     - %s' % kind)
        lines.append('     - %s' % _default(option))
        paragraphs = _paragraphs(option['description'])
        lines.append('     - ' + _rst(paragraphs[0], '       ').lstrip())
        for paragraph in paragraphs[1:]:
            lines += ['', _rst(paragraph, '       ')]
    examples = _examples()
    if examples:
        lines += ['', 'Example', '-------', '', '.. code-block:: yaml', '']
        lines += [('   ' + line) if line else '' for line in examples.strip('\n').splitlines()]
    return '\n'.join(lines) + '\n'


def _examples(path: pathlib.Path = SOURCE) -> str:
    tree = ast.parse(path.read_text(encoding='utf-8'))
    for node in tree.body:
        if isinstance(node, ast.Assign) and [getattr(target, 'id', None) for target in node.targets] == ['EXAMPLES']:
            return node.value.value
    return ''


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n', maxsplit=1)[0])
    parser.add_argument('--write', action='store_true', help='rewrite the schema file from DOCUMENTATION')
    args = parser.parse_args(argv)
    wanted = schema_text()
    if args.write:
        SCHEMA.parent.mkdir(exist_ok=True)
        SCHEMA.write_text(wanted, encoding='utf-8')
        print('wrote %s' % os.path.relpath(SCHEMA, ROOT))
        return 0
    if not SCHEMA.exists() or SCHEMA.read_text(encoding='utf-8') != wanted:
        print(
            '%s is not up to date with the DOCUMENTATION of %s: run python tools/eda_source_docs.py --write'
            % (os.path.relpath(SCHEMA, ROOT), os.path.relpath(SOURCE, ROOT))
        )
        return 1
    print('%s is up to date' % os.path.relpath(SCHEMA, ROOT))
    return 0


if __name__ == '__main__':
    sys.exit(main())
