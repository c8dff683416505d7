# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Every check of the collection as a nox session (CONTRIBUTING.md, "Tooling: which command runs what").

antsibull-nox's sessions (configured in antsibull-nox.toml); ansible-test through antsibull-nox without a container
engine (``--venv``, ansible-core from PyPI); and our own: the process-level suites (reliability, emulator, system),
the docsite and the images (scripts in tools/). ``nox -l`` lists them,
``nox -s NAME`` runs one; ``make test`` (tools/gate.py) runs them all, two chains at a time, and pins each
ansible-test session's ansible-core (``UV_CONSTRAINT``: requirements-dev.txt or tools/legs/*.txt).
"""

from __future__ import annotations

import glob
import inspect
import os
import pathlib
import re
import shutil
import subprocess
import sys

import nox

try:
    import antsibull_nox
    import antsibull_nox.sessions
except ImportError:
    print('You need to install antsibull-nox in the same Python environment as nox (requirements-nox.txt pins both).')
    sys.exit(1)


antsibull_nox.load_antsibull_nox_toml()

HERE = pathlib.Path(__file__).resolve().parent
# The Python of requirements-dev.txt's pins: our own sessions run on it.
DEV_PYTHON = '3.11'
PINS = ('-c', 'requirements-dev.txt')
# ansible-test's --requirements (its coverage commands) installs into the session's venv with pip, which uv's
# venvs (nox --default-venv-backend uv, as tools/gate.py runs it) only have when seeded.
os.environ.setdefault('UV_VENV_SEED', 'true')


def real_python(version: str) -> str | None:
    """A working interpreter for ``version``: pyenv's shims of versions it does not have fail (ansible-test drops
    PYENV_VERSION)."""
    ours = str(
        HERE / '.nox' / 'pythons'
    )  # a nox run inside a session finds our links (or a venv's, to them) first on PATH
    found = shutil.which(
        f'python{version}',
        path=os.pathsep.join(entry for entry in os.environ.get('PATH', '').split(os.pathsep) if entry != ours),
    )
    try:
        pyenv_root = subprocess.run(['pyenv', 'root'], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        pyenv_root = os.environ.get('PYENV_ROOT', '')
    candidates = [found] if found and '/shims/' not in found else []
    candidates += (
        sorted(glob.glob(f'{pyenv_root}/versions/{version}.*/bin/python{version}'), reverse=True) if pyenv_root else []
    )
    for candidate in candidates + ([found] if found else []):
        probe = subprocess.run(
            [candidate, '-c', 'import sys, venv; print(sys.version_info[:2])'],
            capture_output=True,
            text=True,
            check=False,
        )
        if probe.returncode == 0 and probe.stdout.strip() == str(tuple(int(part) for part in version.split('.'))):
            return candidate
    return None


def real_pythons_first() -> None:
    """Put a directory with one link per working interpreter (3.8 to 3.14) first on PATH, for nox and ansible-test."""
    directory = HERE / '.nox' / 'pythons'
    directory.mkdir(parents=True, exist_ok=True)
    for version in (f'3.{minor}' for minor in range(8, 15)):
        link, found = directory / f'python{version}', real_python(version)
        partial = link.with_name(f'.{link.name}.{os.getpid()}')  # nox runs side by side: each link is replaced whole
        partial.unlink(missing_ok=True)
        if found:
            partial.symlink_to(os.path.realpath(found))  # never to a link that leads back here (a venv's python)
            os.replace(partial, link)
        else:
            link.unlink(missing_ok=True)
    os.environ['PATH'] = os.pathsep.join([str(directory), os.environ.get('PATH', '')])


real_pythons_first()


def calling_session() -> nox.Session:
    """The session antsibull-nox runs a callback in (it calls ``callback_before``/``_after`` without arguments)."""
    for frame in inspect.stack():
        if isinstance(frame.frame.f_locals.get('session'), nox.Session):
            return frame.frame.f_locals['session']
    raise RuntimeError('not called from a nox session')


def before_ansible_test(python: str):
    """Skip without ``python``; else put tools/get_pip_offline.py where this session's ansible-test looks for get-pip.

    With ``--venv`` ansible-test bootstraps pip in every venv it makes with get-pip from ci-files.testing.ansible.com,
    unless ``~/.ansible/test/cache/get_pip_<its pip pin>.py`` exists: machines that reach only the package index
    need the stand-in (toolchain notes, 2.1).
    """

    def callback() -> None:
        session = calling_session()
        if python and not shutil.which(f'python{python}'):
            session.skip(f'python{python} is not installed on this machine')
        venv = pathlib.Path(session.virtualenv.location)
        pins = next(venv.glob('lib/python*/site-packages/ansible_test/_internal/python_requirements.py'))
        pip = re.search(r"pip='([\d.]+)'", pins.read_text(encoding='utf-8')).group(1)
        target = pathlib.Path.home() / '.ansible' / 'test' / 'cache' / f"get_pip_{pip.replace('.', '_')}.py"
        target.parent.mkdir(parents=True, exist_ok=True)
        # Sessions run side by side: one may read the file while another writes it, so it is replaced whole.
        partial = target.with_name(f'{target.name}.{os.getpid()}')
        shutil.copyfile(HERE / 'tools' / 'get_pip_offline.py', partial)
        os.replace(partial, target)

    return callback


def after_ansible_test() -> None:
    """Print the coverage table of a ``--coverage`` run; drop ansible-test's scratch before tests/output is copied back.

    antsibull-nox 1.10 copies tests/output back bottom-up and fails on the nested directories of the delegation venvs
    in tests/output/.tmp (``FileNotFoundError``); they are not results.
    """
    if pathlib.Path('tests/output/coverage').is_dir():
        calling_session().run('ansible-test', 'coverage', 'report', '--requirements')
    shutil.rmtree('tests/output/.tmp', ignore_errors=True)


def ansible_test(command: str, core: str, python: str, *args: str, leg: str = '') -> None:
    """``ansible-test COMMAND --venv`` on ansible-core ``core`` from PyPI, on ``python`` (every Python found if
    empty)."""
    what = ', '.join(
        [
            command,
            f'core {leg} {core}'.replace('  ', ' '),
            f'py{python}' if python else 'every Python found',
            *(['coverage'] if args == ('--coverage',) else []),
        ]
    )
    antsibull_nox.add_ansible_test_session(
        name=f'ansible-test-{command}' + (f'-{core}' if leg else ''),
        description=what,
        ansible_test_params=[command, '--venv', *(['--python', python] if python else []), *args],
        default=False,
        ansible_core_version=core,
        ansible_core_source='pypi',
        register_name=command,
        # What the CI job installs (antsibull-nox's shared workflows read 'python' as the Pythons to set up).
        register_extra_data={
            'display-name': what,
            'python': python or '\n'.join(f'3.{minor}' for minor in range(8, 14)),
        },
        callback_before=before_ansible_test(python),
        callback_after=after_ansible_test,
    )


# The main core, then both ends of requires_ansible (>=2.16), each on the Python it is tested with.
ansible_test('sanity', '2.19', '', '--junit')
ansible_test('units', '2.19', '3.11', '--coverage')
ansible_test('integration', '2.19', '3.11')
for leg_name, leg_core, leg_python in (('floor', '2.16', '3.11'), ('newest', '2.21', '3.12')):
    for leg_command in ('units', 'integration'):
        ansible_test(leg_command, leg_core, leg_python, leg=leg_name)


def collection_tree(session: nox.Session):
    """A copy of the collection in an ``ansible_collections`` tree (the suites import it), or None."""
    return antsibull_nox.sessions.prepare_collections(session, install_in_site_packages=False, install_out_of_tree=True)


def pytest_session(name: str, paths: tuple, description: str, *args: str, packages=(), skip_unless=None) -> None:
    """Plain pytest, two workers, on ``paths`` of a copy of the collection; JUnit into tests/output/junit.

    ``packages``: more than the suites' own; ``skip_unless()``: why the session cannot run on this machine, or ''."""

    def run(session: nox.Session) -> None:
        reason = skip_unless() if skip_unless else ''
        if reason:
            session.skip(reason)
        suites = ('ansible-core', 'ansible-runner', 'requests', 'pytest', 'pytest-xdist', 'hypothesis', 'trustme')
        session.install(*suites, *packages, *PINS)
        tree = collection_tree(session)
        if tree is None:
            return
        output = HERE / 'tests' / 'output'
        env = {'PYTHONPATH': str(tree.current_place), 'VOBIZ_FIGURES_FILE': str(output / 'reliability-figures.md')}
        junit = str(output / 'junit' / f'{name}.xml')
        with session.chdir(tree.current_path):  # after --: more pytest arguments (-k NAME, a file)
            session.run(
                'pytest',
                '-p',
                'no:cacheprovider',
                '-n',
                '2',
                '--rootdir',
                'tests',
                '--junitxml',
                junit,
                *args,
                *paths,
                *session.posargs,
                env=env,
            )

    run.__doc__ = description
    nox.session(name=name, python=DEV_PYTHON)(run)


