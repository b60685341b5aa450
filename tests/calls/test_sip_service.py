"""Which answer each request gets from the server's transaction user (RFC 3261 §8.2)."""

import pytest

from mediaserver.calls.sip_service import SipService
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.message import Request, Response, build_response, parse_message
from mediaserver.transport.peer import Peer
from mediaserver.transport.server_transactions import ServerRequest

SOURCE = Peer("udp", "192.0.2.7", 5060)
LOCAL = Peer("udp", "127.0.0.1", 5060)


class FakeRegistrar:
    def __init__(self) -> None:
        self.seen: list[tuple[Request, Peer]] = []

    def handle_register(self, request: Request, source: Peer) -> Response:
        self.seen.append((request, source))
        return build_response(request, 401, to_tag="r")


class Responses:
    """Stands in for the SIP transport: collects what the service sends."""

    def __init__(self) -> None:
        self.sent: list[Response] = []

    def respond(self, transaction: object, response: Response) -> None:
        self.sent.append(response)


def make_request(
    method: str, *, uri: str = "sip:phone.local", to_tag: str = "", extra: str = ""
) -> Request:
    tag = f";tag={to_tag}" if to_tag else ""
    message = parse_message(
        (
            f"{method} {uri} SIP/2.0\r\n"
            "Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKsvc\r\n"
            "Max-Forwards: 70\r\nFrom: <sip:a@phone.local>;tag=1\r\n"
            f"To: <sip:a@phone.local>{tag}\r\n"
            f"Call-ID: svc\r\nCSeq: 1 {method}\r\n{extra}Content-Length: 0\r\n\r\n"
        ).encode()
    )
    assert isinstance(message, Request)
    return message


def answer(
    request: Request, registrar: FakeRegistrar | None = None, *, cancels: bool = False
) -> Response | None:
    responses = Responses()
    service = SipService(registrar or FakeRegistrar())
    incoming = ServerRequest(
        responses,  # type: ignore[arg-type]
        object(),  # type: ignore[arg-type]
        request,
        SOURCE,
        LOCAL,
        cancels_a_transaction=cancels,
    )
    service(incoming)
    assert len(responses.sent) <= 1
    return responses.sent[0] if responses.sent else None


def test_options_gets_200_with_capabilities() -> None:
    response = answer(make_request("OPTIONS"))
    assert response is not None
    assert response.status_code == 200
    assert response.headers.get_all("Allow") == [
        "REGISTER", "OPTIONS", "INVITE", "ACK", "CANCEL", "BYE", "INFO", "UPDATE",
    ]  # fmt: skip
    assert response.headers.get("Accept") == "application/sdp"
    assert "Supported" in response.headers
    assert response.to_address.tag


def test_register_goes_to_the_registrar_with_its_source() -> None:
    registrar = FakeRegistrar()
    request = make_request("REGISTER")
    response = answer(request, registrar)
    assert response is not None
    assert response.status_code == 401
    assert registrar.seen == [(request, SOURCE)]


@pytest.mark.parametrize("method", ["SUBSCRIBE", "MESSAGE", "REFER", "PUBLISH"])
def test_known_methods_not_served_get_405_with_allow(method: str) -> None:
    response = answer(make_request(method))
    assert response is not None
    assert response.status_code == 405
    assert "REGISTER" in response.headers.get_all("Allow")


def test_unknown_method_gets_501() -> None:
    response = answer(make_request("FROBNICATE"))
    assert response is not None
    assert response.status_code == 501


@pytest.mark.parametrize("method", ["BYE", "INFO", "UPDATE"])
def test_dialog_methods_outside_a_dialog_get_481(method: str) -> None:
    response = answer(make_request(method))
    assert response is not None
    assert response.status_code == 481


def test_in_dialog_request_without_a_dialog_gets_481() -> None:
    response = answer(make_request("BYE", to_tag="nosuchdialog"))
    assert response is not None
    assert response.status_code == 481
    assert response.to_address.tag == "nosuchdialog"


def test_cancel_without_a_pending_invite_gets_481() -> None:
    response = answer(make_request("CANCEL"))
    assert response is not None
    assert response.status_code == 481


@pytest.mark.parametrize("uri", ["tel:+15551234567", "sips:phone.local"])
def test_unsupported_uri_scheme_gets_416(uri: str) -> None:
    response = answer(make_request("OPTIONS", uri=uri))
    assert response is not None
    assert response.status_code == 416


def test_required_extension_gets_420_naming_it() -> None:
    response = answer(make_request("OPTIONS", extra="Require: 100rel, timer\r\n"))
    assert response is not None
    assert response.status_code == 420
    assert response.headers.get_all("Unsupported") == ["100rel", "timer"]


def test_ack_is_never_answered() -> None:
    assert answer(make_request("ACK")) is None


def test_a_malformed_header_found_while_serving_gets_400() -> None:
    class Picky(FakeRegistrar):
        def handle_register(self, request: Request, source: Peer) -> Response:
            raise SipParseError("malformed Expires")

    response = answer(make_request("REGISTER"), Picky())
    assert response is not None
    assert response.status_code == 400
    assert response.reason == "Bad Request - malformed Expires"


def test_cancel_matching_a_transaction_gets_200() -> None:
    response = answer(make_request("CANCEL"), cancels=True)
    assert response is not None
    assert response.status_code == 200
