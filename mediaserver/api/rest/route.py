"""A REST route declared once: method, path under the account, parameters, the handler and the
shape of its answer. The dispatcher validates requests with it and the OpenAPI document is
written from it, so the two cannot disagree."""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.parameter import Parameter

JsonObject = Mapping[str, object]
# "account": the main account or any sub-account, each in its own scope; "main": the main
# account only (sub-accounts and the server's own trunks are the operator's business).
Scope = Literal["account", "main"]


@dataclass(frozen=True, slots=True)
class Reply:
    """What a handler answers; the dispatcher adds api_id. No body: 204."""

    status: int = HTTPStatus.OK
    body: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class RestRequest:
    caller: Caller
    path_values: Mapping[str, str]  # the URL's {placeholders}, auth_id excluded
    values: Mapping[str, object]  # every declared parameter, parsed, defaults filled
    url_path: str  # as requested, for pagination links
    query: Mapping[str, str]  # the raw query string, for pagination links

    def text(self, name: str) -> str:
        value = self.values[name] if name in self.values else self.path_values[name]
        if not isinstance(value, str):
            raise TypeError(f"{name} is not a string parameter")
        return value

    def optional_text(self, name: str) -> str | None:
        value = self.values[name]
        return value if isinstance(value, str) else None

    def integer(self, name: str) -> int:
        value = self.values[name]
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} is not an integer parameter")
        return value

    def optional_boolean(self, name: str) -> bool | None:
        value = self.values[name]
        return value if isinstance(value, bool) else None

    def given(self, *names: str) -> dict[str, object]:
        """The named parameters the client sent (no defaults), for partial updates."""
        return {name: self.values[name] for name in names if self.values[name] is not None}


Handler = Callable[[RestRequest], Reply | Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Route:
    method: Literal["GET", "POST", "DELETE"]
    path: str  # under /v1/Account/{auth_id}/, with Plivo's trailing slash: "Application/{app_id}/"
    handler: Handler
    summary: str
    status: int = HTTPStatus.OK
    parameters: tuple[Parameter, ...] = ()
    response: JsonObject | None = None  # JSON schema of the body; None: 204 No Content
    scope: Scope = "account"
    path_parameters: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        if not self.path.endswith("/"):
            raise ValueError(f"{self.path}: Plivo's paths end with '/'")
        names = tuple(part[1:-1] for part in self.path.split("/") if part.startswith("{"))
        object.__setattr__(self, "path_parameters", names)

    def admit(self, caller: Caller) -> None:
        if self.scope == "main" and caller.sub_account is not None:
            raise ApiError.forbidden("only the main account may use this resource")
