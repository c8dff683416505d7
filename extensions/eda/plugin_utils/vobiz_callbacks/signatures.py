# Copyright (c) 2026, vobiz.voice maintainers
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Vobiz's callback signatures (``SignatureVerifier``) and the nonces seen within the replay window (``NonceMemory``).

Vobiz signs the callback URL and a random nonce, not the body: a captured signature stays valid forever, so the
only defence against its replay is remembering its nonce. Nothing here does I/O; the clock is injected.
"""

from __future__ import annotations

import base64
import collections
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Callable

#: (signature header, nonce header, which token, version), in the order they are checked.
SIGNATURE_HEADERS = (
    ('X-Vobiz-Signature-V3', 'X-Vobiz-Signature-V3-Nonce', 'account', 'v3'),
    ('X-Vobiz-Signature-V2', 'X-Vobiz-Signature-V2-Nonce', 'account', 'v2'),
    ('X-Vobiz-Signature-MA-V3', 'X-Vobiz-Signature-MA-V3-Nonce', 'parent', 'v3'),
    ('X-Vobiz-Signature-MA-V2', 'X-Vobiz-Signature-MA-V2-Nonce', 'parent', 'v2'),
)
MAX_NONCES = 100000
#: Vobiz's nonces are short random strings; a longer one is refused before it could be remembered.
MAX_NONCE_LENGTH = 256


def signed_url(public_url: str) -> str:
    """The text Vobiz signs: the callback URL without its query string (and fragment)."""
    parts = urllib.parse.urlsplit(public_url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, '', ''))


def compute_signature(token: str, url: str, nonce: str, version: str) -> str:
    """base64(HMAC-SHA256(token, URL + nonce)) for V2, base64(HMAC-SHA256(token, URL + "." + nonce)) for V3."""
    message = url + ('.' if version == 'v3' else '') + nonce
    digest = hmac.new(token.encode('utf-8'), message.encode('utf-8'), hashlib.sha256).digest()
    return base64.b64encode(digest).decode('ascii')


class NonceMemory:
    """The nonces of accepted callbacks, each remembered at least ``window`` seconds.

    Kept by the whole second they were first seen, oldest first: pruning drops whole seconds from the front, and
    the state file reuses the text of every second that is over (``state_parts``).
    """

    def __init__(self, window: float, clock: Callable[[], float] = time.time, limit: int = MAX_NONCES):
        self.window = window
        self.clock = clock
        self.limit = limit
        self.forgotten_early = 0  # nonces dropped inside the window because more than ``limit`` were remembered
        self.on_remember: Callable[[list, int], None] | None = None  # the state file's journal, before the answer
        self._second_of: dict[str, int] = {}
        self._by_second: collections.OrderedDict[int, list[str]] = collections.OrderedDict()
        self._texts: dict[int, str] = {}  # the state-file text of each second that is over

    def __len__(self) -> int:
        return len(self._second_of)

    def seen(self, nonce: str) -> bool:
        self.prune()
        return nonce in self._second_of

    def remember(self, nonces) -> None:
        second = self._second(self.clock())
        new = [nonce for nonce in dict.fromkeys(nonces) if nonce not in self._second_of]
        for nonce in new:
            self._second_of[nonce] = second
            self._by_second.setdefault(second, []).append(nonce)
        if new and self.on_remember is not None:
            self.on_remember(new, second)
        while len(self._second_of) > self.limit:  # a flood of valid callbacks: forget the oldest second
            self.forgotten_early += len(self._drop_oldest())

    def _second(self, when: float) -> int:
        """The whole second of ``when``, or the newest kept if the clock went back (the order stays, nonces are kept
        longer)."""
        newest = next(reversed(self._by_second)) if self._by_second else None
        return int(when) if newest is None else max(int(when), newest)

    def prune(self) -> None:
        """Forget the seconds wholly outside the window (a nonce of second S is kept until S + 1 + window)."""
        horizon = self.clock() - self.window
        while self._by_second and next(iter(self._by_second)) + 1 <= horizon:
            self._drop_oldest()

    def _drop_oldest(self) -> list[str]:
        second, nonces = self._by_second.popitem(last=False)
        self._texts.pop(second, None)
        for nonce in nonces:
            del self._second_of[nonce]
        return nonces

    def as_dict(self) -> dict[str, int]:
        return dict(self._second_of)

    def restore(self, nonces: dict) -> None:
        """Load ``{nonce: time seen}`` (a state file's); the caller has checked the types."""
        for nonce, seen in sorted(nonces.items(), key=lambda item: item[1]):
            second = self._second(seen)
            self._second_of[nonce] = second
            self._by_second.setdefault(second, []).append(nonce)
        self.prune()

    def state_parts(self) -> list[str]:
        """The JSON members (``"nonce": second``) of every second, one string each; a second that is over keeps its
        text."""
        self.prune()
        now = int(self.clock())
        parts = []
        for second, nonces in self._by_second.items():
            text = self._texts.get(second)
            if text is None:
                text = ','.join('%s:%d' % (json.dumps(nonce), second) for nonce in nonces)
                if second < now:
                    self._texts[second] = text
            parts.append(text)
        return parts


class SignatureVerifier:
    """Checks the signature headers of one callback against the public URL, and refuses replayed nonces."""

    def __init__(
        self,
        public_url: str,
        auth_token: str,
        parent_auth_token: str | None = None,
        accept_v2: bool = True,
        nonces: NonceMemory | None = None,
    ):
        self.url = signed_url(public_url)
        self._tokens = {'account': auth_token, 'parent': parent_auth_token}
        self.accept_v2 = accept_v2
        self.nonces = nonces if nonces is not None else NonceMemory(300)

    def __repr__(self) -> str:
        return 'SignatureVerifier(url=%r)' % self.url  # never the tokens

    def check(self, headers) -> tuple[int | None, str]:
        """``(None, 'v3' or 'v2')`` for a good callback (its nonces are then remembered), else ``(401 or 403, reason)``.

        401: nothing this source can verify (no signature, or a signature without its nonce: refused as missing);
        403: a signature that does not hold, or a nonce seen within the window. Every signature this source can check
        that is present must hold, and at least one accepted one (V3, V2 unless ``accept_v2`` is false) must be there.
        """
        checked = []
        for sig_header, nonce_header, which, version in SIGNATURE_HEADERS:
            signature = headers.get(sig_header)
            token = self._tokens[which]
            if signature is None or token is None:
                continue
            nonce = headers.get(nonce_header)
            if not nonce:
                return 401, '%s without %s' % (sig_header, nonce_header)
            if len(nonce) > MAX_NONCE_LENGTH:
                return 403, '%s longer than %d characters' % (nonce_header, MAX_NONCE_LENGTH)
            expected = compute_signature(token, self.url, nonce, version).encode('ascii')
            if not hmac.compare_digest(expected, signature.strip().encode('utf-8', 'replace')):
                return 403, 'invalid %s' % sig_header
            checked.append((version, nonce))
        accepted = [version for version, nonce in checked if version == 'v3' or self.accept_v2]
        if not accepted:
            return (
                401,
                'only a V2 signature, and accept_v2 is false' if checked else 'no signature this source can verify',
            )
        nonces = [nonce for version, nonce in checked]
        if any(self.nonces.seen(nonce) for nonce in nonces):
            return 403, 'replayed nonce'
        self.nonces.remember(nonces)
        return None, 'v3' if 'v3' in accepted else 'v2'

    def signed_over(self, headers, url: str) -> bool:
        """Whether a signature of these headers holds over ``url`` instead of ``public_url``: only to say so in the
        log when a callback was refused; never a reason to accept one."""
        for sig_header, nonce_header, which, version in SIGNATURE_HEADERS:
            signature, nonce, token = headers.get(sig_header), headers.get(nonce_header), self._tokens[which]
            if signature and nonce and token and len(nonce) <= MAX_NONCE_LENGTH:
                expected = compute_signature(token, signed_url(url), nonce, version).encode('ascii')
                if hmac.compare_digest(expected, signature.strip().encode('utf-8', 'replace')):
                    return True
        return False
