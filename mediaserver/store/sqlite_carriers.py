"""The carrier tables (migration 2) behind the Carriers protocol: every change is one committed
transaction, validated by the same constructors the CLI and the REST API use (carriers.py)."""

import dataclasses
import ipaddress
import sqlite3
import time
from collections.abc import Iterable
from typing import Unpack

from mediaserver.store.carriers import (
    CarrierExistsError,
    CarrierKind,
    IncomingCarrier,
    OutgoingCarrier,
    OutgoingChanges,
    new_incoming_carrier,
    new_outgoing_carrier,
)
from mediaserver.store.database import immediate_transaction


class SqliteCarriers:
    """The carrier tables of migration 2; every change is one committed transaction."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def add_incoming(
        self,
        name: str,
        addresses: Iterable[str],
        enabled: bool = True,
        *,
        now: float | None = None,
    ) -> IncomingCarrier:
        # Validate everything before the first write, so bad input leaves nothing behind.
        carrier = new_incoming_carrier(name, addresses, enabled)
        created_at = time.time() if now is None else now
        self._connection.execute("BEGIN IMMEDIATE")
        try:
            self._connection.execute(
                "INSERT INTO incoming_carriers VALUES (?, ?, ?, ?)",
                (carrier.carrier_id, name, int(carrier.enabled), created_at),
            )
            self._connection.executemany(
                "INSERT INTO incoming_carrier_addresses VALUES (?, ?)",
                [(carrier.carrier_id, text) for text in carrier.addresses],
            )
        except BaseException as error:
            self._connection.execute("ROLLBACK")
            if isinstance(error, sqlite3.IntegrityError):
                raise CarrierExistsError(name) from None
            raise
        self._connection.execute("COMMIT")
        return carrier

    def incoming_for_source(self, ip: str) -> IncomingCarrier | None:
        """The enabled carrier whose addresses contain `ip`; None for unknown or unparsable ips.

        When networks of several carriers overlap, the most specific one (longest prefix) wins,
        the way a routing table decides, so a narrow carrier can sit inside a broad one.
        """
        try:
            source = ipaddress.ip_address(ip.strip().strip("[]"))
        except ValueError:
            return None
        if isinstance(source, ipaddress.IPv6Address) and source.ipv4_mapped is not None:
            source = source.ipv4_mapped  # a dual-stack socket reports v4 peers as ::ffff:a.b.c.d
        best: tuple[int, IncomingCarrier] | None = None
        for carrier in self._incoming("WHERE enabled = 1"):
            for text in carrier.addresses:
                network = ipaddress.ip_network(text)
                if source in network and (best is None or network.prefixlen > best[0]):
                    best = (network.prefixlen, carrier)
        return None if best is None else best[1]

    def list_incoming(self) -> list[IncomingCarrier]:
        return self._incoming("")

    def incoming_by_id(self, carrier_id: str) -> IncomingCarrier | None:
        found = [c for c in self._incoming("") if c.carrier_id == carrier_id]
        return found[0] if found else None

    def update_incoming(
        self,
        carrier_id: str,
        name: str | None = None,
        addresses: Iterable[str] | None = None,
        enabled: bool | None = None,
    ) -> IncomingCarrier | None:
        """The fields given change, checked as a new carrier would be; None: no such carrier."""
        current = self.incoming_by_id(carrier_id)
        if current is None:
            return None
        checked = new_incoming_carrier(
            current.name if name is None else name,
            current.addresses if addresses is None else addresses,
            current.enabled if enabled is None else enabled,
        )
        updated = dataclasses.replace(checked, carrier_id=carrier_id)
        try:
            with immediate_transaction(self._connection):
                self._replace_incoming(updated)
        except sqlite3.IntegrityError:
            raise CarrierExistsError(updated.name) from None
        return updated

    def _replace_incoming(self, carrier: IncomingCarrier) -> None:
        self._connection.execute(
            "UPDATE incoming_carriers SET name = ?, enabled = ? WHERE carrier_id = ?",
            (carrier.name, int(carrier.enabled), carrier.carrier_id),
        )
        self._connection.execute(
            "DELETE FROM incoming_carrier_addresses WHERE carrier_id = ?", (carrier.carrier_id,)
        )
        self._connection.executemany(
            "INSERT INTO incoming_carrier_addresses VALUES (?, ?)",
            [(carrier.carrier_id, text) for text in carrier.addresses],
        )

    def remove_carrier(self, kind: CarrierKind, carrier_id: str) -> bool:
        """Delete a carrier by its id (the REST API's handle; the CLI's is the name)."""
        cursor = self._connection.execute(
            f"DELETE FROM {_table(kind)} WHERE carrier_id = ?", (carrier_id,)
        )
        return cursor.rowcount > 0

    def remove_incoming(self, name: str) -> bool:
        cursor = self._connection.execute("DELETE FROM incoming_carriers WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def add_outgoing(
        self,
        name: str,
        address: str,
        failover_address: str | None = None,
        prefix: str = "",
        failover_prefix: str = "",
        suffix: str = "",
        retries: int = 1,
        retry_seconds: float = 5.0,
        enabled: bool = True,
        *,
        now: float | None = None,
    ) -> OutgoingCarrier:
        carrier = new_outgoing_carrier(
            name,
            address,
            failover_address,
            prefix,
            failover_prefix,
            suffix,
            retries,
            retry_seconds,
            enabled,
        )
        try:
            self._connection.execute(
                "INSERT INTO outgoing_carriers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*_outgoing_row(carrier), time.time() if now is None else now),
            )
        except sqlite3.IntegrityError:
            raise CarrierExistsError(name) from None
        return carrier

    def outgoing(self, name: str) -> OutgoingCarrier | None:
        found = self._outgoing("WHERE name = ?", (name,))
        return found[0] if found else None

    def outgoing_by_id(self, carrier_id: str) -> OutgoingCarrier | None:
        found = self._outgoing("WHERE carrier_id = ?", (carrier_id,))
        return found[0] if found else None

    def update_outgoing(
        self, carrier_id: str, **changes: Unpack[OutgoingChanges]
    ) -> OutgoingCarrier | None:
        """The fields given change, checked as a new carrier would be; None: no such carrier."""
        current = self.outgoing_by_id(carrier_id)
        if current is None:
            return None
        fields = {**dataclasses.asdict(current), **changes}
        del fields["carrier_id"]
        updated = dataclasses.replace(new_outgoing_carrier(**fields), carrier_id=carrier_id)
        assignments = ", ".join(f"{column.strip()} = ?" for column in _OUTGOING_COLUMNS.split(","))
        try:
            self._connection.execute(
                f"UPDATE outgoing_carriers SET {assignments} WHERE carrier_id = ?",
                (*_outgoing_row(updated), carrier_id),
            )
        except sqlite3.IntegrityError:
            raise CarrierExistsError(updated.name) from None
        return updated

    def default_outgoing(self) -> OutgoingCarrier | None:
        """The first enabled carrier by creation order: where a call goes when none is named."""
        found = self._outgoing("WHERE enabled = 1", limit=1)
        return found[0] if found else None

    def list_outgoing(self) -> list[OutgoingCarrier]:
        return self._outgoing("")

    def remove_outgoing(self, name: str) -> bool:
        cursor = self._connection.execute("DELETE FROM outgoing_carriers WHERE name = ?", (name,))
        return cursor.rowcount > 0

    def set_enabled(self, kind: CarrierKind, name: str, enabled: bool) -> bool:
        """Switch a carrier on or off without forgetting it; False if there is no such carrier."""
        cursor = self._connection.execute(
            f"UPDATE {_table(kind)} SET enabled = ? WHERE name = ?", (int(enabled), name)
        )
        return cursor.rowcount > 0

    def _incoming(self, where: str) -> list[IncomingCarrier]:
        rows = self._connection.execute(
            "SELECT carrier_id, name, enabled FROM incoming_carriers"
            f" {where} ORDER BY created_at, rowid"
        ).fetchall()
        addresses: dict[str, list[str]] = {row["carrier_id"]: [] for row in rows}
        for carrier_id, address in self._connection.execute(
            "SELECT carrier_id, address FROM incoming_carrier_addresses ORDER BY rowid"
        ):
            addresses.get(carrier_id, []).append(address)
        return [
            IncomingCarrier(carrier_id, name, bool(enabled), tuple(addresses[carrier_id]))
            for carrier_id, name, enabled in rows
        ]

    def _outgoing(
        self, where: str, parameters: tuple[str, ...] = (), limit: int = -1
    ) -> list[OutgoingCarrier]:
        rows = self._connection.execute(
            f"SELECT {_OUTGOING_COLUMNS} FROM outgoing_carriers {where}"
            " ORDER BY created_at, rowid LIMIT ?",
            (*parameters, limit),
        ).fetchall()
        return [_outgoing_carrier(row) for row in rows]


def _table(kind: CarrierKind) -> str:
    if kind not in ("incoming", "outgoing"):
        raise ValueError(f"carrier kind must be 'incoming' or 'outgoing', not {kind!r}")
    return f"{kind}_carriers"


_OUTGOING_COLUMNS = (
    "carrier_id, name, address, failover_address, prefix, failover_prefix, suffix, retries,"
    " retry_seconds, enabled"
)


def _outgoing_row(
    carrier: OutgoingCarrier,
) -> tuple[str, str, str, str | None, str, str, str, int, float, int]:
    return (
        carrier.carrier_id,
        carrier.name,
        carrier.address,
        carrier.failover_address,
        carrier.prefix,
        carrier.failover_prefix,
        carrier.suffix,
        carrier.retries,
        carrier.retry_seconds,
        int(carrier.enabled),
    )


def _outgoing_carrier(row: sqlite3.Row) -> OutgoingCarrier:
    return OutgoingCarrier(**{**dict(row), "enabled": bool(row["enabled"])})
