# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``ansible-playbook`` and ``ansible-rulebook`` as processes against the emulator, with this checkout as vobiz.voice.

Shared by the system suite (tests/system), ``make demo`` (tools/demo.py) and ``make bench`` (bench/bench.py): the
rulebook ``vobiz.voice.enforce_limits`` in its own process group (``Rulebook``), the emulator in its own process with
many accounts (``Emulator``), and ``ci_teardown`` over one inventory host per account (``build_fleet``,
``Fleet.write``, ``run_ci_teardown``). No wait here has a total time limit: each ends when its condition holds, when
its process ended, or after HANG_GUARD_SECONDS of silence (a loaded machine makes a run later, never a failure).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import json
import os
import pathlib
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

if __package__:  # imported from the collection, as the test suites do
    from .vobiz_emulator.config import HANG_GUARD_SECONDS
    from .vobiz_emulator.launch import start_emulator_process
else:  # tools/ and bench/ put tests/emulator on sys.path
    from vobiz_emulator.config import HANG_GUARD_SECONDS  # pylint: disable=import-error
    from vobiz_emulator.launch import start_emulator_process  # pylint: disable=import-error

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
JAVA_MISSING = 'java not found (ansible-rulebook needs a JDK 17)'
GROUP = 'vobiz_accounts'
BYSTANDERS = ('Board Room', 'prod-ci-1')  # prod-ci-1 looks like a CI room, but ci-* must never select it


def java_home() -> str | None:
    """JAVA_HOME derived from the java on PATH (``readlink -f $(which java)``/../..), or None without Java."""
    java = shutil.which('java')
    return str(pathlib.Path(os.path.realpath(java)).parent.parent) if java else None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def parse_time(stamp: str) -> float:
    """The emulator's log time (ISO 8601 UTC with a Z) as a POSIX timestamp."""
    return datetime.datetime.fromisoformat(stamp.replace('Z', '+00:00')).timestamp()


def deletes(emulator, name: str) -> list:
    """The hang-up requests of exactly ``name`` in an in-process emulator's log."""
    return [entry for entry in emulator.requests(method='DELETE', action='hangup') if entry['conference'] == name]


