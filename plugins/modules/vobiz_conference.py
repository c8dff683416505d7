#!/usr/bin/python
# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

DOCUMENTATION = r'''
---
module: vobiz_conference
short_description: Hang up Vobiz voice conferences
version_added: 0.1.0
description:
  - Hangs up (ends) live conferences of a Vobiz account, by exact name, by glob on the live list, or all at once.
  - Hanging up a conference disconnects every member at once; the room cannot be rejoined, and running recordings
    are stopped and finalised.
  - In normal mode the module sends exactly one C(DELETE) per named conference and no C(GET) first, because
    a C(DELETE) is the only answer of the Vobiz API that can be trusted about whether a room was live.
    A success (V(204), or another 2xx whose body is empty or JSON without an error) means the module hung it up;
    the conference API's own V(404) (C(conference not found)) means it was already absent (no change). Any other
    V(404) (the gateway's C({"message" "Not Found"}), an C(error) of V(not found), an empty body, HTML) cannot be told
    from the answer to a path the API does not know, so it stops the run, naming O(api_url). Other answers are failures
    (see RV(failures)).
  - When the answer cannot tell whether the room was hung up, the conference is listed in RV(uncertain) as well as in
    RV(failures), and its O(audit_log) line has the outcome V(uncertain). That is a 2xx whose body says error or is not
    JSON, a 2xx too large to read, and a hang-up that may have been carried out unheard (its reply was lost, or a
    gateway answered V(502) or V(504)) when no retry settled it. Any other error answer (4xx, 5xx) is a plain failure.
  - Many conferences are handled concurrently inside one module run, over one pool of keep-alive connections
    (see O(parallel)).
  - Rate limits (HTTP 429), server errors (500, 502, 503, 504) and lost connections are retried with bounded,
    jittered exponential backoff (see O(retries) and O(retry_max_wait)); the module warns once per retried
    conference. A hang-up whose reply was lost, or that a gateway answered V(502) or V(504) (the API may have acted
    before it), and that finds the room gone on the retry, proves only that the room is gone. It is reported as hung
    up by this run when this run saw the room live before sending (O(match) or O(all) listed it, or a policy retrieved
    it as live); otherwise it is in RV(gone_unconfirmed), which is neither a change nor a failure, so that a rerun
    behind a flaky gateway stays idempotent.
  - Authentication errors (HTTP 401, 403) and a V(404) from outside the API stop the whole run at once. The
    conference whose request got that answer is a failure (uncertain when an earlier attempt of it may have been
    carried out), and the ones not yet sent are in RV(not_started).
  - Every selected conference ends in exactly one of RV(hung_up), RV(already_absent), RV(gone_unconfirmed),
    RV(uncertain), RV(interrupted), RV(not_started), or RV(failures) (the uncertain ones are in RV(failures) too,
    which gives their message), whatever stops the run; its O(audit_log) line has the same outcome.
author:
  - vobiz.voice maintainers (@vobiz)
extends_documentation_fragment:
  - vobiz.voice.connection
  - vobiz.voice.selection
  - vobiz.voice.selection.exclude
  - vobiz.voice.selection.names_escaped
  - vobiz.voice.selection.registry
  - vobiz.voice.audit_log
  - vobiz.voice.attributes
  - vobiz.voice.attributes.actiongroup_vobiz
attributes:
  check_mode:
    support: full
    details:
      - Check mode only reads. It sends one C(GET) per named conference (and one C(GET) of the list for
        O(match) and O(all), or when a named conference is not live, to find the closest live names of RV(closest)),
        never a C(DELETE).
      - Check mode returns RV(plan), the signed list of what it would hang up, which O(plan) accepts for the real run.
      - Vobiz has been seen answering C(GET) requests wrongly for live rooms. A conference whose answer cannot be
        read is predicted to be hung up, listed in RV(uncertain), and warned about; check mode never promises
        "no change" for a room it could not read.
  diff_mode:
    support: full
    details:
      - The diff lists the conferences that are (or would be) hung up, with their member counts where known
        (in check mode).
options:
  all:
    description:
      - Hang up every live conference of the account with one C(DELETE) of the whole conference collection.
      - The live list is read first (one C(GET)) to report the names in RV(hung_up). The C(DELETE) is sent even when
        the list comes back empty, because the list cannot be trusted; C(changed) is then V(false) with a warning
        that rooms may have been hung up regardless. In check mode an empty list predicts C(changed=true) instead,
        because the real run's C(DELETE) may still hang up rooms.
      - Mutually exclusive with O(name), O(match) and O(exclude).
      - A glob of O(match) made of wildcards alone (V(*), V(**), V(?*), V(*?*), ...) is refused before any request,
        because it selects every room (it is what V(${PREFIX}*) becomes when the prefix is empty); use O(all=true) to
        hang up every live conference.
    type: bool
    default: false
  running_longer_than:
    description:
      - Scheduled policy (for rooms this collection learns of without callbacks, see the enforce_limits guide).
        Select only the conferences whose C(conference_run_time), as retrieve reports it, is longer than this.
      - Seconds as an integer, or a duration such as V(4h), V(30m), V(90s) or V(1h30m).
      - Applies on top of O(name) and O(match); with neither, to every live conference (one C(GET) of the list).
        Each candidate is retrieved (one C(GET) each, also in normal mode).
      - A conference whose answer cannot be read, or whose run time is not a whole number of seconds (a
        non-negative integer or its plain decimal string), is never selected. It is listed in RV(unreadable) with a
        warning, because a policy must not end a room it could not check.
      - With O(members_at_most), a room is selected when it meets both. Cannot be combined with O(all).
    type: raw
  members_at_most:
    description:
      - Scheduled policy. Select only the conferences with at most this many members, as retrieve reports them in
        C(conference_member_count). V(1) selects rooms left with one caller, V(0) empty rooms.
      - An integer V(0) or more (or its plain decimal string).
      - Applies like O(running_longer_than), and fails safe the same way. A count that is not a non-negative integer
        or its plain decimal string (V("2.0"), V("two"), blank, V(null), missing), or that disagrees with the
        C(members) listed, cannot be read; the room is in RV(unreadable) and never selected.
    type: raw
  summary_file:
    description:
      - A file to write the run's summary to, as one JSON line, when the module ends, whatever ends it, also after an
        interrupt of C(ansible-playbook) (SIGINT or SIGTERM, as when a CI job is cancelled), after which Ansible reports
        nothing. After SIGTERM the module writes it when it has stopped, which can be a moment after
        C(ansible-playbook) has exited (ansible-core releases that do not pass the signal on, 2.16 for one, let the
        module run to its end).
      - In a real run it is also written just before the first hang-up is sent, with status V(running) and every
        conference about to be hung up in C(uncertain); the summary at the end replaces it. So the file never claims
        more than was done, and status V(running) means that the module has not finished yet or was killed outright
        (SIGKILL).
      - Its keys are those of the C(vobiz.voice.ci_teardown) playbook's summary, which uses it. Each selected
        conference is in exactly one of C(hung_up), C(already_absent), C(gone_unconfirmed), C(uncertain) (with those
        in flight at an interrupt), C(failed) and C(not_started); C(excluded), C(counts), C(status) (V(ok),
        V(nothing_to_do), V(partial), V(failed), V(interrupted) or V(running)), C(check_mode) and C(message) complete
        it.
      - Written whole or not at all (a temporary file renamed over it); its directory must exist.
      - The P(vobiz.voice.summary_on_interrupt#strategy) strategy prints it when C(ansible-playbook) is interrupted
        with SIGINT (Ctrl-C).
    type: path
  conference_uuid:
    description:
      - Policy for a hang-up on an event's word (the playbook C(vobiz.voice.enforce_limits_action) passes the
        C(ConferenceUUID) of the room's callbacks). A room whose retrieve answer carries a C(conference_uuid) that
        differs is another instance of the same name (the one meant has ended), so it is not selected; it is listed in
        RV(other_instance) with a warning. Vobiz does not document a UUID in that answer; when it has none, the other
        selectors decide.
      - Needs exactly one O(name). The room is retrieved first (one C(GET)), and fails safe as with
        O(running_longer_than).
    type: str
    version_added: 0.2.0
  live_at:
    description:
      - Policy for a scheduled end (the playbooks C(vobiz.voice.enforce_limits_action) and C(vobiz.voice.enforce_limits)
        pass an entry's C(ends_at)). Select only the conferences that were already live at this instant, that is whose
        C(conference_run_time), as retrieve reports it, is longer than the seconds since it. A room started after it
        is a new meeting and is not selected; while the instant is still to come, no room is selected.
      - An ISO 8601 time with a UTC offset, such as V(2026-12-07T11:00:00+01:00) or V(2026-12-07T10:00:00Z); one
        without is refused before any request.
      - Applies like O(running_longer_than) (on top of O(name) and O(match), each candidate retrieved), and fails safe
        the same way. Cannot be combined with O(all) or O(plan); a plan made with it holds the rooms it selected.
    type: str
  caller_matches:
    description:
      - Policy for a hang-up on a blocked caller (the playbook C(vobiz.voice.enforce_limits_action) passes the
        rulebook's C(vobiz_blocked_callers)). Select only the conferences whose member list, as retrieve reports it,
        has a member whose C(from) matches one of these caller numbers or globs (C(*) any digits, C(?) one digit).
      - Numbers and patterns are compared in E.164 form - spaces, tabs, dashes, dots and parentheses removed, a leading
        C(00) read as C(+), digits without C(+) given one, at most 15 digits; a C(from) that is anything else (a SIP
        URI, C(anonymous)) matches nothing. Each entry must be a string (quote numbers, as YAML reads C(+15551234567) as
        an integer); one that is no number or glob is refused.
      - Applies like O(running_longer_than), and fails safe the same way. A room whose member list is missing, or
        disagrees with its C(conference_member_count), is in RV(unreadable) and never selected. Cannot be combined
        with O(all) or O(plan); a plan made with it holds the rooms it selected.
    type: list
    elements: raw
    version_added: 0.2.0
  plan:
    description:
      - A plan returned (as RV(plan)) by a check-mode run of this module, passed back unchanged, for example after
        someone reviewed and approved it. The run then ends exactly the plan's conferences that are still live, with one
        C(DELETE) each (also for a plan made with O(all=true), never the hang-up of all conferences). A planned
        conference already gone is in RV(already_absent).
      - A conference the plan's selection gives now that the plan does not hold (a room started after the plan was
        made) is never touched; it is listed in RV(not_in_plan). To find those, the live list is read once when the
        plan was made with O(match), O(all) or a policy.
      - Refused before any request, with a message saying why, when it is not a plan, when it was made for another
        O(auth_id) or another O(api_url), when its C(digest) does not verify with this run's O(auth_token) (it was
        changed), or when it is older than O(plan_max_age).
      - Cannot be combined with O(name), O(match), O(exclude), O(all), O(names_escaped), O(running_longer_than),
        O(members_at_most) or O(conference_uuid), because the plan holds the selection.
      - In check mode, predicts what the run with this plan would do (one C(GET) per planned conference).
    type: dict
    version_added: 0.2.0
  plan_max_age:
    description:
      - How old a O(plan) may be; an older one is refused. Seconds as an integer, or a duration such as V(24h), V(30m)
        or V(1h30m).
    type: raw
    default: 24h
    version_added: 0.2.0
  verify:
    description:
      - Verified termination. A V(204) to a hang-up acknowledges the request; with O(verify) above V(0), a real run then
        re-reads each conference it hung up (one C(GET) each, about every 1, 2, 4, then 10 seconds) until retrieve
        answers the conference API's own V(404) or O(verify) seconds have passed since the reads began. Each hung-up
        conference ends in RV(verified) or RV(unverified). V(0) (the default) does not verify.
      - Retrieve is not reliable on the live service. An answer that cannot be read (V(200) C({"error" "failed"}), a
        V(5xx), no answer) leaves the room unverified with the reason. A V(200) with the conference leaves it
        unverified too, as the room hung up (a stale answer) or a new instance that a new call started under the same
        name, told apart by C(conference_uuid) where retrieve gives one and the instance hung up is known
        (O(conference_uuid), or a policy's retrieve). This option never hangs a room up again; the hang-up stays in
        RV(hung_up).
      - Check mode never verifies (it reads only what a dry run reads); nor does a run stopped by an interrupt or a
        fatal answer. An unverified room is warned about and does not fail the task.
      - With O(audit_log), the line of each hang-up has C(verification=pending), and a second line for the room follows
        when its verification ends, with the outcome V(hung_up) again and C(verification) V(verified) or
        V(unverified) (with C(message) and C(conference_uuid)).
    type: int
    default: 0
    version_added: 0.2.0
  state:
    description:
      - V(absent) hangs the selected conferences up. It is the only state; a conference cannot be created through the
        API.
    type: str
    choices: [absent]
    default: absent
notes:
  - Idempotent; running it again reports C(changed=false) once the rooms are gone, also behind a gateway that answers
    V(502) now and then (see RV(gone_unconfirmed)).
  - To announce to the members before hanging up, speak or play to them first (the API has no room-wide announcement).
seealso:
  - module: vobiz.voice.vobiz_conference_announce
  - module: vobiz.voice.vobiz_conference_info
  - module: vobiz.voice.vobiz_conference_member
  - name: Vobiz conference API
    description: Hang up a conference.
    link: https://docs.vobiz.ai/
'''

