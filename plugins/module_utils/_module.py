# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The base of every vobiz.voice module: set-up, the live list, batches, audit lines and the exit.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

A module subclasses ``VobizModule`` with its own options (``options`` and the option relations),
its own input checks (``prepare``), its result (``result_for``) and its logic (``run``); its
``main()`` is ``TheModule.execute()``. The base builds the ``AnsibleModule`` with the connection
(and audit) options merged in, checks every input before the first request, builds the client and
the audit log, runs under an ``InterruptGuard``, and exits with the client's warnings first.
"""

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vobiz.voice.plugins.module_utils._audit import AuditLog, audit_option_spec, new_run_id
from ansible_collections.vobiz.voice.plugins.module_utils._batch import InterruptGuard
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    CHECK_MODE_OUTCOMES,
    OUTCOME_NOT_STARTED,
    ConferenceApi,
    Retrieved,
)
from ansible_collections.vobiz.voice.plugins.module_utils._connection import validate_connection_params, vobiz_argument_spec
from ansible_collections.vobiz.voice.plugins.module_utils._errors import (
    VobizBatchAborted,
    VobizFatalError,
    VobizInputError,
    VobizRequestError,
)
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name, escape_names
from ansible_collections.vobiz.voice.plugins.module_utils._selection import excluded_name_warning, list_warning
from ansible_collections.vobiz.voice.plugins.module_utils._transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR


class VobizModule:
    """What every vobiz.voice module repeats; a subclass keeps its options, its checks and its logic."""

    #: The module's own options; the connection options (and the audit options, see ``audit_action``) are merged in.
    options = {}
    #: Option relations, declared for ``AnsibleModule``.
    mutually_exclusive = ()
    required_one_of = ()
    #: The ``action`` of the module's audit lines; ``None`` for a module that changes nothing (no audit options).
    audit_action = None
    #: How the message of a run with failures starts (see ``conclude``), e.g. ``'Could not hang up'``.
    failure_head = None
    #: Which result list each ``Outcome.outcome`` goes to (see ``add_outcome``); any other outcome is a failure.
    outcome_keys = {}
    #: The result keys that hold lists of names (or member ids), returned escaped (``escape_name``), as are the
    #: ``name`` and ``member_id`` of each ``failures`` entry.
    name_keys = ()

    def __init__(self, module, client, audit=None, run_id=None):
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        self.audit = audit
        self.run_id = run_id
        #: The module's own warnings, shown after the client's.
        self.warnings = []
        #: What the module returns (see ``result_for``).
        self.result = {}
        #: The items a batch stopped by a fatal error or an interrupt never sent.
        self.not_started = []

    @classmethod
    def argument_spec(cls):
        spec = vobiz_argument_spec()
        spec.update(cls.options)
        if cls.audit_action is not None:
            spec.update(audit_option_spec())
        return spec

    @classmethod
    def execute(cls):
        """The module's ``main()``: every input is checked before the first request."""
        module = AnsibleModule(
            argument_spec=cls.argument_spec(),
            supports_check_mode=True,
            mutually_exclusive=list(cls.mutually_exclusive),
            required_one_of=list(cls.required_one_of),
        )
        if not HAS_REQUESTS:
            module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
        try:
            inputs = cls.prepare(module.params)
        except VobizInputError as exc:
            module.fail_json(msg=str(exc))
        client = client_from_module(module)
        run_id = audit = None
        if cls.audit_action is not None:
            run_id = new_run_id()
            audit = audit_log_from_module(module, client, run_id, action=cls.audit_action)
        with InterruptGuard(client):
            cls(module, client, audit, run_id, **inputs).run()

    @staticmethod
    def prepare(params):
        """Check the module's own options (raise ``VobizInputError`` naming the option): ``__init__``'s keyword arguments."""
        return {}

    def run(self):
        raise NotImplementedError

    def result_for(self, msg):
        """The module's result; ``msg`` (when given) replaces its summary."""
        raise NotImplementedError

    def finish(self, failed_msg=None, msg=None):
        """Exit: the client's warnings, then the module's; the audit log closed; fail when ``failed_msg`` is given.

        ``msg`` replaces the summary of a run that did not fail.
        """
        for warning in self.client.warnings + self.warnings:
            self.module.warn(warning)
        if self.audit is not None:
            self.audit.close()
        result = self.escaped(self.result_for(failed_msg or msg))
        if failed_msg:
            self.module.fail_json(**result)
        self.module.exit_json(**result)

    def escaped(self, result):
        """``result`` with every name escaped (``name_keys``, ``failures``): printable text Ansible can always carry,
        which puts no line break into any output line, and which ``names_escaped`` turns back into the names."""
        result = dict(result)
        for key in self.name_keys:
            if isinstance(result.get(key), list):
                result[key] = escape_names(result[key])
        if isinstance(result.get('failures'), list):
            result['failures'] = [
                dict(entry, **dict((key, escape_name(entry[key])) for key in ('name', 'member_id') if key in entry)) for entry in result['failures']
            ]
        return result

    def conclude(self):
        """The end of ``run``: fail when the result holds ``failures`` (the first ten named), else exit with the summary."""
        failures = self.result.get('failures')
        self.finish(failed_msg=self.failures_text(failures) if failures else None)

    def failures_text(self, failures):
        """The message of a run with ``failures`` (see ``failures_message``)."""
        return failures_message(self.failure_head, failures)

    def counted(self, head, labels, note=None):
        """``summary`` of ``head`` and, for every ``(result key, label)``, how many entries the result holds there.

        The items a stopped batch never sent (``not_started``) are counted last.
        """
        return summary(head, [(len(self.result[key]), label) for key, label in labels] + [(len(self.not_started), 'not started')], note)

    def add_outcome(self, outcome):
        """Put one ``Outcome`` into the result list ``outcome_keys`` names for it, or else into ``failures``."""
        if outcome is None:  # not run: the batch was stopped
            return
        key = self.outcome_keys.get(outcome.outcome)
        if key is not None:
            self.result[key].append(outcome.name)
        else:
            self.result['failures'].append(outcome.failure())

    def guarded(self, func, *args):
        """``func(*args)`` outside a batch; a fatal error, an interrupt or a request without answer ends the run."""
        try:
            answer = func(*args)
        except (VobizFatalError, VobizRequestError, VobizBatchAborted) as exc:
            self.finish(failed_msg=str(self.client.interrupted or exc))
        if self.client.interrupted:  # an answer cut short by the interrupt (a retry not sent): nothing may follow it
            self.finish(failed_msg=str(self.client.interrupted))
        return answer

    def live_names(self, consequence):
        """The live list (``GET Conference/``), warning when it is empty or unreadable; exits when it cannot be read.

        ``consequence`` says what an empty list means for this run (the live service has been seen
        listing no rooms while some were live).
        """
        live, readable = self.guarded(self.client.list_names)
        if not live or not readable:
            self.warnings.append(list_warning('empty' if readable else 'unreadable', consequence))
        return live

    def select(self, selection, consequence='match may have missed rooms.'):
        """``(targets, live list)`` of a ``Selection``: the list read only when it needs one (see ``live_names``).

        The selected names ``exclude`` protects go to the result's ``excluded``, with a warning for those named explicitly.
        """
        live = self.live_names(consequence) if selection.needs_list else None
        targets, self.result['excluded'], excluded_explicit = selection.resolve(live)
        self.warnings.extend(selection.warnings)
        self.warnings.extend(excluded_name_warning(name) for name in excluded_explicit)
        return targets, live

    def run_batch(self, func, items, record=None, on_result=None, on_error=None, summarise=None):
        """``client.run_concurrently``, its results passed to ``record``; a stopped batch records what was done and exits.

        ``summarise()``: what to add to the message of a run stopped by a fatal error or an interrupt (what was done;
        ``not_started`` then holds the items the stopped batch never sent, each also in the result and the audit log:
        see ``record_not_started``).
        """
        items = list(items)
        try:
            results = self.client.run_concurrently(func, items, on_result=on_result, on_error=on_error)
        except VobizFatalError as exc:
            done = exc.results or [None] * len(items)
            self.not_started = [item for item, result in zip(items, done) if result is None]
            if record is not None:
                record(done)
            self.record_not_started(self.not_started)
            if summarise is not None:
                self.finish(failed_msg='{0} {1}'.format(exc, summarise()))
            self.finish(failed_msg=str(exc))
        if record is not None:
            record(results)
        return results

    def record_not_started(self, items):
        """The items a stopped batch never sent: in the result's ``not_started`` (when it has one) and one audit line each."""
        if 'not_started' in self.result:
            self.result['not_started'] = list(items)
        for item in items:
            self.audit_line(item, OUTCOME_NOT_STARTED)

    def retrieve_all(self, names, record=None):
        """``GET`` every named conference, concurrently: a ``Retrieved`` each; a name the worker could not handle is unreadable."""
        return self.run_batch(self.client.retrieve, names, record, on_error=Retrieved.unreadable_after)

    def audit_line(self, name, outcome, status=None, **extra):
        """One audit line; in check mode the outcome is a prediction (``would_...``), never a claim that something was done."""
        if self.audit is None or self.audit.failed:  # a failed audit log stopped the run: nothing more is attempted there
            return
        if self.check_mode:
            outcome = CHECK_MODE_OUTCOMES.get(outcome, outcome)
        if 'member_id' in extra:
            extra['member_id'] = escape_name(extra['member_id'])
        self.audit.record(escape_name(name), outcome, status, **extra)


