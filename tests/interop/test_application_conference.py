"""Conference rooms with real phones: pjsua2 members on PCMU and PCMA, SIPp members on PCMU and
PCMA (sending with SIPp's own rtp_stream; what reaches them captured on loopback) and a baresip
member on Opus, each sending its own tone into the same <Conference>, each recording (or
captured with) what it receives.

Proof by measurement (FFT over a window where every member is in the room): each member hears
every other member's tone and not its own, whatever the codec pair. A muted member's tone is
missing from everyone else's audio and a deaf member receives silence, until ConferenceControl
unmutes and undeafens them. Enter and exit beeps are heard by the members present; a member
waiting with startConferenceOnEnter=false hears the waitSound until the moderator comes; the
moderator's endConferenceOnExit takes everyone to the action URL; maxMembers refuses the next
one; the room's recording holds every member. Every callback carries valid V2/V3 signatures.
"""

import shutil
import subprocess
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from mediaserver.calls.conference_control import ConferenceControl
from tests.conftest import SIP_DOMAIN, ServerProcess
from tests.interop.application_server import ApplicationServer, assert_signed
from tests.interop.baresip import Baresip, available
from tests.interop.baresip import read_wav as read_baresip_wav
from tests.interop.call_checks import LEAK_COUNTERS, assert_no_leaks, baseline
from tests.interop.in_process import InProcessServer
from tests.interop.phone import Phone, read_wav
from tests.interop.sipp import requires_sipp
from tests.interop.sipp_member import SippMember

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

# No tone is a sum, difference or third-order product of the others (so clipping or
# intermodulation in a mix can never put a member's own frequency into what it hears).
TONES = {"alice": 1080, "bob": 1700, "carol": 2500, "dave": 2640, "erin": 2980}
CODECS = {"alice": "PCMU", "bob": "PCMA", "carol": "PCMU", "dave": "PCMA"}
SIPP_MEMBERS = ("carol", "dave")  # the others are pjsua2 phones, erin baresip
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


def call_in_each(members: Mapping[str, Phone]) -> dict[str, float]:
    """Each member calls in, in turn; when each call was up (its recording's start)."""
    joined = {}
    for name, phone in members.items():
        call_in(phone)
        joined[name] = time.monotonic()
    return joined


def hang_up_all(members: Mapping[str, Phone]) -> None:
    for phone in members.values():
        phone.hangup()
        phone.wait_for("call_state", state="DISCONNECTED", timeout=15)


@requires_sipp
@pytest.mark.skipif(shutil.which("dumpcap") is None, reason="dumpcap (tshark) is not installed")
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
        with ExitStack() as stack:
            stack.enter_context(erin)
            members = stack.enter_context(phones(server, tmp_path, ["alice", "bob"]))
            erin.wait_for("REGISTER_OK")
            for phone in members.values():
                call_in(phone)
            callers = {}
            for name in SIPP_MEMBERS:
                callers[name] = stack.enter_context(sipp_member(server, tmp_path, name))
                wait_for_members(server, len(members) + len(callers))
            erin.dial(f"sip:room@{SIP_DOMAIN}")
            erin.wait_for("CALL_ESTABLISHED", timeout=15)
            wait_for_members(server, 5)
            everyone_in = time.time()
            time.sleep(3.5)
            for phone in members.values():
                phone.send("stop_recording")
            first_out = time.time()
            erin.hangup()  # first: all its recording is of the whole room
            erin.wait_for("CALL_CLOSED")
            hang_up_all(members)
            in_loop(server, lambda: control(server).hang_up("standup"))  # BYE to the SIPp callers
            for caller in callers.values():
                exit_code, output = caller.wait()
                assert exit_code == 0, output
            rate, heard_by_erin = read_baresip_wav(erin.received_audio_path())
        events = app.requests_to("/events")
    everyone = set(TONES)
    for name in members:
        samples, wav_rate = read_wav(tmp_path / f"{name}.wav")
        assert_hears(window(samples, wav_rate, -3.0, -0.3), wav_rate, everyone - {name}, {name})
    for name, caller in callers.items():
        heard = caller.heard(everyone_in + 0.5, first_out - 0.2)
        assert_hears(window(heard, 8000, 0, 0), 8000, everyone - {name}, {name})
    mono = heard_by_erin.mean(axis=1) * 32768
    assert_hears(window(mono, rate, -3.0, -0.3), rate, everyone - {"erin"}, {"erin"})
    actions = sorted(request.params["ConferenceAction"] for request in events)
    assert actions == ["enter"] * 5 + ["exit"] * 5
    for request in events:
        assert_signed(request)
    assert_no_leaks(server, before, counters=COUNTERS)


