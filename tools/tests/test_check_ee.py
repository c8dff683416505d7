"""tools/check_ee.py: the shipped EE and DE pass; a broken EE or DE fails, naming the file and what is wrong."""

from __future__ import annotations

import pathlib
import shutil

import check_ee
import pytest

EE_FILE = check_ee.ROOT / 'extensions' / 'ee' / 'execution-environment.yml'
DE_FILE = check_ee.ROOT / 'extensions' / 'de' / 'decision-environment.yml'


def broken(tmp_path, source: pathlib.Path, old: str, new: str) -> pathlib.Path:
    """A copy of the definition's directory with one change."""
    text = source.read_text(encoding='utf-8')
    assert old in text
    directory = tmp_path / source.parent.name
    shutil.copytree(source.parent, directory, ignore=shutil.ignore_patterns('collections', '*.tar.gz'))
    (directory / source.name).write_text(text.replace(old, new, 1), encoding='utf-8')
    return directory / source.name


def test_the_shipped_definitions_pass(capsys):
    assert check_ee.main([]) == 0
    out = capsys.readouterr().out
    assert f'ok   {EE_FILE}: galaxy stage (as in the image build, offline): vobiz.voice installed from the build context' in out
    assert 'requests>=2.25.0  # from collection vobiz.voice; ansible-rulebook==' in out
    assert 'check_ee: 0 problem(s)' in out


@pytest.mark.parametrize(
    'source, old, new, message',
    [
        (EE_FILE, 'version: 3', 'version: 3\nbase_image: quay.io/x', "Additional properties are not allowed ('base_image' was unexpected)"),
        (EE_FILE, '  galaxy: requirements.yml', '  galaxy: requirement.yml', 'requirement.yml does not exist'),
        (EE_FILE, '    name: docker.io/redhat/ubi9:latest', '    name: docker.io/redhat/ubi9: latest', 'cannot read: mapping values are not allowed here'),
        (
            EE_FILE,
            '  - src: collections/vobiz-voice.tar.gz',
            '  - src: collections/vobiz.tar.gz',
            'collections/vobiz-voice.tar.gz of the galaxy requirements is not in the build context',
        ),
        (DE_FILE, '    - ansible-rulebook==', '    - ansible-rulebook>=', "pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z), not 'ansible-rulebook>="),
        (DE_FILE, '    - aiohttp>=3.9,<4\n', '', 'needs aiohttp in dependencies.python'),
        (DE_FILE, '    - openjdk-17-jre-headless [platform:dpkg !compile]\n', '', 'no Java 17 runtime for platform:dpkg bases'),
        (
            DE_FILE,
            '    - java-17-openjdk-headless [platform:rpm !compile]',
            '    - java-11-openjdk-headless [platform:rpm]',
            'no Java 17 runtime for platform:rpm',
        ),
    ],
    ids=[
        'unknown top-level key',
        'missing requirements file',
        'YAML syntax',
        'tarball not in the context',
        'DE: ansible-rulebook not pinned',
        'DE: no aiohttp',
        'DE: no Java for Debian bases',
        'DE: Java 11 for RPM bases',
    ],
)
def test_a_broken_definition_fails_naming_file_and_problem(tmp_path, capsys, source, old, new, message):
    path = broken(tmp_path, source, old, new)
    assert check_ee.main(['--ee', str(path)]) == 1
    assert any(line.startswith(f'{path}: ') and message in line for line in capsys.readouterr().out.splitlines())


def test_a_collection_without_its_bindep_file_fails(tmp_path, monkeypatch, capsys):
    root = tmp_path / 'voice'
    shutil.copytree(check_ee.ROOT, root, ignore=shutil.ignore_patterns('.git', '.venv*', '.nox', 'tests', 'build', 'bench'), symlinks=True)
    (root / 'meta' / 'execution-environment.yml').write_text(
        '---\nversion: 1\ndependencies:\n  python: requirements.txt\n  sytem: bindep.txt\n', encoding='utf-8'
    )
    monkeypatch.setattr(check_ee, 'ROOT', root)
    assert check_ee.main(['--ee', str(EE_FILE)]) == 1
    assert 'the installed collection has no bindep file in meta/execution-environment.yml' in capsys.readouterr().out
