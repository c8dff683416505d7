#!/usr/bin/env python
"""``make images``: build the execution environment (EE) and the decision environment (DE), then run them.

Build: ``extensions/ee/execution-environment.yml`` and ``extensions/de/decision-environment.yml`` with a reproducible
tarball of the files git tracks (an unchanged collection reuses every layer), with ansible-builder on podman (or
docker), tagged ``vobiz-ee:latest`` and ``vobiz-de:latest``; the DE only with what its rulebook needs. The base is the
definitions' own (ubi9), pulled when missing, or ``--base IMAGE``; when it cannot be pulled (no registry reachable),
or with ``--base local-debian``, a local Debian base is built with debootstrap: Python in a venv at ``/opt/venv``
(Debian refuses ansible-builder's ``ensurepip`` on its system Python) and the host's CA certificates, tagged with a
hash of its inputs and reused while they stay the same.

Run, against the Vobiz emulator in this process (the containers use the host's network): ``ci_teardown`` in the EE
through ``podman run``, ``ansible-runner --process-isolation`` and ``ansible-navigator``, each hanging up exactly the
``ci-*`` rooms and printing its ``VOBIZ_TEARDOWN_SUMMARY``; the token passes by name only (``--env VOBIZ_AUTH_TOKEN``):
no file of runner's private data dir may hold it. ``ansible-rulebook -r vobiz.voice.enforce_limits`` in the DE: a room
that outstays its limit is hung up once, not before; a room with forged callbacks is never touched. No output may hold
the token or a warning. On podman the containers get this process's open-files limit and at most MAX_PROCESSES
processes (a ``CONTAINERS_CONF`` in the work directory): podman's defaults raise both, which sandboxes refuse.

    python tools/images.py [--engine podman|docker] [--base IMAGE|local-debian] [--build-arg KEY=VALUE] [--work DIR] [--no-run] [--keep]

Exit status: 0 passed, 1 failed, 3 no container engine (the gate reports the step as skipped).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import gzip
import hashlib
import io
import json
import os
import pathlib
import re
import resource
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
NO_ENGINE = 3
# The process limit of the containers: plenty for Ansible's forks, and never more than the host allows.
MAX_PROCESSES = 4096

# What make images builds: (short name, definition, tag).
IMAGES = (
    ('ee', ROOT / 'extensions' / 'ee' / 'execution-environment.yml', 'localhost/vobiz-ee:latest'),
    ('de', ROOT / 'extensions' / 'de' / 'decision-environment.yml', 'localhost/vobiz-de:latest'),
)
TARBALL = 'collections/vobiz-voice.tar.gz'  # where both definitions' additional_build_files expect it
# On every image this tool builds (all build stages), so that it can drop its own stale layers and nobody else's.
LABEL = 'vobiz.voice.images'

# The local Debian base: its recipe, and the build arguments that fit it.
LOCAL_DEBIAN = 'local-debian'
DEBIAN_SUITE = 'bookworm'
DEBIAN_MIRROR = 'http://deb.debian.org/debian'
DEBIAN_PACKAGES = ('python3', 'python3-venv', 'ca-certificates')
DEBIAN_VENV = '/opt/venv'
DEBIAN_BASE_NAME = 'localhost/vobiz-debian-base'
DEBIAN_BUILD_ARGS = {'PYCMD': f'{DEBIAN_VENV}/bin/python3', 'PYPKG': 'python3', 'PKGMGR': '/usr/bin/apt-get'}
# Bump when the recipe in build_debian_base changes in a way its inputs above do not show.
DEBIAN_RECIPE = 1

AUTH_ID = 'MA_IMAGES'
CI_ROOMS = ['ci-101', 'ci-102', 'ci-103']
BYSTANDERS = ['Board Room', 'prod-ci-1']
SUMMARY = re.compile(r'VOBIZ_TEARDOWN_SUMMARY (\{.*\})')
PUBLIC_URL = 'https://eda.example.test/vobiz/conference'
MAX_DURATION = 6  # seconds: the DE's rulebook limit
# Warning noise in the images' output: Ansible's warnings and deprecations, Python's warnings (the event
# source's own log lines, such as a refused callback logged at WARNING, are what it is there to say).
WARNING = re.compile(r'\[(?:DEPRECATION )?WARNING\]|\w*Warning: ')
# Bounds for waiting on the DE: far above what a busy machine needs, only there so that a broken image ends the run.
DE_PATIENCE = 900


def say(line: str = '') -> None:
    print(line, flush=True)


def run(cmd: list[str], *, env: dict | None = None, cwd: pathlib.Path | None = None, stdin=None, quiet: bool = False) -> tuple[int, str]:
    """Run a command, streaming its output (indented) unless ``quiet``; return the exit code and the output."""
    if not quiet:
        say('$ ' + ' '.join(cmd))
    proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors='replace')
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if not quiet:
            print('    ' + line.rstrip('\n'), flush=True)
    return proc.wait(), ''.join(lines)


# --- the engine -------------------------------------------------------------------------------------------


def find_engine(requested: str | None = None) -> tuple[str | None, str]:
    """The container engine to use (podman first), or None and why there is none."""
    reasons = []
    for name in [requested] if requested else ['podman', 'docker']:
        if not shutil.which(name):
            reasons.append(f'{name} is not installed')
            continue
        code, output = run([name, 'info'], quiet=True)
        if code == 0:
            return name, ''
        last = [line for line in output.splitlines() if line.strip()][-1:] or ['no output']
        reasons.append(f'{name} info failed: {last[0].strip()}')
    return None, 'no container engine (' + '; '.join(reasons) + ')'


def engine_env(engine: str, work: pathlib.Path) -> dict:
    """The environment for the engine and every tool that calls it (ansible-builder, -runner, -navigator).

    Podman raises a container's open-files and process limits by default; a sandbox that forbids raising
    rlimits makes every ``podman run`` fail (``error setting rlimit type 7: operation not permitted``). The
    containers get this process's open-files limit instead, and at most MAX_PROCESSES processes (a
    sandbox here refused any process limit above ``kernel.pid_max``, even one below the host's own), through a
    containers.conf of our own. A CONTAINERS_CONF of the caller's is left alone.
    """
    # Nothing of the caller's Ansible or Vobiz settings: ansible-navigator hands every ANSIBLE_* variable to the
    # container, where a host path (a collections path, an interpreter) means nothing.
    env = {key: value for key, value in os.environ.items() if not key.startswith(('ANSIBLE_', 'VOBIZ_'))}
    if engine != 'podman' or env.get('CONTAINERS_CONF'):
        return env
    limits = []
    for name, which, cap in (('nofile', resource.RLIMIT_NOFILE, None), ('nproc', resource.RLIMIT_NPROC, MAX_PROCESSES)):
        soft, hard = (cap if cap and (value == resource.RLIM_INFINITY or value > cap) else value for value in resource.getrlimit(which))
        if hard != resource.RLIM_INFINITY:
            soft = hard if soft == resource.RLIM_INFINITY else soft
            limits.append(f'"{name}={soft}:{hard}"')
    conf = work / 'containers.conf'
    conf.write_text(
        '# Written by tools/images.py: the containers get the limits of the process that starts them.\n'
        f"[containers]\ndefault_ulimits = [{', '.join(limits)}]\n",
        encoding='utf-8',
    )
    env['CONTAINERS_CONF'] = str(conf)
    return env


def image_present(engine: str, name: str, env: dict) -> bool:
    return run([engine, 'image', 'inspect', name], env=env, quiet=True)[0] == 0


# --- the base image ---------------------------------------------------------------------------------------


def host_ca_bundle() -> pathlib.Path | None:
    """The CA certificates this host trusts (one PEM bundle), if it has such a file."""
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get('SSL_CERT_FILE'), paths.cafile, paths.openssl_cafile):
        if candidate and pathlib.Path(candidate).is_file():
            return pathlib.Path(candidate)
    return None


def debian_base_tag(mirror: str) -> str:
    """The local Debian base's tag: a hash of everything that goes into it."""
    digest = hashlib.sha256()
    recipe = {'suite': DEBIAN_SUITE, 'mirror': mirror, 'packages': DEBIAN_PACKAGES, 'venv': DEBIAN_VENV, 'recipe': DEBIAN_RECIPE}
    digest.update(json.dumps(recipe, sort_keys=True).encode())
    bundle = host_ca_bundle()
    digest.update(bundle.read_bytes() if bundle else b'')
    return f'{DEBIAN_BASE_NAME}:{digest.hexdigest()[:16]}'


