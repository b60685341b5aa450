"""The address of the other end of a SIP hop, as the transport sees it."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Peer:
    """A transport address: `host` is an IP literal, IPv6 without brackets."""

    transport: str  # "udp" | "tcp" | "ws" | "wss"
    host: str
    port: int

    @property
    def reliable(self) -> bool:
        """RFC 3261 §17: stream transports need no retransmissions."""
        return self.transport != "udp"

    def host_port(self) -> str:
        """`host:port` with IPv6 in brackets, as it appears in a Via or a log line."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"
