"""A user's application server for call tests: answers Plivo XML by path, keeps every request
(method, path, form and query parameters, headers) so tests can check parameters and
signatures, and runs in a thread beside the test.

    with ApplicationServer({"/answer": menu_xml, "/choice": choose}) as app:
        ... app.url("/answer") ...
        [request] = app.requests_to("/choice")

A route is a document (str), or a function of the request's parameters that returns one;
`files` are served as they are (sounds for Play), by path.
"""

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from plivo.utils import validate_signature
from plivo.utils.signature_v3 import validate_v3_signature

from mediaserver.config import AccountConfig

Route = str | Callable[[Mapping[str, str]], str]
AUTH_TOKEN = AccountConfig().auth_token  # the server's main account in the tests
CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}


@dataclass(frozen=True)
class AppRequest:
    method: str
    path: str
    url: str  # as the server saw it: http://127.0.0.1:PORT/path?query
    params: dict[str, str]  # the form (POST) or the query (GET)
    headers: dict[str, str]


@dataclass
class ApplicationServer:
    routes: dict[str, Route]
    requests: list[AppRequest] = field(default_factory=list)
    delay_seconds: dict[str, float] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        return int(self._http.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_to(self, path: str) -> list[AppRequest]:
        with self._lock:
            return [request for request in self.requests if request.path == path]

    def __enter__(self) -> "ApplicationServer":
        threading.Thread(target=self._http.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(dict(parse_qsl(urlsplit(self.path).query, keep_blank_values=True)))

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                self._answer(dict(parse_qsl(body, keep_blank_values=True)))

            def _answer(self, params: dict[str, str]) -> None:
                path = urlsplit(self.path).path
                url = f"http://127.0.0.1:{app.port}{self.path}"
                request = AppRequest(self.command, path, url, params, dict(self.headers))
                with app._lock:
                    app.requests.append(request)
                if path in app.delay_seconds:
                    threading.Event().wait(app.delay_seconds[path])
                route = app.routes.get(path)
                if path in app.files:
                    self._send(app.files[path], CONTENT_TYPES.get(path.rpartition(".")[2], ""))
                elif route is None:
                    self.send_error(404)
                else:
                    document = route if isinstance(route, str) else route(params)
                    self._send(document.encode(), "application/xml")

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                """Quiet: the requests are kept for the test to read."""

        return Handler


def assert_signed(request: AppRequest) -> None:
    """The request's V2 and V3 signatures pass the official SDK's validators."""
    headers = request.headers
    v2 = headers["X-Plivo-Signature-V2"]
    assert validate_signature(request.url, headers["X-Plivo-Signature-V2-Nonce"], v2, AUTH_TOKEN)
    assert validate_v3_signature(
        request.method, request.url, headers["X-Plivo-Signature-V3-Nonce"], AUTH_TOKEN,
        headers["X-Plivo-Signature-V3"], request.params if request.method == "POST" else None,
    )  # fmt: skip
