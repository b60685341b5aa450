"""baresip 1.0.0 as a scriptable SIP user agent for interop tests.

`Baresip(directory, ...)` writes a config directory under `directory` and, used as a context
manager, runs `baresip -s -f <directory>/config` as a child process:

    with Baresip(tmp_path / "b", username="b", codecs=["opus/48000/2"], sine_hz=1000,
                 auto_answer=True) as b, Baresip(tmp_path / "a", sine_hz=440) as a:
        a.dial(f"sip:b@127.0.0.1:{b.sip_port}")
        a.wait_for("CALL_ESTABLISHED")
        a.hangup()
        a.wait_for("CALL_CLOSED")
        rate, samples = read_wav(a.received_audio_path())

The user agent has no sound card: its microphone is the `ausine` module (a continuous sine,
48 kHz stereo, resampled by baresip to the codec's rate) or an `aufile` WAV, and no audio player
module is loaded at all. The `sndfile` filter writes two WAVs per call into `snd_dir`:
`dump-<local time to the second>-enc.wav` (what was encoded and sent) and `...-dec.wav` (what
was received and decoded), at the codec's rate and channel count.

Control is `ctrl_tcp`: netstring-framed JSON on a TCP port. `command(name, params)` sends
`{"command", "params", "token"}` and returns the response's `data` text; every event
(`{"event": true, "type": ..., "class": ..., "accountaor": ..., "direction": ...,
"peeruri": ..., "id": <Call-ID>, "param": ...}`) is queued for `wait_for(type)`. Event types of
1.0.0: REGISTERING, REGISTER_OK, REGISTER_FAIL, UNREGISTERING, CALL_INCOMING (manual answer
mode only), CALL_RINGING, CALL_PROGRESS, CALL_ESTABLISHED, CALL_CLOSED, CALL_RTPESTAB,
CALL_RTCP, CALL_DTMF_START, CALL_DTMF_END, CALL_LOCAL_SDP, CALL_REMOTE_SDP (param "offer" or
"answer", no SDP body), AUDIO_ERROR, CALL_MENC, TRANSFER, TRANSFER_FAILED, MWI_NOTIFY,
SHUTDOWN, EXIT.

SIP messages are traced (`-s`) into the log: `sip_messages()` returns them, `sdp_bodies()`
their SDP. baresip listens on UDP and TCP at `sip_port` and on TLS at `sip_port + 1`; all
three are checked free before starting. The accounts file stays empty: the account is added
with `uanew` once the control connection is up, so no registration event goes unreported.

Facts of 1.0.0 worth knowing (source and packet captures):
- Every offer and answer carries telephone-event/8000 (PT 101 unless taken), "0-15";
  nothing in the config or account turns it off (later versions only move its PT).
- `send_dtmf` (menu `sndcode`) sends RFC 4733 events: marker on the first packet, ~180 ms
  of event packets every 20 ms, three end packets; audio packets keep flowing in between.
  With Opus the events' timestamps and durations count the 48 kHz audio clock
  (duration 8640 for 180 ms) although the SDP says telephone-event/8000.
- Received RFC 4733 events and SIP INFO application/dtmf-relay both give CALL_DTMF_START
  (param: the digit) and CALL_DTMF_END.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import queue
import re
import shutil
import signal
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

MODULE_PATH = Path("/usr/lib/baresip/modules")
CODEC_MODULES = ("opus.so", "g711.so", "g722.so", "l16.so")
START_TIMEOUT = 10.0
# sndfile builds "<snd_path>/dump-YYYY-MM-DD-HH-MM-SS-dec.wav" in a 128-byte buffer.
MAX_SND_PATH = 127 - len("/dump-2026-01-01-00-00-00-dec.wav")


class BaresipError(RuntimeError):
    pass


_RUNNING: set[Baresip] = set()


@atexit.register
def _close_all() -> None:
    """A last resort against stray processes: whatever was started and never closed."""
    for instance in list(_RUNNING):
        instance.close(timeout=1.0)


def available() -> bool:
    """True when the baresip binary and the modules the harness loads are installed."""
    needed = ("ausine.so", "sndfile.so", "ctrl_tcp.so", "menu.so", "account.so")
    return shutil.which("baresip") is not None and all(
        (MODULE_PATH / name).exists() for name in needed
    )


def free_sip_port() -> int:
    """A port free for UDP and TCP on 127.0.0.1, with the next one free for TCP (TLS)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.bind(("127.0.0.1", 0))
            port = int(probe.getsockname()[1])
        wanted = ((port, socket.SOCK_DGRAM), (port, socket.SOCK_STREAM))
        if port < 65535 and all(
            _bindable(p, kind) for p, kind in (*wanted, (port + 1, socket.SOCK_STREAM))
        ):
            return port
    raise BaresipError("no free port for baresip's SIP transports")


