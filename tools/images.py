#!/usr/bin/env python
"""``make images``: build the execution environment (EE) and the decision environment (DE) with ansible-builder on
podman, then run them against the Vobiz emulator; extensions/ee/README.md and extensions/de/README.md say more.

The base is the definitions' own (ubi9), or ``--base IMAGE``; when it cannot be pulled (no registry reachable), or with
``--base local-debian``, a Debian base made with debootstrap that podman's layer cache keeps while its inputs stay the
same. The EE runs ``ci_teardown`` through ``podman run`` and ansible-runner with process isolation, the DE the
``enforce_limits`` rulebook against signed and forged callbacks; the emulator's request log decides, and no output (nor
any file of runner's) may hold the token, no output a warning.

Exit status: 0 passed, 1 failed, 3 no usable podman (the gate reports the step as skipped).
"""

from __future__ import annotations

import argparse
import datetime
import gzip
import io
import json
import os
import pathlib
import re
import resource
import secrets
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from subprocess import PIPE

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
NO_ENGINE = 3
# The containers' process limit: plenty for Ansible's forks (a sandbox here refused any above kernel.pid_max).
MAX_PROCESSES = 4096
IMAGES = {
    'ee': (ROOT / 'extensions' / 'ee' / 'execution-environment.yml', 'localhost/vobiz-ee:latest'),
    'de': (ROOT / 'extensions' / 'de' / 'decision-environment.yml', 'localhost/vobiz-de:latest'),
}
TARBALL = 'collections/vobiz-voice.tar.gz'  # where both definitions' additional_build_files expect it
# On every image this tool builds, so that it drops its own stale layers and nobody else's.
LABEL = 'vobiz.voice.images'

LOCAL_DEBIAN = 'local-debian'
DEBIAN_PACKAGES = ('python3', 'python3-venv', 'ca-certificates')
DEBOOTSTRAP_IMAGE = 'localhost/vobiz-debootstrap:bookworm-' + '-'.join(DEBIAN_PACKAGES)
DEBIAN_BASE = 'localhost/vobiz-debian-base:latest'
DEBIAN_CONTAINERFILE = f"""FROM {DEBOOTSTRAP_IMAGE}
# ansible-builder's pip step runs ensurepip, which Debian refuses on its system Python: a venv has its own pip.
RUN python3 -m venv /opt/venv
# pip in the image builds goes through the same TLS setup (an intercepting CA included) as pip on this host.
COPY host-ca.crt /usr/local/share/ca-certificates/vobiz-host-ca-bundle.crt
RUN update-ca-certificates
ENV PATH=/opt/venv/bin:/usr/sbin:/usr/bin:/sbin:/bin
"""
DEBIAN_BUILD_ARGS = {'PYCMD': '/opt/venv/bin/python3', 'PYPKG': 'python3', 'PKGMGR': '/usr/bin/apt-get'}

AUTH_ID = 'MA_IMAGES'
CI_ROOMS = ['ci-101', 'ci-102', 'ci-103']
BYSTANDERS = ['Board Room', 'prod-ci-1']
MATCH = {'ci_teardown_match': ['ci-*']}
# The credentials pass by name: podman copies their values from its environment, so no command line holds the token.
PODMAN_RUN = (
    'podman run --rm --network host -e VOBIZ_AUTH_ID -e VOBIZ_AUTH_TOKEN -e VOBIZ_API_URL -e ANSIBLE_NOCOLOR=1'.split()
)
SITE = '---\n- name: Vobiz CI teardown\n  ansible.builtin.import_playbook: vobiz.voice.ci_teardown\n'
SUMMARY = re.compile(r'VOBIZ_TEARDOWN_SUMMARY (\{.*\})')
PUBLIC_URL = 'https://eda.example.test/vobiz/conference'
MAX_DURATION = 6  # seconds: the DE's rulebook limit
# Warning noise in the images' output: Ansible's warnings and deprecations, Python's warnings (the event
# source's own log lines, such as a refused callback logged at WARNING, are what it is there to say).
WARNING = re.compile(r'\[(?:DEPRECATION )?WARNING\]|\w*Warning: ')


