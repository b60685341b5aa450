"""What a transaction tells its transaction user, as past-tense facts."""

from dataclasses import dataclass

from mediaserver.sip.message import Request, Response


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """A request for the TU (server side): the one that created the transaction, or with
    RFC 6026 an ACK that matched an INVITE transaction in Accepted (the dialog's to handle)."""

    request: Request


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """A response the TU must see (client side): provisional, final, and with RFC 6026 every
    2xx retransmission of an INVITE, which the TU's dialog acknowledges."""

    response: Response


@dataclass(frozen=True, slots=True)
class TransactionTimedOut:
    """Timer B, F or H fired: the TU acts as if a 408 had arrived (§8.1.3.1, §17.2.1)."""


@dataclass(frozen=True, slots=True)
class TransportFailed:
    """The transport could not send this transaction's message (§17.1.4, §17.2.4)."""


@dataclass(frozen=True, slots=True)
class TransactionTerminated:
    """The transaction has reached TERMINATED: the driver can forget it."""


TransactionEvent = (
    RequestReceived
    | ResponseReceived
    | TransactionTimedOut
    | TransportFailed
    | TransactionTerminated
)