def free_tcp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _bindable(port: int, kind: socket.SocketKind) -> bool:
    with socket.socket(socket.AF_INET, kind) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


class Baresip:
    """One baresip process with one account; see the module docstring."""

    def __init__(
        self,
        directory: Path,
        *,
        username: str = "baresip",
        password: str | None = None,
        registrar: str | None = None,
        domain: str | None = None,
        transport: str = "udp",
        codecs: Iterable[str] = ("opus/48000/2",),
        sine_hz: int = 440,
        source_wav: Path | None = None,
        auto_answer: bool = False,
        regint: int = 60,
        extra_account_params: str = "",
        start_timeout: float = START_TIMEOUT,
    ) -> None:
        """Nothing runs until `start()` (or `with`).

        registrar: "host:port" to REGISTER with, or None for no registration (the AOR is
            then sip:<username>@127.0.0.1:<sip_port>).
        domain: the AOR's domain when registering; given, the registrar becomes the
            outbound proxy (every request goes there); omitted, the AOR is
            sip:<username>@<registrar> and requests are routed by their URI.
        transport: "udp" or "tcp", used towards the registrar/outbound proxy.
        codecs: baresip names "name/rate/channels", e.g. "opus/48000/2", "PCMU/8000".
        sine_hz: the sine sent as microphone audio (10..20000 Hz), unless source_wav is
            given: a 16-bit WAV (see write_sine_wav) played by aufile, which ends the call
            at the file's end, so make it long enough.
        """
        self.directory = Path(directory).resolve()
        self.username, self.password = username, password
        self.registrar, self.domain, self.transport = registrar, domain, transport.lower()
        self.codecs = list(codecs)
        self.sine_hz, self.source_wav = sine_hz, source_wav
        self.auto_answer, self.regint = auto_answer, regint
        self.extra_account_params = extra_account_params
        self.start_timeout = start_timeout
        self.snd_dir = self.directory / "snd"
        if len(str(self.snd_dir)) > MAX_SND_PATH:
            raise BaresipError(f"path too long for baresip's sndfile: {self.snd_dir}")
        self.sip_port = 0
        self.ctrl_port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._control: _Control | None = None
        self._events: list[dict[str, Any]] = []

    # -- configuration --------------------------------------------------------------------

    @property
    def config_dir(self) -> Path:
        return self.directory / "config"

    @property
    def log_path(self) -> Path:
        return self.directory / "baresip.log"

    @property
    def aor(self) -> str:
        if self.registrar is None:
            return f"sip:{self.username}@127.0.0.1:{self.sip_port}"
        return f"sip:{self.username}@{self.domain or self.registrar}"

    def account_line(self) -> str:
        uri = self.aor
        params = [f"audio_codecs={','.join(self.codecs)}"]
        if self.registrar is None:
            params.append("regint=0")
        else:
            if self.domain is None:
                uri += f";transport={self.transport}"
            else:
                proxy = f"sip:{self.registrar};transport={self.transport}"
                params.append(f'outbound="{proxy}"')
            params.append(f"regint={self.regint}")
        if self.password is not None:
            params.append(f"auth_pass={self.password}")
        params.append(f"answermode={'auto' if self.auto_answer else 'manual'}")
        if self.extra_account_params:
            params.append(self.extra_account_params.lstrip(";"))
        return f"<{uri}>;" + ";".join(params)

    def config_text(self) -> str:
        if self.source_wav is None:
            source = [f"audio_source\t\tausine,{self.sine_hz}", "ausrc_srate\t\t48000"]
            source.append("ausrc_channels\t\t2")
        else:
            wav = Path(self.source_wav).resolve()
            rate, channels = wav_format(wav)  # aufile wants the source to run at these
            source = [f"audio_source\t\taufile,{wav}", f"ausrc_srate\t\t{rate}"]
            source.append(f"ausrc_channels\t\t{channels}")
        modules = [*CODEC_MODULES, "ausine.so", "aufile.so", "sndfile.so"]
        lines = [
            "poll_method\t\tepoll",
            f"sip_listen\t\t127.0.0.1:{self.sip_port}",
            "net_interface\t\t127.0.0.1",
            "call_local_timeout\t120",
            "call_max_calls\t\t4",
            *source,
            "audio_level\t\tno",
            "audio_buffer\t\t20-160",
            "rtcp_mux\t\tno",
            "jitter_buffer_delay\t5-10",
            "rtp_stats\t\tno",
            f"module_path\t\t{MODULE_PATH}",
            *(f"module\t\t\t{name}" for name in modules),
            "module_tmp\t\tuuid.so",
            "module_tmp\t\taccount.so",
            "module_app\t\tmenu.so",
            "module_app\t\tctrl_tcp.so",
            f"ctrl_tcp_listen\t\t127.0.0.1:{self.ctrl_port}",
            f"snd_path\t\t{self.snd_dir}",
            "ringback_disabled\tyes",
            "statmode_default\toff",
        ]
        return "\n".join(lines) + "\n"

    def write_config(self) -> None:
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.snd_dir.mkdir(parents=True, exist_ok=True)
        (self.config_dir / "config").write_text(self.config_text())
        # The account comes over ctrl_tcp (`uanew`) once connected, so that no
        # registration event happens before there is a connection to report it to.
        (self.config_dir / "accounts").write_text("")
        (self.config_dir / "contacts").write_text("")

    # -- process --------------------------------------------------------------------------

    def __enter__(self) -> Baresip:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Start baresip and connect to its control port; new ports if one was taken."""
        for attempt in range(3):
            self.sip_port, self.ctrl_port = free_sip_port(), free_tcp_port()
            self.write_config()
            try:
                self._spawn()
                return
            except BaresipError:
                self.close()
                if attempt == 2 or "Address already in use" not in self.log():
                    raise

    def _spawn(self) -> None:
        log = self.log_path.open("ab")
        try:
            self.process = subprocess.Popen(
                ["baresip", "-s", "-f", str(self.config_dir)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.directory,
                env={"HOME": str(self.directory), "PATH": "/usr/bin:/bin", "LANG": "C"},
            )
        finally:
            log.close()
        _RUNNING.add(self)
        deadline = time.monotonic() + self.start_timeout
        while True:
            if self.process.poll() is not None:
                raise BaresipError(f"baresip exited at start:\n{self.log()[-3000:]}")
            try:
                connection = socket.create_connection(("127.0.0.1", self.ctrl_port), 0.5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise BaresipError(f"no ctrl_tcp port:\n{self.log()[-3000:]}") from None
                time.sleep(0.05)
        self._control = _Control(connection)
        self._events = self._control.events
        self.command("uanew", self.account_line().strip())

    def close(self, timeout: float = 5.0) -> int | None:
        """SIGTERM (it un-REGISTERs), then a second SIGTERM (exit at once), then SIGKILL."""
        if self._control is not None:
            self._control.close()
            self._control = None
        process, self.process = self.process, None
        _RUNNING.discard(self)
        if process is None:
            return None
        for sig in (signal.SIGTERM, signal.SIGTERM, signal.SIGKILL):
            if process.poll() is not None:
                break
            process.send_signal(sig)
            try:
                process.wait(timeout if sig is signal.SIGTERM else 10)
            except subprocess.TimeoutExpired:
                continue
        return process.wait()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_bytes().decode(errors="replace")
        except FileNotFoundError:
            return ""

    # -- control --------------------------------------------------------------------------

    @property
    def control(self) -> _Control:
        if self._control is None:
            raise BaresipError("baresip is not running")
        return self._control

    def command(self, name: str, params: str | None = None, timeout: float = 5.0) -> str:
        """Run a menu command over ctrl_tcp; returns its text, raises when not ok."""
        response = self.control.request(name, params, timeout)
        if not response.get("ok"):
            raise BaresipError(f"{name} {params or ''}: {response.get('data')}")
        return str(response.get("data", ""))

    def wait_for(self, event_type: str, timeout: float = 10.0) -> dict[str, Any]:
        """The oldest event of this type not returned before; waits for one to arrive."""
        control, deadline = self.control, time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0 and self.running:
            event = control.wait_event(event_type, min(left, 0.25))
            if event is not None:
                return event
        seen = [e.get("type") for e in control.events]
        state = "" if self.running else " (baresip has exited)"
        raise BaresipError(f"no {event_type} within {timeout} s{state}; events: {seen}")

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far, oldest first (still there after close)."""
        return list(self._events)

    def dial(self, uri: str) -> None:
        self.command("dial", uri)

    def accept(self) -> None:
        self.command("accept")

    def hangup(self) -> None:
        self.command("hangup")

    def send_dtmf(self, digits: str, gap: float = 0.25) -> None:
        """RFC 4733 telephone-events on the current call, one `sndcode` per digit.

        `sndcode` queues a press for every character and one release after the last, so
        each digit gets its own command; `gap` seconds apart gives every event a few packets.
        """
        for digit in digits:
            self.command("sndcode", digit)
            time.sleep(gap)

    def registered(self) -> bool:
        """True when the latest registration event is REGISTER_OK."""
        kinds = ("REGISTER_OK", "REGISTER_FAIL", "UNREGISTERING")
        latest = [e["type"] for e in self._events if e.get("type") in kinds]
        return bool(latest) and latest[-1] == "REGISTER_OK"

    # -- results --------------------------------------------------------------------------

    def received_audio_path(self, timeout: float = 3.0) -> Path:
        """The newest decoded-audio dump, once sndfile has closed it (after the call)."""
        deadline = time.monotonic() + timeout
        while True:
            dumps = sorted(self.snd_dir.glob("dump-*-dec.wav"))
            if dumps and (_wav_complete(dumps[-1]) or time.monotonic() > deadline):
                return dumps[-1]
            if time.monotonic() > deadline:
                raise BaresipError(f"no decoded-audio dump in {self.snd_dir}")
            time.sleep(0.05)

    def sent_audio_path(self, timeout: float = 3.0) -> Path:
        path = self.received_audio_path(timeout)
        return path.with_name(path.name.replace("-dec.wav", "-enc.wav"))

    def sip_messages(self) -> list[str]:
        """SIP messages from the `-s` trace, sent and received, in order."""
        text = re.sub(r"\x1b\[[0-9;]*m", "", self.log())
        blocks = re.split(r"^#\n(?:UDP|TCP|TLS|WS|WSS) \S+ -> \S+\n", text, flags=re.M)
        return [_one_message(block) for block in blocks[1:] if block.strip()]

    def sdp_bodies(self) -> list[str]:
        """The SDP bodies of the traced SIP messages."""
        bodies = []
        for message in self.sip_messages():
            head, _, body = message.partition("\r\n\r\n")
            if re.search(r"^Content-Type:\s*application/sdp", head, re.M | re.I):
                bodies.append(body)
        return bodies


