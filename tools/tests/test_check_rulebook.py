"""tools/check_rulebook.py: the reusable pieces (the real ansible-rulebook run is the script itself, gate step
``rulebook``)."""

from __future__ import annotations

import json
import pathlib

import check_rulebook


class _Output:
    def __init__(self, text):
        self._text = text

    def text(self):
        return self._text


def test_outcomes_reads_the_action_playbooks_lines_with_their_literal_names():
    name = "inj{{ lookup('pipe', 'id') }}\\nline two"  # escaped, as results carry names
    line = {'event': 'overdue', 'conference': name, 'hung_up': [name]}
    printed = 'TASK [Print]\nVOBIZ_ENFORCE_LIMITS %s\nok: [localhost]\n' % json.dumps(line, ensure_ascii=True)
    assert check_rulebook.outcomes(_Output(printed)) == [line]


def test_without_java_the_check_is_skipped(monkeypatch, capsys):
    monkeypatch.setattr(check_rulebook.shutil, 'which', lambda name: None)
    monkeypatch.setattr('sys.argv', ['check_rulebook.py'])
    assert check_rulebook.main() == 3
    assert capsys.readouterr().out.startswith('SKIPPED: java not found')


def test_the_rulebook_never_uses_the_default_state_file_under_home(tmp_path, monkeypatch):
    started = {}

    class FakePopen:
        def __init__(self, cmd, **kwargs):
            started.update(cmd=cmd, env=kwargs['env'])

    monkeypatch.setattr(check_rulebook.subprocess, 'Popen', FakePopen)
    (tmp_path / 'collections').mkdir()
    check_rulebook.Rulebook(tmp_path, 'http://127.0.0.1:1/api/v1', 'tok', {'vobiz_callback_port': 1})
    variables = json.loads(pathlib.Path(started['cmd'][started['cmd'].index('--vars') + 1]).read_text(encoding='utf-8'))
    assert variables['vobiz_state_file'] == str(tmp_path / 'rooms.json')
