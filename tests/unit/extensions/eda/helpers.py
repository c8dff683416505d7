"""What the unit tests of the event source conference_callbacks share: a fake clock, callbacks and their signatures.

Expected signatures are computed here from the documented formula (or were computed with openssl), never with the
source's own helper.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

URL = 'https://eda.example.com/vobiz/conference'
TOKEN = 'tok-ABC'
PARENT = 'parent-XYZ'


class FakeClock:
    def __init__(self, now=1000.0):
        self.now = now

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds


def sign(token, message):
    return base64.b64encode(hmac.new(token.encode(), message.encode(), hashlib.sha256).digest()).decode()


def v3_headers(nonce='n-1', token=TOKEN, url=URL, prefix='X-Vobiz-Signature-V3'):
    return {prefix: sign(token, url + '.' + nonce), prefix + '-Nonce': nonce}


def v2_headers(nonce='n-2', token=TOKEN, url=URL, prefix='X-Vobiz-Signature-V2'):
    return {prefix: sign(token, url + nonce), prefix + '-Nonce': nonce}


def callback(action, name, member, uuid, flag, value):
    """A conference callback's form fields; ``flag`` is the action's own true/false field."""
    return {
        'ConferenceAction': action,
        'ConferenceName': name,
        'ConferenceUUID': uuid,
        'ConferenceMemberID': member,
        flag: 'true' if value else 'false',
    }


def enter(name, member, first=False, uuid='U1'):
    return callback('enter', name, member, uuid, 'ConferenceFirstMember', first)


def leave(name, member, last=False, uuid='U1'):
    return callback('exit', name, member, uuid, 'ConferenceLastMember', last)
