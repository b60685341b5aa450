"""The user's web application for the application benchmarks (a part: no run()): an aiohttp
server in a child process, so its CPU is its own and the server's event loop is not shared.

    with AnswerApplication() as app:
        ... app.url("/speak") ...  # the answer URL
        app.statistics()           # {"requests": {path: n}, "digits": {digit: n}}

Documents (Plivo XML, answered to GET and POST alike):
The hangup URL's requests (to the answer URL: the application has no hangup URL) are counted
apart, as "PATH (hangup)".
  /speak      <Speak> of one fixed sentence, then <Hangup/>: the TTS cache is warm after the
              first call.
  /speak-new  the same with a sentence no call had before: every call synthesises (cold).
  /wait       <Wait length="1"/>: the call ends a second after it is answered (calls placed
              over the REST API, which are held no longer than that).
  /digits     <GetDigits> (numDigits 1, timeout 30, its action this same URL) around a short
              <Speak>, then a <Redirect> back here: a call stays in digit collection for good,
              and every digit it sends comes back as a request with `Digits`.
  /conference <Conference>room</Conference>: every caller in the one room.

Run as `python -m tools.load.answer_application PORT`.
"""

import asyncio
import itertools
import json
import secrets
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Mapping
from xml.sax.saxutils import escape

from aiohttp import web

from tools.bench.registration import free_port

SENTENCE = "Goodbye."
PROMPT = "Press a key."
DIGIT_TIMEOUT_SECONDS = 30


class AnswerApplication:
    """The application server as a child process, stopped when the block ends."""

    def __init__(self) -> None:
        self.port = free_port()
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tools.load.answer_application", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._wait_until_serving()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def statistics(self) -> dict[str, dict[str, int]]:
        with urllib.request.urlopen(self.url("/statistics"), timeout=10) as response:
            parsed: dict[str, dict[str, int]] = json.loads(response.read())
            return parsed

    def __enter__(self) -> "AnswerApplication":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._process.terminate()
        self._process.wait(timeout=10)

    def _wait_until_serving(self) -> None:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError("the answer application exited before serving")
            try:
                self.statistics()
            except OSError:
                time.sleep(0.1)
                continue
            return
        raise RuntimeError("the answer application did not start within 20 s")


def _xml(body: str) -> web.Response:
    return web.Response(text=f"<Response>{body}</Response>", content_type="application/xml")


def application() -> web.Application:
    requests: Counter[str] = Counter()
    digits: Counter[str] = Counter()
    # A tag per run, so no sentence of /speak-new is in a cache a run before left behind.
    run_tag = secrets.token_hex(3)
    numbers = itertools.count(1)

    async def note(request: web.Request) -> Mapping[str, str]:
        """The request's parameters; counted by path, the hangup URL's apart."""
        form = await request.post() if request.method == "POST" else request.query
        parameters = {key: str(value) for key, value in form.items()}
        hangup = " (hangup)" if "HangupCause" in parameters else ""
        requests[request.path + hangup] += 1
        return parameters

    async def speak(request: web.Request) -> web.Response:
        await note(request)
        return _xml(f"<Speak>{SENTENCE}</Speak><Hangup/>")

    async def speak_new(request: web.Request) -> web.Response:
        await note(request)
        sentence = f"Welcome, caller {next(numbers)} of run {' '.join(run_tag)}."
        return _xml(f"<Speak>{escape(sentence)}</Speak><Hangup/>")

    async def wait(request: web.Request) -> web.Response:
        await note(request)
        return _xml('<Wait length="1"/>')

    async def collect(request: web.Request) -> web.Response:
        pressed = (await note(request)).get("Digits", "")
        if pressed:
            digits[pressed] += 1
        here = escape(str(request.url.with_query(None)))
        return _xml(
            f'<GetDigits action="{here}" method="POST" numDigits="1" '
            f'timeout="{DIGIT_TIMEOUT_SECONDS}"><Speak>{PROMPT}</Speak></GetDigits>'
            f"<Redirect>{here}</Redirect>"
        )

    async def conference(request: web.Request) -> web.Response:
        hangup = "HangupCause" in await note(request)
        return _xml("" if hangup else "<Conference>room</Conference>")

    async def statistics(request: web.Request) -> web.Response:
        return web.json_response({"requests": dict(requests), "digits": dict(digits)})

    app = web.Application()
    routes = (
        ("/speak", speak),
        ("/speak-new", speak_new),
        ("/wait", wait),
        ("/digits", collect),
        ("/conference", conference),
    )
    for path, handler in routes:
        app.router.add_route("*", path, handler)
    app.router.add_get("/statistics", statistics)
    return app


async def serve(port: int) -> None:
    runner = web.AppRunner(application(), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port, backlog=1024).start()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
