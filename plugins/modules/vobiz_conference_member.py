#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: vobiz_conference_member
short_description: Hang up, kick, mute or deafen members of a Vobiz voice conference
version_added: 0.1.0
description:
  - Acts on members of one live Vobiz conference, rather than on the whole room; for example removes one caller
    without ending the conference.
  - The conference is read first (one C(GET)). When that answer can be read, the module acts only on the member ids
    given that need it, one request per member id run concurrently, and reports C(changed=false) when nothing needs doing.
  - O(member_id=all) acts on the room, not on the member list the read returned (it may lie). One request to
    C(Member/all/) is always sent, and its answer decides, as a hang-up's does. The members reported are those the
    answer names, or else those the read showed.
  - When the answer cannot be read (Vobiz has been seen answering C(200 {"error":"failed"}) for live rooms), or its
    C(conference_member_count) disagrees with its list of members, the module acts anyway, on every member given,
    and warns.
  - A conference that is gone (the conference API's own HTTP 404) is not an error; C(changed=false) and
    RV(conference_absent=true). A 404 from outside the API (see O(api_url)) stops the run.
  - An answer that cannot be read as a success (a 2xx whose body holds an error or is not JSON, or too large to
    read) is a failure, because whether the action was carried out is unknown; so is an error answer after an attempt
    that may have been carried out unheard (its reply was lost, or a gateway answered V(502) or V(504)). A removal
    (V(absent), V(kicked)) after such an attempt that finds the member, or the conference, gone is reported done.
  - Authentication errors (HTTP 401, 403) stop the run at once.
author:
  - vobiz.voice maintainers (@vobiz)
extends_documentation_fragment:
  - vobiz.voice.connection
  - vobiz.voice.audit_log
  - vobiz.voice.attributes
  - vobiz.voice.attributes.actiongroup_vobiz
attributes:
  check_mode:
    support: full
    details:
      - Check mode only reads (one C(GET) of the conference) and predicts from it. When the answer cannot be read,
        or its member count disagrees with its list of members, it predicts a change, sets RV(uncertain) and warns.
  diff_mode:
    support: none
options:
  conference:
    description:
      - The exact, case-sensitive name of the conference. Any text is a valid name; it is sent percent-encoded.
    type: str
    required: true
  member_id:
    description:
      - The ids of the members to act on, as M(vobiz.voice.vobiz_conference_info) returns them in C(members),
        or V(all) for every member in the room.
      - V(all) cannot be combined with member ids.
    type: list
    elements: str
    required: true
  state:
    description:
      - V(absent) hangs up the members' calls (C(DELETE Member/{id}/)).
      - V(kicked) removes the members from the conference (C(POST Member/{id}/Kick/)).
      - V(muted) and V(unmuted) mute and unmute them (C(POST) and C(DELETE Member/{id}/Mute/)).
      - V(deaf) and V(undeaf) stop and restart the conference audio they hear (C(POST) and C(DELETE Member/{id}/Deaf/)).
      - For V(absent) and V(kicked), a member who is not in the room is already done (RV(already)), not a failure.
        For the other states, a member id that is not in the room is a failure.
    type: str
    required: true
    choices: [absent, kicked, muted, unmuted, deaf, undeaf]
notes:
  - Idempotent where the API tells the current state; a rerun reports C(changed=false).
seealso:
  - module: vobiz.voice.vobiz_conference
  - module: vobiz.voice.vobiz_conference_announce
  - module: vobiz.voice.vobiz_conference_info
  - name: Vobiz conference API
    description: Member actions.
    link: https://docs.vobiz.ai/
'''

EXAMPLES = r'''
- name: Find the member ids
  vobiz.voice.vobiz_conference_info:
    name: Support Room 1
  register: room

- name: Remove one caller but keep the room going
  vobiz.voice.vobiz_conference_member:
    conference: Support Room 1
    member_id: "{{ room.conferences[0].members | selectattr('from', 'equalto', '+919812345678') | map(attribute='member_id') }}"
    state: kicked
    audit_log: "{{ playbook_dir }}/vobiz-audit.jsonl"
    change_id: INC-977
    reason: Caller disrupting the support line

- name: Mute everybody for the keynote
  vobiz.voice.vobiz_conference_member:
    conference: All Hands
    member_id: all
    state: muted

- name: Give the floor back to two speakers
  vobiz.voice.vobiz_conference_member:
    conference: All Hands
    member_id: ["10", "15"]
    state: unmuted
'''

RETURN = r'''
members:
  description:
    - The ids of the members this run acted on (in check mode, would act on). V(all) when O(member_id=all) was
      sent without a readable list of members and the answer did not name them.
  returned: always
  type: list
  elements: str
  sample: ["10"]
already:
  description: Member ids already in the requested state, or, for V(absent) and V(kicked), not in the room.
  returned: always
  type: list
  elements: str
  sample: ["15"]
conference_absent:
  description: Whether the conference was found gone (the conference API's own HTTP 404, or C(conference not found)); then nothing changed.
  returned: always
  type: bool
  sample: false
uncertain:
  description:
    - Whether the conference could not be read (or its member count disagreed with its member list), so that the
      module acted (in check mode, predicted a change) without knowing the members' state.
  returned: always
  type: bool
  sample: false
uncertain_members:
  description:
    - The member ids (or V(all)) whose action's answer cannot tell whether it was carried out (see RV(failures));
      they are also in RV(failures), so the task fails, as uncertain hang-ups do in M(vobiz.voice.vobiz_conference).
      Audited with the outcome V(uncertain).
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
not_started:
  description:
    - Member ids never sent because the run was stopped before them (HTTP 401 or 403, a V(404) from outside the API,
      an interrupt). Audited with the outcome V(not_started).
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
failures:
  description:
    - Member actions that failed, after retries. When this is not empty the task fails, and the other keys still
      report what was done.
    - This includes answers that cannot be read as a success (a 2xx whose body holds an error or is not JSON or is
      too large to read), and error answers after an attempt that may have been carried out unheard, since whether
      the action was carried out is then unknown; the message says so.
  returned: always
  type: list
  elements: dict
  contains:
    member_id:
      description: The member id (or V(all)).
      type: str
      returned: always
    status:
      description: The last HTTP status, or V(null) when no answer came.
      type: int
      returned: always
    message:
      description: What went wrong.
      type: str
      returned: always
  sample: [{"member_id": "12", "status": 404, "message": "member not found"}]
interrupted:
  description:
    - Member ids (or V(all)) whose request was in flight when the run was interrupted (SIGINT or SIGTERM) and whose answer did not come
      back; they may or may not have been acted on. The task fails when the run is interrupted.
  returned: always
  type: list
  elements: str
  sample: []
run_id:
  description:
    - The random id of this task run. Every line this run wrote to O(audit_log) carries it as C(run_id).
  returned: always
  type: str
  sample: 6f1c0b8e2d3a4f5e9a7b1c2d3e4f5a6b
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "muted: acted on 1 member(s) of 'All Hands'; 1 already done."
'''

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    OUTCOME_ACTED,
    OUTCOME_ALREADY,
    OUTCOME_CONFERENCE_ABSENT,
    OUTCOME_FAILED,
    OUTCOME_NOT_STARTED,
    OUTCOME_UNCERTAIN,
    OUTCOME_UNKNOWN,
    STATE_ABSENT,
    STATE_PRESENT,
    is_member_not_found,
    member_outcome,
    members_inconsistency,
    normalize_conference,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizItemError, VobizRequestError
from ansible_collections.vobiz.voice.plugins.module_utils._module import INTERRUPTED_LABEL, VobizModule
from ansible_collections.vobiz.voice.plugins.module_utils._selection import normalize_member_ids, normalize_name_list

#: How the summary counts the actions whose answer could not tell whether they were carried out (failures too).
UNCERTAIN_LABEL = 'uncertain: may or may not have been carried out'

#: state -> (HTTP method, member route action, (member flag, wanted value) or None)
ACTIONS = dict(
    absent=('DELETE', None, None),
    kicked=('POST', 'Kick', None),
    muted=('POST', 'Mute', ('muted', True)),
    unmuted=('DELETE', 'Mute', ('muted', False)),
    deaf=('POST', 'Deaf', ('deaf', True)),
    undeaf=('DELETE', 'Deaf', ('deaf', False)),
)


class MemberAction(VobizModule):
    """Acts on members of one conference (hang up, kick, mute, deaf), only where their state needs it."""

    options = dict(
        conference=dict(type='str', required=True),
        member_id=dict(type='list', elements='str', required=True),
        state=dict(type='str', required=True, choices=list(ACTIONS)),
    )
    audit_action = 'member'
    name_keys = ('members', 'already', 'uncertain_members', 'interrupted', 'not_started')

    def __init__(self, module, client, audit, run_id, ids):
        super().__init__(module, client, audit, run_id)
        self.ids = ids
        self.conference = module.params['conference']
        self.state = module.params['state']
        self.method, self.action, self.flag = ACTIONS[self.state]
        self.removing = self.flag is None
        self.result = dict(
            changed=False,
            members=[],
            already=[],
            conference_absent=False,
            uncertain=False,
            uncertain_members=[],
            failures=[],
            interrupted=[],
            not_started=[],
            run_id=run_id,
        )

    @staticmethod
    def prepare(params):
        normalize_name_list(params['conference'], 'conference')
        return dict(ids=normalize_member_ids(params['member_id'], 'member_id'))

    def summary(self):
        head = '{0}: {1} {2} member(s) of {3!r}'.format(
            self.state, 'would act on' if self.check_mode else 'acted on', len(self.result['members']), self.conference
        )
        note = 'the conference is not live' if self.result['conference_absent'] else None
        failed = 'failed'
        if self.result['uncertain_members']:
            failed += ' ({0} {1})'.format(len(self.result['uncertain_members']), UNCERTAIN_LABEL)
        return self.counted(head, [('already', 'already done'), ('failures', failed), ('interrupted', INTERRUPTED_LABEL)], note)

    def result_for(self, msg):
        return dict(self.result, changed=bool(self.result['members']), msg=msg or self.summary())

    def failures_text(self, failures):
        shown = ', '.join('{member_id} ({message})'.format(**failure) for failure in failures[:10])
        uncertain = len(self.result['uncertain_members'])
        return '{0}: {1} member action(s) failed{2} in {3!r}: {4}'.format(
            self.state, len(failures), ' ({0} {1})'.format(uncertain, UNCERTAIN_LABEL) if uncertain else '', self.conference, shown
        )

    def record_not_started(self, items):
        self.result['not_started'] = list(items)
        self.audit_members(items, OUTCOME_NOT_STARTED)

    def audit_members(self, ids, outcome, status=None, message=None, uncertain=None):
        """One audit line per member id (``all`` included), as each outcome arrives."""
        for member_id in ids:
            self.audit_line(self.conference, outcome, status, member_id=member_id, state=self.state, message=message, uncertain=uncertain)

    def plan(self, conference):
        """From a readable conference: the ids that need the action (and sort out the others)."""
        present = dict((m['member_id'], m) for m in normalize_conference(conference)['members'])
        need = []
        for member_id in list(present) if self.ids == 'all' else self.ids:
            member = present.get(member_id)
            if member is None and not self.removing:
                self.result['failures'].append(dict(member_id=member_id, status=None, message='member not found'))
                self.audit_members([member_id], OUTCOME_FAILED, message='member not found')
            elif member is None or (self.flag is not None and member.get(self.flag[0]) is self.flag[1]):
                self.result['already'].append(member_id)
                self.audit_members([member_id], OUTCOME_ALREADY)
            else:
                need.append(member_id)
        return need

    def run(self):
        retrieved = self.guarded(self.client.retrieve, self.conference)
        if retrieved.state == STATE_ABSENT:
            self.result['conference_absent'] = True
            self.audit_members(['all'] if self.ids == 'all' else self.ids, OUTCOME_CONFERENCE_ABSENT, retrieved.status)
            self.finish()
        reason = retrieved.reason
        if retrieved.state == STATE_PRESENT:
            reason = members_inconsistency(retrieved.conference)
        if reason is None:
            need = self.plan(retrieved.conference)
        else:
            need = ['all'] if self.ids == 'all' else list(self.ids)
            self.result['uncertain'] = True
            self.warnings.append(
                'Conference {0!r} could not be read ({1}); {2} without knowing the members\' state.'.format(
                    self.conference, reason, 'predicting a change' if self.check_mode else 'acting'
                )
            )
        if self.check_mode or (not need and self.ids != 'all'):
            self.result['members'] = need
            self.audit_members(need, OUTCOME_ACTED, uncertain=True if self.result['uncertain'] else None)
        else:
            self.act(need)
        self.conclude()

    def act(self, need):
        """Send the actions, concurrently; one request for the whole room with ``member_id=all``."""
        # member_id=all: one request for the whole room, whatever the member list said (it may lie): its answer
        # decides. It also reaches anyone who joined since the read.
        batch = ['all'] if self.ids == 'all' else need
        self.run_batch(self.send, batch, lambda answers: self.record_all(batch, need, answers), on_result=self.log, summarise=self.summary)

    def record_all(self, batch, need, answers):
        if self.ids == 'all':
            self.record_room_wide(need, answers[0] if answers else None)
            return
        for member_id, answer in zip(batch, answers):
            self.record([member_id], answer)

    def send(self, member):
        try:
            return self.client.member_action(self.method, self.conference, member, self.action, body={} if self.method == 'POST' else None)
        except VobizRequestError as exc:
            return exc

    def log(self, member_id, answer):
        outcome, status, message = member_outcome(answer, self.removing, room_wide=member_id == 'all')
        self.audit_members([member_id], outcome, status, message if outcome in (OUTCOME_FAILED, OUTCOME_UNCERTAIN, OUTCOME_UNKNOWN) else None)

    def record_room_wide(self, need, answer):
        """The answer to the one room-wide request (``member_id=all``); ``need`` is what the read planned."""
        if answer is None:  # not run: the batch was stopped
            return
        if isinstance(answer, VobizItemError):  # interrupted in flight, or an unexpected error
            self.record(['all'], answer)
            return
        removed_unheard = (
            not isinstance(answer, VobizRequestError) and not answer.ok and member_outcome(answer, self.removing, room_wide=True)[0] == OUTCOME_ACTED
        )
        if removed_unheard:  # a removal that may have been done unheard found everyone, or the room, gone: this run's doing
            self.result['members'] = need
            return
        if isinstance(answer, VobizRequestError) or not answer.ok:
            if not isinstance(answer, VobizRequestError) and is_member_not_found(answer.status, answer.body):
                # Nobody in the room to act on.
                self.result['already'] = self.result['already'] or ['all']
                return
            self.record(['all'], answer)
            if self.result['conference_absent']:
                self.result['already'] = []
            return
        acted = answer.body.get('member_id') if isinstance(answer.body, dict) else None
        if isinstance(acted, list) and all(isinstance(m, (str, int)) and not isinstance(m, bool) for m in acted):
            # The answer names the members it reached: report those the read did not show already done.
            self.result['members'] = [str(m) for m in acted if str(m) not in self.result['already']]
        else:
            self.result['members'] = need

    def record(self, ids, answer):
        if answer is None:  # not run: the batch was stopped
            return
        outcome, status, message = member_outcome(answer, self.removing)
        key = {OUTCOME_ACTED: 'members', OUTCOME_ALREADY: 'already', OUTCOME_UNKNOWN: 'interrupted'}.get(outcome)
        if key is not None:
            self.result[key].extend(ids)
        elif outcome == OUTCOME_CONFERENCE_ABSENT:
            self.result['conference_absent'] = True
        else:
            # An uncertain action is a failure too (as in vobiz_conference), and is also named in uncertain_members.
            self.result['failures'].extend(dict(member_id=m, status=status, message=message) for m in ids)
            if outcome == OUTCOME_UNCERTAIN:
                self.result['uncertain_members'].extend(ids)


def main():
    MemberAction.execute()


if __name__ == '__main__':
    main()
