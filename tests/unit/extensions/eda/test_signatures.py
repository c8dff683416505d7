"""Unit tests of the signature check and the nonce memory (vobiz_callbacks/signatures.py): no server, a fake clock."""

from __future__ import annotations

import pytest

from ansible_collections.vobiz.voice.extensions.eda.plugin_utils.vobiz_callbacks import signatures
from ansible_collections.vobiz.voice.tests.unit.extensions.eda.helpers import (
    PARENT,
    TOKEN,
    URL,
    FakeClock,
    sign,
    v2_headers,
    v3_headers,
)


def verifier(clock=None, window=300, **kwargs):
    return signatures.SignatureVerifier(
        URL, TOKEN, nonces=signatures.NonceMemory(window, clock or FakeClock()), **kwargs
    )


def test_signatures_match_vectors_computed_with_openssl():
    # printf '%s' 'https://eda.example.com/vobiz/conference.nonce-123' |
    #     openssl dgst -sha256 -hmac tok-ABC -binary | base64
    assert (
        signatures.compute_signature('tok-ABC', URL, 'nonce-123', 'v3')
        == 'hf11TyVVKFFLqvqbV0W3B/WeDlHmt2XdYLKUS3fSEPs='
    )
    assert (
        signatures.compute_signature('tok-ABC', URL, 'nonce-123', 'v2')
        == 'qV2NZ1RTfFUegvL5uVLYN/E8KcpkoNj9OhFz283ah5w='
    )


def test_signed_url_drops_the_query_string():
    assert signatures.signed_url(URL + '?room=a&x=1#frag') == URL


@pytest.mark.parametrize('headers', [v3_headers(), v2_headers(), dict(v3_headers('a'), **v2_headers('b'))])
def test_good_signatures_are_accepted(headers):
    assert verifier().check(headers)[0] is None


def test_verification_uses_the_public_url_without_query():
    assert signatures.SignatureVerifier(URL + '?tenant=7', TOKEN).check(v3_headers(url=URL))[0] is None
    other = signatures.SignatureVerifier('http://127.0.0.1:5050/vobiz/conference', TOKEN)
    assert other.check(v3_headers(url=URL)) == (403, 'invalid X-Vobiz-Signature-V3')


@pytest.mark.parametrize(
    'headers, expected',
    [
        ({}, (401, 'no signature this source can verify')),
        ({'X-Vobiz-Signature': 'legacy-v1-only'}, (401, 'no signature this source can verify')),
        (v3_headers(token='wrong'), (403, 'invalid X-Vobiz-Signature-V3')),
        (
            dict(v3_headers(), **{'X-Vobiz-Signature-V3-Nonce': 'other'}),
            (403, 'invalid X-Vobiz-Signature-V3'),
        ),  # nonce swapped
        (
            dict(v3_headers(), **v2_headers(token='wrong')),
            (403, 'invalid X-Vobiz-Signature-V2'),
        ),  # every signature present must hold
        (
            {'X-Vobiz-Signature-V3': 'x', 'X-Vobiz-Signature-V3-Nonce': 'n' * 257},
            (403, 'X-Vobiz-Signature-V3-Nonce longer than 256 characters'),
        ),
    ],
)
def test_missing_or_bad_signatures_are_refused_with_their_reason(headers, expected):
    check = verifier()
    assert check.check(headers) == expected
    assert len(check.nonces) == 0


@pytest.mark.parametrize(
    'header, nonce_header',
    [('X-Vobiz-Signature-V3', 'X-Vobiz-Signature-V3-Nonce'), ('X-Vobiz-Signature-V2', 'X-Vobiz-Signature-V2-Nonce')],
)
@pytest.mark.parametrize('nonce_value', [None, ''])
def test_a_signature_without_its_nonce_header_is_refused_as_missing(header, nonce_header, nonce_value):
    # The signature is right for an empty nonce: a check that read the missing header as '' would accept it.
    message = URL + ('.' if header.endswith('V3') else '')
    headers = {header: sign(TOKEN, message)}
    if nonce_value is not None:
        headers[nonce_header] = nonce_value
    assert verifier().check(headers) == (401, '%s without %s' % (header, nonce_header))


