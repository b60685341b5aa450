"""The audio of <Play> URLs, fetched once: kept on disk by URL and decoded to 8 kHz samples
(WAV or MP3, Plivo's formats, at most 10 MB as Plivo allows), the latest ones also in memory.

Several calls asking for the same URL at once share one download. Fetching and decoding run
off the event loop (aiohttp, then PyAV in a worker thread), so a slow sound server delays only
the calls that play its sound.
"""

import asyncio
import hashlib
import os
from collections import OrderedDict
from pathlib import Path

import aiohttp

from audiocodecs.pcm import Pcm16
from mediaserver.media.audio_file import AudioFileError, read_audio
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.plivoxml.session import SoundError

MAX_SOUND_BYTES = 10 * 1024 * 1024
MEMORY_ENTRIES = 64


class SoundCache:
    def __init__(self, directory: Path, timeout_seconds: float = 10.0) -> None:
        self._directory = directory
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._decoded: OrderedDict[str, Pcm16] = OrderedDict()
        self._loading: dict[str, asyncio.Future[Pcm16]] = {}
        self.fetches = 0

    async def load(self, url: str) -> Pcm16:
        if url in self._decoded:
            self._decoded.move_to_end(url)
            return self._decoded[url]
        pending = self._loading.get(url)
        if pending is None:
            pending = asyncio.ensure_future(self._load(url))
            self._loading[url] = pending
            pending.add_done_callback(lambda _: self._loading.pop(url, None))
        return await asyncio.shield(pending)

    async def close(self) -> None:
        for pending in list(self._loading.values()):
            pending.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _load(self, url: str) -> Pcm16:
        path = self._directory / hashlib.sha256(url.encode()).hexdigest()
        if not path.exists():
            await self._download(url, path)
        try:
            samples = await asyncio.to_thread(read_audio, path, SAMPLE_RATE)
        except AudioFileError as error:
            path.unlink(missing_ok=True)
            raise SoundError(f"not audio Plivo can play (WAV or MP3): {error}") from None
        self._decoded[url] = samples
        while len(self._decoded) > MEMORY_ENTRIES:
            self._decoded.popitem(last=False)
        return samples

    async def _download(self, url: str, path: Path) -> None:
        """Into a temporary name, renamed when whole, so a failed fetch leaves nothing."""
        self._directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(f".{os.getpid()}.part")
        try:
            body = await self._fetch(url)
            await asyncio.to_thread(_write, partial, body)
            partial.replace(path)
        finally:
            partial.unlink(missing_ok=True)

    async def _fetch(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise SoundError("not an http(s) URL")
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        self.fetches += 1
        try:
            async with self._session.get(url) as response:
                if response.status != 200:
                    raise SoundError(f"HTTP {response.status}")
                return await _whole_body(response)
        except (aiohttp.ClientError, TimeoutError) as error:
            raise SoundError(f"cannot fetch: {error or type(error).__name__}") from None


async def _whole_body(response: aiohttp.ClientResponse) -> bytes:
    """Every byte to the end, refused past the limit (a single read returns what has arrived
    so far, not the whole body: a long sound would be cut short)."""
    body = bytearray()
    async for chunk in response.content.iter_chunked(64 * 1024):
        body += chunk
        if len(body) > MAX_SOUND_BYTES:
            raise SoundError(f"larger than {MAX_SOUND_BYTES} bytes")
    return bytes(body)


def _write(path: Path, body: bytes) -> None:
    with path.open("wb") as file:
        file.write(body)
        file.flush()
        os.fsync(file.fileno())
