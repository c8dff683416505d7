# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Case 12: 10 000 names in one task, the module in its own process as Ansible runs it; its peak RSS stays bounded."""

from __future__ import annotations

from ansible_collections.vobiz.voice.tests.reliability.helpers import (
    AUTH_ID,
    TOKEN,
    read_audit,
    run_module_process,
)

#: Peak RSS may grow by at most this much from 1 000 to 10 000 names (about 4.5 kB per extra name).
MAX_GROWTH_KB = 40 * 1024
#: And never exceed this.
MAX_PEAK_KB = 200 * 1024


def hang_up(emu, tmp_path, count, label):
    names = ['load-{0:05d}'.format(i) for i in range(count)]
    for name in names:
        emu.add_conference(name, members=0)
    emu.clear_log()
    audit = str(tmp_path / 'audit-{0}.jsonl'.format(label))
    args = dict(auth_id=AUTH_ID, auth_token=TOKEN, api_url=emu.api_url, name=names, parallel=16, audit_log=audit)
    proc = run_module_process('vobiz_conference', args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = proc.result
    assert result['changed'] is True and result['failures'] == [] and result['already_absent'] == []
    assert len(result['hung_up']) == count and set(result['hung_up']) == set(names)
    assert len(read_audit(audit)) == count
    log = emu.requests()
    assert len(log) == count and {e['status'] for e in log} == {204}
    assert TOKEN not in proc.stdout + proc.stderr
    assert proc.peak_rss_kb is not None
    return proc, len(log)


def test_ten_thousand_names_in_one_task(emulators, figures, tmp_path):
    emu = emulators()
    emu.add_conference('bystander', members=0)

    small, small_requests = hang_up(emu, tmp_path, 1000, 'small')
    large, large_requests = hang_up(emu, tmp_path, 10000, 'large')

    assert emu.live_names() == ['bystander']
    growth = large.peak_rss_kb - small.peak_rss_kb
    assert large.peak_rss_kb < MAX_PEAK_KB, large.peak_rss_kb
    assert growth < MAX_GROWTH_KB, (small.peak_rss_kb, large.peak_rss_kb)
    for proc, count, requests in ((small, 1000, small_requests), (large, 10000, large_requests)):
        figures.record(
            '12',
            'load, one task, module process',
            '{0:,} rooms, peak RSS {1:.1f} MiB'.format(count, proc.peak_rss_kb / 1024.0),
            'none',
            requests,
            len(proc.result['hung_up']),
            count,
            count - len(proc.result['hung_up']),
            proc.seconds,
        )
