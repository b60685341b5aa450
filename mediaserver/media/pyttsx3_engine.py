"""pyttsx3 as a speech engine: a small pool of long-lived worker processes (pyttsx3_worker.py)
that the event loop talks to through pipes, never blocking on them.

Each worker answers one request at a time; a request waits for an idle worker, the one used
last first (so a second worker starts only when requests overlap, unless `start` started
them all). A worker is started on first use, and started again when it died, timed out or
was left mid-request by a cancelled caller (its late answer would otherwise answer the next
request).
"""

import asyncio
import contextlib
import sys
from collections.abc import Sequence

import numpy as np

from mediaserver.media.pyttsx3_worker import RenderReply, RenderRequest
from mediaserver.media.tts import WORDS_PER_MINUTE, Speech, SynthesisError

WORKER_COMMAND = (sys.executable, "-m", "mediaserver.media.pyttsx3_worker")
REQUEST_TIMEOUT = 10.0  # seconds; a minute of speech renders in well under one
CLOSE_TIMEOUT = 2.0  # seconds a worker has to finish its request and exit
WORKERS = 2

Process = asyncio.subprocess.Process


class WorkerDiedError(SynthesisError):
    """The worker's pipes closed before it answered."""


class Pyttsx3Worker:
    """One worker process and the one request it may be answering."""

    def __init__(self, command: Sequence[str], timeout: float) -> None:
        self.command = command
        self.timeout = timeout
        self.starts = 0
        self._process: Process | None = None
        self._healthy = False  # False once killed: it may not have died yet
        self._closed = False

    @property
    def pid(self) -> int | None:
        """The running worker's process id (None before the first request and after close)."""
        process = self._process
        return process.pid if process is not None and process.returncode is None else None

    async def start(self) -> None:
        await self._running()

    async def render(self, request: RenderRequest) -> Speech:
        reused = self._process is not None and self._healthy
        try:
            return await self._render_once(request)
        except WorkerDiedError:
            if not reused:
                raise
            # A worker that died while idle (killed, out of memory) may only be noticed when
            # written to: the request goes to a new worker, once.
            return await self._render_once(request)

    async def _render_once(self, request: RenderRequest) -> Speech:
        process = await self._running()
        try:
            async with asyncio.timeout(self.timeout):
                reply, samples = await _exchange(process, request)
        except BaseException as error:
            # Mid-request the worker's state is unknown: it goes, and the next request starts
            # a new one.
            self._kill(process)
            if isinstance(error, TimeoutError):
                raise SynthesisError(f"pyttsx3 took over {self.timeout} s") from None
            if isinstance(error, asyncio.IncompleteReadError | ConnectionError | ValueError):
                raise WorkerDiedError(f"the pyttsx3 worker died: {error!r}") from error
            raise
        if reply.error:
            raise SynthesisError(reply.error)
        return Speech(np.frombuffer(samples, "<i2").astype(np.int16), reply.sample_rate)

    async def close(self) -> None:
        """At the end of its input the worker exits by itself; if it does not, it is killed."""
        self._closed = True
        process = self._process
        if process is None:
            return
        if self._healthy and process.stdin is not None:
            process.stdin.close()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(CLOSE_TIMEOUT):
                    await process.wait()
        await self._retire(process)

    async def _running(self) -> Process:
        if self._closed:
            raise SynthesisError("the pyttsx3 engine is closed")
        process = self._process
        if process is not None and not (self._healthy and _alive(process)):
            await self._retire(process)
            process = None
        return process or await self._start()

    async def _start(self) -> Process:
        try:
            process = await asyncio.create_subprocess_exec(
                *self.command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
        except OSError as error:
            raise SynthesisError(f"cannot start the pyttsx3 worker: {error}") from error
        self._process, self._healthy = process, True
        self.starts += 1
        return process

    def _kill(self, process: Process) -> None:
        self._healthy = False
        with contextlib.suppress(ProcessLookupError):
            process.kill()

    async def _retire(self, process: Process) -> None:
        if process.returncode is None:
            self._kill(process)
        await process.wait()
        self._process = None


def _alive(process: Process) -> bool:
    """A worker that died while idle has closed its output, which the loop has seen."""
    assert process.stdout is not None
    return process.returncode is None and not process.stdout.at_eof()


async def _exchange(process: Process, request: RenderRequest) -> tuple[RenderReply, bytes]:
    assert process.stdin is not None  # both are pipes
    assert process.stdout is not None
    process.stdin.write(request.encode())
    await process.stdin.drain()
    line = await process.stdout.readline()
    if not line:
        raise asyncio.IncompleteReadError(line, None)
    reply = RenderReply.decode(line)
    return reply, await process.stdout.readexactly(2 * reply.sample_count)


class Pyttsx3Engine:
    name = "pyttsx3"

    def __init__(
        self,
        workers: int = WORKERS,
        timeout: float = REQUEST_TIMEOUT,
        command: Sequence[str] = WORKER_COMMAND,
    ) -> None:
        self.workers = [Pyttsx3Worker(command, timeout) for _ in range(workers)]
        self._idle: asyncio.LifoQueue[Pyttsx3Worker] = asyncio.LifoQueue()
        for worker in self.workers:
            self._idle.put_nowait(worker)
        self.renders = 0

    async def render(self, text: str, espeak_voice: str) -> Speech:
        worker = await self._idle.get()
        try:
            speech = await worker.render(RenderRequest(text, espeak_voice, WORDS_PER_MINUTE))
        finally:
            self._idle.put_nowait(worker)
        self.renders += 1
        return speech

    async def start(self) -> None:
        """Every worker, before any text: their processes (and pipes) then live as long as
        the server, and the first Speak does not wait for Python and pyttsx3 to start."""
        for worker in self.workers:
            await worker.start()

    def statistics(self) -> dict[str, int]:
        starts = [worker.starts for worker in self.workers]
        return {
            "renders": self.renders,
            "processes": sum(worker.pid is not None for worker in self.workers),
            "worker_restarts": sum(max(count - 1, 0) for count in starts),
        }

    async def close(self) -> None:
        for worker in self.workers:
            await worker.close()
