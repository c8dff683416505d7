# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The audit log: one JSON line per outcome, appended as outcomes arrive, never holding the token.

PRIVATE: part of the vobiz.voice collection only; may change in any release.
"""

import datetime
import errno
import json
import os
import tempfile
import uuid

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizFatalError, VobizInputError


def utc_timestamp():
    """ISO-8601 UTC time with milliseconds, e.g. ``2025-01-31T12:00:00.123Z``."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.strftime('%Y-%m-%dT%H:%M:%S.') + '{0:03d}Z'.format(now.microsecond // 1000)


def _write_audit(fd, data):
    """``os.write``, the one way audit lines reach the file (tests replace it to fake a full disk)."""
    return os.write(fd, data)


def new_run_id():
    """A random id shared by every audit line of one module run (and returned as ``run_id``)."""
    return uuid.uuid4().hex


def audit_option_spec():
    """The audit options shared by the modules that change something (documented in ``vobiz.voice.audit_log``)."""
    return dict(
        audit_log=dict(type='path'),
        change_id=dict(type='str'),
        reason=dict(type='str'),
    )


def check_audit_log(path, option='audit_log'):
    """Refuse (``VobizInputError`` naming ``option``) an audit log that ``AuditLog`` would refuse, without creating or
    changing it: a symbolic link, a file that cannot be appended to, a directory that does not exist or cannot be
    written to."""
    flags = os.O_APPEND | os.O_WRONLY | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOFOLLOW', 0)
    if os.path.islink(path):
        message = '{0} {1!r} is a symbolic link; refusing to follow it: set {0} to the path of the file itself'
        raise VobizInputError(message.format(option, path), option=option)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if os.path.lexists(path):
            os.close(os.open(path, flags))
        elif not os.path.isdir(directory):
            raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
        elif not os.access(directory, os.W_OK | os.X_OK):
            raise OSError(errno.EACCES, os.strerror(errno.EACCES))
    except OSError as exc:
        message = '{0} {1!r} cannot be opened for appending: {2}'.format(option, path, exc.strerror or exc)
        raise VobizInputError(message, option=option)


