"""Who is calling the REST API: HTTP Basic credentials (RFC 7617) checked against the main
account of the configuration and the sub-accounts of the store (plivo.md §4, Transport).

A sub-account works in its own scope only: it sees and changes the resources whose
sub_account is its auth_id, and what it creates is its own. The main account sees them all.
"""

import base64
import binascii
import hmac
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol, TypeVar

from mediaserver.api.rest.api_error import ApiError
from mediaserver.store.account_scope import EVERY_ACCOUNT, AccountScope, one_account
from mediaserver.store.subaccounts import SqliteSubaccounts


class AccountResource(Protocol):
    @property
    def sub_account(self) -> str | None: ...


Found = TypeVar("Found", bound=AccountResource)


@dataclass(frozen=True, slots=True)
class Caller:
    auth_id: str
    sub_account: str | None  # None: the main account

    def owns(self, sub_account: str | None) -> bool:
        return self.sub_account is None or sub_account == self.sub_account

    def reach(self, found: Found | None, resource: str, identifier: str) -> Found:
        """The resource a URL names, if this caller's scope holds it; otherwise a 404:
        another account's resource looks exactly like none (no enumeration)."""
        if found is None or not self.owns(found.sub_account):
            raise ApiError.not_found(resource, identifier)
        return found

    def view(self, requested: str | None = None) -> AccountScope:
        """What a list shows: the main account sees every account's resources, or the one
        sub-account it names (Plivo's `subaccount` filter); a sub-account its own only."""
        if self.sub_account is not None:
            return one_account(self.scope_for(requested))
        return EVERY_ACCOUNT if requested is None else one_account(requested)

    def uri(self, *parts: str) -> str:
        """A resource_uri under the caller's account, with Plivo's trailing slash."""
        return "/".join(("/v1/Account", self.auth_id, *parts)) + "/"

    def scope_for(self, requested: str | None) -> str | None:
        """The sub_account a new resource gets: a sub-account's own; the main account's
        choice (checked by the store: it must exist)."""
        if self.sub_account is None:
            return requested
        if requested not in (None, self.sub_account):
            raise ApiError.forbidden("subaccount: a sub-account cannot act for another account")
        return self.sub_account


class Authenticator:
    def __init__(self, auth_id: str, auth_token: str, subaccounts: SqliteSubaccounts) -> None:
        self._auth_id = auth_id
        self._token = auth_token
        self._subaccounts = subaccounts

    def authenticate(self, authorization: str) -> Caller:
        """The caller, or a 401 (no or wrong credentials) or 403 (a disabled sub-account)."""
        auth_id, token = _basic_credentials(authorization)
        if _same(auth_id, self._auth_id) and _same(token, self._token):
            return Caller(self._auth_id, None)
        subaccount = self._subaccounts.get(auth_id) if auth_id.startswith("SA") else None
        if subaccount is None or not _same(token, subaccount.auth_token):
            raise _unauthorized("authentication failed: wrong auth_id or auth_token")
        if not subaccount.enabled:
            raise ApiError.forbidden(f"sub-account {auth_id} is disabled")
        return Caller(subaccount.auth_id, subaccount.auth_id)


def _basic_credentials(authorization: str) -> tuple[str, str]:
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        raise _unauthorized("authentication required: HTTP Basic with auth_id and auth_token")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise _unauthorized("authentication failed: malformed Basic credentials") from None
    auth_id, colon, token = decoded.partition(":")
    if not colon:
        raise _unauthorized("authentication failed: malformed Basic credentials")
    return auth_id, token


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def _unauthorized(error: str) -> ApiError:
    return ApiError(HTTPStatus.UNAUTHORIZED, error)
