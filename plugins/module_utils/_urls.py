# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Building exact API URLs: path segments percent-encoded so that a name can never reach another path.

PRIVATE: part of the vobiz.voice collection only; may change in any release.
"""

import ipaddress
from urllib.parse import quote, unquote, urlsplit

from ansible_collections.vobiz.voice.plugins.module_utils._errors import VobizInputError

DEFAULT_API_URL = 'https://api.vobiz.ai/api/v1'


def encode_segment(segment):
    """Percent-encode one path segment completely.

    Everything but ASCII letters, digits, ``-``, ``_`` and ``~`` is encoded,
    ``/`` included, and so is every ``.``: the segments ``.`` and ``..`` would
    otherwise be normalised away by clients, proxies and servers.
    Raises ``UnicodeEncodeError`` for text that is not valid Unicode (lone surrogates).
    """
    if not isinstance(segment, str):
        segment = str(segment)
    return quote(segment, safe='').replace('.', '%2E')


def encode_member_spec(member):
    """Encode a member spec: ``'all'``, one id, a list of ids, or ``'10,15'``.

    Each id is encoded as a segment of its own; the ids are joined with a literal comma.
    """
    if isinstance(member, (list, tuple)):
        ids = [str(m) for m in member]
    elif isinstance(member, str):
        ids = member.split(',')
    else:
        ids = [str(member)]
    ids = [i.strip() for i in ids]
    if not ids or any(not i for i in ids):
        raise VobizInputError('member must be "all", a member id or a list of member ids', option='member')
    return ','.join(encode_segment(i) for i in ids)


def _is_loopback_host(host):
    host = (host or '').rstrip('.').lower()
    if host == 'localhost' or host.endswith('.localhost'):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_api_url(api_url):
    """Check ``api_url``; return ``(url without trailing slash, warnings)``.

    The URL is the API base (``https://api.vobiz.ai/api/v1``): no ``Account`` path segment, no query string, no
    fragment; a refusal says what to remove. Never echoes the URL back when it might contain credentials.
    """
    warnings = []
    if not isinstance(api_url, str) or not api_url.strip():
        raise VobizInputError('api_url must be a non-empty URL such as {0}'.format(DEFAULT_API_URL), option='api_url')
    if api_url != api_url.strip() or any(ord(c) <= 32 or ord(c) == 127 for c in api_url):
        raise VobizInputError('api_url must not contain whitespace or control characters', option='api_url')
    parts = urlsplit(api_url)
    if parts.scheme.lower() not in ('http', 'https') or not api_url.lower().startswith(parts.scheme.lower() + '://'):
        raise VobizInputError(
            'api_url must start with https:// (or http://), for example {0}; got {1!r}'.format(
                DEFAULT_API_URL, api_url if '@' not in api_url else '<hidden>'
            ),
            option='api_url',
        )
    if '@' in parts.netloc:
        raise VobizInputError(
            'api_url must not contain credentials (user:password@); use auth_id and auth_token', option='api_url'
        )
    if not parts.hostname:
        raise VobizInputError('api_url has no host name: {0!r}'.format(api_url), option='api_url')
    if '?' in api_url:
        raise VobizInputError(
            'api_url must not contain a query string: remove {0!r}'.format(api_url[api_url.index('?') :]),
            option='api_url',
        )
    if '#' in api_url:
        raise VobizInputError(
            'api_url must not contain a fragment: remove {0!r}'.format(api_url[api_url.index('#') :]), option='api_url'
        )
    segments = parts.path.split('/')
    for index, segment in enumerate(segments):
        if unquote(segment).lower() == 'account':
            # The documented account base (.../api/v1/Account/MA_X/): the modules add /Account/{auth_id}/ themselves,
            # and the doubled path is answered with a 404 that could be read as "conference not found".
            raise VobizInputError(
                'api_url must be the API base such as {0}, without the account part: '
                'remove {1!r} (the modules add /Account/{{auth_id}}/ themselves)'.format(
                    DEFAULT_API_URL, '/'.join(segments[index:]).join(('/', ''))
                ),
                option='api_url',
            )
    try:
        parts.port  # pylint: disable=pointless-statement
    except ValueError:
        raise VobizInputError('api_url has an invalid port: {0!r}'.format(api_url), option='api_url')
    if parts.scheme.lower() == 'http' and not _is_loopback_host(parts.hostname):
        warnings.append(
            'api_url {0} uses plain http:// to a host that is not loopback: '
            'the auth token travels unencrypted. Use https://.'.format(api_url)
        )
    return api_url.rstrip('/'), warnings
