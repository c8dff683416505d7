"""tools/build_docs.py: broken references in docs/docsite/ are named with file and line (no Sphinx needed)."""

from __future__ import annotations

import re
import shutil

import build_docs
import yaml


def docsite_copy(tmp_path, monkeypatch):
    """A copy of docs/docsite/ that build_docs checks instead of the real one."""
    copy = tmp_path / 'docsite'
    shutil.copytree(build_docs.DOCSITE, copy)
    monkeypatch.setattr(build_docs, 'DOCSITE', copy)
    return copy


def test_the_shipped_docsite_has_no_broken_references():
    assert build_docs.check_sources() == []


def test_a_ref_to_a_missing_guide_label_is_named_with_file_and_line(tmp_path, monkeypatch):
    copy = docsite_copy(tmp_path, monkeypatch)
    guide = copy / 'rst' / 'ci_teardown.rst'
    lines = guide.read_text(encoding='utf-8').splitlines()
    lines.append('See :ref:`the guide <ansible_collections.vobiz.voice.docsite.no_such_guide>`.')
    guide.write_text('\n'.join(lines) + '\n', encoding='utf-8')
    assert build_docs.check_sources() == [
        f"{guide}:{len(lines)}: :ref: target 'ansible_collections.vobiz.voice.docsite.no_such_guide' is not defined in docs/docsite/rst/"
    ]


def test_a_toctree_entry_without_a_file_is_named_with_file_and_line(tmp_path, monkeypatch):
    copy = docsite_copy(tmp_path, monkeypatch)
    index = copy / 'extra-docs.yml'
    text = index.read_text(encoding='utf-8') + '      - upgrading\n'
    index.write_text(text, encoding='utf-8')
    assert build_docs.check_sources() == [f"{index}:{len(text.splitlines())}: toctree entry 'upgrading' has no docs/docsite/rst/upgrading.rst"]


def test_sphinx_warnings_about_copied_guides_point_at_the_sources():
    line = '/scratch/site/rst/collections/vobiz/voice/docsite/awx.rst:12: WARNING: undefined label: foo'
    assert build_docs.map_output(line) == [f"{build_docs.display_path(build_docs.DOCSITE / 'rst' / 'awx.rst')}:12: WARNING: undefined label: foo"]


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
