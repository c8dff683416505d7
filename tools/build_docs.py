#!/usr/bin/env python
"""Build the collection's HTML docsite with antsibull-docs and Sphinx into ``build/docs/`` (``--dest`` to change).

``antsibull-docs sphinx-init`` writes the site (``conf.py``, ``build.sh``, our landing page as ``rst/index.rst``) into a
scratch directory and ``build.sh`` builds it: ``antsibull-docs collection`` (RST for the modules, the role and
``docs/docsite/rst/``), then ``sphinx-build -W --keep-going``, so that any warning, such as a ``:ref:`` to a label
that does not exist, fails the build; warnings about the copied guides are reported against ``docs/docsite/rst/``.

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
    # ... and that our plugin docs link to (P(ansible.builtin.linear#strategy), E(ANSIBLE_STRATEGY)).
    'ansible_collections.ansible.builtin.linear_strategy': ('collections/ansible/builtin/linear_strategy.html', 'ansible.builtin.linear strategy'),
    'std:envvar ANSIBLE_STRATEGY': ('reference_appendices/config.html#envvar-ANSIBLE_STRATEGY', '-'),
}


def write_inventory(path: pathlib.Path, project: str, entries: dict[str, tuple[str, str]]) -> None:
    """A Sphinx objects.inv (version 2); an entry's key is ``ROLE NAME``, or a ``std:label`` name alone."""
    roles_names = [(key.rpartition(' '), value) for key, value in sorted(entries.items())]
    body = ''.join(f"{name} {role or 'std:label'} -1 {uri} {title}\n" for (role, _, name), (uri, title) in roles_names)
    header = f'# Sphinx inventory version 2\n# Project: {project}\n# Version: \n# The remainder of this file is compressed using zlib.\n'
    path.write_bytes(header.encode() + zlib.compress(body.encode()))


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
        collections = work / 'collections' / 'ansible_collections' / 'vobiz' / 'voice'
        collections.parent.mkdir(parents=True)
        collections.symlink_to(ROOT)
        env = dict(
            os.environ, ANSIBLE_COLLECTIONS_PATH=str(work / 'collections'), PATH=os.pathsep.join([str(BIN), os.environ.get('PATH', '')]), ANSIBLE_NOCOLOR='1'
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
                write_inventory(site / 'ansible_devel.inv', 'Ansible', ANSIBLE_LABELS)
                with open(site / 'conf.py', 'a', encoding='utf-8') as conf:
                    conf.write('\nintersphinx_timeout = 5\n')
        shutil.rmtree(args.dest, ignore_errors=True)
        shutil.copytree(site / 'build' / 'html', args.dest)
        guides = len(list(args.dest.glob('**/docsite/*.html')))
        print(f"ok   {len(list(args.dest.rglob('*.html')))} HTML pages in {args.dest} ({guides} scenario guides); start at {args.dest / 'index.html'}")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
