"""The web phone the server serves at /phone, driven in Chromium as its user drives it: typing
into its labelled fields, clicking its buttons, reading what its live regions say. What it
hears is measured with spectrum.js, injected into the page (the page itself has no test code).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.conftest import ServerProcess
from tests.interop.chromium import PAGES, Chromium

# A phone's screen in CSS pixels (a 6.1" handset), so screenshots show what its users see.
PHONE_VIEWPORT = {"width": 390, "height": 844}
SPECTRUM = PAGES / "spectrum.js"
POLL_INTERVAL = 0.1
WAIT_TIMEOUT = 15.0
T = TypeVar("T")


@dataclass
class WebPhone:
    browser: Chromium
    page: int

    @classmethod
    async def open(
        cls, browser: Chromium, server: ServerProcess, scheme: str = "http"
    ) -> "WebPhone":
        """The page from the server's API listener, once it has filled in its defaults."""
        url = f"{scheme}://127.0.0.1:{server.api_port}/phone"
        answer = await browser.command(command="open", page=url, viewport=PHONE_VIEWPORT)
        phone = cls(browser, int(answer["page"]))
        await phone.until(lambda: phone.value("#socket"), lambda socket: socket != "")
        return phone

    async def sign_in(
        self, username: str, password: str, socket: str = "", voice_processing: bool = True
    ) -> str:
        """Sign in (the WebSocket URI the page suggests unless `socket`); what the page's
        registration status says once it no longer says it is connecting."""
        await self.fill("#username", username)
        await self.fill("#password", password)
        if socket or not voice_processing:
            await self.click("#login summary")  # "Server and audio"
        if socket:
            await self.fill("#socket", socket)
        if not voice_processing:
            await self._command("uncheck", selector="#voice-processing")
        await self.click("#login button[type=submit]")
        return await self.until(
            lambda: self.text("#registration"), lambda status: status != "Connecting…"
        )

    async def dial(self, target: str) -> None:
        await self.fill("#target", target)
        await self.click("#call")

    async def press(self, digit: str) -> None:
        await self.click(f'#keypad button[data-digit="{digit}"]')

    async def until_state(self, state: str) -> str:
        """Wait for the call's data-state; what the call state says for people then."""
        await self.until(self.state, lambda current: current == state)
        return await self.value("#call-state")

    async def state(self) -> str:
        return str(await self.evaluate('document.getElementById("phone").dataset.state'))

    async def hears(self, duration_ms: int) -> dict[str, Any]:
        """The strongest frequency and level in what the page plays (its <audio> element)."""
        await self._command("inject", path=str(SPECTRUM))
        expression = (
            "window.measureSpectrum("
            f'document.getElementById("remote-audio").srcObject, {duration_ms})'
        )
        heard: dict[str, Any] = await self.evaluate(expression)
        return heard

    async def meter(self, meter_id: str) -> float:
        return float(await self.evaluate(f"document.getElementById({json.dumps(meter_id)}).value"))

    async def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        await self._command("screenshot", path=str(path))
        return path

    async def text(self, selector: str) -> str:
        return str(
            await self.evaluate(f"document.querySelector({json.dumps(selector)}).textContent")
        )

    async def value(self, selector: str) -> str:
        return str(await self.evaluate(f"document.querySelector({json.dumps(selector)}).value"))

    async def fill(self, selector: str, value: str) -> None:
        await self._command("fill", selector=selector, value=value)

    async def select(self, selector: str, value: str) -> None:
        await self._command("select", selector=selector, value=value)

    async def click(self, selector: str) -> None:
        await self._command("click", selector=selector)

    async def close(self) -> None:
        await self._command("close")

    async def evaluate(self, expression: str) -> Any:
        return (await self._command("evaluate", expression=expression))["result"]

    async def until(
        self,
        read: Callable[[], Awaitable[T]],
        done: Callable[[T], bool],
    ) -> T:
        """Poll `read()` until `done(value)`; the value (or an error naming the last one)."""
        deadline = asyncio.get_running_loop().time() + WAIT_TIMEOUT
        while True:
            value = await read()
            if done(value):
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"the web phone still shows {value!r} after {WAIT_TIMEOUT} s")
            await asyncio.sleep(POLL_INTERVAL)

    async def _command(self, command: str, **arguments: Any) -> dict[str, Any]:
        return await self.browser.command(command=command, page=self.page, **arguments)