def build_debian_base(engine: str, env: dict, work: pathlib.Path, mirror: str) -> str | None:
    """The local Debian base, built once per set of inputs; its tag, or None (after saying why) when it cannot be built."""
    tag = debian_base_tag(mirror)
    if image_present(engine, tag, env):
        say(f'local Debian base: {tag} (cached; built from the same inputs before)')
        return tag
    if os.geteuid() != 0:
        say('FAILED: building the local Debian base needs root (debootstrap); or name a base image you can pull: --base IMAGE')
        return None
    if not shutil.which('debootstrap'):
        say('FAILED: debootstrap is not installed (apt-get install debootstrap); or name a base image you can pull: --base IMAGE')
        return None
    rootfs = work / 'debian-rootfs'
    shutil.rmtree(rootfs, ignore_errors=True)
    say(f'local Debian base: building {tag} with debootstrap ({DEBIAN_SUITE}, {mirror}); a few minutes, once')
    steps = [
        ['debootstrap', '--variant=minbase', '--include=' + ','.join(DEBIAN_PACKAGES), DEBIAN_SUITE, str(rootfs), mirror],
        # ansible-builder's pip step runs ensurepip, which Debian refuses on its system Python: a venv has its own pip.
        ['chroot', str(rootfs), 'python3', '-m', 'venv', DEBIAN_VENV],
    ]
    try:
        for cmd in steps:
            if run(cmd, env=env)[0] != 0:
                say('FAILED: the local Debian base could not be built')
                return None
        bundle = host_ca_bundle()
        if bundle:
            # pip inside the image build meets the same TLS setup (and any intercepting CA) as pip on this host.
            target = rootfs / 'usr' / 'local' / 'share' / 'ca-certificates' / 'vobiz-host-ca-bundle.crt'
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(bundle, target)
            if run(['chroot', str(rootfs), 'update-ca-certificates'], env=env)[0] != 0:
                say('FAILED: update-ca-certificates in the local Debian base')
                return None
        run(['chroot', str(rootfs), 'apt-get', 'clean'], env=env)
        say(f'$ tar -C {rootfs} -c . | {engine} import - {tag}')
        with subprocess.Popen(['tar', '-C', str(rootfs), '-c', '.'], stdout=subprocess.PIPE) as tar:
            code = run([engine, 'import', '--change', f'ENV PATH={DEBIAN_VENV}/bin:/usr/sbin:/usr/bin:/sbin:/bin', '-', tag], env=env, stdin=tar.stdout)[0]
            tar.stdout.close()
        if code != 0 or tar.returncode != 0:
            say('FAILED: the local Debian base could not be imported')
            return None
    finally:
        shutil.rmtree(rootfs, ignore_errors=True)
    # Earlier bases (other inputs) are never used again.
    listing = run([engine, 'images', '--format', '{{.Repository}}:{{.Tag}}'], env=env, quiet=True)[1]
    for old in sorted({line.strip() for line in listing.splitlines()} - {tag}):
        if old.startswith(DEBIAN_BASE_NAME + ':'):
            run([engine, 'rmi', old], env=env, quiet=True)
    return tag


