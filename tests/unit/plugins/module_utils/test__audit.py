# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Unit tests of _audit: one JSON line per outcome on an O_APPEND descriptor (0600, no symbolic link), every line
whole after a full disk, run ids; the summary file."""

import json
import os

import pytest

from ansible_collections.vobiz.voice.plugins.module_utils import _errors
from ansible_collections.vobiz.voice.plugins.module_utils._audit import AuditLog, check_audit_log
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import AUTH_ID


def test_audit_log_appends_one_line_per_record(tmp_path):
    path = str(tmp_path / 'audit.jsonl')
    with open(path, 'w') as handle:
        handle.write('{"earlier": true}\n')
    with AuditLog(path, AUTH_ID, check_mode=True) as audit:
        audit.record('Ünï\ncode', 'hung_up', 204)
        audit.record('b', 'failed', 503, message='HTTP 503')
    with open(path) as handle:
        lines = handle.read().splitlines()
    assert len(lines) == 3 and json.loads(lines[0]) == {'earlier': True}
    first = json.loads(lines[1])
    assert first['name'] == 'Ünï\ncode' and first['outcome'] == 'hung_up' and first['status'] == 204
    assert first['check_mode'] is True and first['auth_id'] == AUTH_ID and first['time'].endswith('Z')
    assert json.loads(lines[2])['message'] == 'HTTP 503'


def test_audit_log_unwritable_names_option(tmp_path):
    with pytest.raises(VobizInputError) as info:
        AuditLog(str(tmp_path / 'missing-dir' / 'a.jsonl'), AUTH_ID)
    assert info.value.option == 'audit_log'


def test_audit_log_refuses_a_symlink(tmp_path):
    target = tmp_path / 'target.jsonl'
    target.write_text('')
    link = tmp_path / 'audit.jsonl'
    link.symlink_to(target)
    with pytest.raises(VobizInputError) as info:
        AuditLog(str(link), AUTH_ID)
    assert info.value.option == 'audit_log' and 'symbolic link' in str(info.value) and 'audit_log' in str(info.value)
    dangling = tmp_path / 'dangling.jsonl'
    dangling.symlink_to(tmp_path / 'nowhere.jsonl')
    with pytest.raises(VobizInputError):
        AuditLog(str(dangling), AUTH_ID)
    assert target.read_text() == '' and not (tmp_path / 'nowhere.jsonl').exists()


def test_audit_log_is_created_0600_whatever_the_umask(tmp_path):
    previous = os.umask(0)
    try:
        AuditLog(str(tmp_path / 'new.jsonl'), AUTH_ID).close()
    finally:
        os.umask(previous)
    assert os.stat(str(tmp_path / 'new.jsonl')).st_mode & 0o777 == 0o600


def test_audit_log_lines_carry_run_id_change_id_and_reason(tmp_path):
    path = str(tmp_path / 'audit.jsonl')
    with AuditLog(path, AUTH_ID, run_id='run-1', change_id='CHG-42', reason='maintenance') as audit:
        audit.record('a', 'hung_up', 204)
    with AuditLog(path, AUTH_ID) as audit:
        audit.record('b', 'hung_up', 204)
    with open(path) as handle:
        first, second = [json.loads(line) for line in handle]
    assert (first['run_id'], first['change_id'], first['reason']) == ('run-1', 'CHG-42', 'maintenance')
    assert len(second['run_id']) == 32 and 'change_id' not in second and 'reason' not in second


def _faulty_writer(fail_on, mode):
    """A writer that short-writes (half the line) or fails (ENOSPC) on line number ``fail_on`` (1-based)."""
    calls = []

    def write(fd, data):
        calls.append(data)
        if len(calls) == fail_on:
            if mode == 'fail':
                raise OSError(28, 'No space left on device')
            return os.write(fd, data[: len(data) // 2])
        if len(calls) == fail_on + 1 and mode == 'short-and-newline-fails' and data == b'\n':
            raise OSError(28, 'No space left on device')
        return os.write(fd, data)

    return write


@pytest.mark.parametrize('mode', ['short', 'short-and-newline-fails', 'fail'])
def test_audit_log_full_disk_leaves_valid_lines(tmp_path, mode):
    path = str(tmp_path / 'audit.jsonl')
    audit = AuditLog(path, AUTH_ID, writer=_faulty_writer(3, mode))
    audit.record('a', 'hung_up', 204)
    audit.record('b', 'hung_up', 204)
    with pytest.raises(_errors.VobizFatalError) as info:
        audit.record('c', 'hung_up', 204)
    assert 'audit log' in str(info.value)
    audit.record('d', 'hung_up', 204)  # the same run, once the disk has room again
    audit.close()
    with AuditLog(path, AUTH_ID) as later:  # and a later run
        later.record('e', 'hung_up', 204)
    with open(path) as handle:
        lines = handle.read().split('\n')
    assert lines[-1] == ''
    parsed = []
    for line in lines[:-1]:
        try:
            parsed.append(json.loads(line)['name'])
        except ValueError:
            parsed.append('<partial>')
    assert parsed == (['a', 'b', 'd', 'e'] if mode == 'fail' else ['a', 'b', '<partial>', 'd', 'e'])


def test_audit_log_starts_fresh_after_a_cut_line_from_an_earlier_run(tmp_path):
    path = tmp_path / 'audit.jsonl'
    path.write_bytes(b'{"name": "old", "outcome": "hung_up"}\n{"name": "cut sh')
    with AuditLog(str(path), AUTH_ID) as audit:
        audit.record('new', 'hung_up', 204)
        audit.record('newer', 'hung_up', 204)
    lines = path.read_text().splitlines()
    assert lines[1] == '{"name": "cut sh'
    assert [json.loads(line)['name'] for line in (lines[0], lines[2], lines[3])] == ['old', 'new', 'newer']


def test_check_audit_log_refuses_what_audit_log_refuses_and_creates_nothing(tmp_path):
    """``validate_only`` checks the audit log without opening it for good: what ``AuditLog`` refuses, with its message,
    and no file created or changed."""
    existing = tmp_path / 'audit.jsonl'
    existing.write_text('{"earlier": true}\n')
    check_audit_log(str(existing))
    check_audit_log(str(tmp_path / 'new.jsonl'))
    assert existing.read_text() == '{"earlier": true}\n' and sorted(os.listdir(str(tmp_path))) == ['audit.jsonl']
    link = tmp_path / 'link.jsonl'
    link.symlink_to(existing)
    for path in (str(link), str(tmp_path / 'missing-dir' / 'a.jsonl'), str(tmp_path)):
        with pytest.raises(VobizInputError) as checked:
            check_audit_log(path)
        with pytest.raises(VobizInputError) as opened:
            AuditLog(path, AUTH_ID)
        assert checked.value.option == 'audit_log' and str(checked.value) == str(opened.value)
