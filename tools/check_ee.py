#!/usr/bin/env python
"""Check the execution environment (EE) and decision environment (DE) definitions without a container engine.

For ``extensions/ee/execution-environment.yml`` and ``extensions/de/decision-environment.yml`` (or ``--ee FILE``):

1. A decision environment (a definition that installs ansible-rulebook, or whose file name says so) pins
   ansible-rulebook exactly and installs aiohttp (the event source's web server) and a Java 17 runtime on both
   package families (``platform:rpm`` and ``platform:dpkg``).
2. ``ansible-builder create`` accepts it (its own schema and file checks) and writes a build context, with a fresh
   tarball of this checkout where ``additional_build_files`` expects it; every ``type: file`` collection of the
   galaxy requirements is inside the context, and they install vobiz.voice.
3. The two build steps that matter for our dependencies run as the image build would run them, with the very files
   of the context: ``ansible-galaxy collection install -r requirements.yml`` from ``_build/`` (a tarball of this
   checkout stands in for vobiz.voice from Galaxy), then the context's ``scripts/introspect.py``. The image's Python
   requirements must hold ``requests`` from vobiz.voice (and, for a DE, the pinned ansible-rulebook), and the
   installed collection's ``meta/execution-environment.yml`` must name a bindep file it ships.

Every problem is printed as ``FILE: message``; the exit status is 1 when there is any. ``tools/images.py``
(``make images``) builds and runs both images with a container engine.

    python tools/check_ee.py [--ee FILE ...]
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = pathlib.Path(sys.executable).parent
DEFINITIONS = (ROOT / 'extensions' / 'ee' / 'execution-environment.yml', ROOT / 'extensions' / 'de' / 'decision-environment.yml')
JAVA_17 = re.compile(r'^(?:java-17-openjdk|openjdk-17-)')


def run(cmd: list[str], cwd: pathlib.Path, env: dict | None = None) -> tuple[int, str]:
    """Run a command of this Python's environment (no time limit: the gate ends a step that hangs, silent for minutes)."""
    result = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    return result.returncode, result.stdout + result.stderr


def last_error(output: str) -> str:
    """The one line that says what a tool did not like."""
    found = re.findall(r'(?:DefinitionError|ValidationError|Error): (.+)', output) or [line for line in output.splitlines() if line.strip()] or ['no output']
    return found[-1].strip()


def decision_problems(data: dict) -> list[str]:
    """What a decision environment needs: ansible-rulebook pinned, aiohttp, a Java 17 for rpm and dpkg bases."""
    deps = data.get('dependencies') or {}
    python, system = deps.get('python'), deps.get('system')
    if not isinstance(python, list) or not isinstance(system, list):
        return ['a decision environment lists its Python and system requirements inline (dependencies.python, .system)']
    rulebook = [str(item) for item in python if re.match(r'ansible-rulebook\b', str(item))]
    problems = [] if rulebook else ['a decision environment needs ansible-rulebook in dependencies.python']
    problems += [
        f'pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z), not {item!r}'
        for item in rulebook
        if not re.fullmatch(r'ansible-rulebook==[\w.]+', item.replace(' ', ''))
    ]
    if not any(re.match(r'aiohttp\b', str(item)) for item in python):
        problems.append('the event source vobiz.voice.conference_callbacks needs aiohttp in dependencies.python')
    for family in ('rpm', 'dpkg'):
        if not any(JAVA_17.match(str(item)) and f'platform:{family}' in str(item) for item in system):
            problems.append(f'no Java 17 runtime for platform:{family} bases in dependencies.system (ansible-rulebook needs one)')
    return problems