EXAMPLES = r'''
# Maintenance window. Run the playbook with --check --diff first: check mode only reads (one GET per
# room), predicts what would be hung up, and lists rooms it could not read under "uncertain".
- name: End the support rooms for the maintenance window
  module_defaults:
    group/vobiz.voice.vobiz:
      auth_id: "{{ vobiz_auth_id }}"
      auth_token: "{{ vobiz_auth_token }}"
  vars:
    rooms:
      - Support Room 1
      - Smith, John  # one conference: commas are part of the name
  block:
    - name: Preview, always in check mode
      vobiz.voice.vobiz_conference:
        name: "{{ rooms }}"
      check_mode: true
      register: preview

    # Hang up the same list, not preview.hung_up: only a DELETE can tell for sure whether a room is live.
    - name: Hang up the support rooms
      vobiz.voice.vobiz_conference:
        name: "{{ rooms }}"
        # The directory must exist and be writable on the host that runs the module.
        audit_log: "{{ playbook_dir }}/vobiz-audit.jsonl"
        change_id: CHG-1234
        reason: Scheduled maintenance of the support lines

# CI teardown: hang up every conference the pipeline created, but never the shared demo room.
# auth_id and auth_token come from VOBIZ_AUTH_ID and VOBIZ_AUTH_TOKEN in the environment.
- name: Tear down CI conferences
  vobiz.voice.vobiz_conference:
    match: ci-*
    exclude: ci-shared-demo
    parallel: 32
  register: teardown

- name: Hang up every live conference of the account
  vobiz.voice.vobiz_conference:
    all: true

# Scheduled policy (an AWX schedule every 10 minutes): end rooms running longer than 4 hours, and rooms
# older than 30 minutes left with a single caller. Rooms that cannot be read are never ended.
- name: End rooms over the time limit
  vobiz.voice.vobiz_conference:
    running_longer_than: 4h
- name: End abandoned rooms
  vobiz.voice.vobiz_conference:
    running_longer_than: 30m
    members_at_most: 1

# Verified termination: after the hang-ups, re-read each room for up to 60 seconds until the API says it is gone.
- name: Hang up the CI rooms and verify that they ended
  vobiz.voice.vobiz_conference:
    match: ci-*
    verify: 60
  register: verified_teardown

- name: Show the rooms whose end could not be verified
  ansible.builtin.debug:
    var: verified_teardown.unverified
  when: verified_teardown.unverified | length > 0
'''

