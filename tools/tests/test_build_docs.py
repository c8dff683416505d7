"""tools/build_docs.py: broken references in docs/docsite/ are named with file and line (no Sphinx needed)."""

from __future__ import annotations

import shutil

import build_docs


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
