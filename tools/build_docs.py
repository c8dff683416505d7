#!/usr/bin/env python
"""Build the collection's HTML docsite with antsibull-docs and Sphinx into ``build/docs/``.

Steps, all in a scratch directory outside the tree: ``antsibull-docs sphinx-init --use-current``
(the site skeleton: ``conf.py``, ``antsibull-docs.cfg``), ``antsibull-docs collection`` (RST for
the modules, the role and ``docs/docsite/rst/``), then ``sphinx-build -W --keep-going``, so that any
warning, such as a ``:ref:`` to a label that does not exist, fails the build. The HTML is copied to
``build/docs/`` (``--dest`` to change).

What antsibull-docs does not know, the build adds, generated, never copied by hand: the page of the event source
``vobiz.voice.conference_callbacks`` (antsibull-docs documents no Event-Driven Ansible source), rendered from its
``DOCUMENTATION`` by ``tools/eda_source_docs.py`` into the docsite of the collection copy antsibull-docs reads (a
``Reference`` entry); the environment variable index, which antsibull-docs fills only from plugins' ``env:``
entries (modules have none), listing the variables of ``docs/docsite/config.yml`` (``envvar_directives``, described
with ``.. envvar::`` in the guides); and the landing page.

Before that, a quick check of our own sources names the file and line of a ``docs/docsite/extra-docs.yml``
toctree entry without a file and of a ``:ref:`` to a ``ansible_collections.vobiz.voice.docsite.*`` label that no
guide defines; Sphinx warnings about the copied guides are reported against ``docs/docsite/rst/``.

Offline: the generated ``conf.py`` maps intersphinx to docs.python.org, jinja and docs.ansible.com, each with a
local fallback file. This script writes those fallbacks: empty ones, and for docs.ansible.com the handful of labels
the antsibull-docs templates link to, so that the build also passes without network (the links then still point to
docs.ansible.com).

Needs, in the same environment as this Python: antsibull-docs, Sphinx, sphinx-ansible-theme, ansible-pygments.

    python tools/build_docs.py [--dest DIR]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import zlib

import eda_source_docs
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
DOCSITE = ROOT / 'docs' / 'docsite'
LABEL_PREFIX = 'ansible_collections.vobiz.voice.docsite.'
REF = re.compile(r':ref:`(?:[^`<]*<)?([^`>]+)>?`')
LABEL = re.compile(r'^\.\. _([^:]+):\s*$')
GENERATED_DOCSITE = re.compile(r'^(?:.*/)?rst/collections/vobiz/voice/docsite/([^/:]+\.rst)(:\d+)?')
# Labels of docs.ansible.com that the antsibull-docs templates link to (antsibull-docs 2.x).
ANSIBLE_LABELS = {
    'ansible_configuration_settings': ('reference_appendices/config.html#ansible-configuration-settings', 'Ansible Configuration Settings'),
    'common_return_values': ('reference_appendices/common_return_values.html#common-return-values', 'Return Values'),
    'collections_keyword': ('collections_guide/collections_using_playbooks.html#collections-keyword', 'Simplifying module names'),
    'list_of_collections': ('collections/index.html#list-of-collections', 'Collection Index'),
    'action_plugins': ('plugins/action.html#action-plugins', 'Action plugins'),
    'callback_plugins': ('plugins/callback.html#callback-plugins', 'Callback plugins'),
    'list_of_callback_plugins': ('plugins/callback.html#callback-plugin-list', 'Plugin list'),
    'ansible_collections.ansible.builtin.linear_strategy': ('collections/ansible/builtin/linear_strategy.html', 'ansible.builtin.linear strategy'),
}
# Environment variables of ansible-core that our plugin docs name (E(...)): with envvars of its own in
# docs/docsite/config.yml, antsibull-docs makes every known one a link, which the offline fallback must resolve.
ANSIBLE_ENVVARS = ('ANSIBLE_DISPLAY_OK_HOSTS', 'ANSIBLE_STDOUT_CALLBACK', 'ANSIBLE_STRATEGY')
THEME_HINT = 'pip install sphinx-ansible-theme==0.10.4 (pinned in requirements-dev.txt)'


def tool(name: str) -> str:
    """A console script of this Python's environment, else from PATH."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def collections_path(workdir: pathlib.Path) -> str:
    """A collections path holding this checkout as vobiz.voice."""
    if ROOT.parent.name == 'vobiz' and ROOT.parent.parent.name == 'ansible_collections':
        return str(ROOT.parent.parent.parent)
    link = workdir / 'collections' / 'ansible_collections' / 'vobiz' / 'voice'
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(ROOT)
    return str(workdir / 'collections')