class AuditLog:
    """Append-only JSON-lines audit log: one ``write`` per line on an ``O_APPEND`` descriptor.

    Lines are written as outcomes arrive, so nothing done is lost if the run fails later.
    Each line: ``time`` (ISO-8601 UTC), ``run_id``, ``auth_id``, ``action``, ``name``, ``outcome``,
    ``status`` (HTTP), ``check_mode``, ``change_id`` and ``reason`` when given, plus any extra
    fields. Never the token. The format is documented in the ``vobiz.voice.audit_log`` doc fragment.

    The file is opened without following a symbolic link, and created with mode 0600. Every line
    starts on a fresh line: when the file does not end in a newline (a line cut short by an
    earlier full disk), or after a short or failed write in this run, the next line is preceded
    by ``\n``. A failed or short write raises ``VobizFatalError``, which stops the batch.
    ``writer`` (``os.write`` by default) is there for tests.
    """

    def __init__(
        self,
        path,
        auth_id,
        check_mode=False,
        action='hang_up',
        option='audit_log',
        run_id=None,
        change_id=None,
        reason=None,
        writer=None,
    ):
        self.path = path
        self.auth_id = auth_id
        self.check_mode = bool(check_mode)
        self.action = action
        self.run_id = run_id or new_run_id()
        self.change_id = change_id
        self.reason = reason
        self._write = writer or _write_audit
        #: Set once a line could not be written completely: the run stops, and no later line is attempted.
        self.failed = False
        flags = os.O_APPEND | os.O_CREAT | getattr(os, 'O_CLOEXEC', 0) | getattr(os, 'O_NOFOLLOW', 0)
        try:
            try:
                # Read access only to look at the last byte; fall back to write-only.
                self._fd = os.open(path, flags | os.O_RDWR, 0o600)
            except PermissionError:
                self._fd = os.open(path, flags | os.O_WRONLY, 0o600)
        except OSError as exc:
            if os.path.islink(path):
                raise VobizInputError(
                    '{0} {1!r} is a symbolic link; refusing to follow it: '
                    'set {0} to the path of the file itself'.format(option, path),
                    option=option,
                )
            raise VobizInputError(
                '{0} {1!r} cannot be opened for appending: {2}'.format(option, path, exc.strerror or exc), option=option
            )
        self._needs_newline = not self._ends_with_newline()

    def _ends_with_newline(self):
        """False when the file holds a last line without its newline (cut short by an earlier full disk)."""
        try:
            size = os.fstat(self._fd).st_size
            if size <= 0:
                return True
            return os.pread(self._fd, 1, size - 1) in (b'\n', b'')
        except OSError:  # write-only, or not a regular file: nothing to look at
            return True

    def record(self, name, outcome, status=None, **extra):
        """Append one line; raises ``VobizFatalError`` if it cannot be written completely."""
        entry = dict(
            time=utc_timestamp(),
            run_id=self.run_id,
            auth_id=self.auth_id,
            action=self.action,
            name=name,
            outcome=outcome,
            status=status,
            check_mode=self.check_mode,
        )
        if self.change_id is not None:
            entry['change_id'] = self.change_id
        if self.reason is not None:
            entry['reason'] = self.reason
        for key, value in extra.items():
            if value is not None:
                entry[key] = value
        data = (json.dumps(entry, ensure_ascii=True) + '\n').encode('ascii')
        if self._needs_newline:
            data = b'\n' + data
        try:
            written = self._write(self._fd, data)
        except OSError as exc:
            # A failed write() wrote nothing: what comes next starts where this line would have.
            self.failed = True
            raise VobizFatalError(
                'Writing the audit log {0!r} failed ({1}); stopped so that nothing goes unrecorded.'.format(
                    self.path, exc.strerror or exc
                )
            )
        if written != len(data):
            self.failed = True
            self._end_partial_line()
            raise VobizFatalError(
                'Short write to the audit log {0!r} ({1} of {2} bytes); '
                'stopped so that nothing goes unrecorded.'.format(self.path, written, len(data))
            )
        self._needs_newline = False

    def _end_partial_line(self):
        """After a short write: end the partial line now if the disk allows, else start the next one with ``\n``.

        Rolling the partial line back is not safe with ``O_APPEND``: another writer may have appended since.
        """
        self._needs_newline = True
        try:
            if self._write(self._fd, b'\n') == 1:
                self._needs_newline = False
        except OSError:
            pass

    def close(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


#: The lists of a summary, in which each selected conference is exactly once.
SUMMARY_LISTS = ('hung_up', 'already_absent', 'gone_unconfirmed', 'uncertain', 'failed', 'not_started')


def outcome_summary(result, check_mode, message, stopped=False, interrupted=False, running=False):
    """The summary of a hang-up run (the format of the ``ci_teardown`` playbook's ``VOBIZ_TEARDOWN_SUMMARY``).

    ``result``: the module's result (names escaped). Each selected conference is in exactly one of ``SUMMARY_LISTS``:
    an uncertain one (also in ``failures``) and one in flight at an interrupt are ``uncertain``, ``failed`` holds the
    others of ``failures``. ``excluded`` names the protected ones. ``status``: ``running`` (written before the first
    hang-up is sent, replaced when the run ends: it stays only when the module was killed), ``interrupted`` (a signal
    stopped the run), ``partial`` or ``failed`` (the run ``stopped`` with or without hang-ups), else ``ok`` or
    ``nothing_to_do``.
    """
    uncertain = list(result.get('uncertain', [])) + [
        name for name in result.get('interrupted', []) if name not in result.get('uncertain', [])
    ]
    failed = [
        entry['name']
        for entry in result.get('failures', [])
        if entry.get('name') is not None and entry['name'] not in uncertain
    ]
    lists = dict((key, list(result.get(key, []))) for key in SUMMARY_LISTS)
    lists.update(uncertain=uncertain, failed=failed, excluded=list(result.get('excluded', [])))
    if running:
        status = 'running'
    elif interrupted:
        status = 'interrupted'
    elif stopped:
        status = 'partial' if lists['hung_up'] else 'failed'
    else:
        status = 'ok' if lists['hung_up'] else 'nothing_to_do'
    return dict(
        lists,
        status=status,
        check_mode=bool(check_mode),
        message=message,
        counts=dict((key, len(value)) for key, value in lists.items()),
    )


def write_report(path, data):
    """Write ``data`` as one JSON line to ``path``, whole or not at all (a temporary file renamed over it)."""
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(prefix='.vobiz-', dir=directory)
    try:
        with os.fdopen(handle, 'w') as stream:
            stream.write(json.dumps(data, sort_keys=True, ensure_ascii=True) + '\n')
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
