"""The gate's own promises: a chain that cannot go on is a failed step, and the other chains' results stay; a step is
ended only when silent (no output and no CPU), never for being slow.

The silence tests inject a small limit and processes that are silent, busy or talking for their whole life, so that
what they assert does not depend on how fast the machine is: a busy process is given any CPU at all as activity
(``idle_share=0``), and its life is several limits long whatever the load.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import gate
import pytest
import yaml

LIMIT = 1.0  # seconds of silence that end a step, in these tests
WATCH = {'sample': 0.1, 'idle_share': 0}
# Each slow step lives for four limits of wall time, busy or talking throughout.
LIFE = 4 * LIMIT
SPIN = f'import time\nend = time.monotonic() + {LIFE}\nwhile time.monotonic() < end:\n    pass\n'
SILENT = 'import time\ntime.sleep(3600)\n'


@pytest.fixture
def runner(tmp_path, monkeypatch):
    monkeypatch.setattr(gate, 'LOGS', tmp_path)
    return gate.Gate([], silent_limit=LIMIT, **WATCH)


def python(code: str) -> list[str]:
    return [sys.executable, '-c', code]


def ended(pid: int) -> bool:
    """True once ``pid`` is gone or a zombie."""
    try:
        with open(f'/proc/{pid}/stat', encoding='ascii') as handle:
            return handle.read().rsplit(')', 1)[1].split()[0] in ('Z', 'X')
    except FileNotFoundError:
        return True


def test_a_chain_that_stops_is_reported_failed_beside_the_others(runner, tmp_path, capsys):
    def steady_chain() -> None:
        runner.run('steady step', python('print("fine")'), env={}, cwd=tmp_path)

    def broken_chain() -> None:
        runner.run('step before the break', python('pass'), env={}, cwd=tmp_path)
        raise SystemExit('ansible-test not found in .venv-floor')

    runner.run_chains([(0, steady_chain), (1, broken_chain)], jobs=2)
    exit_code = runner.report()

    table = {res.name: res for res in runner.results}
    assert table['steady step'].status == 'PASSED'
    assert table['step before the break'].status == 'PASSED'
    assert table['broken chain: stopped'].status == 'FAILED'
    assert table['broken chain: stopped'].note == 'ansible-test not found in .venv-floor'
    assert exit_code == 1
    assert '2 passed, 1 failed' in capsys.readouterr().out


def test_a_silent_step_is_ended_with_everything_it_started(runner, tmp_path, capsys):
    # The step starts a sleeping child in a session of its own (as ansible-core's workers are), says its pid, then
    # neither prints nor computes anything.
    code = (
        'import subprocess, sys, time\n'
        f'child = subprocess.Popen([sys.executable, "-c", {SILENT!r}], start_new_session=True)\n'
        'print(child.pid, flush=True)\n'
        'time.sleep(3600)\n'
    )
    result = runner.run('silent step', python(code), env={}, cwd=tmp_path)

    assert (result.status, result.failed) == ('FAILED', 1)
    assert result.note == 'silent for 1 s: no output, no CPU'
    child = int(
        [line for line in (tmp_path / 'silent_step.log').read_text(encoding='utf-8').splitlines() if line.isdigit()][-1]
    )
    assert ended(child)
    assert 'gate: step ended, silent for 1 s: no output, no CPU' in capsys.readouterr().out


def test_a_slow_busy_step_is_not_ended(runner, tmp_path):
    result = runner.run('busy step', python(SPIN), env={}, cwd=tmp_path)

    assert (result.status, result.note) == ('PASSED', '')


def test_a_step_whose_busy_process_left_its_session_is_not_ended(runner, tmp_path):
    # The step's own process only waits; the work happens in a process that left the step's session.
    code = (
        f'import subprocess, sys\n'
        f'subprocess.run([sys.executable, "-c", {SPIN!r}], start_new_session=True, check=True)\n'
    )
    result = runner.run('busy grandchild step', python(code), env={}, cwd=tmp_path)

    assert (result.status, result.note) == ('PASSED', '')


def test_a_slow_talking_step_is_not_ended(runner, tmp_path):
    # A dot every tenth of the limit and no newline until the end, as pytest prints its progress.
    code = (
        'import sys, time\n'
        f'end = time.monotonic() + {LIFE}\n'
        'while time.monotonic() < end:\n'
        f'    sys.stdout.write("."); sys.stdout.flush(); time.sleep({LIMIT / 10})\n'
        'print()\n'
    )
    result = runner.run('talking step', python(code), env={}, cwd=tmp_path)

    assert (result.status, result.note) == ('PASSED', '')


def test_the_silence_limit_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv('VOBIZ_GATE_SILENT_MINUTES', '2.5')
    assert gate.Gate([]).silent_limit == 150
    monkeypatch.delenv('VOBIZ_GATE_SILENT_MINUTES')
    assert gate.Gate([]).silent_limit == 600
    monkeypatch.setenv('VOBIZ_GATE_SILENT_MINUTES', 'soon')
    with pytest.raises(SystemExit, match='VOBIZ_GATE_SILENT_MINUTES'):
        gate.Gate([])


def test_a_session_that_cannot_run_here_is_a_skipped_row_naming_the_reason(runner, tmp_path, capsys):
    reason = 'python3.12 is not installed on this machine.'
    result = runner.run(
        'newest units', python(f'print("nox > Session units-2.21 skipped: {reason}")'), env={}, cwd=tmp_path
    )

    assert (result.status, result.note, result.passed, result.failed) == ('SKIPPED', reason, 0, 0)
    assert f'SKIPPED newest units: {reason}' in capsys.readouterr().out
    assert runner.report() == 0


def test_an_earlier_runs_session_scratch_is_removed_and_the_venvs_stay(tmp_path):
    """A collection-root link left by an earlier gate pointed ruff at an old tree (CI's I001 on deleted files)."""
    old_tree = tmp_path / 'old-copy'
    old_tree.mkdir()
    namespace = tmp_path / 'formatters' / 'tmp' / 'collection-root' / 'ansible_collections' / 'vobiz'
    namespace.mkdir(parents=True)
    (namespace / 'voice').symlink_to(old_tree, target_is_directory=True)
    result = tmp_path / 'build-import-check' / 'tmp' / 'collection' / 'importer_result.json'
    result.parent.mkdir(parents=True)
    result.write_text('{}', encoding='utf-8')
    (tmp_path / 'formatters' / 'bin').mkdir()
    gate.clear_session_scratch(tmp_path)
    assert not (tmp_path / 'formatters' / 'tmp').exists()
    assert not result.exists()
    assert (tmp_path / 'formatters' / 'bin').is_dir()
    assert old_tree.is_dir()


def test_ci_runs_exactly_the_sessions_of_the_gate(tmp_path):
    """The workflow's two jobs run noxfile.py's default sessions and its registered ansible-test sessions: the
    gate's."""
    pytest.importorskip('antsibull_nox', reason='the tools-tests nox session installs nox and antsibull-nox')
    env = dict(os.environ, ANTSIBULL_NOX_MATRIX_JSON=str(tmp_path / 'matrix.json'))
    listed = subprocess.run(
        [sys.executable, '-m', 'nox', '-l', '--json'],
        cwd=gate.ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    subprocess.run(
        [sys.executable, '-m', 'nox', '-s', 'matrix-generator'], cwd=gate.ROOT, env=env, capture_output=True, check=True
    )
    registered = [
        session['name']
        for sessions in json.loads((tmp_path / 'matrix.json').read_text(encoding='utf-8')).values()
        for session in sessions
    ]
    lint_parts = {'formatters', 'codeqa', 'yamllint', 'antsibull-nox-config'}  # run by the meta session lint
    ci = {session['name'] for session in json.loads(listed)} - lint_parts | set(registered)
    assert ci == {step.session for chain in gate.CHAINS for step in chain.steps}
    jobs = yaml.safe_load((gate.ROOT / '.github' / 'workflows' / 'nox.yml').read_text(encoding='utf-8'))['jobs']
    assert sorted(job['uses'].split('@')[0].rsplit('/', 1)[1] for job in jobs.values()) == [
        'reusable-nox-matrix.yml',
        'reusable-nox-run.yml',
    ]
