"""tools/check_awx_credential_type.py: the shipped file passes, each broken variant fails with file and line."""

from __future__ import annotations

import pathlib

import check_awx_credential_type as checker
import pytest

GOOD = checker.DEFAULT_FILE.read_text(encoding='utf-8')


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line containing ``needle``."""
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(f'{needle!r} not in the text')


def test_the_shipped_credential_type_passes(capsys):
    assert checker.main([str(checker.DEFAULT_FILE)]) == 0
    assert 'OK' in capsys.readouterr().out


# (old text, new text, text on the line that must be reported, part of the message)
BROKEN = {
    'token not secret': ('      secret: true', '      secret: false', '- id: vobiz_auth_token', 'not secret: true'),
    'undefined field in a template': (
        '"{{ vobiz_auth_token }}"',
        '"{{ vobiz_auth_tokn }}"',
        'VOBIZ_AUTH_TOKEN:',
        "'vobiz_auth_tokn' is undefined",
    ),
    'template syntax error': (
        '"{{ vobiz_auth_id }}"',
        '"{{ vobiz_auth_id }"',
        'VOBIZ_AUTH_ID:',
        'Syntax error rendering template',
    ),
    'reserved env var': ('    VOBIZ_API_URL:', '    PATH:', 'PATH:', 'Environment variable PATH is not allowed'),
    'ANSIBLE_ env var': (
        '    VOBIZ_API_URL:',
        '    ANSIBLE_CONFIG:',
        'ANSIBLE_CONFIG:',
        'may affect Ansible configuration',
    ),
    'invalid field id': (
        '    - id: vobiz_api_url',
        '    - id: vobiz-api-url',
        'id: vobiz-api-url',
        'is an invalid variable name',
    ),
    'duplicate field id': (
        '    - id: vobiz_api_url',
        '    - id: vobiz_auth_id',
        'id: vobiz_auth_id\n',
        'field IDs must be unique',
    ),
    'unknown field key': (
        '      help_text: Change only',
        '      helptext: Change only',
        'helptext:',
        "'helptext' was unexpected",
    ),
    'unknown injector kind': ('  env:', '  environment:', 'environment:', "'environment' was unexpected"),
    'bad kind': ('kind: cloud', 'kind: vault', 'kind: vault', "Must be 'cloud' or 'net'"),
    'required id missing': (
        '    - vobiz_api_url\n',
        '    - vobiz_api_uri\n',
        '- vobiz_api_uri',
        "'vobiz_api_uri', which is not the id of any field",
    ),
    'secret on a boolean': (
        '      type: string\n      secret: true',
        '      type: boolean\n      secret: true',
        'secret: true',
        'secret not allowed for boolean type',
    ),
    'unknown top-level key': ('kind: cloud', 'kind: cloud\nmanaged: true', 'managed: true', "unknown key 'managed'"),
    'not YAML': ('kind: cloud', 'kind: [cloud', 'inputs:', 'not valid YAML'),
}


@pytest.mark.parametrize('case', sorted(BROKEN))
def test_a_broken_credential_type_fails_with_file_and_line(case, tmp_path, capsys):
    old, new, marker, message = BROKEN[case]
    assert old in GOOD
    text = GOOD.replace(old, new, 1)
    path = tmp_path / 'credential_type_vobiz.yml'
    path.write_text(text, encoding='utf-8')
    assert checker.main([str(path)]) == 1
    out = capsys.readouterr().out
    # The duplicate-id case reports the second occurrence.
    expected_line = (
        line_of(text, marker)
        if case != 'duplicate field id'
        else [
            number for number, line in enumerate(text.splitlines(), start=1) if line.strip() == '- id: vobiz_auth_id'
        ][-1]
    )
    expected = f'{path}:{expected_line}: '
    assert any(line.startswith(expected) and message in line for line in out.splitlines()), out


def test_a_missing_file_is_reported(tmp_path, capsys):
    path = tmp_path / 'nope.yml'
    assert checker.main([str(path)]) == 1
    assert f'{path}:0: cannot read' in capsys.readouterr().out


def test_extra_vars_and_file_injectors_are_checked_like_awx(tmp_path):
    text = GOOD.replace(
        'injectors:\n  env:\n',
        'injectors:\n  file:\n    template.cfg: "id={{ vobiz_auth_id }}"\n'
        '  extra_vars:\n    vobiz_cfg: "{{ tower.filename.cfg }}"\n    vobiz_bad: "{{ tower.filename.other }}"\n  '
        'env:\n',
    )
    path = tmp_path / 'ct.yml'
    path.write_text(text, encoding='utf-8')
    problems = checker.check_file(path)
    assert len(problems) == 1, problems
    assert problems[0].startswith(f'{path}:{line_of(text, "vobiz_bad:")}: vobiz_bad uses an undefined field'), problems


def test_pathlib_default_points_at_the_shipped_file():
    assert (
        checker.DEFAULT_FILE
        == pathlib.Path(checker.__file__).resolve().parent.parent / 'extensions' / 'awx' / 'credential_type_vobiz.yml'
    )
