"""/phone: the built page, its script and style, this server's settings for the sign-in form,
and a 503 naming `make web` while the build is missing."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from mediaserver.api.phone_page import PhonePage
from mediaserver.config import ListenAddress

Client = TestClient[web.Request, web.Application]
LISTEN = [
    ListenAddress("udp", "0.0.0.0", 5060),
    ListenAddress("ws", "0.0.0.0", 5066),
    ListenAddress("ws", "[::]", 6066),
    ListenAddress("wss", "0.0.0.0", 7443),
]


@asynccontextmanager
async def serving(directory: Path) -> AsyncIterator[Client]:
    application = web.Application()
    application.router.add_routes(PhonePage("pbx.example.com", LISTEN, directory).routes())
    async with TestClient(TestServer(application)) as client:
        yield client


def build(directory: Path, *names: str) -> Path:
    for name in names:
        (directory / name).write_text(f"built {name}")
    return directory


async def test_serves_the_built_page_its_script_and_style(tmp_path: Path) -> None:
    async with serving(build(tmp_path, "index.html", "phone.js", "phone.css")) as client:
        for path, body, content_type in (
            ("/phone", "built index.html", "text/html"),
            ("/phone/", "built index.html", "text/html"),
            ("/phone/phone.js", "built phone.js", "text/javascript"),
            ("/phone/phone.css", "built phone.css", "text/css"),
        ):
            reply = await client.get(path)
            assert (reply.status, await reply.text(), reply.content_type) == (
                200,
                body,
                content_type,
            )
        assert (await client.get("/phone/secret.txt")).status == 404
        assert (await client.get("/phone/..%2Fpyproject.toml")).status == 404


async def test_settings_name_the_domain_and_the_first_websocket_port_of_each_kind(
    tmp_path: Path,
) -> None:
    async with serving(tmp_path) as client:
        reply = await client.get("/phone/settings.json")
        assert await reply.json() == {
            "domain": "pbx.example.com",
            "websockets": {"ws": 5066, "wss": 7443},
        }


async def test_a_missing_build_is_a_503_that_names_make_web(tmp_path: Path) -> None:
    async with serving(build(tmp_path, "index.html", "phone.css")) as client:
        for path in ("/phone", "/phone/phone.js"):
            reply = await client.get(path)
            assert reply.status == 503
            assert "make web" in await reply.text()
