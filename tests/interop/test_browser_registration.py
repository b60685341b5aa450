"""A real browser registers: headless Chromium runs JsSIP (bundled by esbuild) in a page served
from its own origin, registers endpoint alice over WS and over WSS (the server's self-signed
certificate), and the server's bindings table shows it; closing the page removes the binding.

JsSIP sends no un-REGISTER when its page goes away, so the binding can only disappear because
its WebSocket closed (RFC 7118 with RFC 5626's flow idea).
"""

from collections.abc import AsyncIterator, Callable

import pytest

from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.chromium import Chromium, PageServer, requires_chromium
from tests.websocket_server import WsServerProcess, bindings, until_gone

pytestmark = [pytest.mark.interop, requires_chromium]


@pytest.fixture
async def chromium() -> AsyncIterator[Chromium]:
    browser = await Chromium.launch()
    yield browser
    await browser.close()


@pytest.fixture
def server(server_factory: Callable[..., ServerProcess], pages: PageServer) -> WsServerProcess:
    # Only the test pages' origin may open a WebSocket: the browser's Origin header must match.
    running = server_factory(sip_toml=f'ws_origins = ["{pages.origin}"]\n', kind=WsServerProcess)
    running.cli("endpoint", "add", "alice", "s3cret", "--exact")
    assert isinstance(running, WsServerProcess)
    return running


async def register(
    chromium: Chromium, pages: PageServer, server: WsServerProcess, transport: str
) -> int:
    answer = await chromium.command(
        command="register", page=f"{pages.origin}/registration.html",
        socket=server.url(transport), uri=f"sip:alice@{SIP_DOMAIN}", password="s3cret",
    )  # fmt: skip
    result = answer["result"]
    assert result["status"] == 200
    assert result["via"].startswith(f"SIP/2.0/{transport.upper()} ")
    assert ".invalid;transport=ws" in result["contact"]  # RFC 7118 §5.2, as JsSIP writes it
    return int(answer["page"])


async def test_browser_registers_over_ws_and_wss_and_closing_the_page_unregisters(
    server: WsServerProcess, pages: PageServer, chromium: Chromium
) -> None:
    over_ws = await register(chromium, pages, server, "ws")
    over_wss = await register(chromium, pages, server, "wss")
    rows = bindings(server)
    assert [(row["username"], row["transport"]) for row in rows] == [
        ("alice", "ws"),
        ("alice", "wss"),
    ]
    assert all(str(row["contact"]).endswith(".invalid;transport=ws") for row in rows)
    assert all(str(row["user_agent"]).startswith("JsSIP") for row in rows)
    metrics = server.metrics()
    assert (
        metrics["mediaserver_registrar_bindings"],
        metrics["mediaserver_sip_ws_connections"],
    ) == (2, 2)

    await chromium.command(command="close", page=over_ws)
    await until_gone(server, "ws")
    assert [row["transport"] for row in bindings(server)] == ["wss"]
    await chromium.command(command="close", page=over_wss)
    await until_gone(server, "wss")
    metrics = server.metrics()
    assert metrics["mediaserver_registrar_bindings_closed_with_connection_total"] == 2
    assert metrics["mediaserver_sip_ws_connections"] == 0
