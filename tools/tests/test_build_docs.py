"""tools/build_docs.py: Sphinx warnings about the guides point at their sources (the build itself: nox -s docs-build)."""

from __future__ import annotations

import build_docs


def test_sphinx_warnings_about_copied_guides_point_at_the_sources():
    line = '/scratch/site/rst/collections/vobiz/voice/docsite/awx.rst:12: WARNING: undefined label: foo'
    assert build_docs.map_output(line + '\nother line') == ['docs/docsite/rst/awx.rst:12: WARNING: undefined label: foo', 'other line']
