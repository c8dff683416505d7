#!/usr/bin/env python
"""``ci_teardown`` across many Vobiz accounts at once, one inventory host per account.

Starts one emulator with N accounts of M ``ci-*`` rooms plus two bystander rooms each, writes an
inventory shaped like ``extensions/inventory/vobiz_accounts.yml`` with the tokens in a
vault-encrypted ``group_vars/vobiz_accounts/vault.yml`` next to it, gives one account a wrong
token on purpose, and runs ``ansible-playbook vobiz.voice.ci_teardown`` with ``--forks``. It passes
when every other account's ``ci-*`` rooms are hung up and its bystanders kept, and the bad account
fails alone: ``failed=1`` in the PLAY RECAP for that host only, its rooms untouched, and the
others neither stopped nor hidden by it.

    python tools/check_many_accounts.py [--accounts 20] [--rooms 3] [--forks 10] [--bad 1]

The building blocks (``build_fleet``, ``Fleet.write``, ``Emulator``, ``run_ci_teardown``) are
meant for reuse, for example by a benchmark that times the same run with other forks.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import pathlib
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / 'tests' / 'emulator'))
from vobiz_emulator.launch import start_emulator_process  # noqa: E402  pylint: disable=wrong-import-position,import-error

BIN = pathlib.Path(sys.executable).parent
GROUP = 'vobiz_accounts'
BYSTANDERS = ('Board Room', 'prod-ci-1')  # prod-ci-1 looks like a CI room, but ci-* must never select it
RECAP = re.compile(r'^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)\s+skipped=(\d+)\s+rescued=(\d+)\s+ignored=(\d+)')


@dataclasses.dataclass
class Account:
    """One Vobiz account = one inventory host."""

    host: str
    auth_id: str
    token: str  # what the emulator accepts
    ci_rooms: list[str]
    bystanders: list[str]
    bad: bool = False  # Ansible gets a wrong token for this one

    @property
    def token_for_ansible(self) -> str:
        """The token the vault gives Ansible."""
        return 'wrong-' + self.token if self.bad else self.token


@dataclasses.dataclass
class Fleet:
    """N accounts with M ci-* rooms each; knows its emulator config and its inventory."""

    accounts: list[Account]
    members: int = 1

    def emulator_config(self) -> dict:
        """The emulator's ``--config`` JSON."""
        return {
            'accounts': {acct.auth_id: {'token': acct.token, 'conferences': acct.ci_rooms + acct.bystanders} for acct in self.accounts},
            'members': self.members,
        }

    def inventory(self, api_url: str) -> dict:
        """The shipped extensions/inventory/vobiz_accounts.yml with these accounts as its hosts and ``api_url``."""
        inventory = yaml.safe_load((ROOT / 'extensions' / 'inventory' / 'vobiz_accounts.yml').read_text(encoding='utf-8'))
        group = inventory['all']['children'][GROUP]
        group['vars']['vobiz_api_url'] = api_url
        group['hosts'] = {acct.host: {'vobiz_auth_id': acct.auth_id} for acct in self.accounts}
        return inventory

    def vault_vars(self) -> dict:
        """What the vault file holds: one token per auth ID."""
        return {'vault_vobiz_tokens': {acct.auth_id: acct.token_for_ansible for acct in self.accounts}}

    def write(self, directory: pathlib.Path, api_url: str, vault_password: str) -> dict[str, pathlib.Path]:
        """Write inventory, encrypted group_vars and the vault password file; return their paths."""
        inventory_dir = directory / 'inventory'
        vault_file = inventory_dir / 'group_vars' / GROUP / 'vault.yml'
        vault_file.parent.mkdir(parents=True, exist_ok=True)
        inventory = inventory_dir / 'vobiz_accounts.yml'
        inventory.write_text('---\n' + yaml.safe_dump(self.inventory(api_url), sort_keys=False), encoding='utf-8')
        vault_file.write_bytes(encrypt('---\n' + yaml.safe_dump(self.vault_vars()), vault_password))
        password_file = directory / 'vault-password'
        password_file.write_text(vault_password + '\n', encoding='utf-8')
        password_file.chmod(0o600)
        return {'inventory': inventory, 'vault_file': vault_file, 'vault_password_file': password_file}


def build_fleet(n_accounts: int = 20, rooms_per_account: int = 3, bad: int = 1, members: int = 1) -> Fleet:
    """N accounts × M ci-* rooms (plus the bystanders); the last ``bad`` accounts get a wrong token."""
    accounts = []
    width = len(str(n_accounts))
    for index in range(1, n_accounts + 1):
        number = str(index).zfill(width)
        accounts.append(
            Account(
                host=f'acct-{number}',
                auth_id=f'MA_ACCT{number}',
                token=secrets.token_hex(12),
                ci_rooms=[f'ci-{number}-{room}' for room in range(1, rooms_per_account + 1)],
                bystanders=list(BYSTANDERS),
                bad=index > n_accounts - bad,
            )
        )
    return Fleet(accounts, members)


