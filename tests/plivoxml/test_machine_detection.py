"""Machine detection beside a call's document: it listens through the call's CallerAudio, ends
on a verdict, on the clock's analysis time when no frames come, or on the hangup (no verdict),
and leaves no listener or timer behind."""

import asyncio
from pathlib import Path

import numpy as np

from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.leg_events import Ended, EventSink
from mediaserver.clock import ManualClock
from mediaserver.media.machine_detector import DetectionSettings, Outcome, Verdict
from mediaserver.media.port import MediaSink
from mediaserver.plivoxml.caller_audio import CallerAudio
from mediaserver.plivoxml.machine_detection import (
    MachineDetection,
    listen_for_machine,
    machine_parameters,
)
from tests.media.test_machine_detector import synthesize


class FakeLeg:
    """The part of CallControl the detector uses: one recording sink, the end event."""

    call_uuid = "c0ffee"

    def __init__(self) -> None:
        self.ended = False
        self.sink: MediaSink | None = None
        self.sinks: list[EventSink] = []

    def record(self, sink: MediaSink, heard: bool = False) -> None:
        self.sink = sink

    def stop_recording(self) -> None:
        self.sink = None

    def subscribe(self, sink: EventSink) -> "FakeLeg":
        self.sinks.append(sink)
        return self

    def cancel(self) -> None:
        self.sinks.clear()

    def end(self) -> None:
        self.ended = True
        for sink in list(self.sinks):
            sink(Ended(self))  # type: ignore[arg-type]


def start(leg: FakeLeg, deadlines: Deadlines, settings: DetectionSettings) -> asyncio.Task[object]:
    audio = CallerAudio(leg)  # type: ignore[arg-type]
    work = listen_for_machine(leg, audio, settings, deadlines)  # type: ignore[arg-type]
    return asyncio.get_running_loop().create_task(work)


async def test_a_hello_heard_through_the_call_audio_is_a_human(tmp_path: Path) -> None:
    leg, deadlines = FakeLeg(), Deadlines(ManualClock())
    task = start(leg, deadlines, DetectionSettings())
    await asyncio.sleep(0)
    assert leg.sink is not None
    line = np.concatenate([synthesize(tmp_path, "Hello?"), np.zeros(8000, np.int16)])
    for begin in range(0, len(line) - 159, 160):
        if leg.sink is None:
            break
        leg.sink.write_frame(line[begin : begin + 160])
    verdict = await task
    assert isinstance(verdict, Verdict)
    assert verdict.outcome is Outcome.HUMAN
    assert (leg.sink, len(deadlines), leg.sinks) == (None, 0, [])


async def test_the_clock_ends_the_analysis_when_no_frames_come() -> None:
    clock = ManualClock()
    leg, deadlines = FakeLeg(), Deadlines(clock)
    task = start(leg, deadlines, DetectionSettings(analysis_ms=2000))
    await asyncio.sleep(0)
    clock.advance(1.9)
    deadlines.expire_due()
    await asyncio.sleep(0)
    assert not task.done()
    clock.advance(0.1)
    deadlines.expire_due()
    assert await task == Verdict(Outcome.NOT_SURE, "analysis time", 0)
    assert (leg.sink, len(deadlines), leg.sinks) == (None, 0, [])


async def test_a_call_that_ends_first_has_no_verdict() -> None:
    leg, deadlines = FakeLeg(), Deadlines(ManualClock())
    task = start(leg, deadlines, DetectionSettings())
    await asyncio.sleep(0)
    leg.end()
    assert await task is None
    assert (leg.sink, len(deadlines)) == (None, 0)


def test_the_parameters_say_machine_and_what_happens_to_it() -> None:
    machine = Verdict(Outcome.MACHINE, "long greeting", 1520)
    human = Verdict(Outcome.HUMAN, "silence after greeting", 1400)
    hang_up = MachineDetection(hang_up=True)
    assert machine_parameters(hang_up, machine) == {
        "Event": "MachineDetection", "Machine": "true", "IfMachine": "hangup",
    }  # fmt: skip
    assert machine_parameters(MachineDetection(hang_up=False), human)["Machine"] == "false"
    assert machine_parameters(MachineDetection(hang_up=False), human)["IfMachine"] == "continue"
