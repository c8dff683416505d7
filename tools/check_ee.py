#!/usr/bin/env python
"""Check the execution environment and decision environment definitions and the collection's EE metadata, without a container engine.

1. ``meta/execution-environment.yml`` (what ansible-builder reads from the *installed* collection)
   passes ansible-builder's schema, and the files it names exist.
2. Each definition, ``extensions/ee/execution-environment.yml`` (EE) and ``extensions/de/decision-environment.yml``
   (DE), passes ansible-builder's schema. On a bad file, ansible-builder's own message is printed with the file
   and the line of the offending key. A decision environment (a definition that installs ansible-rulebook, or
   whose file name says so) must pin ansible-rulebook exactly, install aiohttp (the event source's web
   server) and a Java 17 runtime on both package families (``platform:rpm`` and ``platform:dpkg``).
3. ``ansible-builder create`` turns it into a build context (in a temporary directory, with a freshly
   built collection tarball where ``additional_build_files`` expects it): the Containerfile exists,
   installs the galaxy requirements and runs ansible-builder's introspection, and every ``type: file``
   requirement is inside the context.
4. The two build steps that matter for our dependencies are then run as the image build would run
   them, with the very files of the context: ``ansible-galaxy collection install -r requirements.yml``
   from the context's ``_build/`` directory, then the context's own ``scripts/introspect.py`` (with the
   definition's own Python and system requirements, as the Containerfile passes them). Its Python
   requirements must contain ``requests`` from vobiz.voice (and, for a DE, the pinned ansible-rulebook),
   and our ``bindep.txt`` must be read (it lists no system packages). When the requirements name
   vobiz.voice on Galaxy instead of a tarball, the check stays offline: a tarball of this checkout
   stands in for it.

Every problem is printed as ``FILE:LINE: message``; the exit status is 1 when there is any.
``tools/images.py`` (``make images``) builds and runs both images with a container engine.

    python tools/check_ee.py [--ee FILE ...] [--root COLLECTION_ROOT]
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


class Problems(list):
    """``FILE:LINE: message`` lines."""

    def add(self, path: pathlib.Path | str, line: int, message: str) -> None:
        """Record one problem."""
        self.append(f'{display_path(path)}:{line}: {message}')


def display_path(path: pathlib.Path | str) -> str:
    """The path relative to the current directory when it is below it."""
    try:
        return str(pathlib.Path(path).resolve().relative_to(pathlib.Path.cwd().resolve()))
    except ValueError:
        return str(path)


def tool(name: str) -> str:
    """A console script of this Python's environment, else from PATH."""
    candidate = BIN / name
    return str(candidate) if candidate.exists() else (shutil.which(name) or name)


def load_yaml(path: pathlib.Path, problems: Problems):
    """Return ``(node tree, data)``, or ``(None, None)`` after recording why not."""
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        problems.add(path, 0, f'cannot read: {exc}')
        return None, None
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, 'problem_mark', None)
        what = ' '.join(str(part) for part in (getattr(exc, 'context', None), getattr(exc, 'problem', None)) if part) or str(exc)
        problems.add(path, mark.line + 1 if mark else 0, f'not valid YAML: {what}')
        return None, None