RETURN = r'''
hung_up:
  description:
    - Names of the conferences this run hung up (in check mode, the ones it would hang up).
    - With O(all), the names the live list gave.
  returned: always
  type: list
  elements: str
  sample: ["Support Room 1", "ci-42"]
already_absent:
  description: Names that were not live (the conference API's own HTTP 404); nothing was changed for them.
  returned: always
  type: list
  elements: str
  sample: ["ci-41"]
gone_unconfirmed:
  description:
    - Conferences found gone (the API's own HTTP 404) on the retry of a hang-up whose earlier attempt may have been
      carried out unheard (its reply was lost, or a gateway answered V(502) or V(504)), when this run had not seen
      them live before sending (they were named, not listed or retrieved). They are gone; whether this run ended
      them is unknown.
    - Not a change and not a failure; counted and named in RV(msg) and audited with the outcome V(gone_unconfirmed).
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
not_started:
  description:
    - Conferences never sent because the run was stopped before them (HTTP 401 or 403, a V(404) from outside the API,
      an interrupt); they were not touched. Audited with the outcome V(not_started).
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
failures:
  description:
    - Conferences not confirmed hung up (or absent), after retries. When this is not empty the task fails,
      and the other keys still report what was done.
    - This includes the hang-ups whose answer cannot tell whether the room was hung up, which are also in
      RV(uncertain) (the message says why) - a 2xx whose body holds an error (C(200 {"error":"failed"})) or is not
      JSON (an HTML page), an answer too large to read, and a request that may have reached the server without a
      usable answer. Such a room is never in RV(hung_up); check it and run again.
    - Named C(failures) because C(failed) is the task status that Ansible itself sets.
    - Each selected conference is in exactly one result list; the uncertain ones are the exception, listed in
      RV(uncertain) and, with their message, here. Summaries count them once, as uncertain (the role's
      C(conference_maintenance_summary.failed) holds only the conferences surely not hung up).
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
  sample: [{"name": "ci-43", "status": 503, "message": "HTTP 503: service unavailable"}]
uncertain:
  description:
    - In a real run, the conferences whose hang-up answer cannot tell whether they were hung up (see RV(failures));
      they may or may not have been hung up, and are also in RV(failures), so the task fails.
    - In check mode, the conferences whose state could not be read; they are predicted to be hung up
      (and are also in RV(hung_up)).
  returned: always
  type: list
  elements: str
  sample: []
excluded:
  description: Selected names (explicit or matched) that O(exclude) protected; they were not touched.
  returned: always
  type: list
  elements: str
  sample: ["ci-shared-demo"]
unreadable:
  description:
    - With O(running_longer_than), O(members_at_most) or O(conference_uuid), the candidates that could not be checked
      against the policy (unreadable answer, no run time, member count or UUID); they were not selected and not touched.
  returned: always
  type: list
  elements: str
  sample: ["Board Room"]
other_instance:
  description:
    - With O(conference_uuid), the room whose retrieve answer reported another C(conference_uuid); it was not touched.
  returned: always
  type: list
  elements: str
  sample: []
  version_added: 0.2.0
interrupted:
  description:
    - Conferences whose request was in flight when the run was interrupted (SIGINT or SIGTERM) and whose answer did not
      come back; they may or may not have been hung up. The task fails when the run is interrupted.
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
unmatched:
  description:
    - The globs of O(match) that matched no live conference, nor a room of O(registry) (often a typo, or rooms already
      gone).
  returned: always
  type: list
  elements: str
  sample: ["suport-*"]
  version_added: 0.2.0
closest:
  description:
    - Check mode only. For each name of O(name) that is not live and each glob of O(match) that matched nothing, the
      closest live names (up to three, by similarity), to tell a typo. The C(vobiz.voice.conference_maintenance)
      role offers them as "did you mean". The live list is read once for it when the run did not read it anyway.
  returned: always
  type: dict
  sample: {"Bord Room": ["Board Room"]}
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
plan:
  description:
    - Check mode only (without O(plan)). What a real run would hang up, to review and pass back as O(plan).
    - C(digest) is HMAC-SHA256, keyed with the auth token, over the canonical JSON (keys sorted, no spaces, ASCII) of
      every other key; it holds no secret, and the plan cannot be changed without the token.
    - Names are escaped as in the other result lists.
  returned: in check mode without O(plan)
  type: dict
  contains:
    version:
      description: The plan format, V(1).
      type: int
      returned: always
    id:
      description:
        - A random id. The audit lines of the check run that made the plan, and of a run with O(plan), carry it as
          C(plan_id); such a run returns it as RV(plan_id).
      type: str
      returned: always
    created:
      description: When the plan was made, ISO 8601 UTC (C(2026-12-07T06:00:00Z)).
      type: str
      returned: always
    auth_id:
      description: The account the plan was made for.
      type: str
      returned: always
    api_url:
      description: The API URL the plan was made for.
      type: str
      returned: always
    selection:
      description:
        - The options that selected the conferences - C(name), C(match), C(exclude), C(all), C(running_longer_than)
          (seconds), C(members_at_most), C(conference_uuid) - V(null) where not given.
      type: dict
      returned: always
    conferences:
      description:
        - The conferences a real run would hang up, each with C(name), C(member_count) and C(run_time) (seconds) as
          read, V(null) where not read (a room that could not be read is in RV(uncertain) too).
      type: list
      elements: dict
      returned: always
    excluded:
      description: The selected conferences that O(exclude) protected.
      type: list
      elements: str
      returned: always
    digest:
      description: HMAC-SHA256 in hex (see above).
      type: str
      returned: always
  sample:
    version: 1
    id: 0c5e1f9a7b3d4e2f8a6b1c0d9e8f7a6b
    created: "2026-12-07T06:00:00Z"
    auth_id: MA_EXAMPLE
    api_url: https://api.vobiz.ai/api/v1
    selection: {"name": null, "match": ["ci-*"], "exclude": null, "all": false, "running_longer_than": null,
                "members_at_most": null, "conference_uuid": null}
    conferences: [{"name": "ci-42", "member_count": 2, "run_time": 310}]
    excluded: []
    digest: 3f1c0e6a2b9d8c7e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e
  version_added: 0.2.0
verified:
  description:
    - With O(verify), the conferences of RV(hung_up) whose retrieve answered the conference API's own V(404) within
      O(verify) seconds. Empty without O(verify) and in check mode.
  returned: always
  type: list
  elements: str
  sample: ["ci-42"]
  version_added: 0.2.0
unverified:
  description:
    - With O(verify), the conferences of RV(hung_up) whose end could not be verified within O(verify) seconds, from
      their last retrieve. They were hung up (the API acknowledged it) and were not hung up again.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The conference name.
      type: str
      returned: always
    status:
      description: The HTTP status of the last retrieve, or V(null) when no answer came.
      type: int
      returned: always
    message:
      description:
        - Why it is unverified - a live room of that name (a new instance, re-created by a new call, or a stale
          answer), or an answer that could not be read.
      type: str
      returned: always
    conference_uuid:
      description:
        - The C(conference_uuid) the last retrieve reported (a new instance's, when it differs from the one hung up),
          or V(null) when retrieve gave none.
      type: str
      returned: always
  sample: [{"name": "ci-43", "status": 200, "conference_uuid": "0b6c8a5e-2f1d-4c3b-9a8e-7d6f5e4c3b2a",
            "message": "re-created: retrieve still answers 200 with a live room of that name, a new instance"}]
  version_added: 0.2.0
plan_id:
  description: With O(plan), the id of the plan applied (or, in check mode, whose apply was predicted).
  returned: when O(plan) was given
  type: str
  sample: 0c5e1f9a7b3d4e2f8a6b1c0d9e8f7a6b
  version_added: 0.2.0
not_in_plan:
  description:
    - With O(plan), the conferences the plan's selection gives now (by name, or from the live list) that the plan
      does not hold; they were not touched. Empty without O(plan).
  returned: always
  type: list
  elements: str
  sample: ["ci-57"]
  version_added: 0.2.0
from_registry:
  description:
    - With O(registry), the selected conferences that only the registry named (the live list omitted them). Each is
      also in the list of its outcome (a room the registry remembered but that is gone is in RV(already_absent)).
    - With C(--diff), their entries carry C(from_registry=true).
  returned: always
  type: list
  elements: str
  sample: ["ci-44"]
  version_added: 0.2.0
msg:
  description: A one-line summary.
  returned: always
  type: str
  sample: Hung up 2 conference(s); 1 already absent.
'''

