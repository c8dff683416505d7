"""tools/check_ee.py: the shipped EE and DE pass; a bad EE or DE file fails with file and line."""

from __future__ import annotations

import pathlib
import shutil

import check_ee
import pytest

EE_DIR = check_ee.ROOT / 'extensions' / 'ee'
GOOD = (EE_DIR / 'execution-environment.yml').read_text(encoding='utf-8')
DE_DIR = check_ee.ROOT / 'extensions' / 'de'
GOOD_DE = (DE_DIR / 'decision-environment.yml').read_text(encoding='utf-8')


def line_of(text: str, needle: str) -> int:
    """1-based line number of the first line containing ``needle``."""
    return next(number for number, line in enumerate(text.splitlines(), start=1) if needle in line)


def bad_ee(tmp_path, old: str, new: str, source: pathlib.Path = EE_DIR / 'execution-environment.yml'):
    """A copy of the EE (or DE) directory with one change."""
    good = source.read_text(encoding='utf-8')
    assert old in good
    directory = tmp_path / source.parent.name
    shutil.copytree(source.parent, directory, ignore=shutil.ignore_patterns('collections', '*.tar.gz'))
    text = good.replace(old, new, 1)
    (directory / source.name).write_text(text, encoding='utf-8')
    return directory / source.name, text


def test_the_shipped_definitions_pass(capsys):
    assert check_ee.main([]) == 0
    out = capsys.readouterr().out
    assert 'execution-environment.yml: valid (ansible-builder schema v3)' in out
    assert 'decision-environment.yml: decision environment: ansible-rulebook==' in out
    assert 'requests>=2.25.0  # from collection vobiz.voice; ansible-rulebook==' in out
    assert 'check_ee: 0 problem(s)' in out


EE_FILE, DE_FILE = EE_DIR / 'execution-environment.yml', DE_DIR / 'decision-environment.yml'


@pytest.mark.parametrize(
    'source, old, new, marker, message',
    [
        (
            EE_FILE,
            'version: 3',
            'version: 3\nbase_image: quay.io/x',
            'base_image: quay.io/x',
            "ansible-builder create: Additional properties are not allowed ('base_image' was unexpected)",
        ),
        (EE_FILE, '  galaxy: requirements.yml', '  galaxy: requirements.yml\n  pyhton: [six]', 'pyhton:', "('pyhton' was unexpected) (at dependencies)"),
        (EE_FILE, '  galaxy: requirements.yml', '  galaxy: requirement.yml', 'galaxy: requirement.yml', 'requirement.yml does not exist'),
        (
            EE_FILE,
            '    name: docker.io/redhat/ubi9:latest',
            '    name: docker.io/redhat/ubi9: latest',
            'ubi9: latest',
            'not valid YAML: mapping values are not allowed here',
        ),
        (
            DE_FILE,
            '    - ansible-rulebook==',
            '    - ansible-rulebook>=',
            'ansible-rulebook>=',
            "pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z), not 'ansible-rulebook>=",
        ),
        (DE_FILE, '    - aiohttp>=3.9,<4\n', '', '  python:', 'needs aiohttp in dependencies.python'),
        (DE_FILE, '    - openjdk-17-jre-headless [platform:dpkg !compile]\n', '', '  system:', 'no Java 17 runtime for platform:dpkg bases'),
        (
            DE_FILE,
            '    - java-17-openjdk-headless [platform:rpm !compile]',
            '    - java-11-openjdk-headless [platform:rpm]',
            '  system:',
            'no Java 17 runtime for platform:rpm',
        ),
    ],
    ids=[
        'unknown top-level key',
        'unknown key under dependencies',
        'missing requirements file',
        'YAML syntax',
        'DE: ansible-rulebook not pinned',
        'DE: no aiohttp',
        'DE: no Java for Debian bases',
        'DE: Java 11 for RPM bases',
    ],
)
def test_a_bad_definition_fails_with_file_and_line(tmp_path, capsys, source, old, new, marker, message):
    path, text = bad_ee(tmp_path, old, new, source)
    assert check_ee.main(['--ee', str(path)]) == 1
    out = capsys.readouterr().out
    prefix = f'{path}:{line_of(text, marker)}: '
    assert any(line.startswith(prefix) and message in line for line in out.splitlines()), out


def test_a_tarball_missing_from_the_context_is_named_in_the_requirements_file(tmp_path, capsys):
    path, _text = bad_ee(tmp_path, '  - src: collections/vobiz-voice.tar.gz', '  - src: collections/vobiz.tar.gz')
    assert check_ee.main(['--ee', str(path)]) == 1
    requirements = path.parent / 'requirements.yml'
    line = line_of(requirements.read_text(encoding='utf-8'), 'name: collections/vobiz-voice.tar.gz')
    assert f'{requirements}:{line}: collections/vobiz-voice.tar.gz is not in the build context' in capsys.readouterr().out


def collection_with_meta(root, dependencies: str, present: str):
    """A collection root whose meta/execution-environment.yml has these ``dependencies`` lines; of the files they
    name, only ``present`` exists. Returns the meta file's path."""
    (root / 'meta').mkdir()
    meta = root / 'meta' / 'execution-environment.yml'
    meta.write_text('---\nversion: 1\ndependencies:\n' + dependencies, encoding='utf-8')
    (root / present).write_text('# present\n', encoding='utf-8')
    return meta


def test_a_bad_collection_ee_meta_file_fails_with_file_and_line(tmp_path):
    meta = collection_with_meta(tmp_path, '  python: requirements.txt\n  sytem: bindep.txt\n', 'requirements.txt')
    problems = check_ee.Problems()
    assert not check_ee.check_meta(tmp_path, problems)
    assert any(problem.startswith(f'{meta}:5: ') and 'sytem' in problem for problem in problems), problems


def test_a_missing_requirements_file_of_the_collection_is_reported(tmp_path):
    meta = collection_with_meta(tmp_path, '  python: requirements.txt\n  system: bindep.txt\n', 'bindep.txt')
    problems = check_ee.Problems()
    check_ee.check_meta(tmp_path, problems)
    assert problems == [f'{meta}:4: dependencies.python: requirements.txt is not a file relative to the collection root'], problems


def test_a_bad_bindep_line_fails_with_file_and_line(tmp_path):
    pytest.importorskip('bindep')
    bindep = tmp_path / 'bindep.txt'
    bindep.write_text('# comment\ngcc [platform:rpm]\nlibffi-dev [platform:dpkg\n', encoding='utf-8')
    problems = check_ee.Problems()
    check_ee.check_bindep_syntax(tmp_path, problems)
    assert len(problems) == 1 and problems[0].startswith(f'{bindep}:3: not valid bindep'), problems