def docs_collection(workdir: pathlib.Path) -> str:
    """A collections path for the docs build: this checkout as vobiz.voice (each top-level entry a link), its
    docsite a copy with the generated pages added to the ``Reference`` section of ``extra-docs.yml``."""
    collection = workdir / 'collections' / 'ansible_collections' / 'vobiz' / 'voice'
    collection.mkdir(parents=True)
    for entry in ROOT.iterdir():
        if entry.name != 'docs' and not entry.name.startswith('.'):
            (collection / entry.name).symlink_to(entry)
    docsite = collection / 'docs' / 'docsite'
    shutil.copytree(DOCSITE, docsite)
    index = yaml.safe_load((docsite / 'extra-docs.yml').read_text(encoding='utf-8'))
    for name, text in generated_pages().items():
        (docsite / 'rst' / (name + '.rst')).write_text(text, encoding='utf-8')
        next(section for section in index['sections'] if section['title'] == 'Reference')['toctree'].append(name)
    (docsite / 'extra-docs.yml').write_text(yaml.safe_dump(index, sort_keys=False), encoding='utf-8')
    return str(workdir / 'collections')


def generated_pages() -> dict[str, str]:
    """The pages the build adds to docs/docsite/rst/, by name."""
    return {'event_source': eda_source_docs.rst()}


def environment_index() -> str:
    """The environment variable index: antsibull-docs's page lists plugins' ``env:`` entries only (none here)."""
    names = yaml.safe_load((DOCSITE / 'config.yml').read_text(encoding='utf-8'))['envvar_directives']
    title = 'Index of all Collection Environment Variables'
    lines = [':orphan:', '', '.. _list_of_collection_env_vars:', '', title, '=' * len(title), '']
    lines += ['The environment variables vobiz.voice reads, each described where it is used:', '']
    lines += ['* :envvar:`%s`' % name for name in names]
    return '\n'.join(lines) + '\n'


def display_path(path: pathlib.Path | str) -> str:
    """The path relative to the current directory when it is below it."""
    try:
        return str(pathlib.Path(path).resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        return str(path)


def check_sources() -> list[str]:
    """Our own cross-references, with file and line: toctree entries and :ref: to our labels."""
    problems = []
    rst_dir = DOCSITE / 'rst'
    documents = {path.stem for path in rst_dir.glob('*.rst')}
    labels: set[str] = set()
    refs: list[tuple[pathlib.Path, int, str]] = []
    for path in sorted(rst_dir.glob('*.rst')):
        for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), start=1):
            match = LABEL.match(line)
            if match:
                labels.add(match.group(1))
            refs.extend((path, number, target.strip()) for target in REF.findall(line))
    for path, number, target in refs:
        if target.startswith(LABEL_PREFIX) and target not in labels | {eda_source_docs.LABEL}:
            problems.append(f'{display_path(path)}:{number}: :ref: target {target!r} is not defined in docs/docsite/rst/')
    index = DOCSITE / 'extra-docs.yml'
    if index.exists():
        root = yaml.compose(index.read_text(encoding='utf-8'), Loader=yaml.SafeLoader)
        for section in _mapping_get(root, 'sections').value if isinstance(_mapping_get(root, 'sections'), yaml.SequenceNode) else []:
            toctree = _mapping_get(section, 'toctree')
            for entry in toctree.value if isinstance(toctree, yaml.SequenceNode) else []:
                node = _mapping_get(entry, 'ref') if isinstance(entry, yaml.MappingNode) else entry
                if isinstance(node, yaml.ScalarNode) and node.value not in documents:
                    problems.append(f'{display_path(index)}:{node.start_mark.line + 1}: toctree entry {node.value!r} has no docs/docsite/rst/{node.value}.rst')
    return problems


def _mapping_get(node, key: str):
    """The value node of ``key`` in a mapping node, or None."""
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == key:
                return value_node
    return None


def write_inventory(path: pathlib.Path, project: str, entries: dict[str, tuple[str, str]], envvars=()) -> None:
    """A Sphinx objects.inv (version 2) with ``std:label`` entries, and ``std:envvar`` ones of the configuration page."""
    body = ''.join(f'{name} std:label -1 {uri} {title}\n' for name, (uri, title) in sorted(entries.items()))
    body += ''.join(f'{name} std:envvar -1 reference_appendices/config.html#envvar-{name} -\n' for name in envvars)
    header = f'# Sphinx inventory version 2\n# Project: {project}\n# Version: \n# The remainder of this file is compressed using zlib.\n'
    path.write_bytes(header.encode() + zlib.compress(body.encode()))


