"""The per-call debug log: every webhook exchange of a call (URL, method, status or failure,
latency, the signature headers sent) and every entry the interpreter writes for it (XML
errors naming line and attribute, skipped sounds, digits), readable over the REST API.

It is kept in memory for the most recent calls only: it is a debugging aid, not a record
(the CDR is), so a bounded size matters more than surviving a restart.
"""

import logging
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from mediaserver.plivoxml.webhooks import WebhookExchange

logger = logging.getLogger(__name__)

# Calls whose logs are kept; the oldest call's log goes first.
DEFAULT_CALLS_KEPT = 1000
# Entries per call: a redirect loop must not grow one call's log without bound.
ENTRIES_PER_CALL = 500


@dataclass(frozen=True, slots=True)
class DebugEntry:
    time: float  # Unix epoch seconds
    kind: str  # "webhook" or "xml"
    message: str
    url: str | None = None
    method: str | None = None
    status: int | None = None  # the HTTP status, None when no answer came
    error: str | None = None
    latency_ms: float | None = None
    attempt: int | None = None
    signature_headers: dict[str, str] = field(default_factory=dict)


class CallDebugLog:
    def __init__(self, calls_kept: int = DEFAULT_CALLS_KEPT) -> None:
        self._calls_kept = calls_kept
        self._entries: OrderedDict[str, list[DebugEntry]] = OrderedDict()

    def __call__(self, call_uuid: str, entry: str) -> None:
        """The interpreter's debug log (session.DebugLog): also to the server's log."""
        logger.warning("call %s: %s", call_uuid, entry)
        self._add(call_uuid, DebugEntry(time.time(), "xml", entry))

    def exchange(self, exchange: WebhookExchange) -> None:
        """The webhook client's observer: each attempt and each redirect hop."""
        call_uuid = exchange.params.get("CallUUID", "")
        outcome = exchange.error or f"HTTP {exchange.status}"
        message = f"{exchange.method} {exchange.url} (attempt {exchange.attempt}): {outcome}"
        logger.debug("call %s: %s in %.0f ms", call_uuid or "-", message, exchange.latency_ms)
        if not call_uuid:
            return
        entry = DebugEntry(
            time.time(), "webhook", message, exchange.url, exchange.method, exchange.status,
            exchange.error, round(exchange.latency_ms, 1), exchange.attempt,
            dict(exchange.signature_headers),
        )  # fmt: skip
        self._add(call_uuid, entry)

    def entries(self, call_uuid: str) -> list[DebugEntry] | None:
        """The call's entries in order, or None when no log is kept for it."""
        found = self._entries.get(call_uuid)
        return None if found is None else list(found)

    def statistics(self) -> dict[str, int]:
        return {
            "debug_log_calls": len(self._entries),
            "debug_log_entries": sum(map(len, self._entries.values())),
        }

    def _add(self, call_uuid: str, entry: DebugEntry) -> None:
        entries = self._entries.setdefault(call_uuid, [])
        self._entries.move_to_end(call_uuid)
        if len(entries) < ENTRIES_PER_CALL:
            entries.append(entry)
        while len(self._entries) > self._calls_kept:
            self._entries.popitem(last=False)
