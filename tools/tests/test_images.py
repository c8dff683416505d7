"""tools/images.py without a container engine: why it skips, podman's limits, layer reuse, output checks, and what the
decision environment must hold.

The images themselves are built and run by the gate step ``images`` (``make images``).
"""

from __future__ import annotations

import os
import pathlib
import re
import resource
import stat
import subprocess
import sys

import images
import pytest
import yaml


def test_without_podman_the_tool_says_skipped_and_exits_3(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(images.ROOT / 'tools' / 'images.py'), '--work', str(tmp_path / 'w')],
        env=dict(os.environ, PATH=str(tmp_path)),
        capture_output=True,
        text=True,
        check=False,
    )
    assert (proc.returncode, proc.stdout) == (3, 'SKIPPED: no container engine: podman is not installed\n'), proc.stderr


def test_a_podman_that_cannot_run_is_no_engine_and_says_why(tmp_path, monkeypatch):
    podman = tmp_path / 'podman'
    podman.write_text('#!/bin/sh\necho "cannot connect to the service" >&2; exit 125\n', encoding='utf-8')
    podman.chmod(podman.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv('PATH', str(tmp_path))
    assert images.engine_missing() == 'no container engine: podman info failed: cannot connect to the service'


def test_podman_gets_this_process_limits_and_none_of_the_callers_ansible_or_vobiz_settings(tmp_path, monkeypatch):
    monkeypatch.delenv('CONTAINERS_CONF', raising=False)
    monkeypatch.setenv('ANSIBLE_COLLECTIONS_PATH', '/host/only/path')
    monkeypatch.setenv('VOBIZ_AUTH_TOKEN', 'from-the-caller')
    env = images.engine_env(tmp_path)
    assert not [key for key in env if key.startswith(('ANSIBLE_', 'VOBIZ_'))]
    assert env['PATH'] == os.environ['PATH']
    text = pathlib.Path(env['CONTAINERS_CONF']).read_text(encoding='utf-8')
    assert '"nofile={}:{}"'.format(*resource.getrlimit(resource.RLIMIT_NOFILE)) in text
    processes = [int(value) for value in re.search(r'"nproc=(\d+):(\d+)"', text).groups()]
    assert 0 < processes[0] <= processes[1] <= images.MAX_PROCESSES


def test_a_callers_containers_conf_is_left_alone(tmp_path, monkeypatch):
    monkeypatch.setenv('CONTAINERS_CONF', '/etc/mine.conf')
    assert images.engine_env(tmp_path)['CONTAINERS_CONF'] == '/etc/mine.conf'
    assert not (tmp_path / 'containers.conf').exists()


def test_the_same_collection_gives_the_same_tarball_and_ansible_galaxy_installs_it(tmp_path, monkeypatch):
    tree = tmp_path / 'src'
    tree.mkdir()
    (tree / 'galaxy.yml').write_text(
        'namespace: vobiz\nname: voice\nversion: 0.1.0\nreadme: README.md\nauthors: [x]\n', encoding='utf-8'
    )
    (tree / 'README.md').write_text('tiny\n', encoding='utf-8')
    monkeypatch.setattr(images, 'ROOT', tree)
    definition = tmp_path / 'ee' / 'execution-environment.yml'
    definition.parent.mkdir()
    definition.write_text('version: 3\n', encoding='utf-8')
    first = images.collection_tarball(tmp_path / 'work-a')
    os.utime(tree / 'README.md', (1, 1))  # a later build of the same content: ansible-galaxy stamps other times
    assert images.collection_tarball(tmp_path / 'work-b') == first
    placed = images.prepare_definition(definition, first, tmp_path / 'context').parent / images.TARBALL
    assert placed.read_bytes() == first
    (tree / 'README.md').write_text('changed\n', encoding='utf-8')
    changed = images.collection_tarball(tmp_path / 'work-a')
    assert changed != first
    images.prepare_definition(definition, changed, tmp_path / 'context')
    galaxy = [str(images.BIN / 'ansible-galaxy'), 'collection', 'install', '-p', str(tmp_path / 'installed')]
    subprocess.run([*galaxy, str(placed)], check=True, capture_output=True)
    installed = tmp_path / 'installed' / 'ansible_collections' / 'vobiz' / 'voice' / 'README.md'
    assert installed.read_text(encoding='utf-8') == 'changed\n'


@pytest.mark.parametrize(
    'line',
    [
        (
            '/opt/venv/lib/python3.11/site-packages/ansible/_internal/_ssh/_ssh_agent.py:18: '
            'CryptographyDeprecationWarning: DSA is deprecated'
        ),
        '[WARNING]: No inventory was parsed, only implicit localhost is available',
        '[DEPRECATION WARNING]: something is deprecated.',
    ],
)
def test_warnings_in_an_images_output_are_problems(line):
    assert images.output_problems(f'PLAY [x]\n{line}\nok: [localhost]\n', 'tok-123') == [
        f'warnings in the output: [{line!r}]'
    ]


def test_the_event_sources_own_log_lines_are_not_but_the_token_is():
    output = (
        '2026-12-07 02:50:54,254 - <run_path> - WARNING - Refused a callback from 127.0.0.1: '
        'invalid X-Vobiz-Signature-V3 (HTTP 403)\nok: [localhost]'
    )
    assert images.output_problems(output, 'tok-123') == []
    assert images.output_problems(output + '\nAuthorization tok-123', 'tok-123') == [
        'the auth token appears in the output'
    ]


def test_the_decision_environment_holds_what_the_rulebook_needs():
    """ansible-rulebook pinned exactly, at the version the host checks run (requirements-dev.txt); aiohttp for the
    event source; a Java 17 runtime for both RPM (ubi9) and Debian bases, needed in the image only."""
    definition = yaml.safe_load(images.IMAGES['de'][0].read_text(encoding='utf-8'))['dependencies']
    pin = re.search(r'^ansible-rulebook==\S+', (images.ROOT / 'requirements-dev.txt').read_text(encoding='utf-8'), re.M)
    assert [item for item in definition['python'] if item.startswith('ansible-rulebook')] == [pin.group(0)]
    assert [item for item in definition['python'] if re.match(r'aiohttp\b', item)]
    assert sorted(definition['system']) == [
        'java-17-openjdk-headless [platform:rpm !compile]',
        'openjdk-17-jre-headless [platform:dpkg !compile]',
    ]