def choose_base(engine: str, env: dict, work: pathlib.Path, base: str | None, mirror: str, default: str) -> tuple[str | None, dict]:
    """The base image and the build arguments that go with it; (None, {}) when there is none."""
    if base == LOCAL_DEBIAN:
        tag = build_debian_base(engine, env, work, mirror)
        return tag, dict(DEBIAN_BUILD_ARGS, EE_BASE_IMAGE=tag) if tag else {}
    name = base or default
    if image_present(engine, name, env):
        say(f'base image: {name} (present)')
    elif run([engine, 'pull', name], env=env)[0] == 0:
        say(f'base image: {name} (pulled)')
    elif base:
        say(f'FAILED: the base image {name} cannot be pulled')
        return None, {}
    else:
        say(f'base image: {name} cannot be pulled (no registry reachable?): using a local Debian base instead')
        return choose_base(engine, env, work, LOCAL_DEBIAN, mirror, default)
    return name, ({'EE_BASE_IMAGE': name} if base else {})


# --- the builds -------------------------------------------------------------------------------------------


def reproducible_tarball(tarball: pathlib.Path) -> bytes:
    """The tarball's members in name order with no timestamps or owners: the same contents give the same bytes.

    The engine reuses a build's layers while the files copied into it are byte for byte the same, and
    ansible-galaxy stamps every build with the time; this way an unchanged collection keeps its layers, whichever
    checkout or work directory it was built from.
    """
    buffer = io.BytesIO()
    with tarfile.open(tarball) as source, gzip.GzipFile(filename='', mode='wb', fileobj=buffer, mtime=0) as compressed:
        with tarfile.open(fileobj=compressed, mode='w') as target:
            for member in sorted(source.getmembers(), key=lambda m: m.name):
                member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, '', ''
                member.pax_headers = {key: value for key, value in member.pax_headers.items() if key not in ('mtime', 'atime', 'ctime')}
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return buffer.getvalue()


def definition_base(definition: pathlib.Path) -> str:
    """The base image a definition names."""
    return yaml.safe_load(definition.read_text(encoding='utf-8'))['images']['base_image']['name']