def test_v2_alone_is_refused_when_not_accepted():
    check = verifier(accept_v2=False)
    assert check.check(v2_headers()) == (401, 'only a V2 signature, and accept_v2 is false')
    assert check.check(v3_headers()) == (None, 'v3')


def test_ma_signatures_are_checked_with_the_parent_token():
    check = verifier(parent_auth_token=PARENT)
    assert check.check(v3_headers('m-1', token=PARENT, prefix='X-Vobiz-Signature-MA-V3'))[0] is None
    assert (
        check.check(dict(v3_headers('m-2'), **v3_headers('m-3', token=TOKEN, prefix='X-Vobiz-Signature-MA-V3')))[0]
        == 403
    )
    # without a parent token the MA headers are not checkable: they alone are not enough
    assert verifier().check(v3_headers('m-4', token=PARENT, prefix='X-Vobiz-Signature-MA-V3'))[0] == 401


def test_a_nonce_is_refused_within_the_window_and_forgotten_after():
    clock = FakeClock()
    check = verifier(clock)
    assert check.check(v3_headers('n-7'))[0] is None
    clock.advance(299)
    assert check.check(v3_headers('n-7')) == (403, 'replayed nonce')
    clock.advance(2)
    assert check.check(v3_headers('n-7'))[0] is None


def test_pruning_forgets_old_nonces_only():
    # Many nonces of different ages: pruning the window drops the old ones and keeps every younger one.
    clock = FakeClock(1000.0)
    memory = signatures.NonceMemory(300, clock)
    ages = {'old-a': 400, 'old-b': 302, 'edge': 250, 'young-a': 100, 'young-b': 1}
    for nonce, age in sorted(ages.items(), key=lambda item: -item[1]):
        clock.now = 2000.0 - age
        memory.remember([nonce])
    clock.now = 2000.0
    memory.prune()
    assert [memory.seen(nonce) for nonce in ages] == [False, False, True, True, True]
    check = signatures.SignatureVerifier(URL, TOKEN, nonces=memory)
    assert check.check(v3_headers('old-a'))[0] is None  # outside the window: accepted (and remembered again)
    assert check.check(v3_headers('young-a')) == (403, 'replayed nonce')
    assert check.check(v3_headers('edge')) == (403, 'replayed nonce')


def test_a_clock_set_back_never_forgets_a_nonce_early():
    clock = FakeClock(1000.0)
    memory = signatures.NonceMemory(300, clock)
    memory.remember(['a'])
    clock.now = 900.0
    memory.remember(['b'])
    clock.now = 1250.0
    assert memory.seen('a') and memory.seen('b')


def test_a_flood_past_the_limit_forgets_the_oldest_second_first():
    clock = FakeClock(1000.0)
    memory = signatures.NonceMemory(300, clock, limit=4)
    for second, nonces in enumerate((['a', 'b'], ['c'], ['d', 'e'])):
        clock.now = 1000.0 + second
        memory.remember(nonces)
    assert not memory.seen('a') and not memory.seen('b') and memory.seen('c') and memory.seen('e')
    assert memory.forgotten_early == 2


def test_state_parts_keep_the_text_of_seconds_that_are_over():
    clock = FakeClock(1000.0)
    memory = signatures.NonceMemory(300, clock)
    memory.remember(['a', 'b'])
    clock.now = 1001.5
    memory.remember(['c"'])
    first = memory.state_parts()
    assert first == ['"a":1000,"b":1000', '"c\\"":1001']
    assert memory.state_parts()[0] is first[0]  # second 1000 is over: its text is reused, not rebuilt


def test_the_token_is_not_in_the_repr():
    assert TOKEN not in repr(signatures.SignatureVerifier(URL, TOKEN, PARENT))
    assert PARENT not in repr(signatures.SignatureVerifier(URL, TOKEN, PARENT))