def say(line: str = '') -> None:
    print(line, flush=True)


def run(cmd: list[str], *, quiet: bool = False, lines: list[str] | None = None, **popen) -> tuple[int, str]:
    """Run a command, showing its output (indented) unless ``quiet``; its exit code and output, also into ``lines``
    as they come."""
    if not quiet:
        say('$ ' + shlex.join(cmd))
    lines = [] if lines is None else lines
    with subprocess.Popen(cmd, stdout=PIPE, stderr=subprocess.STDOUT, text=True, errors='replace', **popen) as proc:
        for line in proc.stdout:
            lines.append(line.rstrip('\n'))
            if not quiet:
                print('    ' + lines[-1], flush=True)
    return proc.returncode, '\n'.join(lines)


def engine_missing() -> str:
    """Why podman cannot be used here, or ''."""
    if not shutil.which('podman'):
        return 'no container engine: podman is not installed'
    code, output = run(['podman', 'info'], quiet=True)
    last = [line.strip() for line in output.splitlines() if line.strip()][-1:] or ['no output']
    return f'no container engine: podman info failed: {last[0]}' if code else ''


def engine_env(work: pathlib.Path) -> dict:
    """The environment for podman and everything that calls it (ansible-builder, ansible-runner).

    Nothing of the caller's Ansible or Vobiz settings: the runs set their own. Podman raises a container's open-files
    and process limits by default, and sandboxes that forbid raising rlimits make every ``podman run`` fail (``error
    setting rlimit type 7: operation not permitted``): a containers.conf of our own gives the containers this process's
    open-files limit and at most MAX_PROCESSES processes. A CONTAINERS_CONF of the caller's is left alone.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(('ANSIBLE_', 'VOBIZ_'))}
    if not env.get('CONTAINERS_CONF'):
        files = resource.getrlimit(resource.RLIMIT_NOFILE)
        procs = [n if 0 <= n <= MAX_PROCESSES else MAX_PROCESSES for n in resource.getrlimit(resource.RLIMIT_NPROC)]
        conf = work / 'containers.conf'
        conf.write_text(
            '# Written by tools/images.py: the containers get the limits of the process that starts them.\n'
            f'[containers]\ndefault_ulimits = ["nofile={files[0]}:{files[1]}", "nproc={procs[0]}:{procs[1]}"]\n',
            encoding='utf-8',
        )
        env['CONTAINERS_CONF'] = str(conf)
    return env


def image_present(name: str) -> bool:
    return run(['podman', 'image', 'exists', name], quiet=True)[0] == 0


def build(cmd: list[str], kept: set) -> bool:
    """A podman build, directly or through ansible-builder; the IDs of the images it made or reused go into ``kept``."""
    code, output = run(cmd)
    kept.update(re.findall(r'^--> (?:Using cache )?([0-9a-f]{11,64})\s*$', output, re.MULTILINE))
    return code == 0


def debian_base(work: pathlib.Path, kept: set) -> str | None:
    """The local Debian base, or None (after saying why) when it cannot be built."""
    if not image_present(DEBOOTSTRAP_IMAGE):
        if os.geteuid() != 0 or not shutil.which('debootstrap'):
            say('FAILED: the local Debian base needs debootstrap as root; or name a base you can pull: --base IMAGE')
            return None
        rootfs = work / 'debian-rootfs'
        shutil.rmtree(rootfs, ignore_errors=True)
        say(f'local Debian base: {DEBOOTSTRAP_IMAGE} with debootstrap; a few minutes, once')
        try:
            include = '--include=' + ','.join(DEBIAN_PACKAGES)
            # The packages debootstrap downloaded stay out of the image.
            tar = ['tar', '-C', str(rootfs), '--exclude=./var/cache/apt/archives/*.deb', '-c', '.']
            if run(['debootstrap', '--variant=minbase', include, 'bookworm', str(rootfs)])[0] == 0:
                with subprocess.Popen(tar, stdout=PIPE) as source:
                    run(['podman', 'import', '-', DEBOOTSTRAP_IMAGE], stdin=source.stdout)
            if not image_present(DEBOOTSTRAP_IMAGE):
                say('FAILED: the local Debian base could not be made')
                return None
        finally:
            shutil.rmtree(rootfs, ignore_errors=True)
    context = work / 'debian-base'
    context.mkdir(parents=True, exist_ok=True)
    (context / 'Containerfile').write_text(DEBIAN_CONTAINERFILE, encoding='utf-8')
    bundle = ssl.get_default_verify_paths().cafile  # the CA certificates this host trusts (SSL_CERT_FILE included)
    (context / 'host-ca.crt').write_bytes(pathlib.Path(bundle).read_bytes() if bundle else b'')
    cmd = ['podman', 'build', '--label', f'{LABEL}=1', '-t', DEBIAN_BASE, str(context)]
    return DEBIAN_BASE if build(cmd, kept) else None


def choose_base(requested: str | None, named: str, work: pathlib.Path, kept: set) -> tuple[str | None, dict]:
    """The base image and the build arguments that go with it; (None, {}) when there is none."""
    if requested and requested != LOCAL_DEBIAN:
        return requested, {'EE_BASE_IMAGE': requested}  # podman pulls it as it builds
    if not requested and (image_present(named) or run(['podman', 'pull', named])[0] == 0):
        return named, {}
    say(f'base image: {requested or named + " cannot be pulled (no registry reachable?)"}: a local Debian base')
    tag = debian_base(work, kept)
    return tag, (dict(DEBIAN_BUILD_ARGS, EE_BASE_IMAGE=tag) if tag else {})


def collection_tarball(work: pathlib.Path) -> bytes | None:
    """The collection tarball with its members in name order and no timestamps or owners.

    podman reuses a build's layers while the files copied into it are byte for byte the same, and ansible-galaxy
    stamps every build with the time: this way an unchanged collection keeps its layers, from any work directory.
    """
    dist = work / 'dist'
    shutil.rmtree(dist, ignore_errors=True)
    galaxy = [str(BIN / 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dist), str(ROOT)]
    if run(galaxy)[0] != 0:
        return None
    buffer = io.BytesIO()
    with tarfile.open(next(dist.glob('*.tar.gz'))) as source, gzip.GzipFile(None, 'wb', 9, buffer, mtime=0) as packed:
        with tarfile.open(fileobj=packed, mode='w') as target:
            for member in sorted(source.getmembers(), key=lambda m: m.name):
                member.mtime, member.uid, member.gid, member.uname, member.gname = 0, 0, 0, '', ''
                member.pax_headers = {
                    k: v for k, v in member.pax_headers.items() if k not in ('mtime', 'atime', 'ctime')
                }
                target.addfile(member, source.extractfile(member) if member.isfile() else None)
    return buffer.getvalue()


def prepare_definition(definition: pathlib.Path, tarball: bytes, target: pathlib.Path) -> pathlib.Path:
    """A copy of the definition's directory with the tarball where the definition expects it (rewritten only when it
    changed: ansible-builder copies a file into its context again when its time is newer)."""
    shutil.copytree(definition.parent, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns('collections'))
    placed = target / TARBALL
    placed.parent.mkdir(exist_ok=True)
    if not placed.is_file() or placed.read_bytes() != tarball:
        placed.write_bytes(tarball)
    return target / definition.name


def drop_stale_layers(kept: set) -> None:
    """Remove the untagged images of earlier builds of ours (podman keeps every stage, and each change adds some)."""
    listing = ['podman', 'images', '--quiet', '--no-trunc', '--filter', 'dangling=true', '--filter', f'label={LABEL}']
    while True:
        stale = [image.split(':')[-1] for image in run(listing, quiet=True)[1].split()]
        stale = [image for image in stale if not any(image.startswith(short) for short in kept)]
        if not [image for image in stale if run(['podman', 'rmi', image], quiet=True)[0] == 0]:
            return


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def output_problems(output: str, token: str) -> list[str]:
    """The token, or any warning, in an image's output."""
    problems = ['the auth token appears in the output'] if token in output else []
    noise = [line.strip() for line in output.splitlines() if WARNING.search(line)]
    return problems + ([f'warnings in the output: {noise[:3]}'] if noise else [])


