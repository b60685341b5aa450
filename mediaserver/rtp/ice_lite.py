"""A lite ICE agent (RFC 8445 §2.5) for one media stream: it has one host candidate, the
stream's own port, never checks anything itself, and answers the browser's checks.

A server with an address every browser can reach is what ICE-lite is for: the full agent on
the other side (always controlling, §6.1.1) finds the path and nominates it with USE-CANDIDATE;
we answer valid checks, send media to the nominated address, and keep count of consent
(RFC 7675): the browser repeats a check every few seconds while it wants our media, so 30 s
without one means it has gone (its tab closed, its network changed).
"""

from dataclasses import dataclass

from mediaserver.rtp.stun import (
    BINDING_REQUEST,
    ICE_CONTROLLING,
    USE_CANDIDATE,
    USERNAME,
    StunMessage,
    StunParseError,
    binding_success,
    fingerprint_matches,
)

CONSENT_TIMEOUT = 30.0  # RFC 7675 §5.1: consent expires 30 s after the last response


@dataclass(frozen=True, slots=True)
class IceCredentials:
    """§5.3: a=ice-ufrag and a=ice-pwd of one side."""

    ufrag: str
    password: str


@dataclass(frozen=True, slots=True)
class CheckAnswered:
    """A valid check from `source`: `response` goes back to it. `selected` is the address
    media now goes to when this check chose it (nominated, or the first valid one)."""

    response: bytes
    source: tuple[str, int]
    selected: bool


class IceLiteAgent:
    def __init__(self, local: IceCredentials, now: float) -> None:
        self.local = local
        self.remote_ufrag: str | None = None  # from the peer's SDP, once we have it
        self.selected: tuple[str, int] | None = None
        self.nominated = False
        self.last_check_at = now
        self.checks_answered = 0
        self.checks_refused = 0

    def expect_checks_from(self, remote_ufrag: str, now: float) -> None:
        """The peer's SDP named it: checks come from now on (a callee's browser checks only
        once it answers), so the consent clock starts here rather than at our offer."""
        self.remote_ufrag = remote_ufrag
        self.last_check_at = max(self.last_check_at, now)

    def receive(self, data: bytes, source: tuple[str, int], now: float) -> CheckAnswered | None:
        """A datagram that starts like STUN. None: not a valid check for us, dropped and
        counted (RFC 8489 §6.3: a request failing integrity gets no useful answer)."""
        request = self._valid_request(data)
        if request is None:
            self.checks_refused += 1
            return None
        self.checks_answered += 1
        self.last_check_at = now
        nominating = request.has_attribute(USE_CANDIDATE)
        # §7.3.1.5: the controlled agent uses the nominated pair; until one is, the first
        # valid pair carries media, so audio starts with the first check.
        selected = (nominating and source != self.selected) or self.selected is None
        if selected:
            self.selected = source
        self.nominated = self.nominated or nominating
        response = binding_success(request, source, self.local.password.encode())
        return CheckAnswered(response, source, selected)

    def consent_expired(self, now: float) -> bool:
        return now - self.last_check_at > CONSENT_TIMEOUT

    def _valid_request(self, data: bytes) -> StunMessage | None:
        if not fingerprint_matches(data):
            return None
        try:
            message = StunMessage.parse(data)
        except StunParseError:
            return None
        if message.message_type != BINDING_REQUEST:
            return None
        # §6.1.3.1: we are lite, so the peer must be controlling.
        if not message.has_attribute(ICE_CONTROLLING):
            return None
        if not self._username_matches(message.attribute(USERNAME)):
            return None
        return message if message.integrity_matches(self.local.password.encode()) else None

    def _username_matches(self, username: bytes | None) -> bool:
        """§7.2.2: USERNAME is "<our ufrag>:<their ufrag>"; their half is checked once
        their SDP has told it (checks may come before the answer does)."""
        if username is None:
            return False
        ours, colon, theirs = username.decode("utf-8", "replace").partition(":")
        if ours != self.local.ufrag or not colon:
            return False
        return self.remote_ufrag is None or theirs == self.remote_ufrag