def sipp_member(server: ServerProcess, tmp_path: Path, name: str) -> SippMember:
    return SippMember(
        tmp_path / name, server.sip_port, name, f"{name}-secret", CODECS[name], TONES[name],
        called="room",
    )  # fmt: skip


def levels_over_time(path: Path, hz: float, frame_ms: int = 50) -> Samples:
    """The level of the band around `hz` in each `frame_ms` of a recording."""
    samples, rate = read_wav(path)
    size = rate * frame_ms // 1000
    frames = samples[: len(samples) // size * size].reshape(-1, size)
    return np.array([band_level(frame, rate, hz) for frame in frames])


def bursts(levels: Samples, threshold: float) -> int:
    """How many runs of frames stand above `threshold`; a single quiet frame inside a run
    (a concealed packet) does not split it, the 200 ms between two beeps does."""
    above = levels > threshold
    above[1:-1] |= above[:-2] & above[2:]
    return int(np.count_nonzero(above[1:] & ~above[:-1]) + above[0])


def test_mute_and_deaf_through_conference_control_and_back(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    names = ["alice", "bob", "carol"]
    with ApplicationServer(
        {"/answer": "<Response><Conference>standup</Conference></Response>"}
    ) as app:
        server, before = start(server_factory, app, names)
        rooms = control(server)
        with phones(server, tmp_path, names) as members:
            joined = call_in_each(members)
            wait_for_members(server, 3)
            time.sleep(1.5)
            muted_at = time.monotonic()
            in_loop(server, lambda: rooms.mute("standup", "1"))  # alice, the first in
            in_loop(server, lambda: rooms.deafen("standup", "2"))  # bob
            time.sleep(2.5)
            restored_at = time.monotonic()
            in_loop(server, lambda: rooms.mute("standup", "1", muted=False))
            in_loop(server, lambda: rooms.deafen("standup", "2", deaf=False))
            time.sleep(2.5)
            hang_up_all(members)
    heard = {name: read_wav(tmp_path / f"{name}.wav") for name in names}

    def phase(name: str, start: float, end: float) -> Samples:
        samples, rate = heard[name]
        return window(samples, rate, start - joined[name] + 0.4, end - joined[name] - 0.4)

    rate = heard["alice"][1]
    # Muted alice is heard by nobody; deaf bob hears nothing; alice still hears both.
    assert_hears(phase("carol", muted_at, restored_at), rate, {"bob"}, {"alice", "carol"})
    deaf = phase("bob", muted_at, restored_at)
    assert np.sqrt(np.mean(deaf**2)) < 50, "a deaf member received sound"
    assert_hears(phase("alice", muted_at, restored_at), rate, {"bob", "carol"}, {"alice"})
    # Unmuted and undeafened, everyone hears the two others again.
    end = restored_at + 2.5
    for name in names:
        assert_hears(phase(name, restored_at, end), rate, set(names) - {name}, {name})
    assert_no_leaks(server, before, counters=COUNTERS)


def test_wait_sound_until_the_moderator_then_beeps_and_the_end_of_the_room(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """alice (no tone) waits with hold music; bob the moderator starts the room and ends it;
    carol's enterSound and exitSound beep in between; alice then goes to her action URL."""
    hold = tmp_path / "hold.wav"
    subprocess.run(
        ["sox", "-n", "-r", "8000", "-c", "1", str(hold), "synth", "1", "sine", "600"],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    with ApplicationServer({"/answer": ""}, files={"/hold.wav": hold.read_bytes()}) as app:
        documents = {
            "alice": f'startConferenceOnEnter="false" waitSound="{app.url("/hold")}" '
            f'action="{app.url("/left")}" callbackUrl="{app.url("/events")}"',
            "bob": f'endConferenceOnExit="true" callbackUrl="{app.url("/events")}"',
            "carol": f'enterSound="beep:1" exitSound="beep:2" callbackUrl="{app.url("/events")}"',
        }

        def answer(params: Mapping[str, str]) -> str:
            user = params["From"].removeprefix("sip:").split("@")[0]
            return f"<Response><Conference {documents[user]}>standup</Conference></Response>"

        app.routes |= {
            "/answer": answer,
            "/hold": f"<Response><Play>{app.url('/hold.wav')}</Play></Response>",
            "/left": '<Response><Wait length="1"/></Response>',
            "/events": "<Response/>",
        }
        server, before = start(server_factory, app, ["alice", "bob", "carol"])
        alice = Phone(
            "alice", server.sip_port, password="alice-secret", record_path=tmp_path / "alice.wav"
        )
        with alice, phones(server, tmp_path, ["bob", "carol"]) as members:
            alice.register()
            call_in(alice)
            alice_joined = time.monotonic()
            time.sleep(3)
            call_in(members["bob"])
            moderator_at = time.monotonic() - alice_joined
            time.sleep(1.5)
            call_in(members["carol"])
            time.sleep(1.5)
            members["carol"].hangup()
            time.sleep(1.5)
            members["bob"].hangup()
            alice.wait_for("call_state", state="DISCONNECTED", timeout=15)
        left = app.requests_to("/left")
        events = app.requests_to("/events")
    samples, rate = read_wav(tmp_path / "alice.wav")
    waiting = window(samples, rate, 0.4, 2.6)
    assert band_level(waiting, rate, 600) > 20 * band_level(waiting, rate, TONES["bob"])
    # The beeps, counted from just after the moderator's arrival: the call's first frames and
    # the hold music's cut-off click across the spectrum, the beeps come a second later.
    levels = levels_over_time(tmp_path / "alice.wav", 700)[int((moderator_at + 0.3) * 20) :]
    assert bursts(levels, threshold=300) == 3  # carol's enter beep, then her exit's two
    started = window(samples, rate, moderator_at + 0.3, moderator_at + 1.4)
    assert band_level(started, rate, TONES["bob"]) > 20 * band_level(started, rate, 600)
    [action] = left
    assert action.params["ConferenceName"] == "standup"
    assert action.params["ConferenceMemberID"] == "1"
    assert_signed(action)
    actions = [(r.params["ConferenceAction"], r.params["ConferenceMemberID"]) for r in events]
    # The moderator's arrival starts the room for both bob and the waiting alice, and bob's
    # exit ends it for both: each pair is two callbacks sent at once, over separate requests
    # whose arrival order no one promises.
    assert set(actions[:2]) == {("enter", "2"), ("enter", "1")}
    assert actions[2:4] == [("enter", "3"), ("exit", "3")]
    assert set(actions[4:]) == {("exit", "2"), ("exit", "1")}
    assert len(actions) == 6
    for request in events:
        assert_signed(request)
    assert_no_leaks(server, before, counters=COUNTERS)


def test_max_members_time_limit_and_the_room_recording(
    server_factory: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    """Two members fill a room of maxMembers=2 that records itself; carol is refused and
    goes on to her next verb; the room's timeLimit ends it; its recording holds both members
    and lasts the room's life (timeLimit) within 100 ms."""
    with ApplicationServer({"/answer": "", "/left": "<Response/>"}) as app:
        app.routes["/answer"] = (
            f'<Response><Conference maxMembers="2" timeLimit="4" record="true" '
            f'recordFileFormat="wav" recordWhenAlone="true" action="{app.url("/left")}">'
            'standup</Conference><Hangup reason="busy"/></Response>'
        )
        server, before = start(server_factory, app, ["alice", "bob", "carol"])
        with phones(server, tmp_path, ["alice", "bob", "carol"]) as members:
            call_in(members["alice"])
            call_in(members["bob"])
            members["carol"].call(f"sip:room@{SIP_DOMAIN}")
            refused = members["carol"].wait_for("call_state", state="DISCONNECTED", timeout=15)
            assert server.metrics()["mediaserver_applications_conference_members"] == 2
            for name in ("alice", "bob"):
                members[name].wait_for("call_state", state="DISCONNECTED", timeout=15)
        left = app.requests_to("/left")
    # Answered (Conference is not one of the answerless verbs), then her next verb hung up.
    assert refused["last_status_code"] == 200
    assert sorted(request.params["ConferenceMemberID"] for request in left) == ["1", "2"]
    [url] = {request.params["RecordUrl"] for request in left}
    recording = tmp_path / "room.wav"
    with urllib.request.urlopen(url, timeout=10) as reply:
        recording.write_bytes(reply.read())
    samples, rate = read_wav(recording)
    assert abs(len(samples) / rate - 4.0) < 0.1
    assert_hears(window(samples, rate, 1.0, -0.2), rate, {"alice", "bob"}, {"carol"})
    assert_no_leaks(server, before, counters=COUNTERS)
