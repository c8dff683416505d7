#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function
__metaclass__ = type

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
  - An answer that cannot be read as a success (a 2xx whose body holds an error or is not JSON, or an answer too
    large to read) is a failure, because whether the action was carried out is unknown.
  - Authentication errors (HTTP 401, 403) stop the run at once.
author:
  - vobiz.voice maintainers (@vobiz)
requirements:
  - requests
extends_documentation_fragment:
  - vobiz.voice.connection
  - vobiz.voice.attributes
  - vobiz.voice.attributes.actiongroup_vobiz
attributes:
  check_mode:
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
failures:
  description:
    - Member actions that failed, after retries. When this is not empty the task fails, and the other keys still
      report what was done.
    - This includes answers that cannot be read as a success (a 2xx whose body holds an error or is not JSON, an
      answer too large to read), since whether the action was carried out is then unknown; the message says so.
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
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: "muted: acted on 1 member(s) of 'All Hands'; 1 already done."
'''

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.vobiz.voice.plugins.module_utils._vobiz import (
    HAS_REQUESTS,
    REQUESTS_IMPORT_ERROR,
    STATE_ABSENT,
    STATE_PRESENT,
    VobizFatalError,
    VobizInputError,
    VobizRequestError,
    client_from_module,
    is_member_not_found,
    normalize_conference,
    normalize_name_list,
    vobiz_argument_spec,
)

#: state -> (HTTP method, member route action, (member flag, wanted value) or None)
ACTIONS = dict(
    absent=('DELETE', None, None),
    kicked=('POST', 'Kick', None),
    muted=('POST', 'Mute', ('muted', True)),
    unmuted=('DELETE', 'Mute', ('muted', False)),
    deaf=('POST', 'Deaf', ('deaf', True)),
    undeaf=('DELETE', 'Deaf', ('deaf', False)),
)


def members_inconsistency(conference):
    """Why a retrieved conference's member list cannot be trusted, or ``None``.

    Vobiz has answered ``"conference_member_count": "2"`` with ``"members": []`` for a live room:
    a list that disagrees with the count is not a list to act (or not act) on.
    """
    members = conference.get('members')
    if members is None:
        members = []
    if not isinstance(members, list):
        return 'its member list is not a list'
    count = normalize_conference(dict(conference, members=[])).get('conference_member_count')
    if conference.get('conference_member_count') is not None and count != len(members):
        return 'conference_member_count {0!r} does not agree with the {1} member(s) listed'.format(
            conference.get('conference_member_count'), len(members))
    return None


def member_ids(value):
    """``member_id`` -> ``'all'`` or a list of ids without duplicates; ``None`` if invalid."""
    ids = []
    for entry in value or ():
        for item in str(entry).split(','):
            item = item.strip()
            if not item:
                return None
            if item not in ids:
                ids.append(item)
    if not ids or ('all' in ids and len(ids) > 1):
        return None
    return 'all' if ids == ['all'] else ids


class MemberAction(object):
    """Options -> client calls -> result."""

    def __init__(self, module, client, ids):
        self.module = module
        self.client = client
        self.ids = ids
        self.conference = module.params['conference']
        self.state = module.params['state']
        self.method, self.action, self.flag = ACTIONS[self.state]
        self.removing = self.flag is None
        self.result = dict(changed=False, members=[], already=[], conference_absent=False, uncertain=False, failures=[])
        self.warnings = []

    def finish(self, failed_msg=None):
        for warning in self.client.warnings + self.warnings:
            self.module.warn(warning)
        result = self.result
        result['changed'] = bool(result['members'])
        summary = '{0}: {1} {2} member(s) of {3!r}'.format(
            self.state, 'would act on' if self.module.check_mode else 'acted on', len(result['members']), self.conference)
        for key, text in (('already', 'already done'), ('failures', 'failed')):
            if result[key]:
                summary += '; {0} {1}'.format(len(result[key]), text)
        if result['conference_absent']:
            summary += '; the conference is not live'
        if failed_msg:
            self.module.fail_json(msg=failed_msg, **result)
        self.module.exit_json(msg=summary + '.', **result)

    def plan(self, conference):
        """From a readable conference: the ids that need the action (and sort out the others)."""
        present = dict((m['member_id'], m) for m in normalize_conference(conference)['members'])
        need = []
        for member_id in (list(present) if self.ids == 'all' else self.ids):
            member = present.get(member_id)
            if member is None:
                if self.removing:
                    self.result['already'].append(member_id)
                else:
                    self.result['failures'].append(dict(member_id=member_id, status=None, message='member not found'))
            elif self.flag is not None and member.get(self.flag[0]) is self.flag[1]:
                self.result['already'].append(member_id)
            else:
                need.append(member_id)
        return need

    def run(self):
        try:
            retrieved = self.client.retrieve(self.conference)
        except VobizFatalError as exc:
            self.finish(failed_msg=str(exc))
        if retrieved.state == STATE_ABSENT:
            self.result['conference_absent'] = True
            self.finish()
        reason = retrieved.reason
        if retrieved.state == STATE_PRESENT:
            reason = members_inconsistency(retrieved.conference)
        if reason is None:
            need = self.plan(retrieved.conference)
        else:
            need = ['all'] if self.ids == 'all' else list(self.ids)
            self.result['uncertain'] = True
            self.warnings.append('Conference {0!r} could not be read ({1}); {2} without knowing the members\' state.'.format(
                self.conference, reason, 'predicting a change' if self.module.check_mode else 'acting'))
        if self.module.check_mode or (not need and self.ids != 'all'):
            self.result['members'] = need
        elif self.ids == 'all':
            # One request for the whole room, whatever the member list said (it may lie): its answer
            # decides. It also reaches anyone who joined since the read.
            self.record_room_wide(need, self.send('all'))
        else:
            try:
                answers = self.client.run_concurrently(self.send, need)
            except VobizFatalError as exc:
                for member_id, answer in zip(need, exc.results or ()):
                    self.record([member_id], answer)
                self.finish(failed_msg=str(exc))
            for member_id, answer in zip(need, answers):
                self.record([member_id], answer)
        if self.result['failures']:
            self.finish(failed_msg='{0}: {1} member action(s) failed in {2!r}: {3}'.format(
                self.state, len(self.result['failures']), self.conference,
                ', '.join('{member_id} ({message})'.format(**f) for f in self.result['failures'][:10])))
        self.finish()

    def send(self, member):
        try:
            return self.client.member_action(self.method, self.conference, member, self.action,
                                             body={} if self.method == 'POST' else None)
        except VobizRequestError as exc:
            return exc

    def record_room_wide(self, need, answer):
        """The answer to the one room-wide request (``member_id=all``); ``need`` is what the read planned."""
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
        if isinstance(answer, VobizRequestError):
            self.result['failures'].extend(dict(member_id=m, status=None, message=answer.message) for m in ids)
        elif answer.ok:
            self.result['members'].extend(ids)
        elif is_member_not_found(answer.status, answer.body):
            if self.removing and answer.ambiguous:
                # An earlier attempt's reply was lost: this run most likely removed the member itself.
                self.result['members'].extend(ids)
            elif self.removing:
                self.result['already'].extend(ids)
            else:
                self.result['failures'].extend(dict(member_id=m, status=404, message=answer.message) for m in ids)
        elif answer.conference_gone:
            self.result['conference_absent'] = True
        else:
            self.result['failures'].extend(dict(member_id=m, status=answer.status, message=answer.message) for m in ids)


def main():
    argument_spec = vobiz_argument_spec()
    argument_spec.update(
        conference=dict(type='str', required=True),
        member_id=dict(type='list', elements='str', required=True),
        state=dict(type='str', required=True, choices=list(ACTIONS)),
    )
    module = AnsibleModule(argument_spec=argument_spec, supports_check_mode=True)
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    try:
        normalize_name_list(module.params['conference'], 'conference')
    except VobizInputError as exc:
        module.fail_json(msg=str(exc))
    ids = member_ids(module.params['member_id'])
    if ids is None:
        module.fail_json(msg='member_id must be "all" or a non-empty list of member ids (no empty ids, and "all" alone)')
    client = client_from_module(module)
    MemberAction(module, client, ids).run()


if __name__ == '__main__':
    main()