def check(definition: pathlib.Path, work: pathlib.Path) -> tuple[list[str], list[str]]:
    """All checks of one definition: (problems, what was found)."""
    try:
        data = yaml.safe_load(definition.read_text(encoding='utf-8')) if definition.is_file() else 'not a file'
    except (OSError, yaml.YAMLError) as exc:
        return [f'cannot read: {exc}'.replace('\n', ' ')], []
    if not isinstance(data, dict):
        return [f'not an execution environment definition: {data!r}'[:200]], []
    decision = 'decision' in definition.name or 'ansible-rulebook' in str((data.get('dependencies') or {}).get('python'))
    problems = decision_problems(data) if decision else []
    # A copy of the definition's directory, so that the tarball and the context stay out of the tree.
    source = work / 'definition'
    shutil.copytree(definition.parent, source, ignore=shutil.ignore_patterns('*.tar.gz', 'collections'))
    code, output = run([str(BIN / 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(work / 'dist'), str(ROOT)], work)
    tarball = next((work / 'dist').glob('vobiz-voice-*.tar.gz'), None)
    if code or not tarball:
        return problems + [f'ansible-galaxy collection build failed: {last_error(output)}'], []
    for entry in data.get('additional_build_files') or []:
        src = str(entry.get('src', '')) if isinstance(entry, dict) else ''
        if 'vobiz-voice' in src and not any(char in src for char in '*?['):
            (source / src).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(tarball, source / src)
    context = work / 'context'
    code, output = run([str(BIN / 'ansible-builder'), 'create', '-f', str(source / definition.name), '--context', str(context)], work)
    output = output.replace(str(source), str(definition.parent))
    if code:
        return problems + [f'ansible-builder create: {last_error(output)}'], []
    problems += [f'ansible-builder create warned: {warning.strip()}' for warning in re.findall(r'(?:WARNING|Warning)[: ]+(.+)', output)]
    build = context / '_build'
    requirements = yaml.safe_load((build / 'requirements.yml').read_text(encoding='utf-8')) if (build / 'requirements.yml').is_file() else None
    collections = [{'name': item} if isinstance(item, str) else item for item in (requirements or {}).get('collections') or []]
    problems += [
        f"{item['name']} of the galaxy requirements is not in the build context (_build/): add it to additional_build_files"
        for item in collections
        if item.get('type') == 'file' and not (build / item['name']).is_file()
    ]
    if not any('vobiz.voice' in item.get('name', '') or 'vobiz-voice' in item.get('name', '') for item in collections):
        problems.append('the galaxy requirements do not install vobiz.voice: the image would not have it')
    if problems:
        return problems, []
    notes = [f'ansible-builder create: build context written ({len(list(context.rglob("*")))} files)']
    return simulate_build(build, tarball, work, decision, notes)


def simulate_build(build: pathlib.Path, tarball: pathlib.Path, work: pathlib.Path, decision: bool, notes: list[str]) -> tuple[list[str], list[str]]:
    """The galaxy stage and the introspection of the image build, offline, with the context's files."""
    collections = work / 'usr-share-ansible' / 'collections'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_GALAXY_DISABLE_GPG_VERIFY='1', ANSIBLE_NOCOLOR='1')
    entries = (yaml.safe_load((build / 'requirements.yml').read_text(encoding='utf-8')) or {}).get('collections') or []
    local = all(isinstance(item, dict) and item.get('type') in ('file', 'dir') for item in entries)
    # --force: this machine may have vobiz.voice installed elsewhere; the image starts empty.
    what, how = (['-r', 'requirements.yml'], 'from the build context') if local else ([str(tarball)], 'from a tarball of this checkout (for Galaxy)')
    code, output = run([str(BIN / 'ansible-galaxy'), 'collection', 'install', '--force', *what, '--collections-path', str(collections)], build, env)
    installed = collections / 'ansible_collections' / 'vobiz' / 'voice'
    if code or not (installed / 'MANIFEST.json').is_file():
        return [f'the galaxy stage did not install vobiz.voice: {last_error(output)}'], notes
    notes.append(f'galaxy stage (as in the image build, offline): vobiz.voice installed {how}')
    out = work / 'introspect'
    user = [f'--user-{kind}={name}' for kind, name in (('pip', 'requirements.txt'), ('bindep', 'bindep.txt')) if (build / name).is_file()]
    cmd = [sys.executable, str(build / 'scripts' / 'introspect.py'), 'introspect', str(collections), *user]
    code, output = run([*cmd, f"--write-pip={out / 'requirements.txt'}", f"--write-bindep={out / 'bindep.txt'}"], build)
    if code:
        return [f'introspect.py failed: {last_error(output)}'], notes
    pip = (out / 'requirements.txt').read_text(encoding='utf-8').splitlines() if (out / 'requirements.txt').is_file() else []
    problems = (
        [] if any(re.match(r'requests\b', line) and 'vobiz.voice' in line for line in pip) else [f'the image would not get requests: introspection wrote {pip}']
    )
    if decision and not any(line.startswith('ansible-rulebook==') for line in pip):
        problems.append(f'the decision environment would not get a pinned ansible-rulebook: introspection wrote {pip}')
    meta = (
        yaml.safe_load((installed / 'meta' / 'execution-environment.yml').read_text(encoding='utf-8'))
        if (installed / 'meta' / 'execution-environment.yml').is_file()
        else {}
    )
    bindep = ((meta or {}).get('dependencies') or {}).get('system')
    if not bindep or not (installed / bindep).is_file():
        problems.append(f'the installed collection has no {bindep or "bindep file in meta/execution-environment.yml"}: is it in build_ignore?')
    notes.append('introspection, Python requirements of the image: ' + '; '.join(pip))
    return problems, notes


def main(argv: list[str] | None = None) -> int:
    """Run the checks; print what was found, one line per problem, and a summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--ee', type=pathlib.Path, action='append', help='a definition file, repeatable (default: the EE and the DE)')
    args = parser.parse_args(argv)
    failed = 0
    for definition in args.ee or DEFINITIONS:
        with tempfile.TemporaryDirectory(prefix='vobiz-check-ee-') as tmp:
            problems, notes = check(definition.resolve(), pathlib.Path(tmp))
        if definition.resolve().is_relative_to(pathlib.Path.cwd()):
            definition = definition.resolve().relative_to(pathlib.Path.cwd())
        for note in notes:
            print(f'ok   {definition}: {note}')
        for problem in problems:
            print(f'{definition}: {problem}')
        failed += len(problems)
    print(f'check_ee: {failed} problem(s)')
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
