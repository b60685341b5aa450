"""What every call test checks afterwards: the server's counters back at their baseline (the
Asterisk test suite's post-conditions) and its call records, read from its own SQLite file."""

import sqlite3
import time
from typing import Any

from tests.conftest import ServerProcess

# Counters that must return to where they were once every call has ended.
LEAK_COUNTERS = (
    "mediaserver_calls_calls",
    "mediaserver_calls_legs",
    "mediaserver_calls_dialogs",
    "mediaserver_calls_pending_invites",
    "mediaserver_calls_leg_timers",
    "mediaserver_media_streams",
    "mediaserver_media_bound_ports",
    "mediaserver_media_open_sockets",
    "mediaserver_media_timers",
    "mediaserver_applications_in_flight",
    "mediaserver_applications_notifications",
    "mediaserver_applications_application_timers",
    "mediaserver_process_tasks",
    "mediaserver_process_open_fds",
)
# Transactions linger after a call for Timers K/J/I/L/M (64*T1, or T4): tests that check them
# run the server with SHORT_TIMERS, so they are gone within seconds. (Timer D keeps a failed
# INVITE's client transaction 32 s whatever T1 is, RFC 3261 §17.1.1.2.)
TRANSACTIONS = "mediaserver_sip_transactions"
SHORT_TIMERS = "t1_ms = 50\nt2_ms = 400\nt4_ms = 500\n"


def baseline(server: ServerProcess) -> dict[str, float]:
    metrics = server.metrics()
    return {name: metrics.get(name, 0.0) for name in (*LEAK_COUNTERS, TRANSACTIONS)}


def assert_no_leaks(
    server: ServerProcess,
    before: dict[str, float],
    timeout: float = 10.0,
    transactions: bool = False,
    counters: tuple[str, ...] = LEAK_COUNTERS,
) -> None:
    """Poll until every counter is back at `before` (calls take a moment to wind down)."""
    names = (*counters, TRANSACTIONS) if transactions else counters
    deadline = time.monotonic() + timeout
    while True:
        metrics = server.metrics()
        leaked = {
            name: (before[name], metrics.get(name, 0.0))
            for name in names
            if metrics.get(name, 0.0) > before[name]
        }
        if not leaked:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"counters above their baseline (before, now): {leaked}")
        time.sleep(0.2)


def call_records(server: ServerProcess) -> list[dict[str, Any]]:
    with sqlite3.connect(server.database_path) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute("SELECT * FROM call_records ORDER BY initiation_time, rowid")
        return [dict(row) for row in rows.fetchall()]
