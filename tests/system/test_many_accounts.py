# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``ci_teardown`` across many Vobiz accounts at once, one inventory host per account.

One emulator process holds 20 accounts of three ``ci-*`` rooms and two bystander rooms each; the inventory is the
shipped ``extensions/inventory/vobiz_accounts.yml`` with the tokens in a vault-encrypted
``group_vars/vobiz_accounts/vault.yml`` beside it, one of them wrong on purpose; ``ansible-playbook
vobiz.voice.ci_teardown --forks 10`` runs over all of them.
"""

from __future__ import annotations

import json
import re

from ansible_collections.vobiz.voice.tests.emulator.ansible_runs import (
    Emulator,
    build_fleet,
    play_recap,
    run_ci_teardown,
)


def test_one_bad_token_fails_its_account_alone(tmp_path):
    fleet = build_fleet(n_accounts=20, rooms_per_account=3, bad=1)
    with Emulator(tmp_path, fleet.emulator_config()) as emulator:
        paths = fleet.write(tmp_path, emulator.api_url, 'vault-password')
        result = run_ci_teardown(tmp_path, paths, forks=10)
        live = emulator.live_rooms()
    vault = paths['vault_file'].read_text(encoding='utf-8')
    assert vault.startswith('$ANSIBLE_VAULT;1.1;AES256')
    recap = play_recap(result.stdout)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output[-4000:]  # ansible-playbook: some host failed
    for acct in fleet.accounts:
        assert acct.token not in vault and acct.token not in output, acct.host
        # in the PLAY RECAP: neither stopped nor hidden by the bad account
        assert (recap[acct.host]['failed'], recap[acct.host]['unreachable']) == (int(acct.bad), 0), acct.host
        summary = json.loads((tmp_path / f'vobiz-teardown-summary-{acct.host}.json').read_text(encoding='utf-8'))
        if acct.bad:  # its rooms untouched
            assert live[acct.auth_id] == sorted(acct.ci_rooms + list(acct.bystanders))
            assert not summary.get('hung_up')
            reported = (f'fatal: [{acct.host}]', f'failed: [{acct.host}]')
            fatal = ' '.join(line for line in result.stdout.splitlines() if line.startswith(reported))
            assert re.search(r'401|auth', fatal, re.IGNORECASE), fatal or 'its failure is not reported'
        else:  # its ci-* rooms hung up, its bystanders kept
            assert live[acct.auth_id] == sorted(acct.bystanders)
            assert sorted(summary['hung_up']) == sorted(acct.ci_rooms)