def find_line(root: yaml.Node | None, path, key: str | None = None) -> int:
    """Line of the entry at ``path`` (keys and list indexes), or of ``key`` inside it; the nearest that exists."""
    node, line = root, (root.start_mark.line + 1 if root is not None else 0)
    steps = list(path) + ([key] if key is not None else [])
    for part in steps:
        if isinstance(node, yaml.MappingNode):
            match = [(k, v) for k, v in node.value if k.value == part]
            if not match:
                break
            line, node = match[0][0].start_mark.line + 1, match[0][1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def schema_errors(root: yaml.Node, data) -> list[tuple[int, str, str]]:
    """Validate ``data`` with ansible-builder's own schemas; return ``(line, where, message)`` per error."""
    # pylint: disable-next=import-outside-toplevel
    import jsonschema  # pylint: disable=import-outside-toplevel
    from ansible_builder import ee_schema  # the dev venv has it (through galaxy-importer)

    if not isinstance(data, dict):
        return [(find_line(root, []), 'top level', 'an execution environment file must be a mapping')]
    try:
        version = int(data.get('version', 1))
    except (TypeError, ValueError):
        return [(find_line(root, ['version']), 'version', f"Schema version not an integer: {data.get('version')}")]
    schema = {1: ee_schema.schema_v1, 2: ee_schema.schema_v2, 3: ee_schema.schema_v3}.get(version)
    if schema is None:
        return [(find_line(root, ['version']), 'version', f'Unsupported schema version: {version}')]
    errors = []
    for error in sorted(jsonschema.Draft7Validator(schema).iter_errors(data), key=lambda err: list(err.absolute_path)):
        where = list(error.absolute_path)
        label = '.'.join(str(part) for part in where) or 'top level'
        unexpected = re.findall(r"'([^']+)' (?:was|were) unexpected", error.message) if error.validator == 'additionalProperties' else []
        for name in unexpected or [None]:
            errors.append((find_line(root, where, name), label, error.message))
    return errors


def check_meta(root_dir: pathlib.Path, problems: Problems) -> dict:
    """The collection's meta/execution-environment.yml and the files it names."""
    path = root_dir / 'meta' / 'execution-environment.yml'
    if not path.exists():
        problems.add(path, 0, 'missing: ansible-builder would then only guess from requirements.txt/bindep.txt at the collection root')
        return {}
    root, data = load_yaml(path, problems)
    if root is None:
        return {}
    errors = schema_errors(root, data)
    for line, label, message in errors:
        problems.add(path, line, f'{label}: {message} (ansible-builder schema, version {data.get("version", 1)})')
    if errors:
        return {}
    deps = data.get('dependencies') or {}
    for entry in ('python', 'system'):
        name = deps.get(entry)
        if not isinstance(name, str):
            problems.add(path, find_line(root, ['dependencies'], entry), f'dependencies.{entry} must name a file relative to the collection root')
        elif os.path.isabs(name) or not (root_dir / name).is_file():
            problems.add(path, find_line(root, ['dependencies', entry]), f'dependencies.{entry}: {name} is not a file relative to the collection root')
    return deps


def run(cmd: list[str], cwd: pathlib.Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a command, capturing its output (no time limit: the gate ends a step that hangs, silent for minutes)."""
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)


def builder_message(output: str) -> str:
    """The one line that says what ansible-builder did not like."""
    found = re.findall(r'(?:DefinitionError|ValidationError|Error): (.+)', output)
    if found:
        return found[-1].strip()
    lines = [line for line in output.splitlines() if line.strip()]
    return lines[-1].strip() if lines else 'no output'


def is_decision_environment(path: pathlib.Path, data) -> bool:
    """A definition that installs ansible-rulebook, or whose file name says it is a decision environment."""
    python = ((data.get('dependencies') or {}).get('python') if isinstance(data, dict) else None) or []
    return 'decision' in path.name or any(isinstance(item, str) and re.match(r'ansible-rulebook\b', item) for item in python)


def check_decision_environment(path: pathlib.Path, root: yaml.Node, data: dict, problems: Problems, notes: list[str]) -> None:
    """What a decision environment needs: ansible-rulebook pinned, aiohttp, a Java 17 for rpm and dpkg bases."""
    deps = data.get('dependencies') or {}
    python, system = deps.get('python'), deps.get('system')
    if not isinstance(python, list) or not isinstance(system, list):
        problems.add(
            path, find_line(root, ['dependencies']), 'a decision environment lists its Python and system requirements inline (dependencies.python, .system)'
        )
        return
    rulebook = [(index, item) for index, item in enumerate(python) if re.match(r'ansible-rulebook\b', str(item))]
    if not rulebook:
        problems.add(path, find_line(root, ['dependencies', 'python']), 'a decision environment needs ansible-rulebook in dependencies.python')
    for index, item in rulebook:
        if not re.fullmatch(r'ansible-rulebook==[\w.]+', str(item).replace(' ', '')):
            problems.add(path, find_line(root, ['dependencies', 'python', index]), f'pin ansible-rulebook exactly (ansible-rulebook==X.Y.Z), not {item!r}')
    if not any(re.match(r'aiohttp\b', str(item)) for item in python):
        problems.add(
            path, find_line(root, ['dependencies', 'python']), 'the event source vobiz.voice.conference_callbacks needs aiohttp in dependencies.python'
        )
    for family in ('rpm', 'dpkg'):
        if not any(JAVA_17.match(str(item)) and f'platform:{family}' in str(item) for item in system):
            problems.add(
                path,
                find_line(root, ['dependencies', 'system']),
                f'no Java 17 runtime for platform:{family} bases in dependencies.system (ansible-rulebook needs one)',
            )
    if not problems:
        notes.append(f"{display_path(path)}: decision environment: {', '.join(str(item) for _index, item in rulebook)}, Java 17 for rpm and dpkg bases")


def check_context(ee_path: pathlib.Path, ee_root: yaml.Node, ee_data: dict, context: pathlib.Path, problems: Problems, notes: list[str]) -> None:
    """What ``ansible-builder create`` wrote."""
    containerfile = context / 'Containerfile'
    if not containerfile.is_file():
        problems.add(ee_path, 1, f'ansible-builder create wrote no Containerfile into {context}')
        return
    text = containerfile.read_text(encoding='utf-8')
    expected = {
        'COPY _build /build': 'copies the build context',
        'ansible-galaxy collection install': 'installs the galaxy requirements',
        'introspect.py introspect': "runs ansible-builder's introspection (collection requirements)",
        '/output/scripts/assemble': 'installs the Python requirements',
        'install-from-bindep': 'installs the system requirements',
    }
    for needle, meaning in expected.items():
        if needle not in text:
            problems.add(ee_path, find_line(ee_root, ['dependencies']), f'the Containerfile never {meaning} ({needle!r} missing)')
    requirements = context / '_build' / 'requirements.yml'
    galaxy = (ee_data.get('dependencies') or {}).get('galaxy')
    if not requirements.is_file():
        problems.add(
            ee_path, find_line(ee_root, ['dependencies'], 'galaxy'), 'no galaxy requirements in the build context: the image would not have vobiz.voice'
        )
        return
    reqs = yaml.safe_load(requirements.read_text(encoding='utf-8')) or {}
    source = ee_path.parent / galaxy if isinstance(galaxy, str) else requirements
    source_root = yaml.compose(source.read_text(encoding='utf-8'), Loader=yaml.SafeLoader) if isinstance(galaxy, str) else None
    collections = reqs.get('collections') or [] if isinstance(reqs, dict) else []
    names = []
    for index, item in enumerate(collections):
        item = {'name': item} if isinstance(item, str) else item
        names.append(item.get('name', ''))
        if item.get('type') == 'file' and not (context / '_build' / item['name']).is_file():
            problems.add(
                source,
                find_line(source_root, ['collections', index, 'name']),
                f"{item['name']} is not in the build context (_build/): add it with additional_build_files "
                f'in {display_path(ee_path)} and put the tarball there before building',
            )
    if not any('vobiz.voice' in name or 'vobiz-voice' in name for name in names):
        problems.add(source, find_line(source_root, ['collections']), 'the galaxy requirements do not install vobiz.voice')
    notes.append(f"build context: {', '.join(sorted(str(p.relative_to(context)) for p in context.rglob('*') if p.is_file() and 'scripts' not in p.parts))}")


def simulate_build(
    ee_path: pathlib.Path, context: pathlib.Path, work: pathlib.Path, tarball: pathlib.Path | None, problems: Problems, notes: list[str], decision: bool = False
) -> None:
    """Run the galaxy stage and the introspection of the image build, offline, with the context's files."""
    build = context / '_build'
    collections = work / 'usr-share-ansible' / 'collections'
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_GALAXY_DISABLE_GPG_VERIFY='1', ANSIBLE_NOCOLOR='1')
    reqs = yaml.safe_load((build / 'requirements.yml').read_text(encoding='utf-8')) or {}
    entries = [item for item in (reqs.get('collections') or []) if isinstance(item, dict)] if isinstance(reqs, dict) else []
    local = bool(entries) and all(item.get('type') in ('file', 'dir') for item in entries) and len(entries) == len(reqs.get('collections') or [])
    # --force: this machine may already have vobiz.voice installed elsewhere; the image starts empty.
    if local:
        cmd, how = ['-r', 'requirements.yml'], 'from the build context'
    elif tarball is not None:  # a Galaxy requirement: this check stays offline and uses the checkout instead
        cmd, how = [str(tarball)], 'from a tarball of this checkout, standing in for the Galaxy requirement'
    else:
        return
    result = run([tool('ansible-galaxy'), 'collection', 'install', '--force', *cmd, '--collections-path', str(collections)], build, env)
    if result.returncode != 0:
        problems.add(ee_path, 0, f'the galaxy stage failed: {builder_message(result.stdout + result.stderr)}')
        return
    installed = collections / 'ansible_collections' / 'vobiz' / 'voice'
    if not (installed / 'MANIFEST.json').is_file():
        problems.add(ee_path, 0, 'the galaxy stage did not install vobiz.voice')
        return
    notes.append(f'galaxy stage (as in the image build, offline): vobiz.voice installed {how}')
    out = work / 'introspect'
    # The definition's own requirements, passed as the Containerfile passes them.
    user = [f'--user-{kind}={name}' for kind, name in (('pip', 'requirements.txt'), ('bindep', 'bindep.txt')) if (build / name).is_file()]
    result = run(
        [
            sys.executable,
            str(build / 'scripts' / 'introspect.py'),
            'introspect',
            str(collections),
            *user,
            f"--write-pip={out / 'requirements.txt'}",
            f"--write-bindep={out / 'bindep.txt'}",
        ],
        build,
    )
    if result.returncode != 0:
        problems.add(ee_path, 0, f'introspect.py failed: {builder_message(result.stdout + result.stderr)}')
        return
    report = yaml.safe_load(result.stdout) or {}
    pip_file = out / 'requirements.txt'
    pip_lines = pip_file.read_text(encoding='utf-8').splitlines() if pip_file.is_file() else []
    if not any(re.match(r'requests\b', line) and 'vobiz.voice' in line for line in pip_lines):
        problems.add(
            installed / 'meta' / 'execution-environment.yml',
            0,
            f'the image would not get requests: introspection wrote {pip_lines or "no Python requirements"}',
        )
    else:
        notes.append('introspection, Python requirements of the image: ' + '; '.join(pip_lines))
    if decision and not any(re.match(r'ansible-rulebook==', line) for line in pip_lines):
        problems.add(ee_path, 0, f'the decision environment would not get a pinned ansible-rulebook: introspection wrote {pip_lines}')
    meta = (
        yaml.safe_load((installed / 'meta' / 'execution-environment.yml').read_text(encoding='utf-8'))
        if (installed / 'meta' / 'execution-environment.yml').is_file()
        else {}
    )
    bindep_name = (meta.get('dependencies') or {}).get('system')
    if not bindep_name or not (installed / bindep_name).is_file():
        problems.add(ee_path, 0, f'the installed collection has no {bindep_name or "bindep file"}: is it in build_ignore?')
        return
    system = report.get('system') or []
    written = (out / 'bindep.txt').read_text(encoding='utf-8').splitlines() if (out / 'bindep.txt').is_file() else []
    if system and not written:
        problems.add(ee_path, 0, f'introspection found system packages {system} but wrote no bindep.txt')
    notes.append(f"introspection, system packages: {written or 'none'} (read {bindep_name} of the installed collection)")


def check_bindep_syntax(root_dir: pathlib.Path, problems: Problems) -> None:
    """Each non-comment line of bindep.txt must parse with bindep, when bindep is installed."""
    path = root_dir / 'bindep.txt'
    if not path.is_file():
        problems.add(path, 0, 'missing (meta/execution-environment.yml names it)')
        return
    try:
        from bindep.depends import Depends  # pylint: disable=import-outside-toplevel
    except ImportError:
        return
    for number, line in enumerate(path.read_text(encoding='utf-8').splitlines(), start=1):
        if line.strip() and not line.lstrip().startswith('#'):
            try:
                Depends(line + '\n')
            except Exception as exc:  # pylint: disable=broad-except  # bindep raises parsley's ParseError
                detail = ' '.join(part.strip() for part in str(exc).splitlines() if part.strip() and part.strip() != '^')
                problems.add(path, number, f'not valid bindep: {detail}')


def copy_ee_inputs(ee_path: pathlib.Path, ee_data, dest: pathlib.Path) -> None:
    """Copy the EE file and the relative files it names (not tarballs: a fresh one is built)."""
    dest.mkdir(parents=True)
    shutil.copyfile(ee_path, dest / ee_path.name)
    if not isinstance(ee_data, dict):
        return
    names = []
    deps = ee_data.get('dependencies') if isinstance(ee_data.get('dependencies'), dict) else {}
    for group in (deps, deps.get('exclude') if isinstance(deps.get('exclude'), dict) else {}):
        names.extend(value for value in group.values() if isinstance(value, str) and '\n' not in value)
    if isinstance(ee_data.get('ansible_config'), str):
        names.append(ee_data['ansible_config'])
    for entry in ee_data.get('additional_build_files') or []:
        if isinstance(entry, dict) and isinstance(entry.get('src'), str) and not os.path.isabs(entry['src']):
            names.extend(str(match.relative_to(ee_path.parent)) for match in ee_path.parent.glob(entry['src']))
    for name in names:
        source = ee_path.parent / name
        if not os.path.isabs(name) and source.is_file() and not name.endswith('.tar.gz'):
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, dest / name)


