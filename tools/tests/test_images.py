"""tools/images.py without a container engine: engine detection, podman's limits, layer reuse, base cache key, output checks.

The images themselves are built and run by the gate step ``images`` (``make images``).
"""

from __future__ import annotations

import os
import pathlib
import resource
import stat
import subprocess
import sys

import images
import pytest
import yaml


def fake_tool(directory: pathlib.Path, name: str, script: str) -> None:
    path = directory / name
    path.write_text('#!/bin/sh\n' + script + '\n', encoding='utf-8')
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def test_without_an_engine_the_reason_names_each_one(tmp_path, monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))
    assert images.find_engine() == (None, 'no container engine (podman is not installed; docker is not installed)')


def test_a_docker_without_a_daemon_is_no_engine(tmp_path, monkeypatch):
    fake_tool(tmp_path, 'docker', 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2; exit 1')
    monkeypatch.setenv('PATH', str(tmp_path))
    engine, reason = images.find_engine()
    assert engine is None
    assert 'docker info failed: Cannot connect to the Docker daemon' in reason


def test_a_working_podman_is_chosen_first(tmp_path, monkeypatch):
    fake_tool(tmp_path, 'podman', 'exit 0')
    fake_tool(tmp_path, 'docker', 'exit 0')
    monkeypatch.setenv('PATH', str(tmp_path))
    assert images.find_engine() == ('podman', '')


def test_podman_gets_this_process_limits_and_a_capped_process_limit(tmp_path, monkeypatch):
    monkeypatch.delenv('CONTAINERS_CONF', raising=False)
    env = images.engine_env('podman', tmp_path)
    conf = pathlib.Path(env['CONTAINERS_CONF'])
    assert conf.parent == tmp_path
    text = conf.read_text(encoding='utf-8')
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        assert f'"nofile={soft}:{hard}"' in text
    processes = [int(value) for value in text.split('"nproc=')[1].split('"')[0].split(':')]
    assert max(processes) <= images.MAX_PROCESSES


def test_a_callers_containers_conf_and_docker_are_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv('CONTAINERS_CONF', '/etc/mine.conf')
    assert images.engine_env('podman', tmp_path)['CONTAINERS_CONF'] == '/etc/mine.conf'
    monkeypatch.delenv('CONTAINERS_CONF')
    assert 'CONTAINERS_CONF' not in images.engine_env('docker', tmp_path)
    assert not (tmp_path / 'containers.conf').exists()


def build(tree: pathlib.Path, dest: pathlib.Path) -> pathlib.Path:
    subprocess.run(
        [str(images.BIN / 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dest), str(tree)], check=True, capture_output=True
    )
    return next(dest.glob('*.tar.gz'))


@pytest.fixture(name='tiny_collection')
def fixture_tiny_collection(tmp_path):
    tree = tmp_path / 'src'
    (tree / 'plugins').mkdir(parents=True)
    (tree / 'galaxy.yml').write_text('namespace: vobiz\nname: voice\nversion: 0.1.0\nreadme: README.md\nauthors: [x]\n', encoding='utf-8')
    (tree / 'README.md').write_text('tiny\n', encoding='utf-8')
    return tree


def test_the_same_collection_gives_the_same_tarball_in_any_work_dir_and_ansible_galaxy_installs_it(tmp_path, tiny_collection):
    definition = tmp_path / 'ee' / 'execution-environment.yml'
    definition.parent.mkdir()
    definition.write_text('version: 3\n', encoding='utf-8')
    first = build(tiny_collection, tmp_path / 'one')
    placed = images.prepare_definition('ee', definition, first, tmp_path / 'work-a').parent / images.TARBALL
    os.utime(tiny_collection / 'README.md', (1, 1))  # a later build of the same content: other timestamps, other bytes
    second = build(tiny_collection, tmp_path / 'two')
    assert first.read_bytes() != second.read_bytes()
    elsewhere = images.prepare_definition('ee', definition, second, tmp_path / 'work-b').parent / images.TARBALL
    assert placed.read_bytes() == elsewhere.read_bytes()
    (tiny_collection / 'README.md').write_text('changed\n', encoding='utf-8')
    images.prepare_definition('ee', definition, build(tiny_collection, tmp_path / 'three'), tmp_path / 'work-a')
    assert placed.read_bytes() != elsewhere.read_bytes()
    subprocess.run(
        [str(images.BIN / 'ansible-galaxy'), 'collection', 'install', '--force', '-p', str(tmp_path / 'installed'), str(placed)],
        check=True,
        capture_output=True,
    )
    assert (tmp_path / 'installed' / 'ansible_collections' / 'vobiz' / 'voice' / 'README.md').read_text(encoding='utf-8') == 'changed\n'


def test_the_collection_is_built_from_what_git_tracks_not_the_checkouts_caches(tmp_path, monkeypatch, tiny_collection):
    (tiny_collection / '.gitignore').write_text('.ruff_cache/\n', encoding='utf-8')
    (tiny_collection / '.ruff_cache').mkdir()
    (tiny_collection / '.ruff_cache' / 'junk').write_text('cache\n', encoding='utf-8')
    (tiny_collection / 'untracked.txt').write_text('new, not ignored\n', encoding='utf-8')
    subprocess.run(['git', 'init', '-q', str(tiny_collection)], check=True)
    subprocess.run(['git', '-C', str(tiny_collection), 'add', 'galaxy.yml', 'README.md', '.gitignore'], check=True)
    monkeypatch.setattr(images, 'ROOT', tiny_collection)
    tree = images.source_tree(tmp_path / 'work')
    assert sorted(str(path.relative_to(tree)) for path in tree.rglob('*') if path.is_file()) == ['.gitignore', 'README.md', 'galaxy.yml', 'untracked.txt']


def test_the_debian_base_is_keyed_on_its_inputs(tmp_path, monkeypatch):
    bundle = tmp_path / 'ca.pem'
    bundle.write_text('one CA\n', encoding='utf-8')
    monkeypatch.setenv('SSL_CERT_FILE', str(bundle))
    tag = images.debian_base_tag(images.DEBIAN_MIRROR)
    assert tag.startswith(images.DEBIAN_BASE_NAME + ':') and tag == images.debian_base_tag(images.DEBIAN_MIRROR)
    assert images.debian_base_tag('http://mirror.example.test/debian') != tag
    bundle.write_text('one CA\nanother CA\n', encoding='utf-8')
    assert images.debian_base_tag(images.DEBIAN_MIRROR) != tag


@pytest.mark.parametrize(
    'line',
    [
        '/opt/venv/lib/python3.11/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: CryptographyDeprecationWarning: DSA is deprecated',
        '[WARNING]: No inventory was parsed, only implicit localhost is available',
        '[DEPRECATION WARNING]: something is deprecated.',
    ],
)
def test_warnings_in_an_images_output_are_problems(line):
    assert images.output_problems('here', f'PLAY [x]\n{line}\nok: [localhost]\n', 'tok-123') == [f'here: warnings in the output: [{line!r}]']


def test_the_event_sources_own_log_lines_and_a_clean_run_are_not(capsys):
    output = '2026-12-07 02:50:54,254 - <run_path> - WARNING - Refused a callback from 127.0.0.1: invalid X-Vobiz-Signature-V3 (HTTP 403)\nok: [localhost]'
    assert images.output_problems('here', output, 'tok-123') == []
    assert images.output_problems('here', output + '\nAuthorization tok-123', 'tok-123') == ['here: the auth token appears in the output']


def test_without_an_engine_make_images_says_skipped_and_exits_3(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('PATH', str(tmp_path))
    assert images.main(['--work', str(tmp_path / 'work')]) == images.NO_ENGINE
    assert capsys.readouterr().out == 'SKIPPED: no container engine (podman is not installed; docker is not installed)\n'


def test_the_tool_runs_as_a_script_without_an_engine(tmp_path):
    env = dict(os.environ, PATH=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, str(images.ROOT / 'tools' / 'images.py'), '--work', str(tmp_path / 'w')], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == images.NO_ENGINE and proc.stdout.startswith('SKIPPED: no container engine'), proc.stdout + proc.stderr


def test_the_callers_ansible_and_vobiz_settings_stay_out_of_the_containers(tmp_path, monkeypatch):
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', '/host/only/path')
    monkeypatch.setenv('VOBIZ_AUTH_TOKEN', 'from-the-caller')
    env = images.engine_env('podman', tmp_path)
    assert not [key for key in env if key.startswith(('ANSIBLE_', 'VOBIZ_'))]
    assert env['PATH'] == os.environ['PATH']


@pytest.mark.parametrize(
    'old, new, message',
    [
        ('    - ansible-rulebook==', '    - ansible-rulebook>=', "pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z), not 'ansible-rulebook>="),
        ('    - aiohttp>=3.9,<4\n', '', 'needs aiohttp in dependencies.python'),
        ('    - openjdk-17-jre-headless [platform:dpkg !compile]\n', '', 'no Java 17 runtime for platform:dpkg bases'),
        ('    - java-17-openjdk-headless [platform:rpm !compile]', '    - java-11-openjdk-headless [platform:rpm]', 'no Java 17 runtime for platform:rpm'),
    ],
    ids=['ansible-rulebook not pinned', 'no aiohttp', 'no Java for Debian bases', 'Java 11 for RPM bases'],
)
def test_a_decision_environment_without_what_the_rulebook_needs_is_refused(old, new, message):
    text = images.IMAGES[1][1].read_text(encoding='utf-8')
    assert images.decision_environment_problems(yaml.safe_load(text)) == []
    assert old in text
    problems = images.decision_environment_problems(yaml.safe_load(text.replace(old, new, 1)))
    assert len(problems) == 1 and message in problems[0], problems
