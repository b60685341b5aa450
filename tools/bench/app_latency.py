"""How long a caller waits for an application's first words: from the INVITE to the first RTP
packet of the first <Speak>, over CALLS calls (BENCH_CALLS, default 200), one at a time.

The caller is timed_call.py (a small UAC on plain sockets: SIPp cannot timestamp an RTP
packet's arrival), an endpoint whose application (tools/load/answer_application.py, an aiohttp
child process on loopback) answers `<Speak>` then `<Hangup/>`; the UAC hangs up as soon as the
first packet has come. The clock starts when the INVITE with credentials is sent (the 407
round before it is digest authentication, the same for every kind of call).

  TTS warm: one sentence for every call (the first call, which synthesises it, not counted).
  TTS cold: a sentence no call had before, so each call runs the synthesiser ([tts] engine:
  the default configuration's, pyttsx3 workers).
References in the same run: a direct dial of the same caller through the outgoing carrier to a
SIPp UAS that answers at once and streams from its 200 (INVITE to the first relayed packet of
the callee's media), and the answer URL's request alone (POSTed from this process).

Each kind of call runs on a freshly started server. The UAC, the application, SIPp and the
server share the machine's cores, so the figures include their scheduling.
"""

import os
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np

from tools.bench.registration import DOMAIN, free_port
from tools.bench.timed_call import CallTiming, TimedCaller
from tools.load.answer_application import AnswerApplication
from tools.load.call_servers import (
    APPLICATION_CALLER,
    CALLED,
    CALLER,
    missing_programs,
    start_ours,
)

CALLS = int(os.environ.get("BENCH_CALLS", "200"))
GOAL_P99_MS = 50.0
HERE = Path(__file__).resolve().parent
# A pause between calls: each call meets a server with nothing else in flight (the hangup URL
# request and call record of the call before are done).
GAP_SECONDS = 0.05


def run() -> None:
    missing = missing_programs("sipp", "espeak-ng", "sox")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping")
        return
    with tempfile.TemporaryDirectory(prefix="bench-app-latency-") as directory:
        workdir = Path(directory)
        print(f"INVITE (with credentials) -> first RTP packet, {CALLS} calls one at a time")
        with AnswerApplication() as app:
            warm = calls_through(workdir / "warm", app.url("/speak"), warm_up=1)
            report("answer URL, TTS warm", warm, goal=True)
            cold = calls_through(workdir / "cold", app.url("/speak-new"), warm_up=0)
            report("answer URL, TTS cold", cold, goal=False)
            fetch = [request_ms(app.url("/speak")) for _ in range(CALLS)]
        direct = direct_dials(workdir / "direct")
        report("direct dial to a SIPp UAS (reference)", direct, goal=False)
    print(f"  answer URL request alone (POST from this process, reference): {spread(fetch)}")


def calls_through(workdir: Path, answer_url: str, warm_up: int) -> list[CallTiming]:
    server = start_ours(workdir, "127.0.0.1:9", answer_url=answer_url)  # no call leaves
    with server.running:
        return timed_calls(server.running.port, APPLICATION_CALLER, warm_up)


def direct_dials(workdir: Path) -> list[CallTiming]:
    workdir.mkdir()
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", "-e", "u-law", str(workdir / "tone.wav"),
         "synth", "10", "sine", "440"],
        check=True,
    )  # fmt: skip
    trunk_port = free_port()
    uas = subprocess.Popen(
        ["sipp", "-sf", str(HERE / "streaming_uas.xml"), "-i", "127.0.0.1",
         "-p", str(trunk_port), "-mp", str(free_port()), "-nostdin", "-timeout", "900s"],
        cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        server = start_ours(workdir / "server", f"127.0.0.1:{trunk_port}")
        with server.running:
            return timed_calls(server.running.port, CALLER, 0)
    finally:
        uas.kill()
        uas.wait()


def timed_calls(port: int, caller: tuple[str, str], warm_up: int) -> list[CallTiming]:
    uac = TimedCaller(port, *caller, DOMAIN)
    try:
        timings = []
        for _ in range(warm_up + CALLS):
            timings.append(uac.call(CALLED))
            time.sleep(GAP_SECONDS)
        return timings[warm_up:]
    finally:
        uac.close()


def request_ms(url: str) -> float:
    started = time.perf_counter()
    form = b"CallUUID=bench&From=bench&To=bench&CallStatus=in-progress&Direction=inbound"
    with urllib.request.urlopen(url, data=form, timeout=10) as response:
        response.read()
    return 1000 * (time.perf_counter() - started)


def report(label: str, timings: list[CallTiming], *, goal: bool) -> None:
    first_rtp = [timing.first_rtp_ms for timing in timings]
    target = ""
    if goal:
        p99 = float(np.percentile(first_rtp, 99))
        verdict = "met" if p99 < GOAL_P99_MS else "NOT met"
        target = f" (goal p99 < {GOAL_P99_MS:.0f} ms: {verdict})"
    print(f"  {label}:")
    print(f"    first RTP packet {spread(first_rtp)}{target}")
    print(f"    200 OK           {spread([timing.answered_ms for timing in timings])}")


def spread(milliseconds: list[float]) -> str:
    median, p99 = np.percentile(milliseconds, [50, 99])
    return (
        f"median {median:.1f} ms, p99 {p99:.1f} ms [{min(milliseconds):.1f}, "
        f"{max(milliseconds):.1f}] ({len(milliseconds)} calls)"
    )