def through_podman(image: str, token: str, scratch: pathlib.Path) -> tuple[int, str, list[str]]:
    teardown = ['ansible-playbook', '-i', 'localhost,', 'vobiz.voice.ci_teardown', '-e', json.dumps(MATCH)]
    return (*run([*PODMAN_RUN, image, *teardown]), [])


def through_runner(image: str, token: str, scratch: pathlib.Path) -> tuple[int, str, list[str]]:
    import ansible_runner  # pylint: disable=import-outside-toplevel  # only the images session installs it

    pdd = scratch / 'runner'  # its private data dir: nothing secret in it
    (pdd / 'project').mkdir(parents=True)
    (pdd / 'project' / 'site.yml').write_text(SITE, encoding='utf-8')
    (pdd / 'inventory').mkdir()
    (pdd / 'inventory' / 'hosts').write_text('localhost ansible_connection=local\n', encoding='utf-8')
    result = ansible_runner.run(
        private_data_dir=str(pdd),
        playbook='site.yml',
        process_isolation=True,
        process_isolation_executable='podman',
        container_image=image,
        # As root, so is the container: its uid 1000 cannot write runner's private data dir (0700, root's).
        container_options=['--network=host', '--env=VOBIZ_AUTH_TOKEN'] + (['--user=0'] if os.geteuid() == 0 else []),
        envvars={key: os.environ[key] for key in ('VOBIZ_AUTH_ID', 'VOBIZ_API_URL')} | {'ANSIBLE_NOCOLOR': '1'},
        extravars=MATCH,
    )
    leaks = sorted(str(path) for path in pdd.rglob('*') if path.is_file() and token.encode() in path.read_bytes())
    env_lists = ''.join(path.read_text(encoding='utf-8') for path in pdd.glob('artifacts/*/env.list'))
    problems = failed(
        (result.status == 'successful', f'status {result.status}'),
        (not leaks, f'the auth token is in {leaks}'),
        # Where runner writes the environment: without it, the search for the token would prove nothing.
        (f'VOBIZ_AUTH_ID={AUTH_ID}' in env_lists, 'no artifacts/*/env.list holding VOBIZ_AUTH_ID'),
    )
    return result.rc, result.stdout.read(), problems