def ansible_env(workdir: pathlib.Path, **extra: str) -> dict[str, str]:
    """The environment of a nested run: no VOBIZ_*/ANSIBLE_* from the caller, this venv and this checkout first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(('VOBIZ_', 'ANSIBLE_'))}
    if ROOT.parent.name == 'vobiz' and ROOT.parent.parent.name == 'ansible_collections':
        collections = ROOT.parent.parent.parent
    else:
        collections = workdir / 'collections'
        link = collections / 'ansible_collections' / 'vobiz' / 'voice'
        if not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(ROOT)
    env.update(
        PATH=os.pathsep.join([str(BIN), env.get('PATH', '')]),
        ANSIBLE_COLLECTIONS_PATH=str(collections),
        ANSIBLE_NOCOLOR='1',
        ANSIBLE_RETRY_FILES_ENABLED='false',
        ANSIBLE_LOCALHOST_WARNING='false',
        PWD=str(workdir),  # the playbooks write their summary files to $PWD
        **extra,
    )
    return env


def outcomes(output: str) -> list[dict]:
    """The action playbook's ``VOBIZ_ENFORCE_LIMITS {json}`` lines in ansible-rulebook's output, parsed."""
    prefix = 'VOBIZ_ENFORCE_LIMITS '
    return [json.loads(line[len(prefix) :]) for line in output.splitlines() if line.startswith(prefix)]


class Rulebook:
    """``ansible-rulebook -r vobiz.voice.enforce_limits -v`` in its own process group, its output in ``run``.log."""

    def __init__(self, work: pathlib.Path, api_url: str, token: str, variables: dict, auth_id: str, run: str):
        self.port = variables.get('vobiz_callback_port')
        self.output = work / (run + '.log')
        inventory, vars_file = work / 'inventory.yml', work / (run + '-vars.yml')
        host = {'ansible_connection': 'local', 'ansible_python_interpreter': sys.executable}
        inventory.write_text(json.dumps({'all': {'hosts': {'localhost': host}}}), encoding='utf-8')
        # never the default state file under $HOME
        vars_file.write_text(json.dumps({'vobiz_state_file': str(work / 'rooms.json'), **variables}), encoding='utf-8')
        env = ansible_env(
            work, JAVA_HOME=java_home() or '', VOBIZ_AUTH_ID=auth_id, VOBIZ_AUTH_TOKEN=token, VOBIZ_API_URL=api_url
        )
        cmd = [str(BIN / 'ansible-rulebook'), '-r', 'vobiz.voice.enforce_limits', '-i', str(inventory)]
        with open(self.output, 'w', encoding='utf-8') as output:
            self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
                [*cmd, '--vars', str(vars_file), '-v'],
                cwd=work,
                env=env,
                stdout=output,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.output.read_text(encoding='utf-8', errors='replace')

    def outcomes(self) -> list[dict]:
        return outcomes(self.text())

    def wait_until(self, condition) -> bool:
        """Until ``condition()`` holds (True), or ansible-rulebook has ended or said nothing for HANG_GUARD_SECONDS."""
        size, heard = -1, time.monotonic()
        while not condition():
            if self.proc.poll() is not None:
                return bool(condition())
            if self.output.stat().st_size != size:
                size, heard = self.output.stat().st_size, time.monotonic()
            elif time.monotonic() - heard > HANG_GUARD_SECONDS:
                return False
            time.sleep(0.2)
        return True

    def listening(self) -> bool:
        with contextlib.suppress(OSError), socket.create_connection(('127.0.0.1', self.port), timeout=1):
            return True
        return False

    def wait_listening(self) -> None:
        """Until the event source accepts connections (the JVM takes a while to start)."""
        if not self.wait_until(self.listening):
            raise RuntimeError('the event source never listened on port %s:\n%s' % (self.port, self.text()[-4000:]))

    def stop(self) -> int:
        """SIGTERM to its process group (SIGKILL if it lingers); its exit status."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
        return self.proc.wait()


class Emulator:
    """The Vobiz emulator in its own process (the emulator package's launcher), on a free loopback port."""

    def __init__(self, workdir: pathlib.Path, config: dict | None = None, args=(), latency_ms: int = 0):
        cmd = [*(['--latency-ms', str(latency_ms)] if latency_ms else []), *args]
        if config is not None:
            config_file = workdir / 'emulator.json'
            config_file.write_text(json.dumps(config), encoding='utf-8')
            config_file.chmod(0o600)
            cmd += ['--config', str(config_file)]
        self.process = start_emulator_process(cmd, workdir=workdir)
        self.url, self.api_url = self.process.url, self.process.api_url

    def control(self, method: str, path: str, body: dict | None = None):
        """Call a control endpoint (``/_emulator/...``)."""
        return self.process.control(method, path, body)

    def live_rooms(self) -> dict[str, list[str]]:
        """Live conference names per account."""
        accounts = self.control('GET', '/state')['accounts']
        return {auth_id: sorted(account['conferences']) for auth_id, account in accounts.items()}

    def stop(self) -> None:
        self.process.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


@dataclasses.dataclass
class Account:
    """One Vobiz account = one inventory host; a ``bad`` one gets a wrong token from the vault."""

    host: str
    auth_id: str
    token: str  # what the emulator accepts
    ci_rooms: list[str]
    bad: bool = False
    bystanders: tuple = BYSTANDERS


