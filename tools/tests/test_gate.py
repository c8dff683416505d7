"""The gate's own promises: a chain that cannot go on is a failed step, and the other chains' results stay."""

from __future__ import annotations

import sys

import gate


def test_a_chain_that_stops_is_reported_failed_beside_the_others(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(gate, 'LOGS', tmp_path)
    runner = gate.Gate([])

    def steady_chain() -> None:
        runner.run('steady step', [sys.executable, '-c', 'print("fine")'], env={}, cwd=tmp_path, timeout=60)

    def broken_chain() -> None:
        runner.run('step before the break', [sys.executable, '-c', 'pass'], env={}, cwd=tmp_path, timeout=60)
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