def failed(*expectations: tuple[bool, str]) -> list[str]:
    """The messages of the expectations that do not hold."""
    return [message for holds, message in expectations if not holds]


def teardown_problems(emulator, code: int, output: str) -> list[str]:
    """What is wrong with one run of ci_teardown, by the emulator's log and the run's summary line."""
    hangups = [(e['conference'], e['status']) for e in emulator.requests(method='DELETE') if e['action'] == 'hangup']
    touched = {e['conference'] for e in emulator.requests() if e['conference'] in BYSTANDERS and e['method'] != 'GET'}
    live, summary = sorted(emulator.live_names()), ([json.loads(m) for m in SUMMARY.findall(output)] or [{}])[-1]
    hung_up = sorted(summary.get('hung_up', []))
    return failed(
        (code == 0, f'exit status {code}'),
        (sorted(hangups) == [(room, 204) for room in CI_ROOMS], f'expected one DELETE (204) per ci-* room: {hangups}'),
        (not touched and live == BYSTANDERS, f'bystanders touched: {sorted(touched)}, live rooms: {live}'),
        (summary.get('status') == 'ok' and hung_up == CI_ROOMS, f'the VOBIZ_TEARDOWN_SUMMARY line says {summary}'),
    )


def fresh_rooms(emulator, names: list[str]) -> None:
    for name in emulator.live_names():
        emulator.remove_conference(name)
    for name in names:
        emulator.add_conference(name, members=1)
    emulator.clear_log()