def decision_environment_problems(definition: dict) -> list[str]:
    """What the DE needs before it is built: ansible-rulebook pinned exactly, aiohttp, a Java 17 for rpm and dpkg bases."""
    python, system = (map(str, (definition.get('dependencies') or {}).get(key) or []) for key in ('python', 'system'))
    python, system = list(python), list(system)
    rulebook = [item for item in python if re.match(r'ansible-rulebook\b', item)]
    problems = [f'pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z) in dependencies.python, not {rulebook}'] if len(rulebook) != 1 else []
    problems += [
        f'pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z), not {item!r}' for item in rulebook if not re.fullmatch(r'ansible-rulebook==[\w.]+', item)
    ]
    if not any(re.match(r'aiohttp\b', item) for item in python):
        problems.append('the event source vobiz.voice.conference_callbacks needs aiohttp in dependencies.python')
    for family in ('rpm', 'dpkg'):
        if not any(re.match(r'(?:java-17-openjdk|openjdk-17-)', item) and f'platform:{family}' in item for item in system):
            problems.append(f'no Java 17 runtime for platform:{family} bases in dependencies.system (ansible-rulebook needs one)')
    return problems


def source_tree(work: pathlib.Path) -> pathlib.Path:
    """What to build the collection from: in a git checkout, a copy of the files git tracks or would track (as the
    gate copies them), so that caches and stray files of the checkout stay out of the images."""
    if not (ROOT / '.git').exists():
        return ROOT
    listed = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT, capture_output=True, check=True).stdout
    tree = work / 'src' / 'ansible_collections' / 'vobiz' / 'voice'
    shutil.rmtree(work / 'src', ignore_errors=True)
    for name in sorted({name for name in listed.decode().split('\0') if name and (ROOT / name).is_file()}):
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name, follow_symlinks=False)
    return tree


def build_tarball(work: pathlib.Path, env: dict) -> pathlib.Path | None:
    dist = work / 'dist'
    shutil.rmtree(dist, ignore_errors=True)
    code = run([str(BIN / 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dist), str(source_tree(work))], env=env)[0]
    found = sorted(dist.glob('vobiz-voice-*.tar.gz'))
    return found[0] if code == 0 and found else None


def prepare_definition(name: str, definition: pathlib.Path, tarball: pathlib.Path, work: pathlib.Path) -> pathlib.Path:
    """A copy of the definition's directory with the tarball, made reproducible, where the definition expects it."""
    target = work / name
    for source in definition.parent.rglob('*'):
        relative = source.relative_to(definition.parent)
        if source.is_file() and relative.parts[0] != 'collections':
            (target / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target / relative)
    placed = target / TARBALL
    placed.parent.mkdir(parents=True, exist_ok=True)
    data = reproducible_tarball(tarball)
    if not placed.exists() or placed.read_bytes() != data:
        placed.write_bytes(data)
    return target / definition.name


def build_image(engine: str, env: dict, definition: pathlib.Path, context: pathlib.Path, tag: str, build_args: dict, kept: set) -> bool:
    """``ansible-builder build``; the IDs of the images it made or reused go into ``kept``."""
    cmd = [str(BIN / 'ansible-builder'), 'build', '-f', str(definition), '--context', str(context), '-t', tag, '--container-runtime', engine, '-v', '3']
    cmd += [f'--build-arg={key}={value}' for key, value in build_args.items()]
    cmd += ['--extra-build-cli-args', f'--label {LABEL}=1']
    code, output = run(cmd, env=env)
    kept.update(re.findall(r'^--> (?:Using cache )?([0-9a-f]{11,64})\s*$', output, re.MULTILINE))
    return code == 0


def drop_stale_layers(engine: str, env: dict, kept: set) -> None:
    """Remove the untagged images of earlier builds of ours (podman keeps every stage, and each change adds some)."""
    if engine != 'podman':
        return
    removed = True
    while removed:
        removed = False
        dangling = [engine, 'images', '--no-trunc', '--filter', 'dangling=true', '--filter', f'label={LABEL}', '--format', '{{.ID}}']
        for image in run(dangling, env=env, quiet=True)[1].split():
            image = image.split(':')[-1]
            if not any(image.startswith(short) or short.startswith(image) for short in kept):
                removed |= run([engine, 'rmi', image], env=env, quiet=True)[0] == 0


# --- running them -----------------------------------------------------------------------------------------


def load_emulator():
    sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
    import vobiz_emulator  # pylint: disable=import-outside-toplevel,import-error

    return vobiz_emulator


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def files_holding(directory: pathlib.Path, needle: str) -> list[str]:
    """The files under ``directory`` that contain ``needle``."""
    return sorted(
        str(path.relative_to(directory)) for path in directory.rglob('*') if path.is_file() and not path.is_symlink() and needle.encode() in path.read_bytes()
    )


