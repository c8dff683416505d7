"""tools/build_docs.py: Sphinx warnings about the guides point at their sources; the pages the build adds (the build
itself: nox -s docs-build)."""

from __future__ import annotations

import re

import build_docs
import yaml


def test_sphinx_warnings_about_copied_guides_point_at_the_sources():
    line = '/scratch/site/rst/collections/vobiz/voice/docsite/awx.rst:12: WARNING: undefined label: foo'
    assert build_docs.map_output(line + '\nother line') == ['docs/docsite/rst/awx.rst:12: WARNING: undefined label: foo', 'other line']


def environment_variables_read() -> set[str]:
    """The environment variables the collection's code reads: modules' env_fallback, the playbooks' env lookups, the
    event source's environ lookups and its container markers (not the test scenarios under extensions/molecule/)."""
    patterns = (
        r"env_fallback, \['([A-Za-z_]+)'\]",
        r"lookup\('ansible\.builtin\.env', '([A-Za-z_]+)'\)",
        r"environ(?:\.get\(|\[)'([A-Za-z_]+)'",
    )
    names = set()
    for folder in ('plugins', 'extensions', 'roles', 'playbooks'):
        for path in (build_docs.ROOT / folder).rglob('*'):
            if path.suffix in ('.py', '.yml', '.yaml') and path.is_file() and 'molecule' not in path.parts:
                text = path.read_text(encoding='utf-8')
                for pattern in patterns:
                    names.update(re.findall(pattern, text))
    settings = (build_docs.ROOT / 'extensions' / 'eda' / 'plugin_utils' / 'vobiz_callbacks' / 'settings.py').read_text(encoding='utf-8')
    names.update(re.findall(r"'([A-Za-z_]+)'", re.search(r'CONTAINER_VARIABLES = \((.*)\)', settings).group(1)))
    return names


def test_the_environment_index_lists_every_variable_the_collection_reads():
    listed = yaml.safe_load((build_docs.DOCSITE / 'config.yml').read_text(encoding='utf-8'))['envvar_directives']
    assert sorted(listed) == sorted(environment_variables_read())
    index = build_docs.environment_index()
    assert all(':envvar:`%s`' % name in index for name in listed)
    reference = (build_docs.DOCSITE / 'rst' / 'playbook_variables.rst').read_text(encoding='utf-8')
    assert all('.. envvar:: %s\n' % name in reference for name in listed)


def test_the_landing_page_names_the_three_user_groups_each_with_a_guide():
    landing = (build_docs.DOCSITE / 'landing.rst').read_text(encoding='utf-8')
    groups = re.findall(r'^\*\*(.+?)\*\*(.*?)(?=^\*\*|^\S)', landing, re.M | re.S)
    assert [group[0] for group in groups] == ['Operators in a maintenance window', 'CI pipelines', 'Platform teams']
    guides = ['maintenance_window', 'ci_teardown', 'enforce_limits']
    for (name, text), guide in zip(groups, guides):
        assert 'Start with' in text and '<ansible_collections.vobiz.voice.docsite.%s>' % guide in text, name
