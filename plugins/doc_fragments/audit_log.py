# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The audit options of the modules that change something, and the audit line format, documented once.
    # The argument spec lives in plugins/module_utils/_audit.py (audit_option_spec()); AuditLog writes the lines.
    DOCUMENTATION = r'''
options:
  audit_log:
    description:
      - Path of a local file (on the host running the module) to which one JSON line is appended per conference
        (per member id for M(vobiz.voice.vobiz_conference_member)) as each outcome arrives, so that nothing done is
        lost when the run fails or is interrupted later.
      - The file is created with mode C(0600) if missing and only ever appended to. A symbolic link is refused
        (the file is opened without following links); give the path of the file itself.
      - When a line cannot be written completely (a full disk), the run stops at once and fails with the result
        listing what was done; the cut line is ended, or else the next line written to the file starts on a new line.
      - 'Each line is one JSON object with these keys: C(time) (ISO-8601, UTC, milliseconds); C(run_id) (random, shared
        by every line of one task run, and returned as RV(run_id)); C(auth_id); C(action) (V(hang_up), V(announce) or
        V(member)); C(name) (the conference, escaped as the modules return names); C(outcome); C(status) (the HTTP
        status, or V(null)); C(check_mode); C(change_id) and C(reason) when set; C(message) for V(failed), V(uncertain),
        V(gone_unconfirmed) and V(unknown) outcomes; C(uncertain=true) when check
        mode could not read the conference. Announce lines add C(route) (V(Speak) or V(Play)) and C(member); member
        lines add C(member_id) and C(state); lines of a hang-up with O(vobiz.voice.vobiz_conference#module:all=true) add
        C(scope=all), and of one with O(vobiz.voice.vobiz_conference#module:plan) C(plan_id). Lines of a hang-up with
        O(vobiz.voice.vobiz_conference#module:verify) add C(verification) - V(pending) on the line of the hang-up, then
        V(verified) or V(unverified) on a second line with the outcome V(hung_up) again (and C(message) and
        C(conference_uuid) when unverified). Never the token.'
      - 'Outcomes of a real run. V(hang_up): V(hung_up), V(already_absent), V(gone_unconfirmed), V(failed),
        V(uncertain). V(announce): V(announced), V(absent), V(failed), V(uncertain). V(member): V(acted), V(already)
        (not in the room, or already in the state), V(conference_absent), V(failed), V(uncertain). Any
        action: V(unknown), V(not_started).'
      - V(uncertain) means the answer could not tell whether the request was carried out (a 2xx that cannot be read
        as a success, or a request that may have been carried out without an answer saying so, because its reply was
        lost or a gateway answered V(502) or V(504), also when a 401, 403 or a 404 from outside the API then stopped the
        run); the C(message) says why. It may or may not have been done; the task counts it as a failure.
      - V(gone_unconfirmed) (V(hang_up)) means a hang-up that may have been carried out unheard found the room gone, and
        the run had not seen the room live before sending. It is gone; whether this run ended it is unknown. Not a
        change and not a failure.
      - V(not_started) means the run was stopped (a 401 or 403, a 404 from outside the API, an interrupt) before this
        item's request was sent, so nothing was done to it. Every item of a run has one line with its final outcome.
      - V(unknown) (any action) means the request was in flight when the run was interrupted (SIGINT or SIGTERM) and its
        answer had not come back; it may or may not have been carried out. If the answer arrives within a short grace,
        a second line with the real outcome follows.
      - 'In check mode a line says what a real run would do, never that something was done: V(would_hang_up),
        V(would_be_absent), V(would_announce), V(would_act), V(would_be_already); V(failed) when the conference could
        not be read at all, with C(uncertain=true) where the answer could not be read and a change is predicted.'
    type: path
  change_id:
    description:
      - An identifier of the change this run belongs to, for example a change ticket number.
      - Written as C(change_id) into every line of O(audit_log); not sent to Vobiz.
    type: str
  reason:
    description:
      - Why this run is done, in words, for example V(Scheduled maintenance of the support lines).
      - Written as C(reason) into every line of O(audit_log); not sent to Vobiz.
    type: str
notes:
  - On SIGINT or SIGTERM (Ctrl-C, or a CI job being cancelled) the module starts no new request, records the requests
    in flight (outcome V(unknown) in O(audit_log)), waits briefly for their answers, and fails with a result that lists
    what was done and, in RV(interrupted), what was interrupted.
'''