def _one_message(block: str) -> str:
    """A traced message without the log lines that follow it (cut at Content-Length)."""
    head, separator, rest = block.partition("\r\n\r\n")
    length = re.search(r"^(?:Content-Length|l):\s*(\d+)", head, re.M | re.I)
    return head + separator + rest[: int(length.group(1)) if length else 0]


class _Control:
    """The ctrl_tcp connection: a reader thread splits netstrings into responses and events."""

    def __init__(self, connection: socket.socket) -> None:
        self.connection = connection
        self.connection.settimeout(None)
        self.events: list[dict[str, Any]] = []
        self._taken: set[int] = set()
        self._responses: queue.Queue[dict[str, Any]] = queue.Queue()
        self._changed = threading.Condition()
        self._token = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)
        self.connection.close()
        self._reader.join(2)

    def request(self, name: str, params: str | None, timeout: float) -> dict[str, Any]:
        with self._lock:
            self._token += 1
            token = str(self._token)
            message: dict[str, str] = {"command": name, "token": token}
            if params is not None:
                message["params"] = params
            data = json.dumps(message).encode()
            self.connection.sendall(b"%d:%s," % (len(data), data))
            deadline = time.monotonic() + timeout
            while True:
                try:
                    response = self._responses.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    raise BaresipError(f"no response to {name} within {timeout} s") from None
                if response.get("token") == token:
                    return response

    def wait_event(self, event_type: str, timeout: float) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for index, event in enumerate(self.events):
                    if index not in self._taken and event.get("type") == event_type:
                        self._taken.add(index)
                        return event
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def _read(self) -> None:
        buffer = b""
        while True:
            try:
                chunk = self.connection.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            buffer += chunk
            while True:
                length, colon, rest = buffer.partition(b":")
                if not colon or not length.isdigit() or len(rest) < int(length) + 1:
                    break
                payload, buffer = rest[: int(length)], rest[int(length) + 1 :]
                self._dispatch(json.loads(payload))

    def _dispatch(self, message: dict[str, Any]) -> None:
        if message.get("response"):
            self._responses.put(message)
        elif message.get("event"):
            with self._changed:
                self.events.append(message)
                self._changed.notify_all()