def output_problems(where: str, output: str, token: str) -> list[str]:
    """The token, or any warning, in an image's output."""
    problems = []
    if token in output:
        problems.append(f'{where}: the auth token appears in the output')
    noise = [line.strip() for line in output.splitlines() if WARNING.search(line)]
    if noise:
        problems.append(f'{where}: warnings in the output: {noise[:3]}')
    return problems


class TeardownCheck:
    """One run of ``ci_teardown`` in the EE: fresh rooms before, the emulator's log and the output after."""

    def __init__(self, emulator, token: str):
        self.emulator = emulator
        self.token = token

    def reset(self) -> None:
        for name in self.emulator.live_names():
            self.emulator.remove_conference(name)
        for name in CI_ROOMS + BYSTANDERS:
            self.emulator.add_conference(name, members=1)
        self.emulator.clear_log()

    def problems(self, where: str, code: int, output: str) -> list[str]:
        problems = [] if code == 0 else [f'{where}: exit status {code}']
        deletes = [entry for entry in self.emulator.requests(method='DELETE') if entry['action'] == 'hangup']
        hung_up = sorted(entry['conference'] for entry in deletes if entry['status'] == 204)
        if hung_up != CI_ROOMS or len(deletes) != len(CI_ROOMS):
            problems.append(f'{where}: expected one DELETE (204) for each of {CI_ROOMS}, the log has {[(e["conference"], e["status"]) for e in deletes]}')
        touched = sorted({entry['conference'] for entry in self.emulator.requests() if entry['conference'] in BYSTANDERS and entry['method'] != 'GET'})
        if touched or sorted(self.emulator.live_names()) != sorted(BYSTANDERS):
            problems.append(f'{where}: bystanders touched {touched}, live rooms {self.emulator.live_names()}')
        summaries = [json.loads(match) for match in SUMMARY.findall(output)]
        if not summaries or summaries[-1].get('status') != 'ok' or sorted(summaries[-1].get('hung_up', [])) != CI_ROOMS:
            problems.append(f'{where}: the VOBIZ_TEARDOWN_SUMMARY line says {summaries[-1] if summaries else "nothing (missing)"}')
        return problems + output_problems(where, output, self.token)


def ee_podman_run(engine: str, env: dict, image: str, check: TeardownCheck) -> list[str]:
    check.reset()
    cmd = [engine, 'run', '--rm', '--network', 'host', '-e', 'VOBIZ_AUTH_ID', '-e', 'VOBIZ_AUTH_TOKEN', '-e', 'VOBIZ_API_URL', '-e', 'ANSIBLE_NOCOLOR=1', image]
    code, output = run(cmd + ['ansible-playbook', '-i', 'localhost,', 'vobiz.voice.ci_teardown', '-e', json.dumps({'ci_teardown_match': ['ci-*']})], env=env)
    return check.problems(f'{engine} run', code, output)


def private_data_dir(scratch: pathlib.Path, name: str, api_url: str) -> pathlib.Path:
    """An ansible-runner private data dir for ci_teardown, with nothing secret in it."""
    pdd = scratch / name
    for sub in ('project', 'inventory', 'env'):
        (pdd / sub).mkdir(parents=True)
    (pdd / 'project' / 'site.yml').write_text('---\n- name: Vobiz CI teardown\n  ansible.builtin.import_playbook: vobiz.voice.ci_teardown\n', encoding='utf-8')
    (pdd / 'inventory' / 'hosts').write_text('localhost ansible_connection=local\n', encoding='utf-8')
    (pdd / 'env' / 'envvars').write_text(json.dumps({'VOBIZ_AUTH_ID': AUTH_ID, 'VOBIZ_API_URL': api_url, 'ANSIBLE_NOCOLOR': '1'}), encoding='utf-8')
    (pdd / 'env' / 'extravars').write_text(json.dumps({'ci_teardown_match': ['ci-*']}), encoding='utf-8')
    return pdd


def trace_problems(where: str, pdd: pathlib.Path, token: str) -> list[str]:
    """No file of the private data dir holds the token; runner's env.list exists and holds what it was given."""
    problems = [f'{where}: the auth token is in {name}' for name in files_holding(pdd, token)]
    env_lists = sorted(pdd.glob('artifacts/*/env.list'))
    if not env_lists or not any(f'VOBIZ_AUTH_ID={AUTH_ID}' in path.read_text(encoding='utf-8') for path in env_lists):
        problems.append(f'{where}: no artifacts/*/env.list holding VOBIZ_AUTH_ID (the search for the token would prove nothing)')
    return problems