def encrypt(text: str, password: str) -> bytes:
    """Encrypt like ansible-vault (AES256, default vault id)."""
    # pylint: disable=import-outside-toplevel
    from ansible.constants import DEFAULT_VAULT_ID_MATCH
    from ansible.parsing.vault import VaultLib, VaultSecret

    return VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))]).encrypt(text)


class Emulator:
    """The Vobiz emulator in its own process (the emulator package's launcher), on a free loopback port."""

    def __init__(self, workdir: pathlib.Path, config: dict | None = None, args: list[str] | None = None, latency_ms: int = 0):
        cmd = []
        if config is not None:
            config_file = workdir / 'emulator.json'
            config_file.write_text(json.dumps(config), encoding='utf-8')
            config_file.chmod(0o600)
            cmd += ['--config', str(config_file)]
        if latency_ms:
            cmd += ['--latency-ms', str(latency_ms)]
        self.process = start_emulator_process(cmd + list(args or []), workdir=workdir)
        self.url = self.process.url
        self.api_url = self.process.api_url

    def control(self, method: str, path: str, body: dict | None = None):
        """Call a control endpoint (``/_emulator/...``)."""
        return self.process.control(method, path, body)

    def live_rooms(self) -> dict[str, list[str]]:
        """Live conference names per account."""
        return {auth_id: sorted(account['conferences']) for auth_id, account in self.control('GET', '/state')['accounts'].items()}

    def stop(self) -> None:
        """Stop the emulator."""
        self.process.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def collections_path(workdir: pathlib.Path) -> str:
    """A collections path holding this checkout as vobiz.voice (the checkout itself when it already sits there)."""
    if ROOT.parent.name == 'vobiz' and ROOT.parent.parent.name == 'ansible_collections':
        return str(ROOT.parent.parent.parent)
    link = workdir / 'collections' / 'ansible_collections' / 'vobiz' / 'voice'
    if not link.exists():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(ROOT)
    return str(workdir / 'collections')


def playbook_env(workdir: pathlib.Path, extra: dict | None = None) -> dict[str, str]:
    """Environment for a nested ansible-playbook run: no VOBIZ_* from the caller, our collection first."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(('VOBIZ_', 'ANSIBLE_'))}
    env.update(
        {
            'PATH': os.pathsep.join([str(BIN), env.get('PATH', '')]),
            'ANSIBLE_COLLECTIONS_PATH': collections_path(workdir),
            'ANSIBLE_NOCOLOR': '1',
            'ANSIBLE_FORCE_COLOR': '0',
            'ANSIBLE_RETRY_FILES_ENABLED': 'false',
            'ANSIBLE_LOCALHOST_WARNING': 'false',
            'PWD': str(workdir),  # the playbooks write their summary files to $PWD
        }
    )
    env.update(extra or {})
    return env


def run_ci_teardown(
    workdir: pathlib.Path, paths: dict[str, pathlib.Path], forks: int = 10, match: str = 'ci-*', extra_args: list[str] | None = None
) -> subprocess.CompletedProcess:
    """``ansible-playbook vobiz.voice.ci_teardown`` over every account of the inventory (no time limit: see gate.py)."""
    cmd = [
        str(BIN / 'ansible-playbook'),
        'vobiz.voice.ci_teardown',
        '-i',
        str(paths['inventory']),
        '--vault-password-file',
        str(paths['vault_password_file']),
        '--forks',
        str(forks),
        '-e',
        json.dumps({'vobiz_hosts': GROUP, 'ci_teardown_match': [match]}),
    ] + list(extra_args or [])
    return subprocess.run(cmd, cwd=workdir, env=playbook_env(workdir), capture_output=True, text=True, check=False)


def parse_recap(stdout: str) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host."""
    recap = {}
    for line in stdout.splitlines():
        match = RECAP.match(line.strip())
        if match:
            names = ('ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored')
            recap[match.group(1)] = dict(zip(names, map(int, match.groups()[1:])))
    return recap


