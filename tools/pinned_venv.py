#!/usr/bin/env python
"""Create or refresh a virtual environment from a pinned requirements file.

The venv is rebuilt only when the requirements file's content changes: its hash is kept
in a stamp file inside the venv. Usage: ``python tools/pinned_venv.py VENV_DIR REQUIREMENTS``.
"""

from __future__ import annotations

import hashlib
import os
import pathlib
import shutil
import subprocess
import sys

STAMP_NAME = '.requirements.sha256'
# This machine's pip configuration prints these by the dozen; they say nothing about us.
PIP_NOISE = ('is ignored', 'WARNING: Location')


def requirements_digest(requirements: pathlib.Path) -> str:
    """Return the hash that decides whether a venv is current."""
    return hashlib.sha256(requirements.read_bytes()).hexdigest()


def run_pip(python: pathlib.Path, *args: str) -> None:
    """Run pip quietly, showing its output only when it fails."""
    cmd = [str(python), '-m', 'pip', '--disable-pip-version-check', '--no-input', *args]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if proc.returncode != 0:
        lines = [line for line in proc.stdout.splitlines() if not any(noise in line for noise in PIP_NOISE)]
        sys.stderr.write('\n'.join(lines[-40:]) + '\n')
        raise SystemExit(f'pip install failed in {python.parent.parent} (exit {proc.returncode}): {" ".join(args)}')


def ensure(venv_dir: pathlib.Path, requirements: pathlib.Path, python: str | None = None) -> pathlib.Path:
    """Make ``venv_dir`` hold exactly ``requirements``; return its Python executable."""
    # The base interpreter, resolved before anything is removed: this may run from the venv it rebuilds.
    python = python or os.path.realpath(getattr(sys, '_base_executable', sys.executable))
    stamp = venv_dir / STAMP_NAME
    venv_python = venv_dir / 'bin' / 'python'
    digest = requirements_digest(requirements)
    if venv_python.exists() and stamp.exists() and stamp.read_text(encoding='utf-8').strip() == digest:
        return venv_python
    if venv_dir.exists():
        shutil.rmtree(venv_dir)
    print(f'Creating {venv_dir} from {requirements} (this takes a minute the first time) ...', flush=True)
    subprocess.run([python, '-m', 'venv', str(venv_dir)], check=True)
    run_pip(venv_python, 'install', '--quiet', '--upgrade', 'pip')
    run_pip(venv_python, 'install', '--quiet', '-r', str(requirements))
    stamp.write_text(digest + '\n', encoding='utf-8')
    return venv_python


def main() -> None:
    """Command-line entry point."""
    if len(sys.argv) not in (3, 4):
        raise SystemExit('usage: pinned_venv.py VENV_DIR REQUIREMENTS [PYTHON]')
    python = sys.argv[3] if len(sys.argv) == 4 else None
    ensure(pathlib.Path(sys.argv[1]).absolute(), pathlib.Path(sys.argv[2]), python)


if __name__ == '__main__':
    main()
