"""tools/check_many_accounts.py: the reusable pieces (no playbook run here; the script itself does that)."""

from __future__ import annotations

import check_many_accounts as many
import yaml


def test_build_fleet_makes_n_accounts_of_m_rooms_with_the_last_ones_bad():
    fleet = many.build_fleet(n_accounts=12, rooms_per_account=4, bad=2)
    assert [acct.host for acct in fleet.accounts][:2] == ['acct-01', 'acct-02']
    assert all(len(acct.ci_rooms) == 4 for acct in fleet.accounts)
    assert [acct.bad for acct in fleet.accounts] == [False] * 10 + [True] * 2
    assert len({acct.token for acct in fleet.accounts}) == 12
    config = fleet.emulator_config()
    assert set(config['accounts']) == {acct.auth_id for acct in fleet.accounts}
    assert config['accounts']['MA_ACCT01']['conferences'] == ['ci-01-1', 'ci-01-2', 'ci-01-3', 'ci-01-4', 'Board Room', 'prod-ci-1']
    tokens = fleet.vault_vars()['vault_vobiz_tokens']
    assert tokens['MA_ACCT01'] == config['accounts']['MA_ACCT01']['token']
    assert tokens['MA_ACCT12'] != config['accounts']['MA_ACCT12']['token']


def test_the_written_inventory_is_the_shipped_example_with_the_fleet_and_a_vaulted_token(tmp_path):
    fleet = many.build_fleet(3, 1, 0)
    paths = fleet.write(tmp_path, 'http://127.0.0.1:1/api/v1', 'pw')
    group = yaml.safe_load(paths['inventory'].read_text(encoding='utf-8'))['all']['children']['vobiz_accounts']
    assert group['vars']['conference_maintenance_auth_token'] == '{{ vault_vobiz_tokens[vobiz_auth_id] }}'
    assert group['vars']['vobiz_api_url'] == 'http://127.0.0.1:1/api/v1'
    assert group['hosts'] == {'acct-1': {'vobiz_auth_id': 'MA_ACCT1'}, 'acct-2': {'vobiz_auth_id': 'MA_ACCT2'}, 'acct-3': {'vobiz_auth_id': 'MA_ACCT3'}}
    assert paths['vault_file'].read_text(encoding='utf-8').startswith('$ANSIBLE_VAULT;1.1;AES256')
    assert fleet.accounts[0].token not in paths['vault_file'].read_text(encoding='utf-8')


def test_parse_recap():
    out = (
        'PLAY RECAP *****\n'
        'acct-01                    : ok=11   changed=1    unreachable=0    failed=0    skipped=4    rescued=0    ignored=0   \n'
        'acct-02                    : ok=11   changed=0    unreachable=0    failed=1    skipped=2    rescued=1    ignored=0   \n'
    )
    recap = many.parse_recap(out)
    assert recap['acct-01']['failed'] == 0 and recap['acct-02']['failed'] == 1 and recap['acct-02']['rescued'] == 1
