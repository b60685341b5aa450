"""GET /phone: the web phone, a page that signs in as an endpoint over the SIP WebSocket
listeners (web/phone/, built into web/build/phone/ by `make web`, never committed).

The server serves what was built and nothing else; when the build is missing it says so with
a 503 naming `make web` rather than a page that cannot work. /phone/settings.json tells the
page this server's SIP domain and WebSocket ports, so its sign-in form is filled in.
"""

from pathlib import Path

from aiohttp import web

from mediaserver.config import WEBSOCKET_TRANSPORTS, ListenAddress

# The repository's build directory, where `make web` writes the page (an editable install).
BUILT_PAGE = Path(__file__).resolve().parents[2] / "web" / "build" / "phone"
_FILES = {
    "index.html": "text/html",
    "phone.js": "text/javascript",
    "phone.css": "text/css",
}
_NOT_BUILT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Web phone not built</title></head>
<body><h1>The web phone is not built</h1>
<p>Run <code>make web</code> in the repository (<code>make run</code> does it too), then reload
this page.</p></body></html>
"""
# Always the latest build: the page and its script change together.
_HEADERS = {"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"}


class PhonePage:
    def __init__(
        self, domain: str, listen: list[ListenAddress], directory: Path = BUILT_PAGE
    ) -> None:
        self._directory = directory
        self._settings = {
            "domain": domain,
            "websockets": {
                address.transport: address.port
                for address in reversed(listen)  # the first listener of a transport wins
                if address.transport in WEBSOCKET_TRANSPORTS
            },
        }

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/phone", self._page),
            web.get("/phone/", self._page),
            web.get("/phone/settings.json", self._settings_json),
            web.get("/phone/{file_name}", self._file),
        ]

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return self._serve("index.html")

    async def _file(self, request: web.Request) -> web.StreamResponse:
        file_name = request.match_info["file_name"]
        if file_name not in _FILES:
            raise web.HTTPNotFound(text=f"no such file: {file_name}\n")
        return self._serve(file_name)

    async def _settings_json(self, request: web.Request) -> web.Response:
        return web.json_response(self._settings, headers=_HEADERS)

    def _serve(self, file_name: str) -> web.StreamResponse:
        if not all((self._directory / name).is_file() for name in _FILES):
            return web.Response(
                status=503, text=_NOT_BUILT, content_type="text/html", headers=_HEADERS
            )
        return web.FileResponse(
            self._directory / file_name, headers={"Content-Type": _FILES[file_name], **_HEADERS}
        )
