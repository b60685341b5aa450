"""Session timers (RFC 4028) when the peer asks for them.

A UAC that sends Session-Expires (and lists `timer` in Supported) refreshes the session with
re-INVITE or UPDATE; we answer with the interval and `refresher=uac` and end the call with a
BYE when no refresh came in time (§10). A peer that asks us to refresh (`refresher=uas`) gets
a re-INVITE at half the interval. An interval under our Min-SE gets 422 (§5).
"""

from dataclasses import dataclass

from mediaserver.sip.message import Request, Response, build_response

DEFAULT_MIN_SE = 90  # RFC 4028 §4: the minimum, and the default Min-SE


@dataclass(frozen=True, slots=True)
class SessionTimerRefusal:
    """§5: the asked interval is below our Min-SE."""

    min_se: int

    def response(self, request: Request) -> Response:
        return build_response(request, 422, headers=[("Min-SE", str(self.min_se))])


class SessionTimer:
    def __init__(self, min_se: int = DEFAULT_MIN_SE) -> None:
        self._min_se = min_se
        self.interval: int | None = None
        self.refresher = "uac"
        self._peer_supports = False

    def negotiate(
        self, request: Request, *, incoming_is_initial: bool
    ) -> SessionTimerRefusal | None:
        value = request.headers.get("Session-Expires")
        supported = [tag.strip().lower() for tag in request.headers.get_all("Supported")]
        if value is None:
            if incoming_is_initial:
                self.interval = None
            return None
        delta_text, _, parameters = value.partition(";")
        if not delta_text.strip().isdigit():
            return None  # unreadable: treat the request as not asking for a timer
        delta = int(delta_text.strip())
        if delta < self._min_se:
            return SessionTimerRefusal(self._min_se)
        self.interval = delta
        self._peer_supports = "timer" in supported
        asked = parameters.replace(" ", "").lower()
        self.refresher = "uas" if "refresher=uas" in asked or not self._peer_supports else "uac"
        return None

    def response_headers(self) -> list[tuple[str, str]]:
        """§9: the interval and refresher in the 2xx; Require: timer when the UAC refreshes."""
        if self.interval is None:
            return []
        headers = [("Session-Expires", f"{self.interval};refresher={self.refresher}")]
        if self.refresher == "uac":
            headers.append(("Require", "timer"))
        return headers

    def expiry_interval(self) -> int | None:
        """When the peer refreshes: how long we wait for it (§10 subtracts nothing for the
        UAS side, which must allow the whole interval)."""
        return self.interval if self.refresher == "uac" else None

    def refresh_interval(self) -> float | None:
        """When we refresh: half the interval, as §10 recommends."""
        return self.interval / 2 if self.interval and self.refresher == "uas" else None
