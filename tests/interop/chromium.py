"""Headless Chromium (Debian's) driven by playwright-core through tests/interop/browser/drive.js,
and a small HTTP server for the test pages and the bundles `make web` builds.

The pages are served from their own origin (http://127.0.0.1:PORT), so the server's Origin
allow-list meets a real browser's Origin header.
"""

import asyncio
import json
import os
import shutil
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from aiohttp import web

REPOSITORY = Path(__file__).parents[2]
PAGES = Path(__file__).parent / "browser"
NODE_MODULES = REPOSITORY / "web" / "node_modules"
BUNDLES = REPOSITORY / "web" / "build"
CHROMIUM = "/usr/bin/chromium"
COMMAND_TIMEOUT = 30.0
TONE_SECONDS = 30  # Chromium loops the file; long enough that no loop seam is measured
BUNDLE_NAMES = ("registration_page.js", "call_page.js", "phone/phone.js")

requires_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists() or shutil.which("node") is None,
    reason="Chromium or node is not installed (make test installs them)",
)


class PageServer:
    """Serves the test pages and the built bundles on a free port of 127.0.0.1."""

    def __init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self.origin = ""

    async def start(self) -> None:
        application = web.Application()
        application.router.add_static("/bundles/", BUNDLES)
        application.router.add_static("/", PAGES)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.origin = f"http://127.0.0.1:{port}"

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


class Chromium:
    """One browser; each command a JSON line to drive.js and its answer."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self._process = process

    @classmethod
    async def launch(cls, *arguments: str) -> "Chromium":
        """Chromium with the driver's switches and `arguments` (a fake microphone...)."""
        if not all((BUNDLES / bundle).exists() for bundle in BUNDLE_NAMES):
            raise AssertionError("the page bundles are not built: run `make web`")
        environment = {
            **os.environ, "NODE_PATH": str(NODE_MODULES), "CHROMIUM": CHROMIUM,
            "CHROMIUM_EXTRA_ARGUMENTS": json.dumps(arguments),
        }  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            "node", str(PAGES / "drive.js"),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=environment,
        )  # fmt: skip
        return cls(process)

    @classmethod
    async def with_microphone(cls, tone: Path) -> "Chromium":
        """Chromium whose microphone plays the WAV file `tone`, allowed without asking, and
        whose pages play audio without a click first."""
        return await cls.launch(
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-audio-capture={tone}",
            "--autoplay-policy=no-user-gesture-required",
        )

    async def invoke(self, page: int, function: str, *arguments: Any) -> Any:
        """Await window[function](...arguments) in the page; its result."""
        answer = await self.command(command="invoke", page=page, function=function, args=arguments)
        return answer["result"]

    async def command(self, **command: Any) -> dict[str, Any]:
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._process.stdin.write(json.dumps(command).encode() + b"\n")
        line = await asyncio.wait_for(self._process.stdout.readline(), COMMAND_TIMEOUT)
        if not line:
            raise AssertionError(f"the browser driver ended (exit {await self._process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"in the browser: {answer['error']}")
        return answer

    async def close(self) -> None:
        assert self._process.stdin is not None
        self._process.stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), COMMAND_TIMEOUT)
        except TimeoutError:
            self._process.kill()
            await self._process.wait()


def write_tone(path: Path, frequency: int) -> Path:
    """A WAV file of a sine at `frequency` (48 kHz, half scale) for a fake microphone."""
    rate = 48000
    t = np.arange(TONE_SECONDS * rate) / rate
    samples = (0.5 * 32767 * np.sin(2 * np.pi * frequency * t)).astype("<i2")
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(samples.tobytes())
    return path
