"""A SIP trunk on a raw UDP socket: requests as a carrier would send them, to a server whose
incoming carriers include 127.0.0.1 and whose number 15550001111 rings someone."""

import socket
import uuid

from mediaserver.sip.message import Response, parse_message
from tests.conftest import ServerProcess


def request(
    sock: socket.socket, method: str, *, to_tag: str = "", body: str = "", extra: str = ""
) -> str:
    port = sock.getsockname()[1]
    tag = f";tag={to_tag}" if to_tag else ""
    content = "Content-Type: application/sdp\r\n" if body else ""
    return (
        f"{method} sip:15550001111@phone.local SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP 127.0.0.1:{port};branch=z9hG4bK{uuid.uuid4().hex};rport\r\n"
        f"Max-Forwards: 70\r\nFrom: <sip:15551112222@carrier.example>;tag=c{port}\r\n"
        f"To: <sip:15550001111@phone.local>{tag}\r\nCall-ID: {uuid.uuid4().hex}\r\n"
        f"CSeq: 1 {method}\r\nContact: <sip:carrier@127.0.0.1:{port}>\r\n{extra}{content}"
        f"Content-Length: {len(body.encode())}\r\n\r\n{body}"
    )


def final_response(sock: socket.socket, server: ServerProcess, text: str) -> Response:
    sock.sendto(text.encode(), ("127.0.0.1", server.sip_port))
    while True:
        response = parse_message(sock.recv(65535))
        assert isinstance(response, Response)
        if response.status_code >= 200:
            return response


def ack_for(invite: str, answer: Response) -> str:
    """§13.2.2.4: the ACK of a 2xx, in the dialog the 2xx made (new branch, INVITE's CSeq)."""
    lines = invite.split("\r\n\r\n", 1)[0].split("\r\n")
    headers = [line for line in lines[1:] if line.split(":", 1)[0] in ("Via", "From", "Call-ID")]
    contact = answer.contacts[0].uri
    via = headers[0].replace("branch=z9hG4bK", "branch=z9hG4bKack")
    return (
        f"ACK {contact} SIP/2.0\r\n{via}\r\n{headers[1]}\r\n"
        f"To: {answer.headers.get('To')}\r\n{headers[2]}\r\nCSeq: 1 ACK\r\nMax-Forwards: 70\r\n"
        "Content-Length: 0\r\n\r\n"
    )
