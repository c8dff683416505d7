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
    given that need it, one request per member id run concurrently, and reports C(changed=false) when nothing needs
    doing.
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
  names_escaped:
    description:
      - O(conference) is a name as vobiz.voice results and the filter C(vobiz.voice.callback_text(escaped=true)) give
        it (non-printable characters written out), taken literally, template syntax and all.
    type: bool
    default: false
    version_added: 0.2.0
  max_members:
    description:
      - A room-size cap for O(state=kicked) or O(state=absent), judged on the conference as retrieve reports it
        (a callback that says a room is too full is only a hint). The room must be readable, its
        C(conference_member_count) must agree with its member list, and it must have more than O(max_members) members;
        otherwise nobody is removed, and RV(capacity) says why.
      - With member ids, each must be listed, and the room must keep at least O(max_members) members without them.
      - With O(member_id=all), the newest members beyond the cap (those with the smallest C(join_time)), one request
        each; nobody when a C(join_time) cannot be read or two members joined in the same second at the cap's edge.
      - At least V(1). To remove no one for the cap, leave it out (where the rulebook and the playbooks take V(0) to
        mean no cap, they do not pass it).
    type: int
    version_added: 0.2.0
  conference_uuid:
    description:
      - With O(max_members) or O(caller_matches), act on nobody when retrieve reports another C(conference_uuid)
        (another instance of the room; Vobiz does not document the UUID in retrieve's answer, so one that is not given
        does not stop it).
    type: str
    version_added: 0.2.0
  caller_matches:
    description:
      - A caller rule, judged on the conference as retrieve reports it (a callback's C(From) is only a hint). Act only
        on the members whose C(from) matches one of these caller numbers or globs (C(*) any digits, C(?) one digit).
        The room must be readable and its C(conference_member_count) must agree with its member list; with member
        ids, each must be listed. Otherwise nobody is acted on, and RV(callers) says why.
      - With member ids, those whose C(from) matches; with O(member_id=all), every listed member whose C(from)
        matches, one request each.
      - Numbers and patterns are compared in E.164 form - spaces, tabs, dashes, dots and parentheses removed, a leading
        C(00) read as C(+), digits without C(+) given one, at most 15 digits; a C(from) that is anything else (a SIP
        URI, C(anonymous)) matches nothing. Each entry must be a string (quote numbers, as YAML reads C(+15551234567) as
        an integer); one that is no number or glob is refused.
      - Cannot be combined with O(max_members).
    type: list
    elements: raw
    version_added: 0.2.0
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
    member_id: >-
      {{ room.conferences[0].members | selectattr('from', 'equalto', '+919812345678') | map(attribute='member_id') }}
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
  description: Whether the conference was found gone (the conference API's own HTTP 404, or C(conference not found));
    then nothing changed.
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
    - Member ids (or V(all)) whose request was in flight when the run was interrupted (SIGINT or SIGTERM) and whose
      answer did not come back; they may or may not have been acted on. The task fails when the run is interrupted.
  returned: always
  type: list
  elements: str
  sample: []
capacity:
  description:
    - With O(max_members), what the cap made of the room.
  returned: when O(max_members) is given
  type: dict
  contains:
    verdict:
      description: V(selected) (members to remove), V(spared) (not over the cap), V(absent), V(unreadable),
        V(other_instance) or V(not_listed) (a member id given is not in the room).
      type: str
    reason:
      description: Why nobody was removed, or V(null).
      type: str
    member_count:
      description: The room's member count as retrieve reported it, when it could be read.
      type: int
    max_members:
      description: O(max_members).
      type: int
    members:
      description: The member ids the cap selected for removal.
      type: list
      elements: str
  sample: {"verdict": "selected", "reason": null, "member_count": 4, "max_members": 3, "members": ["41"]}
  version_added: 0.2.0
callers:
  description:
    - With O(caller_matches), what the rule made of the room. Numbers are shown masked except their last four digits.
  returned: when O(caller_matches) is given
  type: dict
  contains:
    verdict:
      description: V(selected) (members to act on), V(spared) (no member given calls from a matching number),
        V(absent), V(unreadable), V(other_instance) or V(not_listed) (a member id given is not in the room).
      type: str
    reason:
      description: Why nobody was acted on, or V(null).
      type: str
    member_count:
      description: The number of members retrieve listed, when the list could be read.
      type: int
    members:
      description: The member ids the rule selected.
      type: list
      elements: str
    callers:
      description: The selected members and their C(from), masked except the last four digits.
      type: list
      elements: dict
  sample: {"verdict": "selected", "reason": null, "member_count": 3, "members": ["41"],
           "callers": [{"member_id": "41", "caller": "+*******4567"}]}
  version_added: 0.2.0
run_id:
  description:
    - The random id of this task run. Every line this run wrote to O(audit_log) carries it as C(run_id).
  returned: always
  type: str
  sample: 6f1c0b8e2d3a4f5e9a7b1c2d3e4f5a6b
refused_options:
  description:
    - When the module refused its input before any request, the options the refusal is about, as its message names
      them - the one refused first, then any the message offers instead (a C(match) that selects every room names
      V(match) and V(all)). Not returned for what Ansible itself checks (types, choices, options that exclude each
      other).
  returned: when the module refused its input
  type: list
  elements: str
  sample: ["parallel"]
  version_added: 0.2.0
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "muted: acted on 1 member(s) of 'All Hands'; 1 already done."
'''

import functools

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    MEMBER_ACTIONS,
    OUTCOME_ACTED,
    UNCERTAIN_ACTED,
    add_member_outcome,
    member_answer_records,
    member_outcome,
    member_plan,
)
from ansible_collections.vobiz.voice.plugins.module_utils._module import VobizModule
from ansible_collections.vobiz.voice.plugins.module_utils._policy import member_policy, member_policy_options
from ansible_collections.vobiz.voice.plugins.module_utils._selection import normalize_member_ids, normalize_name_list


class MemberAction(VobizModule):
    """Acts on members of one conference (hang up, kick, mute, deaf), only where their state needs it."""

    options = dict(
        conference=dict(type='str', required=True),
        member_id=dict(type='list', elements='str', required=True),
        state=dict(type='str', required=True, choices=list(MEMBER_ACTIONS)),
        names_escaped=dict(type='bool', default=False),
        **member_policy_options(),
    )
    audit_action = 'member'
    uncertain_key = 'uncertain_members'
    uncertain_label = UNCERTAIN_ACTED
    name_keys = ('members', 'already', 'uncertain_members', 'interrupted', 'not_started')
    summary_counts = ('already',)
    changes = 'members'

    def __init__(self, module, api, audit, run_id, ids, conference, policy):
        super().__init__(module, api, audit, run_id)
        self.ids, self.conference, self.state, self.policy = ids, conference, module.params['state'], policy
        self.method, self.action, self.flag = MEMBER_ACTIONS[self.state]
        self.removing = self.flag is None
        self.result = dict(dict((key, []) for key in self.name_keys), changed=False, failures=[], run_id=run_id)
        self.result.update(conference_absent=False, uncertain=False)

    @staticmethod
    def prepare(params):
        conference = normalize_name_list(params['conference'], 'conference', escaped=params['names_escaped'])[0]
        ids = normalize_member_ids(params['member_id'], 'member_id')
        policy = member_policy(params, removing=MEMBER_ACTIONS[params['state']][2] is None)
        return dict(ids=ids, conference=conference, policy=policy)

    def summary_head(self):
        verb = 'would act on' if self.check_mode else 'acted on'
        return '{0}: {1} {2} member(s) of {3!r}'.format(self.state, verb, len(self.result['members']), self.conference)

    def failures_text(self, failures):
        shown = ', '.join('{member_id} ({message})'.format(**failure) for failure in failures[:10])
        uncertain = ' ({0} {1})'.format(self.uncertain_count(), self.uncertain_label) if self.uncertain_count() else ''
        return f'{self.state}: {len(failures)} member action(s) failed{uncertain} in {self.conference!r}: {shown}'

    def audit_item(self, item, outcome, status=None, **extra):  # item: a member id
        self.audit_line(self.conference, outcome, status, member_id=item, state=self.state, **extra)

    def run(self):
        retrieved = self.guarded(self.api.retrieve, self.conference)
        if self.policy is not None:  # the cap or the caller rule decides who may go, from this answer alone (_policy)
            verdict = self.policy.judge(retrieved, self.ids)
            self.result.update(self.policy.result(verdict))
            self.warnings.extend(verdict.warnings(self.conference))
            if not verdict.acts():
                self.finish()
            self.ids = verdict.members_for(self.ids)
        # The members that need it; the others are already so, or (mute, deaf) not there, or the room is not live.
        need, others, unreadable = member_plan(retrieved, self.ids, self.flag)
        for member_id, outcome, status, message in others:
            self.record([member_id], outcome, status, message)
        if self.result['conference_absent']:
            self.finish()
        if unreadable is not None:
            self.result['uncertain'] = True
            doing = 'predicting a change' if self.check_mode else 'acting'
            self.warn_unreadable(self.conference, unreadable, f"{doing} without knowing the members' state")
        if self.check_mode or (not need and self.ids != 'all'):
            self.result['members'] = need
            for member_id in need:
                self.audit_item(member_id, OUTCOME_ACTED, uncertain=self.result['uncertain'] or None)
        else:  # member_id=all: one request for the whole room, whatever the member list said (it may lie)
            batch = ['all'] if self.ids == 'all' else need
            send = functools.partial(self.api.act_on_members, self.method, self.conference, action=self.action)
            record = functools.partial(self.record_answers, batch, need)
            self.run_batch(send, batch, record, self.log, summarise=self.summary)
        self.conclude()

    def log(self, member_id, answer):
        self.audit_outcome(member_id, *member_outcome(answer, self.removing, room_wide=member_id == 'all'))

    def record_answers(self, batch, need, answers):
        for ids, outcome, status, message in member_answer_records(
            batch, answers, self.removing, need, self.result['already']
        ):
            self.record(ids, outcome, status, message, audit=False)

    def record(self, ids, outcome, status=None, message=None, audit=True):
        """Member ids into the result by their outcome (``add_member_outcome``), and (``audit``) into the audit log."""
        add_member_outcome(self.result, ids, outcome, status, message)
        for member_id in ids if audit else ():
            self.audit_item(member_id, outcome, status, message=message)


def main():
    MemberAction.execute()


if __name__ == '__main__':
    main()
