"""Stand-in for ansible-test's get-pip bootstrap script.

ansible-test downloads ``get-pip-<version>.py`` from a host that this machine cannot reach,
but first looks for a cached copy under ``~/.ansible/test/cache/``. tools/gate.py installs
this file there. It bootstraps the interpreter's bundled pip with ``ensurepip``, then
installs the pip version ansible-test asked for from the package index.
"""

from __future__ import annotations

import subprocess
import sys

GET_PIP_ONLY_OPTIONS = {'--no-setuptools', '--no-wheel', '--no-pip'}


def main() -> None:
    """Install pip into the running interpreter with the arguments ansible-test passes."""
    args = [arg for arg in sys.argv[1:] if arg not in GET_PIP_ONLY_OPTIONS]
    subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'], stdout=subprocess.DEVNULL)
    subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--disable-pip-version-check'] + args)


if __name__ == '__main__':
    main()
