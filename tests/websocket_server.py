"""The server process with WebSocket listeners (RFC 7118), and its bindings table as it stands."""

import sqlite3
import time
from dataclasses import dataclass, field

from tests.conftest import ServerProcess, free_tcp_port


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
