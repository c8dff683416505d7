"""tools/eda_source_docs.py: the event source's docsite page and its shipped argument schema come from its
DOCUMENTATION."""

from __future__ import annotations

import json

import eda_source_docs


def test_the_shipped_schema_is_the_one_documentation_gives():
    assert eda_source_docs.main([]) == 0
    shipped = json.loads(eda_source_docs.SCHEMA.read_text(encoding='utf-8'))
    options = eda_source_docs.documentation()['options']
    assert list(shipped['properties']) == list(options)
    assert shipped['required'] == ['port', 'public_url']
    assert {name: prop['default'] for name, prop in shipped['properties'].items() if 'default' in prop} == {
        name: option['default'] for name, option in options.items() if 'default' in option
    }


def test_a_changed_documentation_makes_the_schema_out_of_date(monkeypatch, tmp_path, capsys):
    stale = tmp_path / 'conference_callbacks.json'
    shipped = json.loads(eda_source_docs.SCHEMA.read_text(encoding='utf-8'))
    del shipped['properties']['certfile']
    stale.write_text(json.dumps(shipped, indent=4) + '\n', encoding='utf-8')
    monkeypatch.setattr(eda_source_docs, 'SCHEMA', stale)
    assert eda_source_docs.main([]) == 1
    assert 'not up to date' in capsys.readouterr().out


def test_the_page_lists_every_option_with_its_markup_rendered():
    page = eda_source_docs.rst()
    for name in eda_source_docs.documentation()['options']:
        assert '   * - ``%s``' % name in page
    assert 'O(' not in page and 'C(' not in page and 'E(' not in page
    assert '.. _%s:' % eda_source_docs.LABEL in page
