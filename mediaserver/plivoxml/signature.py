"""Plivo webhook request signatures, V2 and V3, built exactly as the official SDKs validate them.

V2 signs the URL without its query; V3 also signs the query string and the form parameters, so
a changed parameter fails validation. Both sign a nonce of random digits. Every request carries
both families, each twice: the plain header signed with the token of the account (or
sub-account) that owns the call, the `-Ma-` header with the main account's token.

The reference is plivo-python's `plivo.utils.validate_signature` (V2) and
`plivo.utils.signature_v3.validate_v3_signature` (V3); the comments below name the SDK quirks
this reproduces on purpose, since a receiver validates with that code and nothing else.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlparse, urlunparse

SIGNATURE_V2 = "X-Plivo-Signature-V2"
SIGNATURE_MA_V2 = "X-Plivo-Signature-Ma-V2"
NONCE_V2 = "X-Plivo-Signature-V2-Nonce"
SIGNATURE_V3 = "X-Plivo-Signature-V3"
SIGNATURE_MA_V3 = "X-Plivo-Signature-Ma-V3"
NONCE_V3 = "X-Plivo-Signature-V3-Nonce"
SIGNATURE_HEADERS = (
    SIGNATURE_V2,
    SIGNATURE_MA_V2,
    NONCE_V2,
    SIGNATURE_V3,
    SIGNATURE_MA_V3,
    NONCE_V3,
)
SIGNED_METHODS = ("GET", "POST")
# Plivo's nonces are 20 random digits (for example 05429567804466091622).
NONCE_DIGITS = 20


@dataclass(frozen=True, slots=True)
class RequestSigner:
    """Signs the webhook requests of one account's calls."""

    # Tokens stay out of repr: signers end up in log lines and debug transcripts.
    auth_token: str = field(repr=False)
    main_auth_token: str = field(repr=False)

    def headers(
        self, method: str, url: str, params: Mapping[str, str], nonce: str | None = None
    ) -> dict[str, str]:
        """The six signature headers for a request of `method` to `url` carrying `params`
        (for GET: the URL as sent, its query already holding the parameters)."""
        nonce = new_nonce() if nonce is None else nonce
        main_token = self.main_auth_token
        return {
            SIGNATURE_V2: signature_v2(self.auth_token, url, nonce),
            SIGNATURE_MA_V2: signature_v2(main_token, url, nonce),
            NONCE_V2: nonce,
            SIGNATURE_V3: signature_v3(self.auth_token, method, url, params, nonce),
            SIGNATURE_MA_V3: signature_v3(main_token, method, url, params, nonce),
            NONCE_V3: nonce,
        }


def new_nonce() -> str:
    return f"{secrets.randbelow(10**NONCE_DIGITS):0{NONCE_DIGITS}d}"


def base_url(url: str) -> str:
    """scheme://netloc/path: what V2 signs, and what V3 starts from. Like the SDK, this goes
    through `urlparse`, so `;parameters` after the last path segment are dropped too."""
    parsed = urlparse(url)
    return urlunparse((parsed.scheme, parsed.netloc, parsed.path, "", "", ""))


def signature_v2(auth_token: str, url: str, nonce: str) -> str:
    # Nothing separates the URL from the nonce (plivo-ruby #116).
    return _hmac_sha256(auth_token, base_url(url) + nonce)


def signature_v3(
    auth_token: str, method: str, url: str, params: Mapping[str, str], nonce: str
) -> str:
    return _hmac_sha256(auth_token, f"{signed_string_v3(method, url, params)}.{nonce}")


def signed_string_v3(method: str, url: str, params: Mapping[str, str]) -> str:
    """The string V3 signs before the nonce is appended.

    GET: the parameters and the URL's query together, sorted, as a query string
    (`base?a=1&b=2`). POST: the URL's own query, sorted, then `.` and the form parameters
    concatenated as name+value in name order (`base?x=1.CallUUIDabcFrom1415`); with no query
    the dot is left out, with no parameters so is the `?`."""
    if method not in SIGNED_METHODS:
        raise ValueError(f"Plivo signs GET and POST requests, not {method!r}")
    query = _query_values(url)
    if method == "GET":
        # The query wins over a parameter of the same name, as in the SDK's `params.update`.
        combined = {name: [value] for name, value in params.items()} | query
        return _with_query(base_url(url), _sorted_query(combined))
    sorted_query = _sorted_query(query)
    if not params:
        return _with_query(base_url(url), sorted_query)
    separator = "." if sorted_query else ""
    return f"{base_url(url)}?{sorted_query}{separator}{_sorted_concat(params)}"


def _query_values(url: str) -> dict[str, list[str]]:
    """The URL's query, blank values kept, each name with all its values. Percent-encoded
    UTF-8 is decoded as UTF-8. (plivo-python parses the query as bytes and raises
    UnicodeEncodeError on any non-ASCII value, so its validator cannot check such a URL at
    all; for ASCII the two readings agree.)"""
    return parse_qs(urlparse(url).query, keep_blank_values=True)


def _sorted_query(values: Mapping[str, list[str]]) -> str:
    return "&".join(f"{name}={value}" for name in sorted(values) for value in sorted(values[name]))


def _sorted_concat(params: Mapping[str, str]) -> str:
    return "".join(f"{name}{params[name]}" for name in sorted(params))


def _with_query(base: str, sorted_query: str) -> str:
    return f"{base}?{sorted_query}" if sorted_query else base


def _hmac_sha256(auth_token: str, message: str) -> str:
    digest = hmac.new(auth_token.encode(), message.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")