def check_collection(root_dir: pathlib.Path) -> tuple[Problems, list[str]]:
    """The collection's own EE metadata (what ansible-builder reads from the installed collection)."""
    problems, notes = Problems(), []
    deps = check_meta(root_dir, problems)
    check_bindep_syntax(root_dir, problems)
    if deps and not problems:
        notes.append(f"{display_path(root_dir / 'meta' / 'execution-environment.yml')}: valid; python: {deps.get('python')}, system: {deps.get('system')}")
    return problems, notes


def check(ee_path: pathlib.Path, root_dir: pathlib.Path) -> tuple[Problems, list[str]]:
    """All checks of one definition; return the problems and what was found."""
    problems, notes = Problems(), []
    ee_root, ee_data = load_yaml(ee_path, problems)
    if ee_root is None:
        return problems, notes
    errors = schema_errors(ee_root, ee_data)
    decision = not errors and is_decision_environment(ee_path, ee_data)
    if not errors:
        notes.append(f"{display_path(ee_path)}: valid (ansible-builder schema v{ee_data.get('version', 1)})")
    if decision:
        check_decision_environment(ee_path, ee_root, ee_data, problems, notes)
    with tempfile.TemporaryDirectory(prefix='vobiz-check-ee-') as tmp:
        work = pathlib.Path(tmp)
        # A copy of the EE file and its inputs, so that the tarball and the context stay out of the tree.
        ee_copy = work / 'ee'
        copy_ee_inputs(ee_path, ee_data, ee_copy)
        tarball = None
        if not errors:
            dist = work / 'dist'
            result = run([tool('ansible-galaxy'), 'collection', 'build', '--force', '--output-path', str(dist), str(root_dir)], work)
            tarballs = sorted(dist.glob('vobiz-voice-*.tar.gz'))
            if result.returncode != 0 or not tarballs:
                problems.add(root_dir / 'galaxy.yml', 0, f'ansible-galaxy collection build failed: {builder_message(result.stdout + result.stderr)}')
                return problems, notes
            for entry in ee_data.get('additional_build_files') or []:
                src = str(entry.get('src', ''))
                if 'vobiz-voice' in src and not os.path.isabs(src) and not any(ch in src for ch in '*?['):
                    (ee_copy / src).parent.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(tarballs[0], ee_copy / src)
            tarball = tarballs[0]
            notes.append(f'collection tarball built: {tarball.name}')
        context = work / 'context'
        result = run(
            [tool('ansible-builder'), 'create', '-f', str(ee_copy / ee_path.name), '--context', str(context), '--output-filename', 'Containerfile'], work
        )
        output = (result.stdout + result.stderr).replace(str(ee_copy), display_path(ee_path.parent))
        if result.returncode != 0:
            report_builder_failure(ee_path, ee_root, ee_data, builder_message(output), errors, problems)
            return problems, notes
        for line, label, message in errors:  # the schema said no, but ansible-builder went on: report anyway
            problems.add(ee_path, line, f'{label}: {message} (ansible-builder schema)')
        for warning in re.findall(r'(?:WARNING|Warning)[: ]+(.+)', output):
            problems.add(ee_path, find_line(ee_root, ['additional_build_files']), f'ansible-builder create warned: {warning.strip()}')
        notes.append('ansible-builder create: context written, Containerfile present')
        check_context(ee_path, ee_root, ee_data, context, problems, notes)
        if not problems:
            simulate_build(ee_path, context, work, tarball, problems, notes, decision)
    return problems, notes


