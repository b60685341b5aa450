"""IncomingCarrier/ and OutgoingCarrier/: the SIP trunks, with the fields the command line has
(`store/carriers.py` checks them). Trunks are the operator's: the main account only."""

from http import HTTPStatus
from typing import Protocol, cast

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.caller import Caller
from mediaserver.api.rest.page import PAGE_PARAMETERS, list_schema, page_reply
from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import JsonObject, Reply, RestRequest, Route
from mediaserver.api.rest.schema import object_schema, reply_schema
from mediaserver.store.carriers import (
    IncomingCarrier,
    OutgoingCarrier,
    OutgoingChanges,
    OutgoingOptions,
)
from mediaserver.store.sqlite_carriers import SqliteCarriers

_INCOMING_FIELDS = {
    **dict.fromkeys(("carrier_id", "name", "resource_uri"), "string"),
    "addresses": "array",
    "enabled": "boolean",
}
_OUTGOING_FIELDS = {
    **dict.fromkeys(("carrier_id", "name", "address", "prefix", "failover_prefix"), "string"),
    **dict.fromkeys(("suffix", "resource_uri"), "string"),
    "failover_address": "string?",
    "retries": "integer",
    "retry_seconds": "number",
    "enabled": "boolean",
}
_OUTGOING_OPTIONS = (
    Parameter("failover_address"),
    Parameter("prefix"),
    Parameter("failover_prefix"),
    Parameter("suffix"),
    Parameter("retries", "integer", minimum=0, maximum=10),
    Parameter("retry_seconds", "number"),
    Parameter("enabled", "boolean"),
)
_OUTGOING_NAMES = tuple(parameter.name for parameter in _OUTGOING_OPTIONS)


class _CarrierKind(Protocol):
    """The five handlers of one carrier kind and its declarations."""

    kind: str
    create: tuple[Parameter, ...]
    update: tuple[Parameter, ...]
    fields: dict[str, str]

    def add(self, request: RestRequest) -> Reply: ...

    def list(self, request: RestRequest) -> Reply: ...

    def get(self, request: RestRequest) -> Reply: ...

    def change(self, request: RestRequest) -> Reply: ...

    def delete(self, request: RestRequest) -> Reply: ...


def carrier_routes(carriers: _CarrierKind) -> list[Route]:
    """The routes of one carrier kind, all for the main account only."""
    kind, one = carriers.kind, f"{carriers.kind}/{{carrier_id}}/"
    return [
        Route(
            "POST",
            f"{kind}/",
            carriers.add,
            f"add an {kind}",
            status=HTTPStatus.CREATED,
            parameters=carriers.create,
            response=reply_schema(carrier_id="string", message="string"),
            scope="main",
        ),
        Route(
            "GET",
            f"{kind}/",
            carriers.list,
            f"list {kind}s",
            parameters=PAGE_PARAMETERS,
            response=list_schema(object_schema(**carriers.fields)),
            scope="main",
        ),
        Route(
            "GET",
            one,
            carriers.get,
            f"get an {kind}",
            response=reply_schema(**carriers.fields),
            scope="main",
        ),
        Route(
            "POST",
            one,
            carriers.change,
            "change the fields given",
            status=HTTPStatus.ACCEPTED,
            parameters=carriers.update,
            response=reply_schema(message="string"),
            scope="main",
        ),
        Route(
            "DELETE", one, carriers.delete, f"delete an {kind}", HTTPStatus.NO_CONTENT, scope="main"
        ),
    ]


