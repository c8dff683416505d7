# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 8, through ansible-runner: where a token passed by environment ends up.

ansible-runner is in ``requirements-dev.txt``, so the gate runs it next to the
ansible-core under test; it runs here for real, as its own process, with that ansible-core
(``ansible-playbook`` is a shim for ``python -m ansible.cli.playbook`` on this interpreter).
Two private data dirs, run at the same time:

* ``cli``: the documented layout, token in ``env/envvars``, a playbook through every module and
  the role at ``-vvvv`` with failures forced. The token must be in no output, no job event, no
  audit line; the files that hold it must be exactly ``env/envvars`` (our own input) and
  ``artifacts/<ident>/command`` (ansible-runner writes the whole job environment there);
* ``file``: the token in a 0600 file outside the private data dir, read by the playbook with
  ``lookup('file')`` into ``module_defaults``: no file under the private data dir holds it.

And ``ci_teardown`` through ``ansible_runner.run()``, the Python API AWX drives, two ways
(``test_ci_teardown_through_the_runner_api``):

* ``vaulted``: the token in a vault-encrypted vars file of the project, the vault password answered
  through ``passwords`` (as AWX answers it), ``suppress_env_files=True``: no file of the private data
  dir, artifacts included, holds the token or the vault password; the job events carry the hang-up,
  the ``VOBIZ_TEARDOWN_SUMMARY`` line and the summary published by ``set_stats``;
* ``suppressed``: the token in ``envvars`` with ``suppress_env_files=True``: no ``env/`` file, but
  ``artifacts/<ident>/command`` still holds it (ansible-runner 2.4 writes the whole job environment
  there): the test notices when a later ansible-runner changes that.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
import subprocess
import sys
import time

import pytest

from ansible_collections.vobiz.voice.tests.reliability.helpers import AUTH_ID, TOKEN, collections_root, subprocess_env

pytest.importorskip('ansible_runner', reason='ansible-runner is not installed (requirements-dev.txt lists it)')

WRONG_TOKEN = 'wrong-token-runner-8e21f0'

FULL_PLAYBOOK = '''---
- name: Every module and the role through ansible-runner
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Hang up, check mode and diff
      vobiz.voice.vobiz_conference:
        name: [run-1, run-gone]
      check_mode: true
      diff: true
    - name: Hang up, with an audit log
      vobiz.voice.vobiz_conference:
        name: [run-1, run-gone]
        audit_log: "{{ audit_dir }}/audit.jsonl"
    - name: A room that fails on the server side
      vobiz.voice.vobiz_conference:
        name: run-broken
        retries: 1
        retry_max_wait: 0.2
      ignore_errors: true
    - name: An invalid option
      vobiz.voice.vobiz_conference:
        name: run-1
        parallel: 0
      ignore_errors: true
    - name: A wrong token
      vobiz.voice.vobiz_conference:
        name: run-2
        auth_token: "{{ lookup('ansible.builtin.env', 'RUNNER_WRONG_TOKEN') }}"
      ignore_errors: true
    - name: Info
      vobiz.voice.vobiz_conference_info:
        name: run-2
    - name: Announce
      vobiz.voice.vobiz_conference_announce:
        name: run-2
        text: Closing now.
    - name: Members
      vobiz.voice.vobiz_conference_member:
        conference: run-2
        member_id: all
        state: muted
    - name: The role
      ansible.builtin.include_role:
        name: vobiz.voice.conference_maintenance
      vars:
        conference_maintenance_names: [run-2, run-3]
        conference_maintenance_announcement: Closing for maintenance.
        conference_maintenance_audit_log: "{{ audit_dir }}/role.jsonl"
    - name: The role, failing on a forbidden room
      block:
        - name: Forbidden room
          ansible.builtin.include_role:
            name: vobiz.voice.conference_maintenance
          vars:
            conference_maintenance_names: [run-forbidden]
      rescue:
        - name: It failed
          ansible.builtin.debug:
            msg: "role failed: {{ ansible_failed_result.msg }}"
'''

SHORT_PLAYBOOK = '''---
- name: One hang-up through ansible-runner
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/vobiz.voice.vobiz:
      auth_token: "{{ lookup('ansible.builtin.file', token_file) if token_file is defined else omit }}"
  tasks:
    - name: Hang up
      vobiz.voice.vobiz_conference:
        name: "{{ room }}"
'''


def make_pdd(base, name, playbook, python, envvars=None, extravars=None):
    pdd = base / name
    (pdd / 'project').mkdir(parents=True)
    (pdd / 'inventory').mkdir()
    (pdd / 'project' / 'site.yml').write_text(playbook, encoding='utf-8')
    (pdd / 'inventory' / 'hosts').write_text('localhost ansible_connection=local ansible_python_interpreter={0}\n'.format(python), encoding='utf-8')
    if envvars is not None or extravars is not None:
        (pdd / 'env').mkdir()
    if envvars is not None:
        (pdd / 'env' / 'envvars').write_text(json.dumps(envvars), encoding='utf-8')
    if extravars is not None:
        (pdd / 'env' / 'extravars').write_text(json.dumps(extravars), encoding='utf-8')
    return pdd