def java_missing() -> str:
    """Why ansible-rulebook cannot run here, or ''."""
    return '' if shutil.which('java') else 'java not found (ansible-rulebook needs a JDK 17)'


pytest_session(
    'reliability',
    ('tests/reliability',),
    "The reliability suite: the collection's promises under faults, lies, load, TLS, interrupts",
)
pytest_session('emulator', ('tests/emulator/tests',), "The Vobiz emulator's own tests")
# The system suite: ansible-playbook and ansible-rulebook as processes against the emulator (tests/system).
pytest_session(
    'system-playbook',
    ('tests/system/test_many_accounts.py',),
    'ci_teardown over 20 accounts with forks 10, one with a bad token',
)
pytest_session(
    'system-rulebook',
    (
        'tests/system/test_enforce_limits_rulebook.py',
        'tests/system/test_enforce_limits_guide.py',
        'tests/system/test_enforce_limits_schedule.py',
    ),
    "ansible-rulebook runs enforce_limits against the emulator's callbacks; the guide's first run as written",
    '--dist',
    'loadfile',  # a file's tests share its module-scoped run
    packages=('ansible-rulebook', 'aiohttp'),
    skip_unless=java_missing,
)


def tool_session(name: str, description: str, packages: tuple, *command: str, skip_unless=None) -> None:
    """A script of tools/ in a venv of ``packages`` (pinned by requirements-dev.txt); ``skip_unless()``: why it
    cannot run."""

    def run(session: nox.Session) -> None:
        reason = skip_unless() if skip_unless else ''
        if reason:
            session.skip(reason)
        session.install(*packages, *PINS)
        session.run('python', *command, *session.posargs)

    run.__doc__ = description
    nox.session(name=name, python=DEV_PYTHON)(run)