#: The label of the requests that were in flight when the run was interrupted.
INTERRUPTED_LABEL = 'interrupted in flight (outcome unknown)'


def summary(head, counts, note=None):
    """``'Hung up 2 conference(s); 1 failed.'``: ``head``, ``count label`` for every non-zero count, then ``note``."""
    parts = [head] + ['{0} {1}'.format(count, label) for count, label in counts if count]
    return '; '.join(parts + ([note] if note else [])) + '.'


def failures_message(head, failures, note=None):
    """``'Could not hang up 2 conference(s): 'a' (HTTP 500), 'b' (...)'``: the first ten failures, then how many more.

    ``note`` goes in brackets after the count, e.g. ``'Could not hang up 2 conference(s) (1 uncertain: ...): ...'``.
    """
    shown = ', '.join('{0!r} ({1})'.format(entry['name'], entry['message']) if entry['name'] is not None else entry['message'] for entry in failures[:10])
    if len(failures) > 10:
        shown += ' and {0} more'.format(len(failures) - 10)
    return '{0} {1} conference(s){2}: {3}'.format(head, len(failures), ' ({0})'.format(note) if note else '', shown)


def client_from_module(module, **extra):
    """Build a ``ConferenceApi`` from the module's connection options.

    Fails the module (before any request) on bad input, and forwards the connection warnings
    (plain http, validate_certs false).
    """
    try:
        kwargs, warnings = validate_connection_params(module.params)
    except VobizInputError as exc:
        module.fail_json(msg=str(exc))
    for warning in warnings:
        module.warn(warning)
    kwargs.update(extra)
    return ConferenceApi(**kwargs)


def audit_log_from_module(module, client, run_id, action):
    """The module's ``AuditLog`` (``audit_log``, ``change_id``, ``reason`` options), or ``None`` without ``audit_log``.

    Fails the module, naming ``audit_log``, when the file cannot be opened (before any request).
    """
    if not module.params.get('audit_log'):
        return None
    try:
        return AuditLog(
            module.params['audit_log'],
            client.auth_id,
            check_mode=module.check_mode,
            action=action,
            run_id=run_id,
            change_id=module.params.get('change_id'),
            reason=module.params.get('reason'),
        )
    except VobizInputError as exc:
        module.fail_json(msg=str(exc), run_id=run_id)
