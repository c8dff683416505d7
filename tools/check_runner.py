#!/usr/bin/env python
"""``ci_teardown`` through ansible-runner (the engine AWX uses), and where the auth token ends up.

Starts the emulator, builds an ansible-runner private data dir in a temporary directory
(``project/site.yml`` imports ``vobiz.voice.ci_teardown``, ``inventory/hosts``), and runs it three
ways with ``ansible_runner.run()``:

documented   The token is NOT in the environment. It sits in a vault-encrypted vars file in the
             project (``-e @vobiz_secrets.vault.yml --ask-vault-pass``); the vault password is
             answered from memory through ``passwords`` (the way AWX feeds vault passwords), and
             ``suppress_env_files=True`` keeps ``passwords``/``extravars`` out of ``env/``. Checked:
             status ``successful``, rc 0, the job events (the hang-up task's ``runner_on_ok``, the
             ``VOBIZ_TEARDOWN_SUMMARY`` JSON line, ``playbook_on_stats``), the emulator state (``ci-*``
             rooms gone, bystanders kept), and no file anywhere in the private data dir (artifacts
             included) contains the token or the vault password.
naive        The token in ``envvars`` (VOBIZ_AUTH_TOKEN). It works, and it leaks: ansible-runner
             writes it to ``env/envvars`` and to ``artifacts/<ident>/command``. The check insists on
             finding that leak, to prove that its search would find one.
suppressed   The token in ``envvars`` with ``suppress_env_files=True``: ``env/envvars`` is gone, but
             ``artifacts/<ident>/command`` still holds the whole environment (ansible-runner 2.4 writes
             ``{"command", "cwd", "env"}`` there on every run). So ``suppress_env_files`` alone is not
             enough when artifacts are kept; the check insists on that too, so that it notices when a
             later ansible-runner changes it.

    python tools/check_runner.py [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import secrets
import shutil
import sys
import tempfile
import time

import ansible_runner

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from check_many_accounts import Emulator, collections_path, encrypt  # noqa: E402  pylint: disable=wrong-import-position

AUTH_ID = 'MA_RUNNER'
CI_ROOMS = ['ci-101', 'ci-102', 'ci-103']
BYSTANDERS = ['Board Room', 'prod-ci-3']
HANGUP_TASK = 'Hang up the target conferences'
SUMMARY_PREFIX = 'VOBIZ_TEARDOWN_SUMMARY '
SECRETS_FILE = 'vobiz_secrets.vault.yml'
VAULT_PROMPT = r'^Vault password:\s*?$'  # the pattern AWX answers (awx/main/tasks/jobs.py)


def private_data_dir(base: pathlib.Path, name: str) -> pathlib.Path:
    """A fresh private data dir: project/site.yml and inventory/hosts."""
    pdd = base / name
    (pdd / 'project').mkdir(parents=True)
    (pdd / 'inventory').mkdir()
    (pdd / 'project' / 'site.yml').write_text('---\n- name: Vobiz CI teardown\n  ansible.builtin.import_playbook: vobiz.voice.ci_teardown\n', encoding='utf-8')
    (pdd / 'inventory' / 'hosts').write_text(f'localhost ansible_connection=local ansible_python_interpreter={sys.executable}\n', encoding='utf-8')
    return pdd


def base_envvars(work: pathlib.Path, api_url: str) -> dict[str, str]:
    """What every run gets in its environment (no secret among it)."""
    return {
        'PATH': os.pathsep.join([str(pathlib.Path(sys.executable).parent), os.environ.get('PATH', '')]),
        'ANSIBLE_COLLECTIONS_PATH': collections_path(work),
        'ANSIBLE_NOCOLOR': '1',
        'VOBIZ_AUTH_ID': AUTH_ID,
        'VOBIZ_API_URL': api_url,
    }


def run(work: pathlib.Path, emulator: Emulator, mode: str, token: str) -> tuple[object, pathlib.Path, list[str]]:
    """One ansible-runner run in ``mode``; return the runner, its private data dir and any secret it must not hold."""
    emulator.control('POST', '/reset', {'auth_id': AUTH_ID, 'conferences': CI_ROOMS + BYSTANDERS, 'members': 1})
    pdd = private_data_dir(work, mode)
    kwargs = {
        'private_data_dir': str(pdd),
        'playbook': 'site.yml',
        'envvars': base_envvars(work, emulator.api_url),
        'extravars': {'ci_teardown_match': ['ci-*'], 'ci_teardown_summary_file': str(work / f'summary-{mode}.json')},
        'quiet': True,
    }
    hidden = [token]
    if mode == 'documented':
        vault_password = secrets.token_hex(16)
        hidden.append(vault_password)
        (pdd / 'project' / SECRETS_FILE).write_bytes(encrypt(json.dumps({'conference_maintenance_auth_token': token}), vault_password))
        kwargs.update(cmdline=f'--ask-vault-pass -e @{SECRETS_FILE}', passwords={VAULT_PROMPT: vault_password}, suppress_env_files=True)
    else:
        kwargs['envvars']['VOBIZ_AUTH_TOKEN'] = token
        kwargs['suppress_env_files'] = mode == 'suppressed'
    return ansible_runner.run(**kwargs), pdd, hidden


def files_holding(directory: pathlib.Path, needles: list[str]) -> list[str]:
    """Every file under ``directory`` that contains one of ``needles`` (relative paths)."""
    files = [path for path in sorted(directory.rglob('*')) if path.is_file() and not path.is_symlink()]
    return [str(path.relative_to(directory)) for path in files if any(needle.encode() in path.read_bytes() for needle in needles)]


def check_events(runner) -> tuple[list[str], list[str]]:
    """Assertions on the job events; return (problems, notes)."""
    problems, notes = [], []
    events = list(runner.events)
    kinds: dict[str, int] = {}
    for event in events:
        kinds[event.get('event', '?')] = kinds.get(event.get('event', '?'), 0) + 1
    notes.append('job events: ' + ', '.join(f'{kind} {count}' for kind, count in sorted(kinds.items())))
    ok_events = [event['event_data'] for event in events if event.get('event') == 'runner_on_ok']
    hangup = [data for data in ok_events if data.get('task') == HANGUP_TASK and data.get('res', {}).get('hung_up') is not None]
    if not hangup:
        problems.append(f'no runner_on_ok event for the task {HANGUP_TASK!r}')
    else:
        res = hangup[-1]['res']
        if sorted(res.get('hung_up', [])) != CI_ROOMS or not res.get('changed'):
            problems.append(f'the hang-up event says hung_up={res.get("hung_up")} changed={res.get("changed")}, expected {CI_ROOMS}')
        args = (res.get('invocation') or {}).get('module_args') or {}
        if 'auth_token' in args and args['auth_token'] != 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER':
            problems.append('the hang-up event shows auth_token unmasked')
        notes.append(
            f"runner_on_ok {HANGUP_TASK!r} ({hangup[-1].get('resolved_action', '?')}): hung_up={sorted(res.get('hung_up', []))}, changed={res.get('changed')}"
        )
    # The playbook prints the line itself (not inside a task result), so it is in an event's stdout.
    lines = [line for event in events for line in (event.get('stdout') or '').splitlines() if line.startswith(SUMMARY_PREFIX)]
    summary = None
    if not lines:
        problems.append(f'no {SUMMARY_PREFIX.strip()} line in the job events')
    else:
        summary = json.loads(lines[-1][len(SUMMARY_PREFIX) :])
        if sorted(summary.get('hung_up', [])) != CI_ROOMS or summary.get('failed') or summary.get('check_mode') or summary.get('status') != 'ok':
            problems.append(f'the summary line says {summary}')
        notes.append(f'summary line: {lines[-1]}')
    stats = [event['event_data'] for event in events if event.get('event') == 'playbook_on_stats']
    if not stats or stats[-1].get('failures') or stats[-1].get('dark') or 'localhost' not in (stats[-1].get('ok') or {}):
        problems.append(f'playbook_on_stats: {stats[-1] if stats else "missing"}')
    elif summary is not None and (stats[-1].get('artifact_data') or {}).get('vobiz_teardown_summary') != summary:
        problems.append(f"set_stats published {stats[-1].get('artifact_data')}, not the summary line")
    return problems, notes


def leak_problems(mode: str, hits: list[str]) -> list[str]:
    """Where the token (or the vault password) must not be, and, for the other two ways, where it must (the search works)."""
    names = {hit if hit.startswith('env/') else pathlib.PurePath(hit).name for hit in hits}
    if mode == 'documented':
        return [f'documented: the token or the vault password is in {", ".join(hits)}'] if hits else []
    if mode == 'naive' and not {'env/envvars', 'command'} <= names:
        where = f'found it in {hits or "no file"}; if ansible-runner stopped writing it there, update the docs; otherwise the search is broken'
        return [f'naive: expected the token in env/envvars and artifacts/<ident>/command, {where}']
    problems = [f'suppressed: suppress_env_files=True still wrote {hits}'] if mode == 'suppressed' and any(n.startswith('env/') for n in names) else []
    if mode == 'suppressed' and 'command' not in names:
        problems.append('suppressed: the token is no longer in artifacts/<ident>/command: ansible-runner changed; revisit the docs on passing the token')
    return problems


def main(argv: list[str] | None = None) -> int:
    """Run the three ways and check them."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--keep', action='store_true', help='keep the private data dirs and print where')
    args = parser.parse_args(argv)
    # ansible-runner copies this process's whole environment into artifacts/<ident>/command.
    for name in [name for name in os.environ if name.startswith('VOBIZ_')]:
        del os.environ[name]
    work, token, problems = pathlib.Path(tempfile.mkdtemp(prefix='vobiz-check-runner-')), 'tok-' + secrets.token_hex(16), []
    try:
        with Emulator(work, args=['--auth-id', AUTH_ID, '--auth-token', token]) as emulator:
            for mode in ('documented', 'naive', 'suppressed'):
                started = time.monotonic()
                runner, pdd, hidden = run(work, emulator, mode, token)
                live, hits = emulator.live_rooms().get(AUTH_ID, []), files_holding(pdd, hidden)
                took = time.monotonic() - started
                print(f'--- {mode}: status={runner.status} rc={runner.rc} in {took:.1f}s; live rooms after: {live}; files holding the token: {hits or "none"}')
                if runner.status != 'successful' or runner.rc != 0:
                    problems.append(f'{mode}: status {runner.status}, rc {runner.rc}; stdout: {pdd}/artifacts/*/stdout')
                if live != sorted(BYSTANDERS):
                    problems.append(f'{mode}: live rooms {live}, expected only the bystanders {sorted(BYSTANDERS)}')
                if mode == 'documented':
                    event_problems, notes = check_events(runner)
                    problems += [f'{mode}: {problem}' for problem in event_problems]
                    searched = sum(1 for path in pdd.rglob('*') if path.is_file())
                    notes.append(f'searched {searched} files under the private data dir (artifacts included): {len(hits)} hold the token or the vault password')
                    print('\n'.join('    ' + note for note in notes))
                problems += leak_problems(mode, hits)
    finally:
        if args.keep:
            print(f'kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)
    print('\n'.join([f'PROBLEM: {problem}' for problem in problems] + [f'check_runner: {len(problems)} problem(s)']))
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