def files_holding(pdd, secret):
    """Paths (relative to the private data dir, ``<ident>`` for the run's id) of every file that holds ``secret``."""
    found = []
    for root, dummy, names in os.walk(str(pdd)):
        for name in names:
            path = os.path.join(root, name)
            if stat.S_ISFIFO(os.stat(path).st_mode):
                continue
            with open(path, 'rb') as handle:
                if secret.encode('utf-8') in handle.read():
                    found.append(os.path.relpath(path, str(pdd)))
    return sorted(_generic(p) for p in found)


def _generic(relpath):
    parts = relpath.split(os.sep)
    if parts[0] == 'artifacts' and len(parts) > 2:
        parts[1] = '<ident>'
    return '/'.join(parts)


def playbook_first_on_path(tmp_path):
    """PATH with an ``ansible-playbook`` of this interpreter first (the one ansible-runner starts)."""
    shim_dir = tmp_path / 'bin'
    shim_dir.mkdir()
    shim = shim_dir / 'ansible-playbook'
    shim.write_text('#!/bin/sh\nexec "{0}" -m ansible.cli.playbook "$@"\n'.format(sys.executable), encoding='utf-8')
    shim.chmod(0o755)
    return os.pathsep.join([str(shim_dir), os.environ.get('PATH', '')])


