# -*- coding: utf-8 -*-

# Copyright (c) 2026, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The base of every vobiz.voice module: set-up, the live list, batches, the result, the audit lines and the exit.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

A module subclasses ``VobizModule``: it declares its options and their relations (``options``,
``mutually_exclusive``, ``required_one_of``), checks their values (``prepare``), calls the API (``run``, through
``ConferenceApi`` of ``_conference_api.py``) and shapes its result (``result_for``, ``summary_head``); its ``main()``
is ``TheModule.execute()``. The base builds the ``AnsibleModule`` with the connection (and audit) options merged in,
checks every input before the first request, builds the API client and the audit log, runs under an
``InterruptGuard``, puts each outcome into the result and the audit log as it arrives, counts them in the summary,
writes the summary file, and exits with the client's warnings first.
"""

import os

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vobiz.voice.plugins.module_utils._audit import (
    AuditLog,
    audit_option_spec,
    check_audit_log,
    new_run_id,
    outcome_summary,
    write_report,
)
from ansible_collections.vobiz.voice.plugins.module_utils._batch import InterruptGuard
from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    CHECK_MODE_OUTCOMES,
    OUTCOME_FAILED,
    OUTCOME_GONE_UNCONFIRMED,
    OUTCOME_HUNG_UP,
    OUTCOME_NOT_STARTED,
    OUTCOME_UNCERTAIN,
    OUTCOME_UNKNOWN,
    STATE_UNREADABLE,
    ConferenceApi,
    Outcome,
    Retrieved,
    predicted_outcome,
)
from ansible_collections.vobiz.voice.plugins.module_utils._connection import (
    validate_connection_params,
    vobiz_argument_spec,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import (
    VobizBatchAborted,
    VobizFatalError,
    VobizInputError,
    VobizRequestError,
)
from ansible_collections.vobiz.voice.plugins.module_utils._redaction import escape_name, escape_names, escape_tree
from ansible_collections.vobiz.voice.plugins.module_utils._selection import (
    closest_names,
    excluded_name_warning,
    list_warning,
)
from ansible_collections.vobiz.voice.plugins.module_utils._transport import HAS_REQUESTS, REQUESTS_IMPORT_ERROR
from ansible_collections.vobiz.voice.plugins.module_utils._verify import verify_ended

#: The label of the requests that were in flight when the run was interrupted.
INTERRUPTED_LABEL = 'interrupted in flight (outcome unknown)'


def gone_unconfirmed_label(names):
    """How the summary counts the rooms found gone after a hang-up that may have been done unheard (the first ten)."""
    more = ' and {0} more'.format(len(names) - 10) if len(names) > 10 else ''
    return 'gone, whether this run hung them up is unknown ({0}{1})'.format(', '.join(map(repr, names[:10])), more)


#: How the summary counts the entries of each result list it counts (a label may be a function of the names).
SUMMARY_LABELS = {
    'already_absent': 'already absent',
    'absent': 'already absent',
    'already': 'already done',
    'gone_unconfirmed': gone_unconfirmed_label,
    'excluded': 'excluded',
    'not_in_plan': 'selected now but not in the plan (left alone)',
    'verified': 'verified as ended',
    'unverified': 'not verified as ended (see unverified)',
}
#: The outcomes whose audit line carries the message (it says why); the others speak for themselves.
EXPLAINED_OUTCOMES = (OUTCOME_FAILED, OUTCOME_UNCERTAIN, OUTCOME_UNKNOWN, OUTCOME_GONE_UNCONFIRMED)


class VobizModule:
    """What every vobiz.voice module repeats; a subclass keeps its options, its checks and what it calls."""

    #: The module's own options; the connection options (and the audit options, see ``audit_action``) are merged in.
    options = {}
    #: Option relations, declared for ``AnsibleModule``.
    mutually_exclusive = ()
    required_one_of = ()
    #: The ``action`` of the module's audit lines; ``None`` for a module that changes nothing (no audit options).
    audit_action = None
    #: How the message of a run with failures starts (see ``conclude``), e.g. ``'Could not hang up'``.
    failure_head = None
    #: The result keys that hold lists of names (or member ids), returned escaped (``escape_name``), as are the
    #: ``name`` and ``member_id`` of each ``failures`` entry and the keys and names of ``closest``.
    name_keys = ()
    #: The result list of the outcomes that cannot tell whether they were done (in a real run, failures too), and how
    #: the summary counts them (e.g. ``'uncertain: may or may not have been hung up'``).
    uncertain_key = 'uncertain'
    uncertain_label = None
    #: Check mode: the outcome a real call would give a live room and a room not live, and the verb of the warning for
    #: a room that could not be read (see ``predict``), e.g. ``(OUTCOME_HUNG_UP, OUTCOME_ALREADY_ABSENT, 'hung up')``.
    predicts = None
    #: The result lists the summary counts after its head (see ``SUMMARY_LABELS``); the failures, the interrupted and
    #: the not started follow.
    summary_counts = ()
    #: The result list that names what the run changed (or would change, in check mode).
    changes = None
    #: ``--diff`` shows the conferences of ``changes`` (with their member counts) before, and none after: a hang-up.
    diffs = False
    #: The ``Selection`` of a module that selects conferences by name (its closest names are suggested in check mode).
    selection = None
    #: The id of the plan a run applies or makes (``vobiz_conference``): every audit line of the run carries it.
    plan_id = None

    def __init__(self, module, api, audit=None, run_id=None):
        self.module = module
        self.api = api
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
        #: The live list, once this run read it (``select``).
        self.live = None
        #: The GETs already read (``select_by_policy``), by name, and the member counts they gave (``predict``).
        self.retrieved = {}
        self.member_counts = {}
        #: The names this run saw live before sending (listed, or retrieved as live): a 404 after a hang-up that may
        #: have been carried out unheard is this run's doing only for them (see ``ConferenceApi.hangup``).
        self.seen_live = set()
        #: Check mode: a change the result cannot name (the hang-up of all conferences when the list named none).
        self.change_possible = False
        #: The rooms the one request for all (``send_once_for_all``) stands for.
        self.listed = None

    @classmethod
    def argument_spec(cls):
        spec = vobiz_argument_spec()
        spec.update(cls.options, validate_only=dict(type='bool', default=False))
        if cls.audit_action is not None:
            spec.update(audit_option_spec())
        return spec

    @classmethod
    def execute(cls):
        """The module's ``main()``: every input is checked before the first request; with ``validate_only``, nothing
        follows (no request, no file written)."""
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
            if module.params['validate_only'] and cls.audit_action is not None and module.params.get('audit_log'):
                check_audit_log(module.params['audit_log'])
        except VobizInputError as exc:
            refuse(module, exc)
        api = api_from_module(module)
        if module.params['validate_only']:
            valid = cls(module, api, None, None, **inputs)
            checked = valid.result_for('Every option is valid; nothing was sent (validate_only).')
            module.exit_json(**valid.escaped(checked))
        run_id = audit = None
        if cls.audit_action is not None:
            run_id = new_run_id()
            audit = audit_log_from_module(module, api, run_id, action=cls.audit_action)
        with InterruptGuard(api):
            cls(module, api, audit, run_id, **inputs).run()

    @staticmethod
    def prepare(params):
        """Check the module's own options (raise ``VobizInputError`` naming the option): ``__init__``'s keyword
        arguments."""
        return {}

    def run(self):
        raise NotImplementedError

    def result_for(self, msg):
        """The module's result, ``changed`` when its ``changes`` list names anything (or ``change_possible``); ``msg``
        (when given) replaces its summary; with ``--diff`` and ``diffs``, ``conferences_diff`` of ``changes``."""
        changed = bool(self.result[self.changes]) or self.change_possible
        result = dict(self.result, changed=changed, msg=msg or self.summary())
        if self.diffs and self.module._diff:
            result['diff'] = self.conferences_diff(
                result[self.changes], self.member_counts, result.get('from_registry')
            )
        return result

    def summary_head(self):
        """How the summary starts, e.g. ``'Hung up 2 conference(s)'``."""
        raise NotImplementedError

    # -- the exit --------------------------------------------------------------

    def finish(self, failed_msg=None, msg=None):
        """Exit: the summary file written, the client's warnings, then the module's; the audit log closed; fail when
        ``failed_msg`` is given.

        ``msg`` replaces the summary of a run that did not fail. Check mode's result suggests the closest live names of
        the names and globs that found no room (when it has ``closest``).
        """
        if self.check_mode and not failed_msg and 'closest' in self.result:
            self.result['closest'] = self.closest_to_missing(self.selection.names)
        if self.params.get('summary_file'):
            self.write_summary_file(failed_msg or msg or self.summary(), stopped=bool(failed_msg))
        for warning in self.api.warnings + self.warnings:
            self.module.warn(warning)
        if self.audit is not None:
            self.audit.close()
        result = self.escaped(self.result_for(failed_msg or msg))
        if failed_msg:
            self.module.fail_json(**result)
        self.module.exit_json(**result)

    def escaped(self, result):
        """``result`` with every name escaped (``name_keys``, ``failures``, ``conferences``, ``closest``): printable
        text Ansible can always carry, which puts no line break into any output line, and which ``names_escaped`` turns
        back into the names."""
        result = dict(result)
        for key in self.name_keys:
            if isinstance(result.get(key), list):
                result[key] = escape_names(result[key])
        for key in ('failures', 'unverified'):
            if isinstance(result.get(key), list):
                result[key] = [_escaped_entry(entry) for entry in result[key]]
        if isinstance(result.get('conferences'), list):  # conference objects: every text in them
            result['conferences'] = escape_tree(result['conferences'])
        if isinstance(result.get('closest'), dict):
            result['closest'] = {escape_name(word): escape_names(names) for word, names in result['closest'].items()}
        return result

    @staticmethod
    def conferences_diff(names, member_counts, from_registry=None):
        """The ``--diff`` of a hang-up: the conferences (names escaped) with their member counts before (and
        ``from_registry`` for those only the event source's registry named), none after."""
        marked = set(from_registry or ())
        before = dict(
            (
                escape_name(name),
                dict(member_count=member_counts.get(name), **({'from_registry': True} if name in marked else {})),
            )
            for name in names
        )
        return dict(before=dict(conferences=before), after=dict(conferences=dict()))

    def write_summary_file(self, message, stopped, sending=None):
        """The summary file (option ``summary_file``), whatever ends the run: an interrupt of ansible-playbook (SIGINT,
        SIGTERM) leaves Ansible nothing to report, but the module still writes it before it exits.

        ``sending``: the items about to be sent (see ``write_running_summary``): status ``running``, all uncertain."""
        path = self.params['summary_file']
        result = self.escaped(self.result if sending is None else dict(self.result, uncertain=list(sending)))
        interrupted = self.api.interrupted is not None
        summary = outcome_summary(result, self.check_mode, message, stopped, interrupted, running=sending is not None)
        try:
            write_report(path, summary)
        except OSError as exc:
            warning = 'The summary file {0!r} could not be written: {1}'.format(path, exc.strerror or exc)
            if warning not in self.warnings:  # once, though it is written twice
                self.warnings.append(warning)

    def write_running_summary(self, targets, everything=False):
        """A real run with ``summary_file``, before the first request that changes anything: the file with status
        ``running`` and every target uncertain, so that until the run ends it claims nothing (what the playbook wrote
        before says nothing was done), and a module killed outright (SIGKILL) leaves that. The end replaces it."""
        if not self.params.get('summary_file') or self.check_mode or not (targets or everything):
            return
        count = len(targets)
        what = f'of all conferences (the list named {count})' if everything else f'of {count} conference(s)'
        message = (
            'The hang-up {0} started and has not ended: this summary is replaced when it ends, whatever ends it. If it '
            'is still here, the module was killed (SIGKILL) or is still running; whether each one was hung up is then '
            'unknown (see the audit log).'.format(what)
        )
        self.write_summary_file(message, stopped=False, sending=targets)

    def conclude(self, msg=None):
        """The end of ``run``: the verification of what it hung up (``verify_hung_up``), then fail when the result
        holds ``failures`` (the first ten named), else exit with ``msg`` or the summary."""
        self.verify_hung_up()
        failures = self.result.get('failures')
        self.finish(failed_msg=self.failures_text(failures) if failures else None, msg=msg)

    def uncertain_count(self):
        uncertain = self.result.get(self.uncertain_key)
        return len(uncertain) if isinstance(uncertain, list) else 0

    def failures_text(self, failures):
        """The message of a run with ``failures`` (see ``failures_message``); a real run's uncertain ones are counted
        in a note."""
        uncertain = self.uncertain_count()
        note = '{0} {1}'.format(uncertain, self.uncertain_label) if uncertain and not self.check_mode else None
        return failures_message(self.failure_head, failures, note)

    def summary(self):
        """``summary`` of ``summary_head`` and how many entries the result holds under each of ``summary_counts``,
        the failures (a real run's uncertain ones counted among them; in check mode they are predicted changes,
        counted in the head) and the interrupted; the items a stopped batch never sent (``not_started``) last; a note
        when the conference acted on is not live."""
        head, failed = self.summary_head(), 'failed'
        note = 'the conference is not live' if self.result.get('conference_absent') else None
        uncertain = self.uncertain_count()
        if uncertain and self.check_mode:
            head += ' ({0} uncertain)'.format(uncertain)
        elif uncertain:
            failed += ' ({0} {1})'.format(uncertain, self.uncertain_label)
        labels = [(key, SUMMARY_LABELS[key]) for key in self.summary_counts]
        labels += [('failures', failed), ('interrupted', INTERRUPTED_LABEL)]
        counts = [(len(self.result[key]), _label(label, self.result[key])) for key, label in labels]
        return summary(head, counts + [(len(self.not_started), 'not started')], note)

    # -- outcomes into the result and the audit log ------------------------------

    def add_outcome(self, outcome):
        """Put one ``Outcome`` into the result: the list named after it (``hung_up``, ``announced``...; an unknown one,
        in flight at an interrupt, in ``interrupted``), a failed or uncertain one (or one the result has no list for)
        into ``failures``; an uncertain one is also named in the ``uncertain_key`` list."""
        if outcome is None:  # not run: the batch was stopped
            return
        key = 'interrupted' if outcome.outcome == OUTCOME_UNKNOWN else outcome.outcome
        if outcome.outcome not in (OUTCOME_FAILED, OUTCOME_UNCERTAIN) and isinstance(self.result.get(key), list):
            self.result[key].append(outcome.name)
        else:
            self.result['failures'].append(outcome.failure())
        if outcome.outcome == OUTCOME_UNCERTAIN:
            self.result[self.uncertain_key].append(outcome.name)

    def predict_change_of_unreadable(self, name, reason, verb):
        """Check mode: a room whose GET could not be read is predicted to change (a real run still sends its call),
        named in the ``uncertain_key`` list, and warned about (``verb``: e.g. ``'hung up'``)."""
        self.result[self.uncertain_key].append(name)
        self.warn_unreadable(name, reason, f'predicting that it would be {verb}')

    def warn_unreadable(self, name, reason, consequence):
        """Warn that conference ``name`` could not be read (``reason``), and what the run makes of it."""
        self.warnings.append(f'Conference {name!r} could not be read ({reason}); {consequence}.')

    def audit_line(self, name, outcome, status=None, **extra):
        """One audit line; in check mode the outcome is a prediction (``would_...``), never a claim that something
        was done."""
        if self.audit is None or self.audit.failed:  # a failed audit log stopped the run: nothing more is attempted
            return
        if self.check_mode:
            outcome = CHECK_MODE_OUTCOMES.get(outcome, outcome)
        elif self.params.get('verify') and outcome == OUTCOME_HUNG_UP:
            extra.setdefault('verification', 'pending')  # the line of its verification follows (verify_hung_up)
        if 'member_id' in extra:
            extra['member_id'] = escape_name(extra['member_id'])
        self.audit.record(escape_name(name), outcome, status, plan_id=self.plan_id, **extra)

    def predict(self, name):
        """Check mode's worker: ``(Retrieved, Outcome)``: the room's GET (read once) and what it predicts
        (``predicted_outcome`` with ``predicts``)."""
        retrieved = self.retrieved[name] = self.retrieved.get(name) or self.api.retrieve(name)  # a plan reads it again
        self.member_counts[name] = retrieved.member_count
        return retrieved, predicted_outcome(retrieved, *self.predicts[:2])

    def record(self, answers):
        """A batch's answers into the result (``add_outcome``); in check mode, a room that could not be read is
        predicted to change (``predict_change_of_unreadable``)."""
        for answer in answers:
            retrieved, outcome = (None, answer) if answer is None or isinstance(answer, Outcome) else answer
            if retrieved is not None and outcome.outcome == OUTCOME_UNCERTAIN:
                self.predict_change_of_unreadable(retrieved.name, retrieved.reason, self.predicts[2])
                outcome = outcome._replace(outcome=self.predicts[0])
            self.add_outcome(outcome)

    def audit_answer(self, name, answer):
        """The audit line of a batch's answer as it arrives: an ``Outcome``, or a check-mode prediction (never a claim
        that something was done)."""
        if isinstance(answer, Outcome):
            return self.audit_outcome(name, answer)
        retrieved, outcome = answer
        uncertain = outcome.outcome == OUTCOME_UNCERTAIN
        predicted = self.predicts[0] if uncertain else outcome.outcome
        return self.audit_line(name, predicted, retrieved.status, uncertain=uncertain or None)

    def audit_item(self, item, outcome, status=None, **extra):
        """The audit line of one item of a batch (a conference name; a member module says which member)."""
        self.audit_line(item, outcome, status, **extra)

    def audit_outcome(self, item, outcome, status=None, message=None, **extra):
        """The audit line of one outcome (an ``Outcome``, or its name), with the message only where it says why
        (``EXPLAINED_OUTCOMES``)."""
        if not isinstance(outcome, str):
            outcome, status, message = outcome.outcome, outcome.status, outcome.message
        extra['message'] = message if outcome in EXPLAINED_OUTCOMES else None  # after the others, as it always was
        self.audit_item(item, outcome, status, **extra)

    # -- requests ----------------------------------------------------------------

    def guarded(self, func, *args):
        """``func(*args)`` outside a batch; a fatal error, an interrupt or a request without answer ends the run."""
        try:
            answer = func(*args)
        except (VobizFatalError, VobizRequestError, VobizBatchAborted) as exc:
            self.finish(failed_msg=str(self.api.interrupted or exc))
        if self.api.interrupted:  # an answer cut short by the interrupt (a retry not sent): nothing may follow it
            self.finish(failed_msg=str(self.api.interrupted))
        return answer

    def live_names(self, consequence):
        """The live list (``GET Conference/``), warning when it is empty or unreadable; exits when it cannot be read.

        ``consequence`` says what an empty list means for this run (the live service has been seen
        listing no rooms while some were live).
        """
        live, readable = self.guarded(self.api.list_names)
        if not live or not readable:
            self.warnings.append(list_warning('empty' if readable else 'unreadable', consequence))
        return live

    def live_names_if_readable(self):
        """The live list for what is only a suggestion: ``None`` when it cannot be read, and the run goes on."""
        try:
            return self.api.list_names()[0]
        except (VobizFatalError, VobizRequestError, VobizBatchAborted):
            return None

    def select(self, selection, policy=None):
        """The targets of a ``Selection``: the live list (``live``) read only when it needs one (see ``live_names``);
        with a ``Policy``, those of them it selects (``select_by_policy``).

        The selected names ``exclude`` protects go to the result's ``excluded``, with a warning for those named
        explicitly; the globs of ``match`` that matched no live name to its ``unmatched`` (when it has one). The names
        listed and those a policy retrieved as live are in ``seen_live``.
        """
        if selection.needs_list:
            self.live = self.live_names(selection.list_consequence(self.check_mode))
        targets, self.result['excluded'], excluded_explicit = selection.resolve(self.live)
        self.warnings.extend(selection.warnings)
        self.warnings.extend(excluded_name_warning(name) for name in excluded_explicit)
        self.seen_live.update(self.live or ())
        if self.params.get('match') and 'unmatched' in self.result:  # the user's globs (a policy alone has its '*')
            self.result['unmatched'] = selection.unmatched(self.live)
        if policy is not None and targets:
            targets = self.select_by_policy(policy, targets)
            self.seen_live.update(targets)  # retrieved as live
        if 'from_registry' in self.result:  # selected only because the event source's registry named them
            self.result['from_registry'] = [name for name in targets if name in selection.from_registry]
        return targets

    def closest_to_missing(self, names):
        """Check mode: the closest live names (``closest_names``) of each of ``names`` that is not live and of each
        glob that matched nothing (``unmatched``), to tell a typo; reads the live list when this run has not."""
        missing = [name for name in names if name in self.result['already_absent']] + self.result['unmatched']
        live = self.live if self.live is not None or not missing else self.live_names_if_readable()
        return closest_names(missing, live or [])

    def run_batch(self, func, items, record=None, on_result=None, on_error=None, summarise=None):
        """``api.run_concurrently``, its results passed to ``record``; a stopped batch records what was done and exits.

        ``summarise()``: what to add to the message of a run stopped by a fatal error or an interrupt (what was done;
        ``not_started`` then holds the items the stopped batch never sent, each also in the result and the audit log:
        see ``record_not_started``).
        """
        items = list(items)
        try:
            results = self.api.run_concurrently(func, items, on_result=on_result, on_error=on_error)
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
        """The items a stopped batch never sent: in the result's ``not_started`` (when it has one) and one audit line
        each."""
        if items == [None] and self.listed is not None:  # the one request for all (send_once_for_all), not sent
            items = self.listed
        if 'not_started' in self.result:
            self.result['not_started'] = list(items)
        for item in items:
            self.audit_item(item, OUTCOME_NOT_STARTED)

    def send_once_for_all(self, call, listed, outcomes_of):
        """``call()``: one request for all the rooms at once (the hang-up of all conferences), whatever the live list
        said; sent as a batch of one nameless item, so that an interrupt is handled the same way. Returns its answer.

        ``outcomes_of(answer, listed)``: what the answer means for each of the ``listed`` rooms, an ``Outcome`` each
        (one without a name when none was listed, not put into the result): into the result and the audit log
        (``scope='all'``); a stopped batch records every listed room as not started.
        """
        self.listed = listed

        def send(dummy):
            return call()

        def record(answers):
            for outcome in outcomes_of(answers[0], listed) if answers[0] else ():
                self.add_outcome(outcome if outcome.name is not None else None)  # none named when the list named none

        def log(dummy, answer):
            for outcome in outcomes_of(answer, listed):
                self.audit_outcome(outcome.name, outcome, scope='all')

        return self.run_batch(send, [None], record, log, Outcome.after_error)[0]

    def select_by_policy(self, policy, candidates):
        """The candidates a ``Policy`` selects, each retrieved (and kept in ``retrieved``) and judged; the unreadable
        ones are never selected. The others go to the result's ``already_absent``, ``unreadable`` and
        ``other_instance`` (with a warning each); a run that selects none ends here."""
        answers = self.retrieve_all(candidates)
        self.retrieved = dict((answer.name, answer) for answer in answers if answer is not None)
        verdicts = policy.apply(answers)
        self.result['already_absent'].extend(verdicts.absent)
        self.result['unreadable'].extend(name for name, dummy in verdicts.unreadable)
        self.result['other_instance'].extend(name for name, dummy in verdicts.other_instance)
        self.warnings.extend(verdicts.warnings())
        if not verdicts.selected:
            self.finish(msg=policy.nothing_selected(len(verdicts.unreadable)))
        return verdicts.selected

    def verify_hung_up(self):
        """A real run's verified termination (option ``verify``, ``verify_ended``): re-read the rooms in the result's
        ``hung_up`` for up to ``verify`` seconds (``0``: not at all), into ``verified`` and ``unverified`` (with a
        warning), and a second audit line each with its ``verification`` (see ``audit_line``). Check mode never
        verifies; nor does a run an interrupt or a fatal answer stopped."""
        within = self.params.get('verify')
        if self.check_mode or not within or self.api.aborted:
            return
        names = [name for name in self.result['hung_up'] if name is not None]
        if not names:
            return
        wait = self.api.wait_unless_interrupted
        verified, unverified = verify_ended(self.read_quietly, names, within, wait, uuids=self.uuids_hung_up())
        self.result.update(verified=verified, unverified=unverified)
        if unverified:
            shown = failures_message('Could not verify the end of', unverified)
            self.warnings.append(f'{shown}. They were hung up (the API acknowledged it) and not hung up again.')
        try:
            for name in verified:
                self.audit_line(name, OUTCOME_HUNG_UP, 404, verification='verified')
            for entry in unverified:
                extra = dict(message=entry['message'], conference_uuid=entry['conference_uuid'])
                self.audit_line(entry['name'], OUTCOME_HUNG_UP, entry['status'], verification='unverified', **extra)
        except VobizFatalError as exc:  # the audit log could not be written: the run fails, the result says all
            self.finish(failed_msg=f'{exc} {self.summary()}')
        if self.api.interrupted:  # the hang-ups were done; the verification was cut short
            self.finish(failed_msg=f'{self.api.interrupted} {self.summary()}')

    def uuids_hung_up(self):
        """The ``conference_uuid`` of each instance hung up, where known: as retrieved before (a policy), or as the
        option ``conference_uuid`` names it (one room)."""
        known, meant = self.retrieved.items(), self.params.get('conference_uuid')
        read = dict((name, got.conference.get('conference_uuid')) for name, got in known if got.conference)
        return dict(read, **dict.fromkeys(self.result['hung_up'], meant)) if meant else read

    def read_quietly(self, names):
        """``GET`` every named conference, concurrently: a ``Retrieved`` each, in order; a fatal answer makes the
        rest unreadable instead of ending the run (the hang-ups are done and reported)."""
        try:
            return self.api.run_concurrently(self.api.retrieve, names, on_error=Retrieved.unreadable_after)
        except VobizFatalError as exc:
            done = exc.results or [None] * len(names)
            unread = Retrieved(None, STATE_UNREADABLE, reason=str(exc))
            return [got or unread._replace(name=name) for name, got in zip(names, done)]

    def retrieve_all(self, names, record=None):
        """``GET`` every named conference, concurrently: a ``Retrieved`` each; a name the worker could not handle is
        unreadable."""
        return self.run_batch(self.api.retrieve, names, record, on_error=Retrieved.unreadable_after)


def summary(head, counts, note=None):
    """``'Hung up 2 conference(s); 1 failed.'``: ``head``, ``count label`` for every non-zero count, then ``note``."""
    parts = [head] + ['{0} {1}'.format(count, label) for count, label in counts if count]
    return '; '.join(parts + ([note] if note else [])) + '.'


def failures_message(head, failures, note=None):
    """``'Could not hang up 2 conference(s): 'a' (HTTP 500), 'b' (...)'``: the first ten failures, then how many more.

    ``note`` goes in brackets after the count, e.g. ``'Could not hang up 2 conference(s) (1 uncertain: ...): ...'``.
    """
    shown = ', '.join(_failure_text(entry) for entry in failures[:10])
    if len(failures) > 10:
        shown += ' and {0} more'.format(len(failures) - 10)
    return '{0} {1} conference(s){2}: {3}'.format(head, len(failures), ' ({0})'.format(note) if note else '', shown)


def _label(label, names):
    """A summary label, or what a label function makes of the names it counts."""
    return label(names) if callable(label) else label


def _failure_text(entry):
    """One failure in a message: ``'a' (HTTP 500)``, or the message alone for a failure without a name."""
    return entry['message'] if entry['name'] is None else '{0!r} ({1})'.format(entry['name'], entry['message'])


def _escaped_entry(entry):
    """A ``failures`` (or ``unverified``) entry with its ``name``, ``member_id`` and ``conference_uuid`` escaped."""
    keys = ('name', 'member_id', 'conference_uuid')
    return dict(entry, **dict((key, escape_name(entry[key])) for key in keys if entry.get(key) is not None))


def refuse(module, error, **result):
    """Fail the module for bad input (``VobizInputError``) before any request: the message, and the options it is about
    (``refused_options``), so that a role can name the variables behind them."""
    module.fail_json(msg=str(error), refused_options=error.options, **result)


def check_verify(seconds):
    """Refuse a negative ``verify`` (``VobizInputError``), before any request."""
    if (seconds or 0) < 0:
        raise VobizInputError(f'verify must be 0 (off) or a number of seconds, got {seconds}', option='verify')


def check_summary_file(path):
    """Refuse a ``summary_file`` whose directory does not exist (``VobizInputError``), before any request."""
    if path and not os.path.isdir(os.path.dirname(os.path.abspath(path))):
        raise VobizInputError('summary_file {0!r}: its directory does not exist'.format(path), option='summary_file')


def api_from_module(module, **extra):
    """Build a ``ConferenceApi`` from the module's connection options.

    Fails the module (before any request) on bad input, and forwards the connection warnings
    (plain http, validate_certs false).
    """
    try:
        kwargs, warnings = validate_connection_params(module.params)
    except VobizInputError as exc:
        refuse(module, exc)
    for warning in warnings:
        module.warn(warning)
    kwargs.update(extra)
    return ConferenceApi(**kwargs)


def audit_log_from_module(module, api, run_id, action):
    """The module's ``AuditLog`` (``audit_log``, ``change_id``, ``reason`` options), or ``None`` without ``audit_log``.

    Fails the module, naming ``audit_log``, when the file cannot be opened (before any request).
    """
    if not module.params.get('audit_log'):
        return None
    try:
        return AuditLog(
            module.params['audit_log'],
            api.auth_id,
            check_mode=module.check_mode,
            action=action,
            run_id=run_id,
            change_id=module.params.get('change_id'),
            reason=module.params.get('reason'),
        )
    except VobizInputError as exc:
        refuse(module, exc, run_id=run_id)