from ansible_collections.vobiz.voice.plugins.module_utils._conference_api import (
    OUTCOME_ALREADY_ABSENT,
    OUTCOME_HUNG_UP,
    UNCERTAIN_HUNG_UP,
    Outcome,
    all_failure_text,
    hangup_all_outcomes,
)
from ansible_collections.vobiz.voice.plugins.module_utils._module import VobizModule, check_summary_file, check_verify
from ansible_collections.vobiz.voice.plugins.module_utils._plan import (
    new_plan_id,
    plan_for_check_run,
    plan_from_params,
    plan_options,
)
from ansible_collections.vobiz.voice.plugins.module_utils._policy import Policy, policy_options
from ansible_collections.vobiz.voice.plugins.module_utils._selection import Selection, selection_options


class ConferenceHangup(VobizModule):
    """Hangs up the selected conferences (or predicts it in check mode): one DELETE each, or one for ``all``."""

    options = dict(
        selection_options('name', 'match', 'exclude', 'names_escaped', 'registry'),
        # Not in mutually_exclusive but checked by Selection.from_params: an explicit all=false would count as set.
        all=dict(type='bool', default=False),
        state=dict(type='str', default='absent', choices=['absent']),
        summary_file=dict(type='path'),
        **policy_options(),
        **plan_options(),
        verify=dict(type='int', default=0),
    )
    audit_action = 'hang_up'
    failure_head = 'Could not hang up'
    uncertain_label = UNCERTAIN_HUNG_UP
    # 'interrupted': in flight when the run was interrupted, and no answer came: maybe hung up, maybe not.
    name_keys = ('hung_up', 'already_absent', 'gone_unconfirmed', 'uncertain', 'excluded', 'interrupted')
    name_keys += ('not_started', 'unmatched', 'unreadable', 'other_instance', 'not_in_plan', 'verified')
    name_keys += ('from_registry',)  # selected only because the event source's registry named them (registry)
    summary_counts = ('already_absent', 'gone_unconfirmed', 'excluded', 'not_in_plan', 'verified', 'unverified')
    predicts = (OUTCOME_HUNG_UP, OUTCOME_ALREADY_ABSENT, 'hung up')
    changes = 'hung_up'
    diffs = True

    def __init__(self, module, api, audit, run_id, selection, policy, plan=None):
        super().__init__(module, api, audit, run_id)
        # plan: a verified ``Plan`` (option ``plan``), and the run ends exactly its rooms.
        self.selection, self.policy, self.plan = selection, policy, plan
        # The id of the plan applied, or of the plan check mode makes: every audit line of the run carries it.
        self.plan_id = plan.plan_id if plan is not None else new_plan_id() if self.check_mode else None
        self.result = dict(dict((key, []) for key in self.name_keys), failures=[], run_id=run_id, closest={})
        self.result['unverified'] = []  # with verify: {name, status, message, conference_uuid} each
        if plan is not None:
            self.result['plan_id'] = self.plan_id

    @staticmethod
    def prepare(params):
        check_verify(params.get('verify'))
        if params.get('plan') is not None:
            plan = plan_from_params(params)
            return dict(selection=plan.selection, policy=None, plan=plan)
        policy = Policy.from_params(params)
        check_summary_file(params.get('summary_file'))
        return dict(selection=Selection.from_params(params, policy=policy is not None), policy=policy)

    def summary_head(self):
        verb = 'Would hang up' if self.check_mode else 'Hung up'
        of_plan = f' of plan {self.plan_id}' if self.plan_id else ''
        return f"{verb} {len(self.result['hung_up'])} conference(s){of_plan}"

    def run(self):
        targets = self.select(self.selection, self.policy)
        if self.plan is not None:  # exactly the plan's rooms; any other the selection gives now is left alone
            self.result['not_in_plan'] = [name for name in targets if name not in self.plan.names]
            self.end_each(self.plan.names, 'The plan names no conference; nothing to do.')
        self.write_running_summary(targets, everything=self.selection.all)
        if self.selection.all and not self.check_mode:
            self.hang_up_all(targets)
        if self.selection.all and not targets:  # check mode: the real run still sends its DELETE
            self.change_possible = True
            unknown = 'the list named none, so whether any room is live is unknown'
            self.finish(msg=f'Would send the hang-up of all conferences; {unknown}.')
        self.end_each(targets, self.selection.nothing_selected(self.result['excluded']))

    def end_each(self, targets, nothing_msg):
        """One hang-up (in check mode, one prediction) for each of ``targets``, then the exit."""
        if not targets:
            self.finish(msg=nothing_msg)
        worker = self.predict if self.check_mode else self.hang_up
        self.run_batch(worker, targets, self.record, self.audit_answer, Outcome.after_error, summarise=self.summary)
        self.conclude()

    def finish(self, failed_msg=None, msg=None):
        if self.check_mode and not failed_msg and self.plan is None:
            self.result['plan'] = plan_for_check_run(
                self.params, self.selection, self.policy, self.result, self.retrieved, self.plan_id
            )
        super().finish(failed_msg, msg)

    def hang_up(self, name):
        return self.api.hangup(name, seen_live=name in self.seen_live)

    def hang_up_all(self, listed):
        """``all`` in normal mode: one DELETE of the whole collection, whatever the list said; each listed room gets
        the outcome of that call."""
        answer = self.send_once_for_all(self.api.hangup_all, listed, hangup_all_outcomes)
        if answer.outcome != OUTCOME_HUNG_UP:
            self.finish(failed_msg=all_failure_text(answer))
        named = f'{len(listed)} conference(s)' if listed else 'none'
        self.conclude(msg=f'Sent the hang-up of all conferences; the list named {named}.')


def main():
    ConferenceHangup.execute()


if __name__ == '__main__':
    main()