def ee_runner(engine: str, env: dict, image: str, check: TeardownCheck, scratch: pathlib.Path) -> list[str]:
    check.reset()
    pdd = private_data_dir(scratch, 'runner', check.emulator.api_url)
    cmd = [str(BIN / 'ansible-runner'), 'run', str(pdd), '-p', 'site.yml', '--process-isolation', '--process-isolation-executable', engine]
    cmd += ['--container-image', image, '--container-option=--network=host', '--container-option=--env=VOBIZ_AUTH_TOKEN']
    if os.geteuid() == 0:
        # The image runs as uid 1000, which cannot write runner's private data dir (0700, owned by root).
        cmd.append('--container-option=--user=0')
    code, output = run(cmd, env=env)
    status = sorted(pdd.glob('artifacts/*/status'))
    problems = check.problems('ansible-runner --process-isolation', code, output)
    if not status or status[-1].read_text(encoding='utf-8').strip() != 'successful':
        problems.append(f'ansible-runner --process-isolation: status {status[-1].read_text(encoding="utf-8").strip() if status else "missing"}')
    return problems + trace_problems('ansible-runner --process-isolation', pdd, check.token)


def message_queue_ready() -> str:
    """'' when /dev/mqueue is there (ansible-navigator with podman insists on it), else why it is not."""
    if pathlib.Path('/dev/mqueue').is_dir():
        return ''
    if os.geteuid() != 0:
        return '/dev/mqueue is missing (ansible-navigator with podman needs it; as root: mkdir /dev/mqueue && mount -t mqueue none /dev/mqueue)'
    # What systemd does at boot on most machines; some sandboxes leave it out.
    pathlib.Path('/dev/mqueue').mkdir()
    code, output = run(['mount', '-t', 'mqueue', 'none', '/dev/mqueue'])
    return '' if code == 0 else f'/dev/mqueue could not be mounted: {output.strip()}'


def ee_navigator(engine: str, env: dict, image: str, check: TeardownCheck, scratch: pathlib.Path) -> list[str]:
    missing = message_queue_ready() if engine == 'podman' else ''
    if missing:
        say(f'SKIPPED ansible-navigator: {missing}')
        return []
    check.reset()
    pdd = private_data_dir(scratch, 'navigator', check.emulator.api_url)
    cmd = [str(BIN / 'ansible-navigator'), 'run', 'project/site.yml', '-i', 'inventory/hosts', '--mode', 'stdout', '--ce', engine, '--eei', image]
    cmd += ['--pull-policy', 'never', '--pae', 'false', '--lf', str(scratch / 'navigator.log'), '--senv', f'VOBIZ_AUTH_ID={AUTH_ID}']
    # No --user=0 here: ansible-navigator itself runs the image as root when it runs as root.
    cmd += ['--senv', f'VOBIZ_API_URL={check.emulator.api_url}', '--senv', 'ANSIBLE_NOCOLOR=1', '--co=--network=host', '--co=--env=VOBIZ_AUTH_TOKEN']
    cmd += ['-e', json.dumps({'ci_teardown_match': ['ci-*']})]
    code, output = run(cmd, env=env, cwd=pdd)
    log = scratch / 'navigator.log'
    leaked = ['ansible-navigator: the auth token is in its log file'] if log.is_file() and check.token in log.read_text(encoding='utf-8') else []
    return check.problems('ansible-navigator', code, output) + leaked


class Container:
    """A long-running container whose output is collected (and shown) as it comes."""

    def __init__(self, engine: str, env: dict, name: str, cmd: list[str]):
        self.engine, self.env, self.name = engine, env, name
        say('$ ' + ' '.join(cmd))
        self.proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, errors='replace')
        self.lines: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line.rstrip('\n'))
            print('    ' + line.rstrip('\n'), flush=True)

    def text(self) -> str:
        return '\n'.join(self.lines)

    def wait_for(self, condition, what: str) -> bool:
        """Until ``condition()`` holds; False (after saying so) when the container ended first or after DE_PATIENCE."""
        deadline = time.monotonic() + DE_PATIENCE
        while time.monotonic() < deadline:
            if condition():
                return True
            if self.proc.poll() is not None:
                say(f'the container ended (exit {self.proc.returncode}) before {what}')
                return condition()
            time.sleep(0.25)
        say(f'gave up waiting for {what} after {DE_PATIENCE} s')
        return False

    def stop(self) -> None:
        if self.proc.poll() is None:
            run([self.engine, 'stop', '--time', '10', self.name], env=self.env, quiet=True)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.reader.join(10)


