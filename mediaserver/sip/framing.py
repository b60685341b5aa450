"""Message framing on stream transports (RFC 3261 §18.3) with RFC 5626 §3.5.1 keep-alives.

On TCP, TLS and the like, Content-Length is the only way to find where a body ends, so it is
mandatory there; a message that would exceed the size limit is an error before it is buffered.
"""

import re

from mediaserver.sip.errors import SipParseError

KEEPALIVE_PING = b"\r\n\r\n"

_HEADER_END = b"\r\n\r\n"
# Content-Length (compact form "l"); HCOLON = *( SP / HTAB ) ":" SWS. A folded value is not
# worth supporting here: the line must carry the digits itself.
_CONTENT_LENGTH_RE = re.compile(rb"\r\n(?:content-length|l)[ \t]*:([^\r\n]*)", re.IGNORECASE)


class StreamFramer:
    """Cuts a byte stream into whole SIP messages; any error leaves the stream unusable."""

    def __init__(self, max_message_size: int = 65535) -> None:
        self._max_message_size = max_message_size
        self._buffer = bytearray()
        # Where the search for the end of the header section resumes: bytes already searched
        # are not searched again when data trickles in.
        self._scanned = 0

    def feed(self, data: bytes) -> list[bytes]:
        """Messages (headers and body) completed by `data`; b"\\r\\n\\r\\n" for each ping."""
        self._buffer += data
        messages: list[bytes] = []
        while True:
            message = self._next_message()
            if message is None:
                return messages
            messages.append(message)

    def _next_message(self) -> bytes | None:
        buffer = self._buffer
        if buffer.startswith(KEEPALIVE_PING):
            del buffer[:4]
            return KEEPALIVE_PING
        # §7.5: CRLFs before a start line are ignored; a lone CRLF is the RFC 5626 pong.
        # "\r\n\r" may still become a ping, so it waits for one more byte.
        while buffer.startswith(b"\r\n") and len(buffer) > 2 and buffer[2] != 0x0D:
            del buffer[:2]
            self._scanned = 0
        if buffer.startswith(b"\r\n"):
            return None
        return self._framed_message()

    def _framed_message(self) -> bytes | None:
        buffer = self._buffer
        end = buffer.find(_HEADER_END, max(self._scanned - 3, 0))
        if end < 0:
            self._scanned = len(buffer)
            self._check_size(len(buffer))
            return None
        head_length = end + len(_HEADER_END)
        total = head_length + self._content_length(bytes(buffer[: end + 2]))
        self._check_size(total)
        if len(buffer) < total:
            self._scanned = end
            return None
        message = bytes(buffer[:total])
        del buffer[:total]
        self._scanned = 0
        return message

    def _content_length(self, head: bytes) -> int:
        values = {match.group(1).strip(b" \t") for match in _CONTENT_LENGTH_RE.finditer(head)}
        if not values:
            raise SipParseError("missing Content-Length on a stream transport")
        if len(values) > 1:
            raise SipParseError("multiple Content-Length values")
        (value,) = values
        if not value.isdigit() or len(value) > 10:
            raise SipParseError("malformed Content-Length")
        return int(value)

    def _check_size(self, size: int) -> None:
        if size > self._max_message_size:
            raise SipParseError("message too large", status_code=513)
