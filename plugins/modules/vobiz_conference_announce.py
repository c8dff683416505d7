#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: vobiz_conference_announce
short_description: Speak or play an announcement to the members of Vobiz voice conferences
version_added: 0.1.0
description:
  - Speaks a text (text to speech) or plays an audio file to the members of live conferences, for example to warn
    the people in a room before it is hung up with M(vobiz.voice.vobiz_conference).
  - Vobiz has no room-wide announcement, so the module sends one C(POST Conference/{name}/Member/{member}/Speak/)
    (or C(.../Play/)) per conference, to V(all) members or to the ids in O(member). HTTP 200 and 202 both mean
    the announcement started, unless the body says error or is not JSON; then (and for an answer too large to read)
    the conference is in RV(uncertain) and RV(failures), because whether the announcement started is unknown.
  - Conferences are selected as in M(vobiz.voice.vobiz_conference) (O(name), O(match), O(exclude)) and worked on
    concurrently (see O(parallel)).
  - A conference that is gone (the conference API's own HTTP 404, or C(conference not found)) is skipped and returned
    in RV(already_absent); that is not an error, so a rerun of a maintenance play succeeds. A 404 from outside the
    API (see O(api_url)) stops the run.
  - An announcement is not retried after a lost reply or a gateway's V(502) or V(504) (it may have started; a retry
    could play it twice). Rate limits and other server errors are retried as usual. Authentication errors (HTTP 401,
    403) stop the whole run.
author:
  - vobiz.voice maintainers (@vobiz)
extends_documentation_fragment:
  - vobiz.voice.connection
  - vobiz.voice.selection
  - vobiz.voice.selection.exclude
  - vobiz.voice.selection.names_escaped
  - vobiz.voice.audit_log
  - vobiz.voice.attributes
  - vobiz.voice.attributes.actiongroup_vobiz
attributes:
  check_mode:
    support: full
    details:
      - Check mode sends no C(POST). It reads each conference (one C(GET) each, and one C(GET) of the list for
        O(match)) and predicts an announcement for each live one.
      - A conference whose answer cannot be read is predicted to be announced to, listed in RV(uncertain), and
        warned about. Member ids given in O(member) are not checked against the members.
  diff_mode:
    support: none