class IncomingCarrierResource:
    kind = "IncomingCarrier"
    create: tuple[Parameter, ...] = (
        Parameter("name", required=True),
        Parameter(
            "addresses", required=True, description="IP addresses or CIDR networks, comma-separated"
        ),
        Parameter("enabled", "boolean"),
    )
    update: tuple[Parameter, ...] = (
        Parameter("name"),
        Parameter("addresses"),
        Parameter("enabled", "boolean"),
    )
    fields = _INCOMING_FIELDS

    def __init__(self, carriers: SqliteCarriers) -> None:
        self._carriers = carriers

    def add(self, request: RestRequest) -> Reply:
        enabled = request.optional_boolean("enabled") is not False
        carrier = self._carriers.add_incoming(
            request.text("name"), _split(request.text("addresses")), enabled
        )
        return Reply(HTTPStatus.CREATED, {"carrier_id": carrier.carrier_id, "message": "created"})

    def get(self, request: RestRequest) -> Reply:
        return Reply(body=_incoming(request.caller, self._carrier(request)))

    def change(self, request: RestRequest) -> Reply:
        carrier = self._carrier(request)
        addresses = request.optional_text("addresses")
        self._carriers.update_incoming(
            carrier.carrier_id,
            request.optional_text("name"),
            None if addresses is None else _split(addresses),
            request.optional_boolean("enabled"),
        )
        return Reply(HTTPStatus.ACCEPTED, {"message": "changed"})

    def delete(self, request: RestRequest) -> Reply:
        self._carriers.remove_carrier("incoming", self._carrier(request).carrier_id)
        return Reply(HTTPStatus.NO_CONTENT)

    def _carrier(self, request: RestRequest) -> IncomingCarrier:
        carrier = self._carriers.incoming_by_id(request.text("carrier_id"))
        if carrier is None:
            raise ApiError.not_found("incoming carrier", request.text("carrier_id"))
        return carrier

    # Last in the class: its name would shadow the built-in `list` in annotations below it.
    def list(self, request: RestRequest) -> Reply:
        carriers = self._carriers.list_incoming()
        return page_reply(request, [_incoming(request.caller, c) for c in carriers])


class OutgoingCarrierResource:
    kind = "OutgoingCarrier"
    create: tuple[Parameter, ...] = (
        Parameter("name", required=True),
        Parameter("address", required=True),
        *_OUTGOING_OPTIONS,
    )
    update: tuple[Parameter, ...] = (Parameter("name"), Parameter("address"), *_OUTGOING_OPTIONS)
    fields = _OUTGOING_FIELDS

    def __init__(self, carriers: SqliteCarriers) -> None:
        self._carriers = carriers

    def add(self, request: RestRequest) -> Reply:
        options = cast(OutgoingOptions, request.given(*_OUTGOING_NAMES))
        carrier = self._carriers.add_outgoing(
            request.text("name"), request.text("address"), **options
        )
        return Reply(HTTPStatus.CREATED, {"carrier_id": carrier.carrier_id, "message": "created"})

    def get(self, request: RestRequest) -> Reply:
        return Reply(body=_outgoing(request.caller, self._carrier(request)))

    def change(self, request: RestRequest) -> Reply:
        carrier = self._carrier(request)
        changes = cast(OutgoingChanges, request.given("name", "address", *_OUTGOING_NAMES))
        self._carriers.update_outgoing(carrier.carrier_id, **changes)
        return Reply(HTTPStatus.ACCEPTED, {"message": "changed"})

    def delete(self, request: RestRequest) -> Reply:
        self._carriers.remove_carrier("outgoing", self._carrier(request).carrier_id)
        return Reply(HTTPStatus.NO_CONTENT)

    def _carrier(self, request: RestRequest) -> OutgoingCarrier:
        carrier = self._carriers.outgoing_by_id(request.text("carrier_id"))
        if carrier is None:
            raise ApiError.not_found("outgoing carrier", request.text("carrier_id"))
        return carrier

    # Last in the class: its name would shadow the built-in `list` in annotations below it.
    def list(self, request: RestRequest) -> Reply:
        carriers = self._carriers.list_outgoing()
        return page_reply(request, [_outgoing(request.caller, c) for c in carriers])


def _split(addresses: str) -> list[str]:
    return [address for address in addresses.split(",") if address.strip()]


def _incoming(caller: Caller, carrier: IncomingCarrier) -> JsonObject:
    return {
        "carrier_id": carrier.carrier_id,
        "name": carrier.name,
        "addresses": list(carrier.addresses),
        "enabled": carrier.enabled,
        "resource_uri": caller.uri("IncomingCarrier", carrier.carrier_id),
    }


def _outgoing(caller: Caller, carrier: OutgoingCarrier) -> JsonObject:
    fields = ("carrier_id", "name", "address", "failover_address", "prefix", "failover_prefix")
    return {
        **{field: getattr(carrier, field) for field in fields},
        "suffix": carrier.suffix,
        "retries": carrier.retries,
        "retry_seconds": carrier.retry_seconds,
        "enabled": carrier.enabled,
        "resource_uri": caller.uri("OutgoingCarrier", carrier.carrier_id),
    }
