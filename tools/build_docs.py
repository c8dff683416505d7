#!/usr/bin/env python
"""Build the collection's HTML docsite with antsibull-docs and Sphinx into ``build/docs/`` (``--dest`` to change).

``antsibull-docs sphinx-init`` writes the site (``conf.py``, ``build.sh``, our landing page as ``rst/index.rst``) into a
scratch directory and ``build.sh`` builds it: ``antsibull-docs collection`` (RST for the modules, the role and
``docs/docsite/rst/``), then ``sphinx-build -W --keep-going``, so that any warning, such as a ``:ref:`` to a label
that does not exist, fails the build; warnings about the copied guides are reported against ``docs/docsite/rst/``.

What antsibull-docs does not know, the build adds, generated, never copied by hand: the page of the event source
``vobiz.voice.conference_callbacks`` (antsibull-docs documents no Event-Driven Ansible source), rendered from its
``DOCUMENTATION`` by ``tools/eda_source_docs.py`` into the docsite of the collection copy antsibull-docs reads (a
``Reference`` entry); and the environment variable index, which antsibull-docs fills only from plugins' ``env:``
entries (modules have none), listing the variables of ``docs/docsite/config.yml`` (``envvar_directives``, described
with ``.. envvar::`` in the guides).

Offline: the generated ``conf.py`` maps intersphinx to docs.python.org, jinja and docs.ansible.com, each with a local
fallback file. This script writes those fallbacks: empty ones, and for docs.ansible.com the handful of labels the
antsibull-docs templates link to (the links still point to docs.ansible.com).
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


def write_inventory(path: pathlib.Path, project: str, entries: dict[str, tuple[str, str]], envvars=()) -> None:
    """A Sphinx objects.inv (version 2) with ``std:label`` entries, and ``std:envvar`` ones of the configuration page."""
    body = ''.join(f'{name} std:label -1 {uri} {title}\n' for name, (uri, title) in sorted(entries.items()))
    body += ''.join(f'{name} std:envvar -1 reference_appendices/config.html#envvar-{name} -\n' for name in envvars)
    header = f'# Sphinx inventory version 2\n# Project: {project}\n# Version: \n# The remainder of this file is compressed using zlib.\n'
    path.write_bytes(header.encode() + zlib.compress(body.encode()))


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


def map_output(text: str) -> list[str]:
    """Sphinx warnings about the copied guides, pointed back at docs/docsite/rst/."""
    return [GENERATED_DOCSITE.sub(lambda match: f'docs/docsite/rst/{match.group(1)}{match.group(2) or ""}', line) for line in text.splitlines()]


def main(argv: list[str] | None = None) -> int:
    """Build the docsite."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--dest', type=pathlib.Path, default=ROOT / 'build' / 'docs', help='where the HTML goes (default: build/docs)')
    args = parser.parse_args(argv)
    work = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-docs-'))  # 0700, as antsibull-docs insists
    try:
        env = dict(
            os.environ, ANSIBLE_COLLECTIONS_PATH=docs_collection(work), PATH=os.pathsep.join([str(BIN), os.environ.get('PATH', '')]), ANSIBLE_NOCOLOR='1'
        )
        site = work / 'site'
        site.mkdir(mode=0o700)
        init = [
            'antsibull-docs',
            'sphinx-init',
            '--use-current',
            '--fail-on-error',
            '--index-rst-source',
            str(DOCSITE / 'landing.rst'),
            '--dest-dir',
            str(site),
        ]
        for cmd, cwd in ((init + ['vobiz.voice'], work), (['bash', 'build.sh'], site)):
            result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
            output = map_output(result.stdout + result.stderr)
            if result.returncode != 0:
                warnings = [line for line in output if re.search(r'\bWARNING\b|\bERROR\b|Traceback|Exception:', line)]
                print(f"build_docs: {' '.join(cmd[:2])} failed (exit {result.returncode})\n" + '\n'.join(warnings or output[-30:]))
                if 'sphinx_ansible_theme' in result.stdout + result.stderr:
                    print('pip install sphinx-ansible-theme==0.10.4 (pinned in requirements-dev.txt)')
                return 1
            print(f"ok   {' '.join(cmd[:2])}")
            if cmd[0] != 'bash':  # the offline fallbacks of the intersphinx inventories, and no long wait for them
                for name in ('python2', 'python3', 'jinja2'):
                    write_inventory(site / f'{name}.inv', name, {})
                write_inventory(site / 'ansible_devel.inv', 'Ansible', ANSIBLE_LABELS, ANSIBLE_ENVVARS)
                # Sphinx runs conf.py after build.sh has put antsibull-docs's pages in place: ours replaces its index.
                index = site / 'rst' / 'collections' / 'environment_variables.rst'
                with open(site / 'conf.py', 'a', encoding='utf-8') as conf:
                    conf.write(f'\nintersphinx_timeout = 5\n__import__("pathlib").Path({str(index)!r}).write_text({environment_index()!r})\n')
        shutil.rmtree(args.dest, ignore_errors=True)
        shutil.copytree(site / 'build' / 'html', args.dest)
        guides = len(list(args.dest.glob('**/docsite/*.html')))
        print(f"ok   {len(list(args.dest.rglob('*.html')))} HTML pages in {args.dest} ({guides} scenario guides); start at {args.dest / 'index.html'}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
