"""Play's sound cache: a long sound arrives whole whatever the chunks it comes in, is fetched
once, and failures say why."""

import io
import wave
from pathlib import Path

import numpy as np
import pytest
from aiohttp import web

from mediaserver.plivoxml.session import SoundError
from mediaserver.plivoxml.sound_cache import MAX_SOUND_BYTES, SoundCache
from tests.plivoxml.application_server import ApplicationServer


def wav_bytes(seconds: float, rate: int = 16000) -> bytes:
    samples = (8000 * np.sin(2 * np.pi * 500 * np.arange(int(seconds * rate)) / rate)).astype(
        np.int16
    )
    out = io.BytesIO()
    with wave.open(out, "wb") as file:
        file.setnchannels(1)
        file.setsampwidth(2)
        file.setframerate(rate)
        file.writeframes(samples.tobytes())
    return out.getvalue()


def files_in(directory: Path) -> list[Path]:
    return list(directory.iterdir())


async def serve(app: ApplicationServer, path: str, body: bytes, chunk: int) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "audio/wav"})
        await response.prepare(request)
        for start in range(0, len(body), chunk):
            await response.write(body[start : start + chunk])
        await response.write_eof()
        return response

    app.route(path, handler)


async def test_a_long_sound_in_many_chunks_arrives_whole_and_is_fetched_once(
    tmp_path: Path,
) -> None:
    app = ApplicationServer()
    await app.start()
    await serve(app, "/long.wav", wav_bytes(20.0), chunk=4096)  # 640 kB
    cache = SoundCache(tmp_path)
    try:
        first = await cache.load(app.url("/long.wav"))
        again = await cache.load(app.url("/long.wav"))
    finally:
        await cache.close()
        await app.close()
    assert len(first) == 20 * 8000
    assert again is first
    assert len(app.received("/long.wav")) == 1


async def test_a_sound_over_the_limit_and_a_404_are_refused(tmp_path: Path) -> None:
    app = ApplicationServer()
    await app.start()
    await serve(app, "/huge.wav", b"\0" * (MAX_SOUND_BYTES + 1), chunk=1 << 20)
    cache = SoundCache(tmp_path)
    try:
        with pytest.raises(SoundError, match="larger than"):
            await cache.load(app.url("/huge.wav"))
        with pytest.raises(SoundError, match="404"):
            await cache.load(app.url("/missing.wav"))
    finally:
        await cache.close()
        await app.close()
    assert files_in(tmp_path) == []  # nothing half-written left behind
