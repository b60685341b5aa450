"""Request signatures against the reference test vectors and the official SDK's validators."""

from urllib.parse import urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plivo.utils import validate_signature, validate_v3_signature

from mediaserver.plivoxml.signature import (
    NONCE_V2,
    NONCE_V3,
    SIGNATURE_MA_V2,
    SIGNATURE_MA_V3,
    SIGNATURE_V2,
    SIGNATURE_V3,
    RequestSigner,
    signature_v2,
    signature_v3,
    signed_string_v3,
)

TOKEN = "MyAuthToken123"
MAIN_TOKEN = "MainAccountToken456"
CALL = {"CallUUID": "abc", "From": "14155550000"}


# -- the four vectors of the reference (computed with the SDK; token MyAuthToken123) ---------


def test_v3_post_with_a_query_signs_query_dot_parameters() -> None:
    url = "https://example.com/answer/?x=1"
    assert signed_string_v3("POST", url, CALL) == (
        "https://example.com/answer/?x=1.CallUUIDabcFrom14155550000"
    )
    assert signature_v3(TOKEN, "POST", url, CALL, "12345") == (
        "VnZuSmcVte+CgypAUlP2kcRzufIL/yw0PivdF4qG7M4="
    )


def test_v3_post_without_a_query_has_no_dot() -> None:
    url = "https://example.com/answer/"
    assert signed_string_v3("POST", url, CALL) == (
        "https://example.com/answer/?CallUUIDabcFrom14155550000"
    )
    assert signature_v3(TOKEN, "POST", url, CALL, "12345") == (
        "R+W9bvTuTQGSYY3Im0SH/NiQBq61lqVuFjvA77WhKcQ="
    )


def test_v3_get_sorts_the_query() -> None:
    url = "https://example.com/answer/?x=1&b=2"
    assert signed_string_v3("GET", url, {}) == "https://example.com/answer/?b=2&x=1"
    assert signature_v3(TOKEN, "GET", url, {}, "12345") == (
        "DyNcZ4oyJtwDmMczQyExu81mSGIQ3iAU9JamYyERNxQ="
    )


def test_v2_signs_the_url_and_nonce_with_nothing_between() -> None:
    signature = signature_v2(TOKEN, "https://example.com/answer/", "05429567804466091622")
    assert signature == "XfVI9/aHd3FvCXnRZe770YvnAhDtZx/Ds2YBU6ZRrJg="


# -- the signer ------------------------------------------------------------------------------


def test_plain_headers_use_the_account_token_and_ma_headers_the_main_token() -> None:
    url = "https://example.com/answer/?x=1"
    headers = RequestSigner(TOKEN, MAIN_TOKEN).headers("POST", url, CALL, nonce="12345")
    assert headers[SIGNATURE_V3] == "VnZuSmcVte+CgypAUlP2kcRzufIL/yw0PivdF4qG7M4="
    assert headers[SIGNATURE_MA_V3] == signature_v3(MAIN_TOKEN, "POST", url, CALL, "12345")
    assert headers[SIGNATURE_V2] == signature_v2(TOKEN, url, "12345")
    assert headers[SIGNATURE_MA_V2] == signature_v2(MAIN_TOKEN, url, "12345")
    assert headers[SIGNATURE_MA_V2] != headers[SIGNATURE_V2]
    assert headers[NONCE_V2] == headers[NONCE_V3] == "12345"


def test_nonces_are_twenty_random_digits() -> None:
    signer = RequestSigner(TOKEN, TOKEN)
    nonces = {signer.headers("GET", "http://h/", {})[NONCE_V2] for _ in range(20)}
    assert len(nonces) == 20
    assert all(len(nonce) == 20 and nonce.isdigit() for nonce in nonces)


def test_tokens_stay_out_of_repr() -> None:
    assert TOKEN not in repr(RequestSigner(TOKEN, MAIN_TOKEN))


@pytest.mark.parametrize("method", ["PUT", "get", "DELETE"])
def test_only_get_and_post_are_signed(method: str) -> None:
    with pytest.raises(ValueError, match=repr(method)):
        RequestSigner(TOKEN, TOKEN).headers(method, "http://h/", {})


# -- the SDK's validators accept whatever we sign ------------------------------------------

names = st.text(min_size=1, max_size=12)
values = st.text(max_size=16)
parameter_sets = st.dictionaries(names, values, max_size=6)
hosts = st.sampled_from(["example.com", "127.0.0.1", "app.example.org", "[::1]", "localhost"])
ports = st.one_of(st.just(""), st.integers(1, 65535).map(lambda port: f":{port}"))
segments = st.text("abcXYZ019-._~%20!$&'()*+,;=:@", max_size=10)
paths = st.lists(segments, max_size=4).map(lambda parts: "/" + "/".join(parts))
# plivo-python's validator raises on non-ASCII query values (it parses the query as bytes), so
# queries are ASCII here; parameters (the form body, or for GET the validator's `params`) are
# any text.
ascii_text = st.text(st.characters(max_codepoint=127), max_size=12)
query_pairs = st.tuples(ascii_text.filter(bool), ascii_text)
queries = st.one_of(
    st.just(""),
    st.lists(query_pairs, min_size=1, max_size=4).map(lambda pairs: "?" + urlencode(pairs)),
)


@st.composite
def urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https"]))
    return f"{scheme}://{draw(hosts)}{draw(ports)}{draw(paths)}{draw(queries)}"


@settings(max_examples=300, deadline=None)
@given(method=st.sampled_from(["GET", "POST"]), url=urls(), params=parameter_sets)
def test_sdk_validators_accept_our_headers(method: str, url: str, params: dict[str, str]) -> None:
    headers = RequestSigner(TOKEN, MAIN_TOKEN).headers(method, url, params)
    nonce = headers[NONCE_V3]
    for header, token in ((SIGNATURE_V3, TOKEN), (SIGNATURE_MA_V3, MAIN_TOKEN)):
        assert validate_v3_signature(method, url, nonce, token, headers[header], dict(params))
    assert validate_signature(url, headers[NONCE_V2], headers[SIGNATURE_V2], TOKEN)
    assert validate_signature(url, headers[NONCE_V2], headers[SIGNATURE_MA_V2], MAIN_TOKEN)


@settings(max_examples=200, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST"]),
    url=urls(),
    params=parameter_sets.filter(bool),
    data=st.data(),
)
def test_sdk_validator_rejects_a_tampered_parameter(
    method: str, url: str, params: dict[str, str], data: st.DataObject
) -> None:
    if method == "GET":
        # A query parameter of the same name would win over the tampered one.
        url = url.split("?")[0]
    headers = RequestSigner(TOKEN, MAIN_TOKEN).headers(method, url, params)
    name = data.draw(st.sampled_from(sorted(params)))
    tampered = {**params, name: params[name] + "1"}
    nonce = headers[NONCE_V3]
    assert not validate_v3_signature(method, url, nonce, TOKEN, headers[SIGNATURE_V3], tampered)


def test_sdk_validator_rejects_the_wrong_token() -> None:
    url = "https://example.com/answer/"
    headers = RequestSigner(TOKEN, MAIN_TOKEN).headers("POST", url, CALL)
    nonce = headers[NONCE_V3]
    assert not validate_v3_signature("POST", url, nonce, MAIN_TOKEN, headers[SIGNATURE_V3], CALL)
    assert not validate_signature(url, nonce, headers[SIGNATURE_V2], MAIN_TOKEN)