def test_ansible_runner_artifacts(emulators, figures, tmp_path):
    emu = emulators()
    for name in ('run-1', 'run-2', 'run-3', 'run-broken', 'run-forbidden', 'run-file'):
        emu.add_conference(name)
    emu.configure(forbidden=['run-forbidden'], faults=[dict(kind='503', method='DELETE', match='run-broken')])

    env = subprocess_env(PATH=playbook_first_on_path(tmp_path), RUNNER_WRONG_TOKEN=WRONG_TOKEN)
    for name in ('ANSIBLE_STDOUT_CALLBACK', 'ANSIBLE_CALLBACKS_ENABLED'):
        env.pop(name, None)
    connection = dict(VOBIZ_AUTH_ID=AUTH_ID, VOBIZ_API_URL=emu.api_url)
    audit_dir = tmp_path / 'audit'
    audit_dir.mkdir()
    token_file = tmp_path / 'secret' / 'vobiz-token'
    token_file.parent.mkdir(mode=0o700)
    token_file.write_text(TOKEN, encoding='utf-8')
    token_file.chmod(0o600)

    cli = make_pdd(tmp_path, 'cli', FULL_PLAYBOOK, sys.executable, envvars=dict(connection, VOBIZ_AUTH_TOKEN=TOKEN), extravars=dict(audit_dir=str(audit_dir)))
    by_file = make_pdd(tmp_path, 'file', SHORT_PLAYBOOK, sys.executable, envvars=connection, extravars=dict(room='run-file', token_file=str(token_file)))

    started = time.monotonic()
    procs = {
        'cli': subprocess.Popen(
            [sys.executable, '-m', 'ansible_runner', 'run', str(cli), '-p', 'site.yml', '-vvvv'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ),
        'file': subprocess.Popen(
            [sys.executable, '-m', 'ansible_runner', 'run', str(by_file), '-p', 'site.yml'], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        ),
    }
    outputs = {}
    for name, proc in procs.items():
        out, err = proc.communicate()  # no time limit: a hang is the gate's to end (silence)
        outputs[name] = (proc.returncode, out.decode('utf-8', 'replace'), err.decode('utf-8', 'replace'))
    seconds = time.monotonic() - started

    for name, (returncode, out, err) in outputs.items():
        assert returncode == 0, (name, out[-3000:], err[-3000:])
        for secret in (TOKEN, WRONG_TOKEN):
            assert secret not in out and secret not in err, name

    # The work was done, failures included.
    assert emu.live_names() == ['run-broken', 'run-forbidden']
    cli_stdout = outputs['cli'][1]
    for text in ('run-broken', 'parallel must be', 'Authentication failed', 'role failed: Permission denied'):
        assert text in cli_stdout, text
    events = list((cli / 'artifacts').glob('*/job_events/*.json'))
    assert len(events) > 20

    # Where the token is: exactly these files, and the wrong token nowhere.
    assert files_holding(cli, TOKEN) == ['artifacts/<ident>/command', 'env/envvars']
    assert files_holding(by_file, TOKEN) == []
    # RUNNER_WRONG_TOKEN is in ansible-runner's own process environment (as an exported VOBIZ_AUTH_TOKEN
    # would be): that lands in artifacts/<ident>/command as well, and nowhere else.
    for pdd in (cli, by_file):
        assert files_holding(pdd, WRONG_TOKEN) == ['artifacts/<ident>/command']
    for path in audit_dir.iterdir():
        assert TOKEN not in path.read_text(encoding='ascii')
    command = json.loads(next((cli / 'artifacts').glob('*/command')).read_text(encoding='utf-8'))
    assert command['env']['VOBIZ_AUTH_TOKEN'] == TOKEN  # the whole job environment, in clear text

    figures.record(
        '8',
        'token hygiene via ansible-runner (2 private data dirs)',
        '2 runs, every module + role at -vvvv',
        '503, 403, 401 (wrong token), invalid option',
        len(emu.requests()),
        4,
        4,
        0,
        seconds,
    )


CI_TEARDOWN_SITE = '---\n- name: Vobiz CI teardown\n  ansible.builtin.import_playbook: vobiz.voice.ci_teardown\n'
CI_ROOMS = ['ci-101', 'ci-102', 'ci-103']
BYSTANDERS = ['Board Room', 'prod-ci-3']
VAULT_PROMPT = r'^Vault password:\s*?$'  # the pattern AWX answers (awx/main/tasks/jobs.py)


def hang_up_and_summary(events):
    """The hang-up task's result, the summary line (parsed) and the play's stats, from the job events."""
    results = [event['event_data']['res'] for event in events if event.get('event') == 'runner_on_ok']
    hang_ups = [res for res in results if res.get('hung_up') is not None]
    prefix = 'VOBIZ_TEARDOWN_SUMMARY '
    lines = [line for event in events for line in (event.get('stdout') or '').splitlines() if line.startswith(prefix)]
    stats = [event['event_data'] for event in events if event.get('event') == 'playbook_on_stats']
    return hang_ups[-1], json.loads(lines[-1][len(prefix) :]), stats[-1]


@pytest.mark.parametrize('way', ['vaulted', 'suppressed'])
def test_ci_teardown_through_the_runner_api(way, emulators, tmp_path, monkeypatch):
    import ansible_runner  # pylint: disable=import-outside-toplevel
    from ansible.constants import DEFAULT_VAULT_ID_MATCH  # pylint: disable=import-outside-toplevel
    from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel

    for name in ('VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL'):  # ansible-runner records this process's environment
        monkeypatch.delenv(name, raising=False)
    emu = emulators()
    for name in CI_ROOMS + BYSTANDERS:
        emu.add_conference(name, members=1)
    pdd = make_pdd(tmp_path, way, CI_TEARDOWN_SITE, sys.executable)
    envvars = dict(
        PATH=playbook_first_on_path(tmp_path),
        ANSIBLE_COLLECTIONS_PATH=str(collections_root()),
        ANSIBLE_NOCOLOR='1',
        VOBIZ_AUTH_ID=AUTH_ID,
        VOBIZ_API_URL=emu.api_url,
    )
    summary_file = tmp_path / 'summary.json'
    kwargs = dict(playbook='site.yml', envvars=envvars, suppress_env_files=True, quiet=True)
    kwargs['extravars'] = dict(ci_teardown_match=['ci-*'], ci_teardown_summary_file=str(summary_file))
    hidden = [TOKEN]
    if way == 'vaulted':
        password = secrets.token_hex(16)
        hidden.append(password)
        vault = VaultLib([(DEFAULT_VAULT_ID_MATCH, VaultSecret(password.encode()))])
        (pdd / 'project' / 'secrets.vault.yml').write_bytes(vault.encrypt(json.dumps(dict(conference_maintenance_auth_token=TOKEN))))
        kwargs.update(cmdline='--ask-vault-pass -e @secrets.vault.yml', passwords={VAULT_PROMPT: password})
    else:
        envvars['VOBIZ_AUTH_TOKEN'] = TOKEN

    runner = ansible_runner.run(private_data_dir=str(pdd), **kwargs)

    assert (runner.status, runner.rc) == ('successful', 0), next(pdd.glob('artifacts/*/stdout')).read_text(encoding='utf-8')[-3000:]
    assert emu.live_names() == sorted(BYSTANDERS)
    assert sorted({path for secret in hidden for path in files_holding(pdd, secret)}) == ([] if way == 'vaulted' else ['artifacts/<ident>/command'])
    assert not (pdd / 'env').exists()
    hang_up, summary, stats = hang_up_and_summary(list(runner.events))
    assert sorted(hang_up['hung_up']) == CI_ROOMS and hang_up['changed']
    assert hang_up['invocation']['module_args'].get('auth_token') in (None, 'VALUE_SPECIFIED_IN_NO_LOG_PARAMETER')
    assert (summary['status'], sorted(summary['hung_up']), summary['failed'], summary['check_mode']) == ('ok', CI_ROOMS, [], False)
    assert not stats['failures'] and not stats['dark'] and 'localhost' in stats['ok']
    assert stats['artifact_data']['vobiz_teardown_summary'] == summary == json.loads(summary_file.read_text(encoding='utf-8'))