# -- WAV helpers -------------------------------------------------------------------------


def _wav_chunks(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (offset, declared size), for a RIFF/WAVE file."""
    chunks, offset = {}, 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack("<4sI", data[offset : offset + 8])
        chunks[chunk_id] = (offset + 8, size)
        offset += 8 + size + (size & 1)
    return chunks


def _wav_complete(path: Path) -> bool:
    """True once libsndfile has written the final sizes into the header."""
    data = path.read_bytes()
    chunks = _wav_chunks(data) if data[:4] == b"RIFF" else {}
    if b"data" not in chunks:
        return False
    offset, size = chunks[b"data"]
    return size > 0 and offset + size <= len(data)


def wav_format(path: Path) -> tuple[int, int]:
    """(sample rate, channels) from a WAV file's header."""
    data = Path(path).read_bytes()[:4096]
    offset, _ = _wav_chunks(data)[b"fmt "]
    _, channels, rate = struct.unpack("<HHI", data[offset : offset + 8])
    return rate, channels


def read_wav(path: Path) -> tuple[int, np.ndarray]:
    """(sample rate, float samples in -1..1 with shape (frames, channels)) of a 16-bit PCM
    or 32-bit float WAV; a header not yet finalised reads to the end of the file."""
    data = Path(path).read_bytes()
    if data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise BaresipError(f"not a WAV file: {path}")
    chunks = _wav_chunks(data)
    fmt_offset, _ = chunks[b"fmt "]
    fmt_tag, channels, rate = struct.unpack("<HHI", data[fmt_offset : fmt_offset + 8])
    bits = struct.unpack("<H", data[fmt_offset + 14 : fmt_offset + 16])[0]
    offset, size = chunks.get(b"data", (len(data), 0))
    if size == 0 or offset + size > len(data):
        size = len(data) - offset
    raw = data[offset : offset + size]
    if fmt_tag == 3 and bits == 32:
        samples = np.frombuffer(raw[: len(raw) // 4 * 4], dtype="<f4").astype(np.float64)
    elif bits == 16:
        samples = np.frombuffer(raw[: len(raw) // 2 * 2], dtype="<i2") / 32768.0
    else:
        raise BaresipError(f"unsupported WAV format {fmt_tag}/{bits} bits: {path}")
    frames = len(samples) // channels
    return rate, samples[: frames * channels].reshape(frames, channels)


def dominant_frequency(samples: np.ndarray, rate: int) -> float:
    """The strongest frequency (Hz) of mono or (frames, channels) audio: Hann window, FFT."""
    mono = samples.mean(axis=1) if samples.ndim == 2 else samples
    mono = mono - mono.mean()
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    spectrum[0] = 0.0
    return float(np.fft.rfftfreq(len(mono), 1.0 / rate)[int(np.argmax(spectrum))])


def write_sine_wav(path: Path, hz: float, seconds: float, rate: int = 48000) -> Path:
    """A 16-bit mono sine WAV, e.g. a long aufile source."""
    t = np.arange(int(seconds * rate)) / rate
    pcm = (0.5 * 32767 * np.sin(2 * np.pi * hz * t)).astype("<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        *(b"RIFF", 36 + len(pcm), b"WAVE", b"fmt ", 16, 1, 1, rate, rate * 2, 2, 16),
        *(b"data", len(pcm)),
    )
    Path(path).write_bytes(header + pcm)
    return Path(path)
