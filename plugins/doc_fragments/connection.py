# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The connection options of every vobiz.voice module, documented once.
    # The argument spec lives in plugins/module_utils/_connection.py (vobiz_argument_spec()).
    DOCUMENTATION = r'''
requirements:
  - requests
options:
  auth_id:
    description:
      - The Auth ID of the Vobiz account, for example V(MA_XXXXXX). Sent in the C(X-Auth-ID) header and in every URL.
      - If not set, the value of the E(VOBIZ_AUTH_ID) environment variable is used.
    type: str
    required: true
  auth_token:
    description:
      - The Auth Token of the Vobiz account. Sent in the C(X-Auth-Token) header only; never logged or shown in messages.
      - If not set, the value of the E(VOBIZ_AUTH_TOKEN) environment variable is used.
    type: str
    required: true
  api_url:
    description:
      - Base URL of the Vobiz API, up to and including the version prefix.
      - Must start with C(https://) (or C(http://)) and must not contain a query string, a fragment or credentials.
        Plain C(http://) to a host other than loopback draws a warning, because the token would travel unencrypted.
      - If not set, the value of the E(VOBIZ_API_URL) environment variable is used, and then the default.
      - Only a HTTP 404 that is recognisably the conference API's own (an empty body or one of its error bodies,
        C({"error":"..."}) or C({"status":"error","error":{...}})) means "not found". Any other 404, such as the API
        gateway's C({"message":"Not Found"}) for a path it does not know or an HTML page, means the path is wrong
        (for example a wrong version prefix in O(api_url)); the run stops at once with an error that names O(api_url),
        and no conference is reported hung up or absent.
    type: str
    default: https://api.vobiz.ai/api/v1
  validate_certs:
    description:
      - Whether to verify the TLS certificate of the API server.
      - Setting this to V(false) draws a warning; prefer O(ca_path) for a private CA.
    type: bool
    default: true
  ca_path:
    description:
      - Path to a PEM bundle of CA certificates used to verify the API server, instead of the default trust store.
    type: path
  timeout:
    description:
      - Seconds one attempt of a request may take, from connecting to the last byte of the answer. Must be greater than
        V(0).
      - An answer that has not arrived in full by then (for example a server that sends its body a byte at a time)
        counts as a read timeout; the request may have been carried out, and it is retried as described in O(retries).
      - Answers are read up to 256 KiB; a bigger answer is not read and counts as unreadable for that request (a
        failure, never a success or "absent").
    type: float
    default: 10
  retries:
    description:
      - How many times a request is retried (extra attempts, V(0) to V(20)) after HTTP 429, 500, 502, 503, 504
        or a connection failure or timeout. HTTP 400, 401, 403 and 404 are never retried.
      - A request that may have been carried out without an answer saying so (its reply was lost, or a gateway answered
        V(502) or V(504)) is retried only when a repeat is harmless; an announcement is not retried then.
      - Waits between attempts grow exponentially with jitter, and honour a C(Retry-After) header (seconds or HTTP
        date).
    type: int
    default: 5
  retry_max_wait:
    description:
      - The most seconds spent waiting between the attempts of one request, in total. A C(Retry-After) that asks
        for longer ends the retries at once.
    type: float
    default: 60
  parallel:
    description:
      - How many requests run at the same time (V(1) to V(64)). Also the size of the keep-alive connection pool.
    type: int
    default: 16
  rate_limit:
    description:
      - The most requests per second to send to the Vobiz API, summed over all O(parallel) requests of the task.
      - When not set, the task sends without pacing until Vobiz answers HTTP 429 (rate limited), then learns the
        account's rate from the 429 answers, their C(Retry-After) and the requests accepted between them, and from then
        on sends a little under that rate, so that few requests are refused.
      - Set it when you know the account's sustained rate, for example V(60) for 300 requests per 5 seconds, or
        lower to leave room for other clients of the same account. A rate learned from 429 answers can still lower
        the pace below it.
    type: float
    version_added: 0.2.0
  validate_only:
    description:
      - Check every option, the connection options included (and, where the module has them, that the audit log and
        the summary file can be written), then return without sending any request or writing any file.
      - A refusal fails the task with the message of a normal run, and returns the options it is about as
        RV(refused_options). The C(vobiz.voice.conference_maintenance) role uses it to refuse bad input before its
        first request.
    type: bool
    default: false
    version_added: 0.2.0
'''
