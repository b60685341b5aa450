"""The per-call debug log: webhook exchanges and interpreter entries by call, in order,
bounded in calls and in entries per call."""

from mediaserver.plivoxml.call_debug_log import ENTRIES_PER_CALL, CallDebugLog
from mediaserver.plivoxml.webhooks import WebhookExchange


def exchange(call_uuid: str, status: int | None = 200, error: str | None = None) -> WebhookExchange:
    params = {"CallUUID": call_uuid} if call_uuid else {}
    return WebhookExchange(
        "http://app.example/answer", "POST", params, status, error, 12.34,
        {"X-Plivo-Signature-V3": "c2ln", "X-Plivo-Signature-V3-Nonce": "123"}, 2,
    )  # fmt: skip


def test_exchanges_and_xml_errors_are_kept_by_call_in_order() -> None:
    log = CallDebugLog()
    log.exchange(exchange("call-a", status=None, error="timeout: no answer in 5 s"))
    log("call-a", "line 3: <Play> loop='x' is not an integer")
    log.exchange(exchange("call-b"))
    entries = log.entries("call-a")
    assert entries is not None
    assert [entry.kind for entry in entries] == ["webhook", "xml"]
    webhook, xml = entries
    assert (webhook.url, webhook.method, webhook.status, webhook.attempt) == (
        "http://app.example/answer", "POST", None, 2
    )  # fmt: skip
    assert webhook.error == "timeout: no answer in 5 s"
    assert webhook.latency_ms == 12.3
    assert webhook.signature_headers["X-Plivo-Signature-V3"] == "c2ln"
    assert "loop='x'" in xml.message
    assert log.entries("call-c") is None


def test_an_exchange_of_no_call_is_not_kept() -> None:
    log = CallDebugLog()
    log.exchange(exchange(""))
    assert log.statistics() == {"debug_log_calls": 0, "debug_log_entries": 0}


def test_the_oldest_call_goes_first_and_one_call_cannot_grow_without_bound() -> None:
    log = CallDebugLog(calls_kept=2)
    for call_uuid in ("one", "two", "three"):
        log(call_uuid, "entry")
    assert log.entries("one") is None
    assert log.entries("three") is not None
    for _ in range(ENTRIES_PER_CALL + 10):
        log("two", "again")
    assert len(log.entries("two") or []) == ENTRIES_PER_CALL
