"""A pjsua2 softphone for call tests, in a child process (see pjsua_child.py).

    with Phone("alice", server, tone_hz=440, record_path=path) as alice:
        alice.register()
        alice.call("sip:bob@phone.local")
        alice.wait_for("call_state", state="CONFIRMED")

`tone_hz` sends a steady tone, `play_path` a WAV once from the call's answer (a voicemail
greeting), `record_path` records what the phone hears.

Events are dicts with an "event" key: reg_state {code, active}, incoming_call {remote_uri},
call_state {state, last_status_code, last_reason}, media_state {status, codec}, dtmf {digit},
dtmf_end {digit, duration_ms} (an RFC 4733 event's end), done/error {command}. `wait_for`
returns the first matching event not yet consumed.
"""

import json
import queue
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

CHILD = Path(__file__).with_name("pjsua_child.py")
Event = dict[str, Any]


class Phone:
    def __init__(
        self,
        username: str,
        server_port: int | None,
        *,
        password: str = "",
        transport: str = "udp",
        domain: str = "phone.local",
        tone_hz: int | None = None,
        record_path: Path | None = None,
        play_path: Path | None = None,
        codecs: list[str] | None = None,
        telephone_event: bool = True,
        auto_answer: int | None = None,
        jitter_buffer_ms: int | None = None,
    ) -> None:
        options = {
            "username": username,
            "password": password,
            "server": f"127.0.0.1:{server_port}" if server_port else None,
            "transport": transport,
            "domain": domain,
            "tone_hz": tone_hz,
            "record_path": str(record_path) if record_path else None,
            "play_path": str(play_path) if play_path else None,
            "codecs": codecs,
            "telephone_event": telephone_event,
            "auto_answer": auto_answer,
            "jitter_buffer_ms": jitter_buffer_ms,
        }
        self.username = username
        self.events: list[Event] = []
        self._queue: queue.Queue[Event | None] = queue.Queue()
        self._process = subprocess.Popen(
            [sys.executable, str(CHILD), json.dumps(options)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        self._output: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.port = int(self.wait_for("ready", timeout=15)["port"])

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._output.append(line)
            if line.startswith("{"):
                self._queue.put(json.loads(line))
        self._queue.put(None)

    def send(self, command: str, **arguments: Any) -> None:
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps({"command": command, **arguments}) + "\n")
        self._process.stdin.flush()

    def wait_for(self, event: str, timeout: float = 10, **fields: Any) -> Event:
        """The first event named `event` whose fields match; raises on timeout."""
        for seen in self.events:
            if _matches(seen, event, fields):
                self.events.remove(seen)
                return seen
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(0.0, remaining))
            except queue.Empty:
                raise AssertionError(
                    f"{self.username}: no {event} {fields} in {timeout} s; events {self.events}"
                ) from None
            if item is None:
                raise AssertionError(f"{self.username}: phone exited:\n{''.join(self._output)}")
            if _matches(item, event, fields):
                return item
            self.events.append(item)

    def drain(self) -> list[Event]:
        """Every event received so far (consumed)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                self.events.append(item)
        taken, self.events = self.events, []
        return taken

    def register(self) -> None:
        self.send("register")
        event = self.wait_for("reg_state")
        assert event["code"] == 200, event

    def call(self, uri: str) -> None:
        self.send("call", uri=uri)

    def jitter_buffer(self) -> dict[str, int]:
        """The last call's jitter-buffer counters: delay in ms, frames empty, lost, discarded."""
        self.send("jitter_buffer")
        return dict(self.wait_for("done", command="jitter_buffer")["result"])

    def hangup(self) -> None:
        self.send("hangup")

    def close(self) -> None:
        if self._process.poll() is None:
            try:
                self.send("hangup")
                self.send("quit")
                self._process.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._process.kill()
                self._process.wait()

    def __enter__(self) -> "Phone":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _matches(item: Event, event: str, fields: dict[str, Any]) -> bool:
    return item.get("event") == event and all(item.get(k) == v for k, v in fields.items())


def read_wav(path: Path) -> tuple[npt.NDArray[np.float64], int]:
    with wave.open(str(path), "rb") as wav:
        rate = wav.getframerate()
        data = np.frombuffer(wav.readframes(wav.getnframes()), np.int16)
    return data.astype(np.float64), rate


def dominant_frequency(path: Path, skip_seconds: float = 0.3) -> float:
    """The strongest frequency in a recording (Hann-windowed FFT), after `skip_seconds`."""
    samples, rate = read_wav(path)
    samples = samples[int(skip_seconds * rate) :]
    assert len(samples) > rate // 4, f"{path}: only {len(samples)} samples"
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples))))
    spectrum[:5] = 0  # DC
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def dominant_between(path: Path, start: float, end: float) -> float:
    """The strongest frequency between `start` and `end` seconds of a recording."""
    samples, rate = read_wav(path)
    window = samples[int(start * rate) : int(end * rate)]
    assert len(window) > rate // 4, f"{path}: {len(samples) / rate:.1f} s recorded"
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    spectrum[:5] = 0
    return float(np.fft.rfftfreq(len(window), 1 / rate)[int(np.argmax(spectrum))])


def tone_bursts(path: Path, window_ms: int = 5, threshold: float = 300.0) -> list[tuple[int, int]]:
    """(start, length) in ms of each stretch of a recording louder than `threshold` RMS,
    measured in `window_ms` windows: where the tones are, and how long each lasts."""
    samples, rate = read_wav(path)
    window = rate * window_ms // 1000
    frames = samples[: len(samples) // window * window].reshape(-1, window)
    loud = np.sqrt(np.mean(frames**2, axis=1)) > threshold
    edges = np.flatnonzero(np.diff(np.concatenate(([0], loud.astype(np.int8), [0]))))
    runs = edges.reshape(-1, 2)
    return [(int(start) * window_ms, int(end - start) * window_ms) for start, end in runs]


def multimon_digits(path: Path) -> str:
    """The DTMF digits multimon-ng hears in a recording (sox resamples it to the 22,050 Hz
    multimon-ng reads)."""
    raw = path.with_suffix(".22k.raw")
    raw_format = ["-t", "raw", "-e", "signed", "-b", "16", "-c", "1", "-r", "22050"]
    subprocess.run(
        ["sox", str(path), *raw_format, str(raw)], check=True, capture_output=True, timeout=30
    )
    result = subprocess.run(
        ["multimon-ng", "-q", "-t", "raw", "-a", "DTMF", str(raw)],
        check=False, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    return "".join(
        line.split(":", 1)[1].strip()
        for line in result.stdout.splitlines()
        if line.startswith("DTMF:")
    )
