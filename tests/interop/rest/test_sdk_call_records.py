"""GET Call/ pages through many call records with the official `plivo` SDK: the store reads
one page at a time (LIMIT/OFFSET) and counts the matches apart; what the SDK parses (objects,
total_count, next, previous) must be what paging the whole list in memory gave."""

import sqlite3
import uuid

import plivo

from mediaserver.store.call_records import CallRecord, SqliteCallRecords
from tests.conftest import ServerProcess
from tests.interop.rest.conftest import AUTH_ID

RECORDS = 45


def test_call_records_page_newest_first_with_counts_and_links(
    rest_server: ServerProcess, client: plivo.RestClient
) -> None:
    # Written beside the running server, as its call record writer would (the store's WAL
    # lets the server read them at once).
    connection = sqlite3.connect(rest_server.database_path, isolation_level=None)
    records = SqliteCallRecords(connection)
    written = [f"paged-{number}-{uuid.uuid4()}" for number in range(RECORDS)]
    for number, call_uuid in enumerate(written):
        direction = "outbound" if number % 3 else "inbound"
        records.write(
            CallRecord(
                call_uuid, None, direction, "15550001111", "sip:paged@example.org",
                1.0e9 + number, 1.0e9 + number + 1, 1.0e9 + number + 2, 2, 1, "Normal Hangup",
                4000, "Plivo", "127.0.0.1", "PCMU", 200, f"{call_uuid}@example.org",
            )
        )  # fmt: skip
    connection.close()
    outbound = [u for n, u in enumerate(written) if n % 3][::-1]  # newest ended first

    first = client.calls.list(to_number="sip:paged@example.org", call_direction="outbound")
    assert first.meta.total_count == len(outbound) == 30
    assert [call.call_uuid for call in first.objects] == outbound[:20]
    assert first.meta.previous is None
    assert first.meta.next.startswith(f"/v1/Account/{AUTH_ID}/Call/?")
    assert "offset=20" in first.meta.next
    last = client.calls.list(
        to_number="sip:paged@example.org", call_direction="outbound", limit=20, offset=20
    )
    assert [call.call_uuid for call in last.objects] == outbound[20:]
    assert last.meta.next is None
    assert "offset=0" in last.meta.previous
    beyond = client.calls.list(to_number="sip:paged@example.org", offset=RECORDS)
    assert (beyond.objects, beyond.meta.total_count) == ([], RECORDS)