def report_builder_failure(ee_path: pathlib.Path, ee_root: yaml.Node, ee_data, message: str, errors: list[tuple[int, str, str]], problems: Problems) -> None:
    """Surface ansible-builder's own message, at the line it is about."""
    line, label = 1, ''
    for error_line, error_label, error_message in errors:
        if error_message == message or error_message in message:
            line, label = error_line, error_label
            break
    missing = re.search(r'Dependency file (\S+) does not exist', message)
    if missing:
        entries = (ee_data.get('dependencies') or {}) if isinstance(ee_data, dict) else {}
        key = next((k for k, v in entries.items() if isinstance(v, str) and missing.group(1).endswith(v)), None)
        line, label = (find_line(ee_root, ['dependencies'], key), f'dependencies.{key}') if key else (line, label)
    problems.add(ee_path, line, f"ansible-builder create: {message}{f' (at {label})' if label else ''}")
    for error_line, error_label, error_message in errors:
        if (error_line, error_label) != (line, label):
            problems.add(ee_path, error_line, f'{error_label}: {error_message} (ansible-builder schema)')


def main(argv: list[str] | None = None) -> int:
    """Run the checks; print what was found, one line per problem, and a summary."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        '--ee',
        type=pathlib.Path,
        action='append',
        help='an execution or decision environment file, repeatable '
        '(default: extensions/ee/execution-environment.yml and extensions/de/decision-environment.yml)',
    )
    parser.add_argument('--root', type=pathlib.Path, default=ROOT, help='the collection root (default: this checkout)')
    args = parser.parse_args(argv)
    problems, notes = check_collection(args.root.resolve())
    for path in args.ee or DEFINITIONS:
        found, seen = check(path.resolve(), args.root.resolve())
        problems.extend(found)
        notes.extend(seen)
    for note in notes:
        print('ok   ' + note)
    for problem in problems:
        print(problem)
    print(f'check_ee: {len(problems)} problem(s)')
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