options:
  member:
    description:
      - V(all) members of each conference, or a list of member ids (as M(vobiz.voice.vobiz_conference_info) returns
        them).
      - With member ids, a conference in which one of them is not present fails (HTTP 404 C(member not found)).
    type: list
    elements: str
    default: [all]
  text:
    description:
      - The text to speak, 1 to 1000 characters. Exactly one of O(text) and O(url) is required.
    type: str
  voice:
    description: The voice that speaks O(text).
    type: str
    choices: [WOMAN, MAN]
    default: WOMAN
  language:
    description: The language of O(text), for example V(en-US) or V(en-GB).
    type: str
    default: en-US
  url:
    description:
      - An C(https://) URL of an audio file (MP3 or WAV) to play. Exactly one of O(text) and O(url) is required.
    type: str
  wait:
    description:
      - Seconds to wait, once, after the last announcement has started, so that it can finish before the next task
        (for example the hang-up) runs. Not per conference.
      - Only when something was announced, and never in check mode. V(0) to V(3600).
    type: float
    default: 0
notes:
  - Every run announces again, because an announcement is an event, not a state. C(changed) is V(true) when any
    announcement started.
seealso:
  - module: vobiz.voice.vobiz_conference
  - module: vobiz.voice.vobiz_conference_info
  - module: vobiz.voice.vobiz_conference_member
  - name: Vobiz conference API
    description: Speak text and play audio to conference members.
    link: https://docs.vobiz.ai/
'''

EXAMPLES = r'''
- name: Warn the support rooms, then hang them up
  module_defaults:
    group/vobiz.voice.vobiz:
      auth_id: "{{ vobiz_auth_id }}"
      auth_token: "{{ vobiz_auth_token }}"
  block:
    - name: Announce the maintenance
      vobiz.voice.vobiz_conference_announce:
        match: support-*
        text: This conference ends in one minute for scheduled maintenance.
        wait: 60
        audit_log: "{{ playbook_dir }}/vobiz-audit.jsonl"

    - name: Hang up the support rooms
      vobiz.voice.vobiz_conference:
        match: support-*

- name: Play a recorded message to two members
  vobiz.voice.vobiz_conference_announce:
    name: Board Room
    member: ["10", "15"]
    url: https://media.example.com/announcements/closing.mp3
'''

RETURN = r'''
announced:
  description: Conferences in which an announcement started (in check mode, would start).
  returned: always
  type: list
  elements: str
  sample: ["support-1", "support-2"]
already_absent:
  description:
    - Conferences that were not live (HTTP 404, or C(conference not found)); skipped, not an error.
    - The same key as in M(vobiz.voice.vobiz_conference) and M(vobiz.voice.vobiz_conference_info).
  returned: always
  type: list
  elements: str
  sample: ["support-3"]
  version_added: 0.2.0
absent:
  description:
    - Deprecated alias of RV(already_absent), with the same content. It will be removed in vobiz.voice 0.3.0;
      read RV(already_absent) instead.
  returned: always
  type: list
  elements: str
  sample: ["support-3"]
failures:
  description:
    - Conferences where the announcement failed, after retries. When this is not empty the task fails, and the
      other keys still report what was done. Named C(failures) because C(failed) is Ansible's task status.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The conference name.
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
  sample: [{"name": "support-4", "status": 503, "message": "HTTP 503: service unavailable"}]
uncertain:
  description:
    - In a real run, the conferences whose answer cannot tell whether the announcement started (a 2xx whose body
      holds an error or is not JSON, an answer too large to read, no usable answer after an attempt that may have
      reached the server, or a gateway's V(502)/V(504)); they are also in RV(failures), so the task fails, as
      uncertain hang-ups do in M(vobiz.voice.vobiz_conference). Audited with the outcome V(uncertain).
    - In check mode, the conferences that could not be read; predicted to be announced to (and also in RV(announced)).
  returned: always
  type: list
  elements: str
  sample: []
not_started:
  description:
    - Conferences never sent because the run was stopped before them (HTTP 401 or 403, a V(404) from outside the API,
      an interrupt). Audited with the outcome V(not_started).
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
excluded:
  description: Selected names that O(exclude) protected; they were not touched.
  returned: always
  type: list
  elements: str
  sample: []
interrupted:
  description:
    - Conferences whose request was in flight when the run was interrupted (SIGINT or SIGTERM) and whose answer did not
      come back; they may or may not have been announced to. The task fails when the run is interrupted.
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
  sample: Announced in 2 conference(s); 1 already absent.
'''

import math

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    OUTCOME_ABSENT,
    OUTCOME_ANNOUNCED,
    OUTCOME_UNCERTAIN,
    UNCERTAIN_ANNOUNCED,
    Outcome,
    announcement,
    predicted_outcome,
)
from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._module import VobizModule
from ansible_collections.vobiz.voice.plugins.module_utils._selection import (
    Selection,
    normalize_member_ids,
    selection_options,
)

MAX_WAIT = 3600


class ConferenceAnnounce(VobizModule):
    """Speaks or plays an announcement to the members of the selected conferences."""

    options = dict(
        selection_options('name', 'match', 'exclude', 'names_escaped'),
        member=dict(type='list', elements='str', default=['all']),
        text=dict(type='str'),
        voice=dict(type='str', default='WOMAN', choices=['WOMAN', 'MAN']),
        language=dict(type='str', default='en-US'),
        url=dict(type='str'),
        wait=dict(type='float', default=0),
    )
    # text and url: not both (an explicit null counts as given)
    mutually_exclusive = [('text', 'url')]
    required_one_of = [('text', 'url'), ('name', 'match')]
    audit_action = 'announce'
    failure_head = 'Could not announce in'
    uncertain_label = UNCERTAIN_ANNOUNCED
    name_keys = ('announced', 'absent', 'already_absent', 'uncertain', 'excluded', 'interrupted', 'not_started')
    summary_counts = ('absent', 'excluded')

    def __init__(self, module, api, audit, run_id, selection, member, action, body):
        super().__init__(module, api, audit, run_id)
        self.selection, self.member, self.action, self.body = selection, member, action, body
        lists = ('announced', 'absent', 'failures', 'uncertain', 'excluded', 'interrupted', 'not_started')
        self.result = dict(dict((key, []) for key in lists), changed=False, run_id=run_id)

    @staticmethod
    def prepare(params):
        selection = Selection.from_params(params, all_option=None)
        action, body = announcement(params['text'], params['url'], params['voice'], params['language'])
        wait = params['wait'] or 0.0
        if math.isnan(wait) or not 0 <= wait <= MAX_WAIT:
            raise VobizInputError(f'wait must be between 0 and {MAX_WAIT} seconds, got {wait!r}', option='wait')
        member = normalize_member_ids(params['member'], 'member')
        return dict(selection=selection, member=member, action=action, body=body)

    def finish(self, failed_msg=None, msg=None):
        wait = self.params['wait']
        if self.result['announced'] and not self.check_mode and wait and self.api.interrupted is None:
            if not self.api.wait_unless_interrupted(wait) and self.api.interrupted is not None:
                cut_short = 'The announcements were made; the wait after them was cut short.'
                failed_msg = ' '.join(str(part) for part in (self.api.interrupted, cut_short, failed_msg) if part)
        super().finish(failed_msg, msg)

    def summary_head(self):
        announced = len(self.result['announced'])
        return f"{'Would announce' if self.check_mode else 'Announced'} in {announced} conference(s)"

    def result_for(self, msg):
        # 'absent' is the deprecated name (until 0.3.0) of the key the other modules call 'already_absent'.
        changed, already_absent = bool(self.result['announced']), list(self.result['absent'])
        return dict(self.result, changed=changed, already_absent=already_absent, msg=msg or self.summary())

    def run(self):
        worker, targets = self.predict if self.check_mode else self.announce, self.select(self.selection)
        self.run_batch(worker, targets, self.record, self.log, Outcome.after_error, summarise=self.summary)
        self.conclude()

    def announce(self, name):
        return self.api.announce(name, self.member, self.action, self.body)

    def predict(self, name):
        return predicted_outcome(self.api.retrieve(name), OUTCOME_ANNOUNCED, OUTCOME_ABSENT)

    def record(self, answers):
        for outcome in answers:
            if outcome is not None and self.check_mode and outcome.outcome == OUTCOME_UNCERTAIN:  # could not be read
                self.predict_change_of_unreadable(outcome.name, outcome.message, 'announced to')
                outcome = outcome._replace(outcome=OUTCOME_ANNOUNCED)
            self.add_outcome(outcome)

    def log(self, name, outcome):
        predicted = self.check_mode and outcome.outcome == OUTCOME_UNCERTAIN
        member = self.member if self.member == 'all' else ','.join(self.member)
        said = dict(message=outcome.message, uncertain=predicted or None, route=self.action, member=member)
        self.audit_line(name, OUTCOME_ANNOUNCED if predicted else outcome.outcome, outcome.status, **said)


def main():
    ConferenceAnnounce.execute()


if __name__ == '__main__':
    main()
