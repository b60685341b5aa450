"""Where requests say they came from and where responses go (RFC 3261 §18.2, RFC 3581).

Pure functions over messages and peers; the SIP transport applies them on the way in and out.
"""

import ipaddress

from mediaserver.sip.headers import Headers, Via, split_list
from mediaserver.sip.message import Request, Response
from mediaserver.transport.peer import Peer

# §18.2.2 / §19.1.2: the port when a Via's sent-by names none (5061 would be TLS, unused here).
DEFAULT_SIP_PORT = 5060


def with_received(request: Request, source: Peer) -> Request:
    """§18.2.1 and RFC 3581 §4: record the packet's source in the top Via.

    `received` is added when the sent-by host is not the source address; a client that asked
    for `rport` gets the source port there and `received` even when the host matches.
    """
    top = request.top_via
    wants_rport = top.rport == ""
    if not wants_rport and _same_address(top.host, source.host):
        return request
    updated = top.with_parameter("received", source.host)
    if wants_rport:
        updated = updated.with_parameter("rport", str(source.port))
    return Request(
        request.method, request.uri, _replace_top_via(request.headers, updated), request.body
    )


def response_destination(response: Response, source: Peer) -> Peer:
    """§18.2.2: the received address (else sent-by) and the sent-by port (else 5060).

    On UDP a filled-in rport wins over the sent-by port (RFC 3581 §4). A stream response
    only gets here when its connection has gone, and then §18.2.2 names the sent-by port.
    `maddr` (multicast replies) is not followed: this server answers only the address the
    request came from or the one it named, which keeps it from reflecting traffic elsewhere.
    """
    via = response.top_via
    host = via.received or via.host
    rport = via.rport or ""
    # A client may send its own rport value; only a valid port number is worth following.
    if rport.isdigit() and 0 < int(rport) < 65536 and not source.reliable:
        return Peer(source.transport, host, int(rport))
    return Peer(source.transport, host, via.port or DEFAULT_SIP_PORT)


def _same_address(sent_by_host: str, source_host: str) -> bool:
    try:
        return ipaddress.ip_address(sent_by_host) == ipaddress.ip_address(source_host)
    except ValueError:
        # A host name in sent-by never equals the packet's address literally (§18.2.1).
        return False


def _replace_top_via(headers: Headers, top: Via) -> Headers:
    items: list[tuple[str, str]] = []
    replaced = False
    for name, value in headers:
        if name == "Via" and not replaced:
            rest = split_list(value)[1:]
            value = ", ".join([str(top), *rest])
            replaced = True
        items.append((name, value))
    return Headers(items)