def de_rulebook(image: str, emulator, token: str, scratch: pathlib.Path) -> list[str]:
    """enforce_limits in the DE, driven by the emulator's signed (and forged) callbacks."""
    port = free_port()
    files, data = scratch / 'de', scratch / 'de-data'
    files.mkdir()
    data.mkdir()
    data.chmod(0o777)  # the image runs as uid 1000: its state file and audit log go here
    inventory = {'all': {'hosts': {'localhost': {'ansible_connection': 'local'}}}}
    (files / 'inventory.yml').write_text(json.dumps(inventory), encoding='utf-8')
    variables = {'vobiz_callback_host': '127.0.0.1', 'vobiz_callback_port': port, 'vobiz_check_interval': 1}
    variables |= {'vobiz_callback_public_url': PUBLIC_URL, 'vobiz_max_duration': MAX_DURATION}
    variables |= {'vobiz_state_file': '/vobiz-data/rooms.json', 'vobiz_audit_log': '/vobiz-data/audit.jsonl'}
    (files / 'vars.yml').write_text(json.dumps(variables), encoding='utf-8')
    fresh_rooms(emulator, [])
    emulator.configure(callback_url=f'http://127.0.0.1:{port}/vobiz/conference', callback_signed_url=PUBLIC_URL)
    name = f'vobiz-de-check-{os.getpid()}'
    cmd = [*PODMAN_RUN, '--name', name, '-v', f'{files}:/vobiz:ro,Z', '-v', f'{data}:/vobiz-data:Z', image]
    cmd += ['ansible-rulebook', '-r', 'vobiz.voice.enforce_limits']
    cmd += ['-i', '/vobiz/inventory.yml', '--vars', '/vobiz/vars.yml']
    lines: list[str] = []
    container = threading.Thread(target=run, args=(cmd,), kwargs={'lines': lines, 'stdin': subprocess.DEVNULL})
    container.start()

    def wait_for(condition) -> bool:
        """Until ``condition()`` holds or the container ends (no time limit: the gate watches for silence)."""
        while not condition() and container.is_alive():
            time.sleep(0.25)
        return condition()

    def listening() -> bool:
        with socket.socket() as sock:
            return sock.connect_ex(('127.0.0.1', port)) == 0

    def reported() -> bool:
        return any('VOBIZ_ENFORCE_LIMITS' in line and 'Overdue Room' in line for line in lines)

    def overdue_deletes() -> list[dict]:
        return [entry for entry in emulator.requests(method='DELETE') if entry['conference'] == 'Overdue Room']

    started = time.time()
    try:
        listened = wait_for(listening)
        if listened:
            emulator.configure(callback_signing='wrong_key')
            emulator.add_conference('Forged Room', members=1)
            emulator.callback_sender.wait_idle()
            emulator.configure(callback_signing='v2+v3')
            started = time.time()
            emulator.add_conference('Overdue Room', members=2)
            emulator.callback_sender.wait_idle()
            # Hung up, then reported by the action playbook (VOBIZ_ENFORCE_LIMITS) before the container is stopped.
            wait_for(lambda: overdue_deletes() and reported())
    finally:
        run(['podman', 'stop', '--time', '10', name], quiet=True)
        container.join()
        emulator.configure(callback_url=None)
    output, deletes = '\n'.join(lines), overdue_deletes()
    hung_up_at = [datetime.datetime.fromisoformat(e['time'].replace('Z', '+00:00')).timestamp() for e in deletes]
    forged = sorted({e['status'] for e in emulator.callback_sender.log() if e['conference'] == 'Forged Room'})
    touching = [entry['action'] for entry in emulator.requests() if entry['conference'] == 'Forged Room']
    audit = (data / 'audit.jsonl').read_text(encoding='utf-8') if (data / 'audit.jsonl').is_file() else ''
    return failed(
        (listened, 'the event source never listened'),
        (len(deletes) == 1, f'Overdue Room was hung up {len(deletes)} times, expected once'),
        (all(at >= started + MAX_DURATION for at in hung_up_at), f'Overdue Room hung up before {MAX_DURATION} s'),
        (reported(), 'the action playbook printed no VOBIZ_ENFORCE_LIMITS line for Overdue Room'),
        (forged == [403], f'forged callbacks were answered {forged}, expected 403'),
        (not touching, f'forged callbacks caused requests {touching}'),
        # The image runs as uid 1000: its audit log on a volume proves it can write there.
        ('Overdue Room' in audit and token not in audit, f'the audit log lacks the room or holds the token: {audit!r}'),
    ) + output_problems(output, token)


