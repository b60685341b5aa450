"""The server process with WebSocket listeners (RFC 7118), and its bindings table as it stands."""

import asyncio
import sqlite3
import time
from dataclasses import dataclass, field

from tests.conftest import ServerProcess, free_tcp_port

BINDING_GONE_TIMEOUT = 10.0
POLL_INTERVAL = 0.1


@dataclass
class WsServerProcess(ServerProcess):
    """The server process with a ws and a wss listener on 127.0.0.1 besides UDP and TCP."""

    ws_port: int = field(default_factory=free_tcp_port)
    wss_port: int = field(default_factory=free_tcp_port)

    def write_config(self) -> None:
        super().write_config()
        text = self.config_path.read_text()
        websockets = f'"ws:127.0.0.1:{self.ws_port}", "wss:127.0.0.1:{self.wss_port}", '
        self.config_path.write_text(text.replace("listen = [", f"listen = [{websockets}", 1))

    def url(self, transport: str) -> str:
        port = self.ws_port if transport == "ws" else self.wss_port
        return f"{transport}://127.0.0.1:{port}/"


def bindings(server: ServerProcess) -> list[dict[str, object]]:
    """The server's own record: unexpired rows of its bindings table, oldest first."""
    with sqlite3.connect(server.database_path) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT * FROM bindings WHERE expires_at > ? ORDER BY rowid", (time.time(),)
        ).fetchall()
    return [dict(row) for row in rows]


async def until_gone(server: ServerProcess, transport: str) -> None:
    """Poll the bindings table until no binding over `transport` is left."""
    for _ in range(int(BINDING_GONE_TIMEOUT / POLL_INTERVAL)):
        if all(row["transport"] != transport for row in bindings(server)):
            return
        await asyncio.sleep(POLL_INTERVAL)
    raise AssertionError(f"the {transport} binding outlived its page: {bindings(server)}")