def listening(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', port), timeout=1):
        return True
    return False


def de_rulebook(engine: str, env: dict, image: str, emulator, token: str, scratch: pathlib.Path) -> list[str]:
    """enforce_limits in the DE, driven by the emulator's signed callbacks."""
    port = free_port()
    files, data = scratch / 'de', scratch / 'de-data'
    files.mkdir()
    data.mkdir()
    data.chmod(0o777)  # the image runs as uid 1000: its state file and audit log go here
    (files / 'inventory.yml').write_text(json.dumps({'all': {'hosts': {'localhost': {'ansible_connection': 'local'}}}}), encoding='utf-8')
    variables = {
        'vobiz_callback_host': '127.0.0.1',
        'vobiz_callback_port': port,
        'vobiz_callback_public_url': PUBLIC_URL,
        'vobiz_max_duration': MAX_DURATION,
        'vobiz_check_interval': 1,
        'vobiz_state_file': '/vobiz-data/rooms.json',
        'vobiz_audit_log': '/vobiz-data/audit.jsonl',
    }
    (files / 'vars.yml').write_text(json.dumps(variables), encoding='utf-8')
    for name in emulator.live_names():
        emulator.remove_conference(name)
    emulator.clear_log()
    emulator.configure(callback_url=f'http://127.0.0.1:{port}/vobiz/conference', callback_signed_url=PUBLIC_URL)
    name = f'vobiz-de-check-{os.getpid()}'
    cmd = [engine, 'run', '--rm', '--name', name, '--network', 'host', '-e', 'VOBIZ_AUTH_ID', '-e', 'VOBIZ_AUTH_TOKEN', '-e', 'VOBIZ_API_URL']
    cmd += ['-e', 'ANSIBLE_NOCOLOR=1', '-v', f'{files}:/vobiz:ro,Z', '-v', f'{data}:/vobiz-data:Z', image]
    cmd += ['ansible-rulebook', '-r', 'vobiz.voice.enforce_limits', '-i', '/vobiz/inventory.yml', '--vars', '/vobiz/vars.yml']
    container = Container(engine, env, name, cmd)
    problems = []
    started = 0.0
    try:
        if not container.wait_for(lambda: listening(port), f'the event source listened on port {port}'):
            return ['ansible-rulebook in the DE: the event source never listened'] + output_problems('ansible-rulebook', container.text(), token)
        sender = emulator.callback_sender
        emulator.configure(callback_signing='wrong_key')
        emulator.add_conference('Forged Room', members=1)
        sender.wait_idle()
        emulator.configure(callback_signing='v2+v3')
        started = time.time()
        emulator.add_conference('Overdue Room', members=2)
        sender.wait_idle()

        def hung_up() -> bool:
            return any(entry['conference'] == 'Overdue Room' for entry in emulator.requests(method='DELETE'))

        def reported() -> bool:
            return any('VOBIZ_ENFORCE_LIMITS' in line and 'Overdue Room' in line for line in container.lines)

        if not container.wait_for(hung_up, 'Overdue Room was hung up'):
            problems.append('ansible-rulebook in the DE: Overdue Room was not hung up')
        elif not container.wait_for(reported, 'the action playbook reported Overdue Room'):
            problems.append('ansible-rulebook in the DE: no VOBIZ_ENFORCE_LIMITS line for Overdue Room')
    finally:
        container.stop()
        emulator.configure(callback_url=None)
    deletes = [entry for entry in emulator.requests(method='DELETE') if entry['conference'] == 'Overdue Room']
    if len(deletes) > 1:
        problems.append(f'ansible-rulebook in the DE: Overdue Room was hung up {len(deletes)} times, expected once')
    for entry in deletes:
        at = datetime.datetime.fromisoformat(entry['time'].replace('Z', '+00:00')).timestamp()
        if at < started + MAX_DURATION:
            problems.append(f'ansible-rulebook in the DE: Overdue Room hung up at {entry["time"]}, before its {MAX_DURATION} s limit')
    statuses = sorted({entry['status'] for entry in emulator.callback_sender.log() if entry['conference'] == 'Forged Room'})
    if statuses != [403]:
        problems.append(f'ansible-rulebook in the DE: forged callbacks were answered {statuses}, expected 403')
    touching = [entry['action'] for entry in emulator.requests() if entry['conference'] == 'Forged Room']
    if touching:
        problems.append(f'ansible-rulebook in the DE: forged callbacks caused requests {touching}')
    audit = (data / 'audit.jsonl').read_text(encoding='utf-8') if (data / 'audit.jsonl').is_file() else ''
    if 'Overdue Room' not in audit or token in audit:
        problems.append(f'ansible-rulebook in the DE: the audit log (uid 1000, on a volume) does not name Overdue Room or holds the token: {audit[:300]!r}')
    return problems + output_problems('ansible-rulebook in the DE', container.text(), token)


def run_images(engine: str, env: dict, tags: dict, scratch: pathlib.Path) -> list[str]:
    token = 'images-' + secrets.token_hex(16)
    emulator = load_emulator().Emulator(auth_id=AUTH_ID, auth_token=token, members=0).start()
    run_env = dict(env, VOBIZ_AUTH_ID=AUTH_ID, VOBIZ_AUTH_TOKEN=token, VOBIZ_API_URL=emulator.api_url)
    problems = []
    try:
        check = TeardownCheck(emulator, token)
        for title, leg in (
            ('EE: ci_teardown through podman run', lambda: ee_podman_run(engine, run_env, tags['ee'], check)),
            ('EE: ci_teardown through ansible-runner --process-isolation', lambda: ee_runner(engine, run_env, tags['ee'], check, scratch)),
            ('EE: ci_teardown through ansible-navigator', lambda: ee_navigator(engine, run_env, tags['ee'], check, scratch)),
            ('DE: the enforce_limits rulebook against signed callbacks', lambda: de_rulebook(engine, run_env, tags['de'], emulator, token, scratch)),
        ):
            say(f'\n==> {title}')
            started = time.monotonic()
            found = leg()
            say('\n'.join(f'FAILED: {problem}' for problem in found) if found else f'ok: {title} ({time.monotonic() - started:.0f} s)')
            problems += found
    finally:
        emulator.stop()
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--engine', choices=('podman', 'docker'), help='the container engine (default: podman, else docker)')
    parser.add_argument(
        '--base', help=f'the base image of both images, or {LOCAL_DEBIAN} (default: the definitions\' own; {LOCAL_DEBIAN} when it cannot be pulled)'
    )
    parser.add_argument('--build-arg', action='append', default=[], metavar='KEY=VALUE', help='a further build argument for ansible-builder (repeatable)')
    parser.add_argument('--debian-mirror', default=DEBIAN_MIRROR, help=f'the mirror debootstrap uses (default {DEBIAN_MIRROR})')
    parser.add_argument('--work', type=pathlib.Path, default=ROOT / 'build' / 'images', help='build contexts and scratch files (default: build/images)')
    parser.add_argument('--no-run', action='store_true', help='build only')
    parser.add_argument('--keep', action='store_true', help='keep the scratch directory of the runs')
    args = parser.parse_args(argv)

    engine, reason = find_engine(args.engine)
    if not engine:
        say(f'SKIPPED: {reason}')
        return NO_ENGINE
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = engine_env(engine, work)
    say(f'engine: {engine}' + (f' (CONTAINERS_CONF={env["CONTAINERS_CONF"]})' if env.get('CONTAINERS_CONF') else ''))

    tarball = build_tarball(work, env)
    if not tarball:
        say('FAILED: ansible-galaxy collection build')
        return 1
    bases: dict = {}  # the base each definition names -> (the base used, its build arguments)
    kept: set = set()
    tags = {}
    for name, definition, tag in IMAGES:
        problems = decision_environment_problems(yaml.safe_load(definition.read_text(encoding='utf-8'))) if name == 'de' else []
        if problems:
            say('\n'.join(f'FAILED: {definition.relative_to(ROOT)}: {problem}' for problem in problems))
            return 1
        default = definition_base(definition)
        if default not in bases:
            started = time.monotonic()
            bases[default] = choose_base(engine, env, work, args.base, args.debian_mirror, default)
            say(f'base ready ({time.monotonic() - started:.0f} s)')
        base, build_args = bases[default]
        if not base:
            return 1
        build_args = dict(build_args, **dict(item.split('=', 1) for item in args.build_arg))
        say(f'\n==> {name.upper()}: {tag} from {definition.relative_to(ROOT)} on {base}')
        started = time.monotonic()
        prepared = prepare_definition(name, definition, tarball, work)
        if not build_image(engine, env, prepared, work / f'{name}-context', tag, build_args, kept):
            say(f'FAILED: the {name.upper()} image could not be built')
            return 1
        say(f'{name.upper()} built: {tag} ({time.monotonic() - started:.0f} s)')
        tags[name] = tag
    drop_stale_layers(engine, env, kept)
    if args.no_run:
        return 0
    scratch = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-images-'))
    try:
        problems = run_images(engine, env, tags, scratch)
    finally:
        if args.keep:
            say(f'scratch directory kept: {scratch}')
        else:
            shutil.rmtree(scratch, ignore_errors=True)
    say(f'\nimages: {len(problems)} problem(s)' + ('' if problems else f'; {", ".join(tags.values())} built and run'))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