def run(cmd: list[str], cwd: pathlib.Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    """Run a step, capturing its output (no time limit: the gate ends a step that hangs, silent for minutes)."""
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def map_output(text: str) -> list[str]:
    """Sphinx warnings about the copied guides, pointed back at docs/docsite/rst/."""
    lines = []
    for line in text.splitlines():
        match = GENERATED_DOCSITE.match(line)
        if match:
            line = f"{display_path(DOCSITE / 'rst' / match.group(1))}{match.group(2) or ''}{line[match.end() :]}"
        lines.append(line)
    return lines


def main(argv: list[str] | None = None) -> int:
    """Build the docsite."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dest', type=pathlib.Path, default=ROOT / 'build' / 'docs', help='where the HTML goes (default: build/docs)')
    args = parser.parse_args(argv)

    problems = check_sources()
    for problem in problems:
        print(problem)
    if problems:
        print(f'build_docs: {len(problems)} broken reference(s) in docs/docsite/')
        return 1
    try:
        __import__('sphinx_ansible_theme')
    except ImportError:
        print(f'build_docs: the Sphinx theme is missing: {THEME_HINT}')
        return 1

    work = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-docs-'))  # 0700, as antsibull-docs insists
    try:
        env = dict(os.environ)
        collections = docs_collection(work)
        env.update({'ANSIBLE_COLLECTIONS_PATH': collections, 'PATH': os.pathsep.join([str(BIN), env.get('PATH', '')]), 'ANSIBLE_NOCOLOR': '1'})
        site = work / 'site'
        site.mkdir(mode=0o700)
        steps = [
            ('sphinx-init', [tool('antsibull-docs'), 'sphinx-init', '--use-current', '--fail-on-error', '--dest-dir', str(site), 'vobiz.voice'], work),
            (
                'collection RST',
                [
                    tool('antsibull-docs'),
                    '--config-file',
                    'antsibull-docs.cfg',
                    'collection',
                    '--cleanup',
                    'everything',
                    '--use-current',
                    '--fail-on-error',
                    '--dest-dir',
                    'rst',
                    'vobiz.voice',
                ],
                site,
            ),
            ('sphinx-build', [tool('sphinx-build'), '-M', 'html', 'rst', 'build', '-c', '.', '-W', '--keep-going'], site),
        ]
        for name, cmd, cwd in steps:
            if name == 'collection RST':
                (site / 'rst').chmod(0o700)
                for inv in ('python2', 'python3', 'jinja2'):
                    write_inventory(site / f'{inv}.inv', inv, {})
                write_inventory(site / 'ansible_devel.inv', 'Ansible', ANSIBLE_LABELS, ANSIBLE_ENVVARS)
                with open(site / 'conf.py', 'a', encoding='utf-8') as conf:
                    conf.write('\n# Added by tools/build_docs.py: do not wait long for unreachable inventories.\nintersphinx_timeout = 5\n')
            if name == 'sphinx-build':
                # Our landing page (the user stories, the playbooks, the guides) instead of the generator's template.
                shutil.copyfile(DOCSITE / 'landing.rst', site / 'rst' / 'index.rst')
                (site / 'rst' / 'collections' / 'environment_variables.rst').write_text(environment_index(), encoding='utf-8')
            result = run(cmd, cwd, env)
            output = map_output(result.stdout + result.stderr)
            warnings = [line for line in output if re.search(r'\bWARNING\b|\bERROR\b|Traceback|Exception:', line)]
            if result.returncode != 0:
                print(f'build_docs: {name} failed (exit {result.returncode})')
                print('\n'.join(warnings or output[-30:]))
                if 'sphinx_ansible_theme' in result.stdout + result.stderr:
                    print(THEME_HINT)
                return 1
            print(f'ok   {name}')
        html = site / 'build' / 'html'
        if args.dest.exists():
            shutil.rmtree(args.dest)
        shutil.copytree(html, args.dest)
        pages = sorted(str(path.relative_to(args.dest)) for path in args.dest.rglob('*.html'))
        guides = [page for page in pages if '/docsite/' in page]
        print(
            f'ok   {len(pages)} HTML pages in {display_path(args.dest)} ({len(guides)} scenario guides); '
            f'start at {display_path(args.dest / "collections" / "vobiz" / "voice" / "index.html")}'
        )
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