def run_images(scratch: pathlib.Path) -> list[str]:
    """The three runs against one emulator; their problems, each named by its run."""
    sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
    import vobiz_emulator  # pylint: disable=import-outside-toplevel,import-error

    token = 'images-' + secrets.token_hex(16)
    emulator = vobiz_emulator.Emulator(auth_id=AUTH_ID, auth_token=token, members=0).start()
    os.environ.update(VOBIZ_AUTH_ID=AUTH_ID, VOBIZ_AUTH_TOKEN=token, VOBIZ_API_URL=emulator.api_url)
    problems = []
    try:
        for title, way in (('podman run', through_podman), ('ansible-runner', through_runner)):
            say(f'\n==> EE: ci_teardown through {title}')
            fresh_rooms(emulator, CI_ROOMS + BYSTANDERS)
            code, output, found = way(IMAGES['ee'][1], token, scratch)
            found = teardown_problems(emulator, code, output) + found + output_problems(output, token)
            problems += report(f'EE through {title}', found)
        say('\n==> DE: the enforce_limits rulebook against signed callbacks')
        problems += report('DE', de_rulebook(IMAGES['de'][1], emulator, token, scratch))
    finally:
        emulator.stop()
    return problems


def report(where: str, found: list[str]) -> list[str]:
    problems = [f'{where}: {problem}' for problem in found]
    say('\n'.join(f'FAILED: {problem}' for problem in problems) or f'ok: {where}')
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--base', help=f"both images' base, or {LOCAL_DEBIAN} (default: the definitions' own)")
    parser.add_argument('--build-arg', action='append', default=[], metavar='KEY=VALUE', help='for ansible-builder')
    parser.add_argument('--work', type=pathlib.Path, default=ROOT / 'build' / 'images', help='default: build/images')
    parser.add_argument('--no-run', action='store_true', help='build only')
    args = parser.parse_args(argv)
    missing = engine_missing()
    if missing:
        say(f'SKIPPED: {missing}')
        return NO_ENGINE
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)
    env = engine_env(work)
    os.environ.clear()
    os.environ.update(env)
    tarball = collection_tarball(work)
    if tarball is None:
        say('FAILED: ansible-galaxy collection build')
        return 1
    kept: set = set()
    # Both definitions name the same base (ubi9): one choice for both.
    named = yaml.safe_load(IMAGES['ee'][0].read_text(encoding='utf-8'))['images']['base_image']['name']
    base, build_args = choose_base(args.base, named, work, kept)
    if not base:
        return 1
    for name, (definition, tag) in IMAGES.items():
        say(f'\n==> {name.upper()}: {tag} from {definition.relative_to(ROOT)} on {base}')
        cmd = [str(BIN / 'ansible-builder'), 'build', '-f', str(prepare_definition(definition, tarball, work / name))]
        cmd += ['--context', str(work / f'{name}-context'), '-t', tag, '--container-runtime', 'podman', '-v', '3']
        cmd += [f'--build-arg={arg}' for arg in [f'{k}={v}' for k, v in build_args.items()] + args.build_arg]
        if not build(cmd + ['--extra-build-cli-args', f'--label {LABEL}=1'], kept):
            say(f'FAILED: the {name.upper()} image could not be built')
            return 1
    drop_stale_layers(kept)
    if args.no_run:
        return 0
    with tempfile.TemporaryDirectory(prefix='vobiz-images-') as scratch:
        problems = run_images(pathlib.Path(scratch))
    say(f'\nimages: {len(problems)} problem(s)' if problems else '\nimages: the EE and the DE built and run')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
