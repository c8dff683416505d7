# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""The connection options every module shares: defaults, limits, argument spec and their validation.

PRIVATE: part of the vobiz.voice collection only; may change in any release.
"""

import math
import os

from ansible.module_utils.basic import env_fallback

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError
from ansible_collections.vobiz.voice.plugins.module_utils._urls import DEFAULT_API_URL, validate_api_url

DEFAULT_TIMEOUT = 10.0
DEFAULT_RETRIES = 5
DEFAULT_RETRY_MAX_WAIT = 60.0
DEFAULT_PARALLEL = 16
MAX_PARALLEL = 64
MAX_RETRIES = 20


def _check_header_value(value, option):
    if not isinstance(value, str) or not value:
        raise VobizInputError('{0} must be a non-empty string'.format(option), option=option)
    if value != value.strip():
        raise VobizInputError('{0} must not start or end with whitespace'.format(option), option=option)
    if any(ord(c) < 33 or ord(c) > 126 for c in value):
        # Never show the value: it may be the token.
        raise VobizInputError(
            '{0} contains characters that cannot be sent in an HTTP header (only printable ASCII is allowed)'.format(
                option
            ),
            option=option,
        )


def _finite_number(value, option):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise VobizInputError('{0} must be a number'.format(option), option=option)
    if math.isnan(number) or math.isinf(number):
        raise VobizInputError('{0} must be a finite number'.format(option), option=option)
    return number


def vobiz_argument_spec():
    """The connection options shared by every module (documented in the ``vobiz.voice.connection`` fragment)."""
    return dict(
        auth_id=dict(type='str', required=True, no_log=False, fallback=(env_fallback, ['VOBIZ_AUTH_ID'])),
        auth_token=dict(type='str', required=True, no_log=True, fallback=(env_fallback, ['VOBIZ_AUTH_TOKEN'])),
        api_url=dict(type='str', default=DEFAULT_API_URL, fallback=(env_fallback, ['VOBIZ_API_URL'])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=DEFAULT_TIMEOUT),
        retries=dict(type='int', default=DEFAULT_RETRIES),
        retry_max_wait=dict(type='float', default=DEFAULT_RETRY_MAX_WAIT),
        parallel=dict(type='int', default=DEFAULT_PARALLEL),
        rate_limit=dict(type='float'),
    )


def validate_connection_params(params):
    """Validate the connection options; return ``(kwargs for ConferenceApi, warnings)``.

    Raises ``VobizInputError`` naming the option. Sends nothing.
    """
    auth_id = params.get('auth_id')
    _check_header_value(auth_id, 'auth_id')
    _check_header_value(params.get('auth_token'), 'auth_token')
    api_url, warnings = validate_api_url(params.get('api_url', DEFAULT_API_URL))

    parallel = params.get('parallel', DEFAULT_PARALLEL)
    if parallel is None:
        parallel = DEFAULT_PARALLEL
    if isinstance(parallel, bool) or not isinstance(parallel, int) or not 1 <= parallel <= MAX_PARALLEL:
        raise VobizInputError(
            'parallel must be an integer between 1 and {0}, got {1!r}'.format(MAX_PARALLEL, parallel), option='parallel'
        )

    retries = params.get('retries', DEFAULT_RETRIES)
    if retries is None:
        retries = DEFAULT_RETRIES
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise VobizInputError(
            'retries must be an integer between 0 and {0}, got {1!r}'.format(MAX_RETRIES, retries), option='retries'
        )

    timeout = params.get('timeout', DEFAULT_TIMEOUT)
    timeout = _finite_number(DEFAULT_TIMEOUT if timeout is None else timeout, 'timeout')
    if timeout <= 0:
        raise VobizInputError('timeout must be greater than 0 seconds, got {0!r}'.format(timeout), option='timeout')

    retry_max_wait = params.get('retry_max_wait', DEFAULT_RETRY_MAX_WAIT)
    retry_max_wait = _finite_number(
        DEFAULT_RETRY_MAX_WAIT if retry_max_wait is None else retry_max_wait, 'retry_max_wait'
    )
    if retry_max_wait < 0:
        raise VobizInputError(
            'retry_max_wait must be 0 or more seconds, got {0!r}'.format(retry_max_wait), option='retry_max_wait'
        )

    rate_limit = params.get('rate_limit')
    if rate_limit is not None:
        rate_limit = _finite_number(rate_limit, 'rate_limit')
        if rate_limit <= 0:
            raise VobizInputError(
                'rate_limit must be greater than 0 requests per second, got {0!r}'.format(rate_limit),
                option='rate_limit',
            )

    validate_certs = params.get('validate_certs', True)
    if validate_certs is None:
        validate_certs = True
    ca_path = params.get('ca_path')
    if ca_path is not None and not isinstance(ca_path, str):
        raise VobizInputError('ca_path must be a path', option='ca_path')
    if ca_path:
        if not os.path.exists(ca_path):
            raise VobizInputError('ca_path {0!r} does not exist'.format(ca_path), option='ca_path')
        if not validate_certs:
            warnings.append('ca_path is ignored because validate_certs is false.')
    if not validate_certs:
        warnings.append(
            'validate_certs is false: the certificate of {0} is not checked, and the auth token can be intercepted. '
            'Prefer ca_path for a private CA.'.format(api_url)
        )

    kwargs = dict(
        auth_id=auth_id,
        auth_token=params.get('auth_token'),
        api_url=api_url,
        timeout=timeout,
        retries=retries,
        retry_max_wait=retry_max_wait,
        parallel=parallel,
        validate_certs=bool(validate_certs),
        ca_path=ca_path or None,
        rate_limit=rate_limit,
    )
    return kwargs, warnings
