"""The one exception the SIP parsers raise (RFC 3261 §21.4.1: a malformed message gets a 400)."""


class SipParseError(ValueError):
    """A message, header or URI that does not follow the RFC 3261 §25 grammar.

    `reason` is short enough to append to a 400 reason phrase. `status_code` is the response
    a UAS sends for the fault: 400 nearly always, 505 for an unsupported SIP version (§8.2.2).
    """

    def __init__(self, reason: str, status_code: int = 400) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status_code = status_code