@dataclasses.dataclass
class Fleet:
    """Accounts with ``ci-*`` rooms and bystanders: the emulator's config, the inventory and its vault."""

    accounts: list[Account]
    members: int = 1

    def emulator_config(self) -> dict:
        """The emulator's ``--config`` JSON."""
        accounts = {
            acct.auth_id: {'token': acct.token, 'conferences': acct.ci_rooms + list(acct.bystanders)}
            for acct in self.accounts
        }
        return {'accounts': accounts, 'members': self.members}

    def write(self, directory: pathlib.Path, api_url: str, vault_password: str) -> dict[str, pathlib.Path]:
        """The shipped extensions/inventory/vobiz_accounts.yml with these accounts as its hosts, the tokens in a
        vault-encrypted group_vars/vobiz_accounts/vault.yml beside it, and the vault password file; their paths."""
        # pylint: disable=import-outside-toplevel
        from ansible.constants import DEFAULT_VAULT_ID_MATCH
        from ansible.parsing.vault import VaultLib, VaultSecret

        inventory = yaml.safe_load(
            (ROOT / 'extensions' / 'inventory' / 'vobiz_accounts.yml').read_text(encoding='utf-8')
        )
        group = inventory['all']['children'][GROUP]
        group['vars']['vobiz_api_url'] = api_url
        group['hosts'] = {acct.host: {'vobiz_auth_id': acct.auth_id} for acct in self.accounts}
        tokens = {acct.auth_id: ('wrong-' if acct.bad else '') + acct.token for acct in self.accounts}
        paths = {
            'inventory': directory / 'inventory' / 'vobiz_accounts.yml',
            'vault_file': directory / 'inventory' / 'group_vars' / GROUP / 'vault.yml',
            'vault_password_file': directory / 'vault-password',
        }
        paths['vault_file'].parent.mkdir(parents=True, exist_ok=True)
        paths['inventory'].write_text('---\n' + yaml.safe_dump(inventory, sort_keys=False), encoding='utf-8')
        vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(vault_password.encode()))])
        paths['vault_file'].write_bytes(vault.encrypt('---\n' + yaml.safe_dump({'vault_vobiz_tokens': tokens})))
        paths['vault_password_file'].write_text(vault_password + '\n', encoding='utf-8')
        paths['vault_password_file'].chmod(0o600)
        return paths


def build_fleet(n_accounts: int = 20, rooms_per_account: int = 3, bad: int = 1, members: int = 1) -> Fleet:
    """N accounts × M ci-* rooms (plus the bystanders); the last ``bad`` accounts get a wrong token."""
    width = len(str(n_accounts))
    numbers = [str(index).zfill(width) for index in range(1, n_accounts + 1)]
    accounts = [
        Account(
            host=f'acct-{number}',
            auth_id=f'MA_ACCT{number}',
            token=secrets.token_hex(12),
            ci_rooms=[f'ci-{number}-{room}' for room in range(1, rooms_per_account + 1)],
            bad=index >= n_accounts - bad,
        )
        for index, number in enumerate(numbers)
    ]
    return Fleet(accounts, members)


def run_ci_teardown(
    workdir: pathlib.Path, paths: dict[str, pathlib.Path], forks: int = 10, match: str = 'ci-*'
) -> subprocess.CompletedProcess:
    """``ansible-playbook vobiz.voice.ci_teardown`` over every account of the inventory ``Fleet.write`` made."""
    extra_vars = json.dumps({'vobiz_hosts': GROUP, 'ci_teardown_match': [match]})
    cmd = [str(BIN / 'ansible-playbook'), 'vobiz.voice.ci_teardown', '-i', str(paths['inventory']), '-e', extra_vars]
    cmd += ['--forks', str(forks), '--vault-password-file', str(paths['vault_password_file'])]
    return subprocess.run(cmd, cwd=workdir, env=ansible_env(workdir), capture_output=True, text=True, check=False)


def play_recap(stdout: str) -> dict[str, dict[str, int]]:
    """The PLAY RECAP's counters per host."""
    hosts = re.findall(r'^(\S+)\s+:\s+(ok=\d+.*)$', stdout, re.MULTILINE)
    return {host: {name: int(value) for name, value in re.findall(r'(\w+)=(\d+)', text)} for host, text in hosts}
