#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: vobiz_conference_info
short_description: Read Vobiz voice conferences
version_added: 0.1.0
description:
  - Lists the live conferences of a Vobiz account, or retrieves chosen ones with their members.
  - Without O(name) and O(match), returns the names of all live conferences (one C(GET) of the list).
  - With O(name) and/or O(match), retrieves each selected conference (one C(GET) each, run concurrently) and
    returns the conference objects, with counts and times as integers and the members as a list.
  - A conference that does not exist (the conference API's own HTTP 404) is not an error; it is returned in
    RV(already_absent). A 404 from outside the API, such as the gateway's answer to a wrong O(api_url), fails the task.
  - Vobiz has been seen answering C(GET) requests wrongly for live rooms, so this module says when it could not
    tell. A retrieval answered with C(200 {"error":"failed"}) (or anything else that is not the conference)
    puts the name in RV(unreadable) with a warning, never in RV(already_absent). An empty or unreadable list draws a
    warning, because the list has been seen empty while rooms were live.
author:
  - vobiz.voice maintainers (@vobiz)
extends_documentation_fragment:
  - vobiz.voice.connection
  - vobiz.voice.selection
  - vobiz.voice.selection.exclude
  - vobiz.voice.selection.registry
  - vobiz.voice.attributes
  - vobiz.voice.attributes.info_module
  - vobiz.voice.attributes.actiongroup_vobiz
notes:
  - Only reads; never changes anything. C(changed) is always V(false).
seealso:
  - module: vobiz.voice.vobiz_conference
  - module: vobiz.voice.vobiz_conference_announce
  - module: vobiz.voice.vobiz_conference_member
  - name: Vobiz conference API
    description: Retrieve a conference, list all conferences.
    link: https://docs.vobiz.ai/
'''

EXAMPLES = r'''
- name: Names of all live conferences
  vobiz.voice.vobiz_conference_info:
  register: live

- name: Look at the support rooms before the maintenance window
  vobiz.voice.vobiz_conference_info:
    name:
      - Support Room 1
      - Smith, John  # one conference: commas are part of the name
    match: support-*
  register: rooms

- name: Show who is in each room
  ansible.builtin.debug:
    msg: "{{ item.conference_name }}: {{ item.members | map(attribute='caller_name') | join(', ') }}"
  loop: "{{ rooms.conferences }}"

- name: The rooms known from the list and from the event source's callbacks (in a playbook its rulebook runs)
  vobiz.voice.vobiz_conference_info:
    registry: "{{ enforce_limits_registry }}"
  register: known

- name: Show the rooms the list omitted
  ansible.builtin.debug:
    msg: "{{ known.rooms | rejectattr('known_from', 'contains', 'list') | map(attribute='name') }}"

- name: Stop when a room could not be read
  ansible.builtin.assert:
    that: rooms.unreadable | length == 0
    fail_msg: "Vobiz did not answer readably for {{ rooms.unreadable }}"
'''

RETURN = r'''
names:
  description:
    - Without O(name) and O(match), the names of all live conferences, as the list gave them.
    - Otherwise the names of the conferences in RV(conferences).
  returned: always
  type: list
  elements: str
  sample: ["Support Room 1", "ci-42"]
conferences:
  description:
    - The retrieved conferences (only with O(name) or O(match)), in the order selected.
  returned: always
  type: list
  elements: dict
  contains:
    conference_name:
      description: The conference name.
      type: str
      returned: always
    conference_run_time:
      description: Seconds since the conference started (V(null) if the answer could not be read as a number).
      type: int
      returned: always
    conference_member_count:
      description: The number of members.
      type: int
      returned: always
    members:
      description: The members; empty when nobody is in the room.
      type: list
      elements: dict
      returned: always
      contains:
        member_id:
          description: The member id, used by M(vobiz.voice.vobiz_conference_member).
          type: str
          returned: always
        muted:
          description: Whether the member is muted (V(null) if unknown).
          type: bool
          returned: always
        deaf:
          description: Whether the member cannot hear the conference (V(null) if unknown).
          type: bool
          returned: always
        join_time:
          description: Seconds since the member joined (V(null) if unknown).
          type: int
          returned: always
        from:
          description: The caller's number.
          type: str
          returned: when given by the API
        to:
          description: The number called.
          type: str
          returned: when given by the API
        caller_name:
          description: The caller's name.
          type: str
          returned: when given by the API
        direction:
          description: V(inbound) or V(outbound).
          type: str
          returned: when given by the API
        call_uuid:
          description: The call's id.
          type: str
          returned: when given by the API
  sample:
    - conference_name: Support Room 1
      conference_run_time: 754
      conference_member_count: 1
      members:
        - member_id: "17"
          muted: false
          deaf: false
          join_time: 702
          from: "+919800000017"
          to: "+918000000000"
          caller_name: Caller 17
          direction: inbound
          call_uuid: 2f0c6a47-8d7e-4c55-9d0c-4a1d1b1bce2e
already_absent:
  description:
    - Selected names that are not live (HTTP 404). Not an error.
    - The same key as in M(vobiz.voice.vobiz_conference) and M(vobiz.voice.vobiz_conference_announce).
  returned: always
  type: list
  elements: str
  sample: ["ci-41"]
  version_added: 0.2.0
absent:
  description:
    - Deprecated alias of RV(already_absent), with the same content. It will be removed in vobiz.voice 0.3.0;
      read RV(already_absent) instead.
  returned: always
  type: list
  elements: str
  sample: ["ci-41"]
excluded:
  description: Selected names (by O(name) or O(match)) that O(exclude) protected; they are not read.
  returned: always
  type: list
  elements: str
  sample: ["support-vip"]
  version_added: 0.2.0
unreadable:
  description:
    - Selected names whose retrieval could not be read (for example C(200 {"error":"failed"}), which Vobiz has
      answered for live rooms, or an error after retries). They may well be live; each draws a warning.
  returned: always
  type: list
  elements: str
  sample: []
rooms:
  description:
    - With O(registry), every room the live list (when read) or the registry knew that the selection covers (all of them
      without O(name) and O(match)), the listed ones first. Whether a room the registry alone knew is live is told by
      RV(names), RV(already_absent) and RV(unreadable), as for every retrieved room.
  returned: when O(registry) is given
  type: list
  elements: dict
  contains:
    name:
      description: The conference name, escaped as in the other result lists.
      type: str
      returned: always
    known_from:
      description: Which sources knew the room - V(list) (the live list), V(registry), or both.
      type: list
      elements: str
      returned: always
    uuid:
      description: The C(ConferenceUUID) the registry holds (V(null) when it holds none or does not know the room).
      type: str
      returned: always
    first_seen:
      description: When the registry first heard of the room, in seconds since the epoch (V(null) if unknown to it).
      type: float
      returned: always
    last_heard:
      description: When the registry last heard of the room, in seconds since the epoch (V(null) if unknown to it).
      type: float
      returned: always
    members:
      description:
        - The member count as the registry knows it, when it heard every member enter; V(null) otherwise (also after
          the source restarted, when callbacks may have been missed).
      type: int
      returned: always
  sample:
    - {"name": "Board Room", "known_from": ["list", "registry"], "uuid": "0b6c8a5e-2f1d-4c3b-9a8e-7d6f5e4c3b2a",
       "first_seen": 1796623200.5, "last_heard": 1796623500.0, "members": 3}
    - {"name": "ci-44", "known_from": ["registry"], "uuid": null, "first_seen": 1796623300.0,
       "last_heard": 1796623300.0, "members": null}
  version_added: 0.2.0
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
'''

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    STATE_ABSENT,
    STATE_PRESENT,
    normalize_conference,
)
from ansible_collections.vobiz.voice.plugins.module_utils._module import VobizModule
from ansible_collections.vobiz.voice.plugins.module_utils._registry import known_rooms
from ansible_collections.vobiz.voice.plugins.module_utils._selection import (
    Selection,
    normalize_name_list,
    registry_from_params,
    selection_options,
)


class ConferenceInfo(VobizModule):
    """Reads the live list and the selected conference objects; changes nothing."""

    options = selection_options('name', 'match', 'exclude', 'registry')
    name_keys = ('names', 'absent', 'already_absent', 'unreadable', 'excluded')

    def __init__(self, module, api, audit, run_id, name, match, exclude, registry=None):
        super().__init__(module, api, audit, run_id)
        self.names = name or []
        self.match = match or []
        self.selection = Selection(name, match, exclude, registry=registry)
        self.result = dict(changed=False, names=[], conferences=[], absent=[], unreadable=[], excluded=[])

    @staticmethod
    def prepare(params):
        names = dict((option, normalize_name_list(params[option], option)) for option in ('name', 'match', 'exclude'))
        return dict(names, registry=registry_from_params(params))

    def result_for(self, msg):
        # 'absent' is the deprecated name (until 0.3.0) of the key the other modules call 'already_absent'.
        self.result['already_absent'] = list(self.result['absent'])
        if self.params.get('registry'):  # every room the list or the registry knew, marked with which
            self.result['rooms'] = known_rooms(self.selection.registry, self.live, self.selection.covers)
        return dict(self.result, msg=msg) if msg else self.result

    def run(self):
        if not self.names and not self.match:
            self.live = self.live_names('live rooms may be missing from names.')
            self.result['names'] = list(self.live)
            unlisted, self.result['excluded'] = self.selection.unlisted(self.live)  # only a retrieve can tell
            self.retrieve_all(unlisted, self.record)
            self.finish()
        self.retrieve_all(self.select(self.selection), self.record)
        self.finish()

    def record(self, answers):
        for retrieved in answers:
            if retrieved is None:  # not run: the batch was stopped
                continue
            if retrieved.state == STATE_PRESENT:
                conference = normalize_conference(retrieved.conference)
                self.result['conferences'].append(conference)  # every text in it escaped at the exit, as names are
                self.result['names'].append(conference['conference_name'])
            elif retrieved.state == STATE_ABSENT:
                self.result['absent'].append(retrieved.name)
            else:
                self.result['unreadable'].append(retrieved.name)
                live = 'Vobiz has been seen answering this way for live rooms'
                self.warn_unreadable(retrieved.name, retrieved.reason, f'it may well be live: {live}')


def main():
    ConferenceInfo.execute()


if __name__ == '__main__':
    main()
