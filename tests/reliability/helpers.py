# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Helpers of the reliability suite: module runs (in-process and as a real process) and log digests."""

from __future__ import annotations

import collections
import json
import os
import pathlib
import subprocess
import sys
import time

from ansible_collections.vobiz.voice.plugins.modules import (
    vobiz_conference,
    vobiz_conference_announce,
    vobiz_conference_info,
    vobiz_conference_member,
)

# The bound on a wait that only guards against a hang (generous: a loaded machine never reaches it).
from ansible_collections.vobiz.voice.tests.emulator.vobiz_emulator import HANG_GUARD_SECONDS  # noqa: F401  pylint: disable=unused-import

# The test account (AUTH_ID, TOKEN, PREFIX) is the unit tests' one; the suite's files import it from here.
from ansible_collections.vobiz.voice.tests.unit.plugins.modules.utils import (  # noqa: F401  pylint: disable=unused-import
    AUTH_ID,
    PREFIX,
    TOKEN,
    module_args,
    run_module,
)

MODULES = {
    'vobiz_conference': vobiz_conference.main,
    'vobiz_conference_announce': vobiz_conference_announce.main,
    'vobiz_conference_info': vobiz_conference_info.main,
    'vobiz_conference_member': vobiz_conference_member.main,
}

# Runs the module as its only child and reports the child's peak RSS (kB on Linux) on stderr.
LAUNCHER = (
    'import resource, subprocess, sys\n'
    'proc = subprocess.run(sys.argv[1:])\n'
    'sys.stderr.write("\\nVOBIZ_PEAK_RSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n'
    'sys.exit(proc.returncode)\n'
)


def run(module, emu, check_mode=False, diff=False, **kwargs):
    """Run a module in-process against ``emu``; return ``(failed, result)``."""
    return run_module(MODULES[module], module_args(emu, **kwargs), check_mode=check_mode, diff=diff)


def timed(func, *args, **kwargs):
    """``(seconds, func(*args, **kwargs))``."""
    started = time.monotonic()
    value = func(*args, **kwargs)
    return time.monotonic() - started, value


def read_audit(path):
    """The audit log's lines, parsed."""
    if not os.path.exists(path):
        return []
    with open(path, encoding='ascii') as handle:
        return [json.loads(line) for line in handle]


def fault_counts(entries):
    """``{kind: count}`` of the injected faults in emulator log entries."""
    return dict(collections.Counter(entry['fault'] for entry in entries if entry['fault']))


def describe_faults(counts):
    """``'429_retry_after 12, drop 9'``, or ``'none'``."""
    return ', '.join('{0} {1}'.format(kind, counts[kind]) for kind in sorted(counts)) or 'none'


def deleted_names(entries):
    """Conference names that some DELETE really hung up (204, or a lost reply, which the emulator carries out)."""
    return {
        e['conference']
        for e in entries
        if e['method'] == 'DELETE' and e['action'] == 'hangup' and (e['status'] == 204 or e['fault'] == 'lost_reply')
    }


def collections_root():
    """The directory that holds ``ansible_collections/`` (as imported, not resolved: it may be a symlink farm)."""
    here = pathlib.Path(os.path.abspath(__file__))
    for parent in here.parents:
        if parent.name == 'ansible_collections':
            return parent.parent
    raise RuntimeError('{0} is not inside an ansible_collections tree'.format(here))


def subprocess_env(**extra):
    """The environment for a child process that must import ansible and this collection as we do."""
    env = dict(os.environ)
    root = str(collections_root())
    paths = []
    for path in [root] + sys.path + env.get('PYTHONPATH', '').split(os.pathsep):
        if path and path not in paths:
            paths.append(path)
    env['PYTHONPATH'] = os.pathsep.join(paths)
    env['ANSIBLE_COLLECTIONS_PATH'] = root
    env['ANSIBLE_NOCOLOR'] = '1'
    for name in ('VOBIZ_AUTH_ID', 'VOBIZ_AUTH_TOKEN', 'VOBIZ_API_URL'):
        env.pop(name, None)
    env.update(extra)
    return env


class ModuleProcess:
    """What a module run as its own process did."""

    def __init__(self, returncode, stdout, stderr, seconds):
        self.returncode = returncode
        self.stdout = stdout
        self.seconds = seconds
        marker = '\nVOBIZ_PEAK_RSS_KB='
        self.peak_rss_kb = None
        if marker in stderr:
            stderr, tail = stderr.rsplit(marker, 1)
            self.peak_rss_kb = int(tail.strip())
        self.stderr = stderr
        try:
            self.result = json.loads(stdout)
        except ValueError:
            self.result = None


def run_module_process(module, args, env=None):
    """Run ``plugins/modules/<module>.py`` as Ansible does: its own Python process, arguments as JSON on stdin.

    No time limit: a module that hangs is ended by the gate, which ends a step silent (no output, no CPU) for minutes.
    """
    cmd = [
        sys.executable,
        '-c',
        LAUNCHER,
        sys.executable,
        '-m',
        'ansible_collections.vobiz.voice.plugins.modules.' + module,
    ]
    payload = json.dumps({'ANSIBLE_MODULE_ARGS': args}).encode('utf-8')
    started = time.monotonic()
    proc = subprocess.run(
        cmd, input=payload, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or subprocess_env(), check=False
    )
    return ModuleProcess(
        proc.returncode,
        proc.stdout.decode('utf-8', 'replace'),
        proc.stderr.decode('utf-8', 'replace'),
        time.monotonic() - started,
    )
