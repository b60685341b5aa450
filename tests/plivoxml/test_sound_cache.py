"""The sound cache reads a Play URL's whole body, however the server sends it in pieces."""

import asyncio
from pathlib import Path

import numpy as np
from aiohttp import web

from mediaserver.media.audio_file import AudioWriter
from mediaserver.plivoxml.sound_cache import SoundCache


def wav_bytes(path: Path, seconds: float) -> bytes:
    writer = AudioWriter(path, 8000, 1)
    writer.write(np.full(int(8000 * seconds), 1000, dtype=np.int16))
    writer.close()
    return path.read_bytes()


async def serve_in_pieces(body: bytes) -> tuple[web.AppRunner, str]:
    async def sound(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        response.content_length = len(body)
        await response.prepare(request)
        for start in range(0, len(body), 4096):
            await response.write(body[start : start + 4096])
            await asyncio.sleep(0.01)  # each piece arrives on its own
        return response

    app = web.Application()
    app.router.add_get("/tone.wav", sound)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    return runner, f"http://127.0.0.1:{port}/tone.wav"


def test_a_body_sent_in_pieces_is_read_whole(tmp_path: Path) -> None:
    body = wav_bytes(tmp_path / "tone.wav", 2.0)

    async def load() -> int:
        runner, url = await serve_in_pieces(body)
        cache = SoundCache(tmp_path / "cache")
        try:
            return len(await cache.load(url))
        finally:
            await cache.close()
            await runner.cleanup()

    assert asyncio.run(load()) == 16000  # 2 s at 8 kHz
