# -*- coding: utf-8 -*-

# Copyright (c) 2025, vobiz.voice maintainers
# Simplified BSD License (see LICENSES/BSD-2-Clause.txt or https://opensource.org/licenses/BSD-2-Clause)
# SPDX-License-Identifier: BSD-2-Clause

"""Making text fit to leave the client: the auth token removed in every form, control characters escaped.

PRIVATE: part of the vobiz.voice collection only; may change in any release.

Everything that carries server- or library-provided text out of the client (messages, warnings,
``failures`` entries, audit lines) goes through ``Redactor.outgoing`` first.
"""

import json
from urllib.parse import quote

#: Shortest piece of the token that may never appear in any text leaving the client.
TOKEN_PIECE = 6
REDACTED = '********'


# Characters that could drive a terminal or reorder what the operator reads: C0 (TAB, LF, CR,
# ESC, BEL, ...), DEL, C1, the line and paragraph separators and the bidi embeddings/overrides/isolates.
_NAMED_ESCAPES = {'\n': '\\n', '\r': '\\r', '\t': '\\t'}
_BIDI_CONTROLS = frozenset(chr(c) for c in list(range(0x202A, 0x202F)) + list(range(0x2066, 0x206A)) + [0x2028, 0x2029])


def _escape_char(char):
    code = ord(char)
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if code < 0x20 or 0x7F <= code <= 0x9F:
        return '\\x{0:02x}'.format(code)
    if char in _BIDI_CONTROLS:
        return '\\u{0:04x}'.format(code)
    return char


def sanitize_text(text):
    """Escape control characters in server-provided text (``\\x1b``, ``\\n``, ``\\u202e``, ...).

    Applied to every server- or library-provided text before it reaches a message, a warning, a
    ``failures`` entry or the audit log, so that no answer can move the cursor, recolour, erase or
    forge lines (``"\\n[ERROR]: ..."``) on the operator's terminal.
    """
    if text is None:
        return None
    text = str(text)
    if all(' ' <= c < '\x7f' for c in text):
        return text
    return ''.join(_escape_char(c) for c in text)


_NAMED_NAME_ESCAPES = {'\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r'}
_UNESCAPES = {'\\': '\\', 't': '\t', 'n': '\n', 'r': '\r'}
_HEX_DIGITS = {'x': 2, 'u': 4, 'U': 8}


def escape_name(name):
    """A conference name (or member id) as results and audit lines carry it: each backslash doubled, and each character
    that cannot be shown (``str.isprintable`` is false: controls, line breaks of every kind, format characters, lone
    surrogates, unassigned code points...) written as Python's ``repr`` writes it (``\\n``, ``\\x85``, ``\\u2028``,
    ``\\ud800``, ``\\U000e0041``). The result is printable text that Ansible can always carry and that puts no line
    break into any output line; ``unescape_name`` gives the name back. Names of printable characters without a
    backslash are unchanged. ``None`` stays ``None``.
    """
    if name is None:
        return None
    name = str(name)
    if name.isprintable() and '\\' not in name:
        return name
    escaped = []
    for char in name:
        code = ord(char)
        if char in _NAMED_NAME_ESCAPES:
            escaped.append(_NAMED_NAME_ESCAPES[char])
        elif char.isprintable():
            escaped.append(char)
        elif code < 0x100:
            escaped.append('\\x{0:02x}'.format(code))
        elif code < 0x10000:
            escaped.append('\\u{0:04x}'.format(code))
        else:
            escaped.append('\\U{0:08x}'.format(code))
    return ''.join(escaped)


def unescape_name(text):
    """The name ``escape_name`` made ``text`` of; ``ValueError`` for a backslash that starts no escape."""
    if '\\' not in text:
        return text
    result = []
    index = 0
    while index < len(text):
        char = text[index]
        if char != '\\':
            result.append(char)
            index += 1
            continue
        kind = text[index + 1 : index + 2]
        if kind in _UNESCAPES:
            result.append(_UNESCAPES[kind])
            index += 2
        elif kind in _HEX_DIGITS:
            digits = text[index + 2 : index + 2 + _HEX_DIGITS[kind]]
            if (
                len(digits) != _HEX_DIGITS[kind]
                or not all(c in '0123456789abcdefABCDEF' for c in digits)
                or int(digits, 16) > 0x10FFFF
            ):
                raise ValueError(
                    '{0!r} is no escape at character {1}'.format(text[index : index + 2 + _HEX_DIGITS[kind]], index)
                )
            result.append(chr(int(digits, 16)))
            index += 2 + len(digits)
        else:
            raise ValueError(
                'a backslash must start \\\\, \\t, \\n, \\r, \\xHH, \\uHHHH or \\UHHHHHHHH (at character {0})'.format(
                    index
                )
            )
    return ''.join(result)


def escape_names(names):
    """``escape_name`` of every entry of a list."""
    return [escape_name(name) for name in names]


def escape_tree(value):
    """Every text of parsed JSON (keys too) escaped as names are (``escape_name``): what the API sent is returned, but
    no caller name can put a line break into an output line."""
    if isinstance(value, str):
        return escape_name(value)
    if isinstance(value, list):
        return [escape_tree(item) for item in value]
    if isinstance(value, dict):
        return dict((escape_tree(key), escape_tree(item)) for key, item in value.items())
    return value


class Redactor:
    """Removes one auth token from text: every form it can take in a body, then any piece of it."""

    def __init__(self, token):
        self._token = token
        # Every answer is redacted with these: computed once.
        self._variants = _token_variants(token)
        self._pieces = (
            frozenset(token[i : i + TOKEN_PIECE] for i in range(len(token) - TOKEN_PIECE + 1))
            if token and len(token) >= TOKEN_PIECE
            else frozenset()
        )

    def redact(self, text):
        """Remove the token (in every form it can take in a body) from any text."""
        if text is None:
            return None
        text = str(text)
        for variant in self._variants:
            text = text.replace(variant, REDACTED)
        return text

    def redact_tree(self, value):
        """``redact`` every string (keys too) in parsed JSON."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, list):
            return [self.redact_tree(v) for v in value]
        if isinstance(value, dict):
            return dict((self.redact_tree(k), self.redact_tree(v)) for k, v in value.items())
        return value

    def _guard_token_pieces(self, text):
        """Belt and braces: no piece of ``TOKEN_PIECE`` characters of the token survives in ``text``."""
        token = self._token
        if not token or text is None:
            return text
        if len(token) < TOKEN_PIECE:
            return text.replace(token, REDACTED)
        for dummy in range(len(token)):
            found = [piece for piece in self._pieces if piece in text]
            if not found:
                break
            for piece in found:
                text = text.replace(piece, REDACTED)
        return text

    def outgoing(self, text):
        """Make a text fit to leave the client: token redacted (every form, then any piece) and control characters
        escaped."""
        if text is None:
            return None
        return sanitize_text(self._guard_token_pieces(self.redact(text)))


def _token_variants(token):
    """The forms the token can take in a body: plain, percent-encoded, JSON-escaped, ``\\/``-escaped."""
    if not token:
        return ()
    variants = []
    for form in (
        token,
        quote(token, safe=''),
        quote(token),
        json.dumps(token)[1:-1],
        json.dumps(token, ensure_ascii=False)[1:-1],
    ):
        for variant in (form, form.replace('/', '\\/')):
            if variant and variant not in variants:
                variants.append(variant)
    # Longest first, so that a longer form is not broken up by a shorter one.
    return tuple(sorted(variants, key=len, reverse=True))