def container_engine() -> str:
    """Why the images cannot be built here, or ''."""
    sys.path.insert(0, str(HERE / 'tools'))
    import images  # pylint: disable=import-outside-toplevel,import-error

    return images.engine_missing()


# The collection's own requirements: the modules import requests.
COLLECTION = ('ansible-core', 'requests', 'pyyaml')
tool_session(
    'tools-tests',
    'Tests of the scripts in tools/ (and that CI runs what the gate runs: nox and antsibull-nox)',
    (
        *COLLECTION,
        'ansible-builder',
        'antsibull-docs-parser',
        'pytest',
        'nox',
        'antsibull-nox',
        '-c',
        'requirements-nox.txt',
    ),
    '-m',
    'pytest',
    '-p',
    'no:cacheprovider',
    '--junitxml',
    'tests/output/junit/tools-tests.xml',
    'tools/tests',
)
tool_session(
    'docs-build',
    'The HTML docsite: antsibull-docs and Sphinx -W into build/docs',
    (*COLLECTION, 'antsibull-docs', 'sphinx-ansible-theme'),
    'tools/build_docs.py',
)
tool_session(
    'images',
    'The EE and DE images built (podman) and run against the emulator',
    (*COLLECTION, 'ansible-builder', 'ansible-runner'),
    'tools/images.py',
    skip_unless=container_engine,
)


# Allow `python noxfile.py` as well as `nox`.
if __name__ == '__main__':
    nox.main()