def verify(fleet: Fleet, result: subprocess.CompletedProcess, live: dict[str, list[str]], workdir: pathlib.Path) -> list[str]:
    """Everything that must hold after the run; return the problems."""
    problems = []
    recap = parse_recap(result.stdout)
    bad_hosts = [acct.host for acct in fleet.accounts if acct.bad]
    expected_rc = 2 if bad_hosts else 0  # ansible-playbook: 2 = some host failed
    if result.returncode != expected_rc:
        problems.append(f'ansible-playbook exited {result.returncode}, expected {expected_rc}')
    for acct in fleet.accounts:
        counters = recap.get(acct.host)
        if counters is None:
            problems.append(f'{acct.host}: not in the PLAY RECAP (stopped or hidden by another account?)')
            continue
        if counters['failed'] != (1 if acct.bad else 0) or counters['unreachable']:
            problems.append(
                f'{acct.host}: PLAY RECAP failed={counters["failed"]} unreachable={counters["unreachable"]}, expected failed={1 if acct.bad else 0}'
            )
        rooms = live.get(acct.auth_id, [])
        expected = sorted(acct.ci_rooms + acct.bystanders) if acct.bad else sorted(acct.bystanders)
        if rooms != expected:
            problems.append(f'{acct.host} ({acct.auth_id}): live rooms {rooms}, expected {expected}')
        summary_file = workdir / f'vobiz-teardown-summary-{acct.host}.json'
        summary = json.loads(summary_file.read_text(encoding='utf-8')) if summary_file.exists() else None
        if summary is None:
            problems.append(f'{acct.host}: no summary file {summary_file.name}')
        elif not acct.bad and sorted(summary.get('hung_up', [])) != sorted(acct.ci_rooms):
            problems.append(f'{acct.host}: summary says hung up {summary.get("hung_up")}, expected {acct.ci_rooms}')
        elif acct.bad and summary.get('hung_up'):
            problems.append(f'{acct.host}: the bad account hung up {summary.get("hung_up")}')
    for host in bad_hosts:
        fatal = [line for line in result.stdout.splitlines() if line.startswith(('fatal: [' + host + ']', 'failed: [' + host + ']'))]
        if not fatal:
            problems.append(f'{host}: its failure is not reported as fatal/failed in the output')
        elif not re.search(r'401|auth', ' '.join(fatal), re.IGNORECASE):
            problems.append(f'{host}: the failure does not say it is about authentication: {fatal[0][:300]}')
    secrets_seen = [acct.host for acct in fleet.accounts if acct.token in result.stdout or acct.token in result.stderr]
    if secrets_seen:
        problems.append(f'the output shows the token of {", ".join(secrets_seen)}')
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the check."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--accounts', type=int, default=20, help='Vobiz accounts (inventory hosts)')
    parser.add_argument('--rooms', type=int, default=3, help='ci-* rooms per account')
    parser.add_argument('--forks', type=int, default=10, help='ansible-playbook --forks')
    parser.add_argument('--bad', type=int, default=1, help='accounts that get a wrong token')
    parser.add_argument('--keep', action='store_true', help='keep the scratch directory and print its path')
    args = parser.parse_args(argv)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-many-accounts-'))
    fleet = build_fleet(args.accounts, args.rooms, args.bad)
    started = time.monotonic()
    try:
        with Emulator(workdir, fleet.emulator_config()) as emulator:
            result = run_ci_teardown(workdir, fleet.write(workdir, emulator.api_url, secrets.token_hex(16)), forks=args.forks)
            elapsed, live = time.monotonic() - started, emulator.live_rooms()
        (workdir / 'ansible-playbook.log').write_text(result.stdout + result.stderr, encoding='utf-8')
        problems, recap = verify(fleet, result, live, workdir), parse_recap(result.stdout)
        good = [acct for acct in fleet.accounts if not acct.bad]
        cleared = sum(len(acct.ci_rooms) for acct in good if live.get(acct.auth_id) == sorted(acct.bystanders))
        kept = sum(set(acct.bystanders) <= set(live.get(acct.auth_id, [])) for acct in fleet.accounts)
        setup = f'{len(fleet.accounts)} accounts x {args.rooms} ci-* rooms + {len(BYSTANDERS)} bystanders, forks={args.forks}, {args.bad} with a wrong token'
        print(f'{setup}: ansible-playbook rc={result.returncode} in {elapsed:.1f}s')
        total = sum(len(acct.ci_rooms) for acct in good)
        print(f'hung up: {cleared} of {total} ci-* rooms of the good accounts; bystanders kept: {kept} of {len(fleet.accounts)} accounts')
        for acct in (acct for acct in fleet.accounts if acct.bad):
            fatal = next((line for line in result.stdout.splitlines() if line.startswith(f'fatal: [{acct.host}]')), '')
            print(f'bad account {acct.host}: PLAY RECAP {recap.get(acct.host)}; {fatal[:200]}')
        print('PLAY RECAP failed per host: ' + ' '.join(f'{host}={counters["failed"]}' for host, counters in sorted(recap.items())))
        for line in ['PROBLEM: ' + problem for problem in problems] + (['--- last lines of the ansible-playbook output ---'] if problems else []):
            print(line)
        if problems:
            print('\n'.join((result.stdout + result.stderr).splitlines()[-40:]))
        print(f'check_many_accounts: {len(problems)} problem(s)')
        return 1 if problems else 0
    finally:
        if args.keep:
            print(f'kept {workdir}')
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == '__main__':
    sys.exit(main())
