"""SIP message trace: every message in and out at DEBUG on the `mediaserver.sip.trace` logger
(what sngrep shows, for when there is no capture). Off unless that logger is at DEBUG."""

import logging

from mediaserver.transport.peer import Peer

trace = logging.getLogger("mediaserver.sip.trace")


def received(data: bytes, source: Peer) -> None:
    if trace.isEnabledFor(logging.DEBUG):
        trace.debug("<<< from %s %s\n%s", source.transport, source.host_port(), _text(data))


def sent(data: bytes, destination: Peer) -> None:
    if trace.isEnabledFor(logging.DEBUG):
        trace.debug(">>> to %s %s\n%s", destination.transport, destination.host_port(), _text(data))


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace").rstrip()
