"""Calls per second through an answer URL, beside the same run's direct-dial rate.

SIPp plays an endpoint whose application (tools/load/answer_application.py, a child process)
answers `<Speak>` of a short sentence then `<Hangup/>` (tools/load/app_uac.xml: INVITE, 407,
INVITE with credentials, 200, ACK, then the server's BYE after the speech). Every call costs
the server an answer-URL request, a parse, a TTS cache lookup (warm: one sentence for all),
a played prompt and the hangup URL's request. The rate steps up as call_rate.py does (10 s
steps, the highest clean one counts), the achieved rate taken over SIPp's wall time less one
call's length (the sentence's duration; call_rate.py's calls are held HOLD_MS).

Reference in the same run: call_rate.py's direct dial (the same SIPp caller, authenticated the
same way, through the outgoing carrier to a SIPp UAS, calls held 100 ms) on a fresh server.
"""

import asyncio
import tempfile
from pathlib import Path

from mediaserver.config import TtsConfig
from mediaserver.media.frame import SAMPLE_RATE
from mediaserver.media.tts_cache import TtsCache
from tools.load.answer_application import SENTENCE, AnswerApplication
from tools.load.call_rate import STEP_SECONDS, climb
from tools.load.call_servers import (
    APPLICATION_CALLER,
    HERE,
    injection_file,
    missing_programs,
)

SCENARIO = HERE / "app_uac.xml"
FLOOR_PER_SECOND = 100
GOAL_PER_SECOND = 400


def run() -> None:
    missing = missing_programs("sipp", "espeak-ng")
    if missing:
        print(f"{', '.join(missing)} not installed (make system-packages); skipping")
        return
    with tempfile.TemporaryDirectory(prefix="load-app-cps-") as directory:
        workdir = Path(directory)
        speech_seconds = spoken_seconds(workdir / "tts")
        print(f"{STEP_SECONDS} s steps; SIPp UAC (an endpoint) -> server")
        print(f"through an answer URL (<Speak>{SENTENCE}</Speak><Hangup/>, {speech_seconds:.2f} s"
              " of speech, TTS cache warm):")  # fmt: skip
        with AnswerApplication() as app:
            ours, cpu = climb(
                workdir / "application",
                injection_file(workdir, APPLICATION_CALLER),
                ours=True,
                scenario=SCENARIO,
                answer_url=app.url("/speak"),
                call_seconds=speech_seconds,
            )
            requests = app.statistics()["requests"]
        print("direct dial (the same caller -> outgoing carrier -> SIPp UAS, held 100 ms):")
        reference, reference_cpu = climb(workdir / "direct", injection_file(workdir), ours=True)
    print(f"answer URL calls: {ours:,.0f} calls/s with no failure (floor {FLOOR_PER_SECOND}/s,"
          f" goal {GOAL_PER_SECOND}/s), server CPU {100 * cpu:.0f}% of a core at that rate;"
          f" the application answered {requests.get('/speak', 0):,} answer and"
          f" {requests.get('/speak (hangup)', 0):,} hangup requests")  # fmt: skip
    print(f"direct dial:      {reference:,.0f} calls/s with no failure,"
          f" server CPU {100 * reference_cpu:.0f}% of a core")  # fmt: skip
    print(f"ratio answer URL/direct dial: {ours / reference if reference else 0:.2f}")


def spoken_seconds(cache: Path) -> float:
    """How long the application's sentence lasts: what each call holds beyond its setup."""
    return asyncio.run(_spoken_samples(cache)) / SAMPLE_RATE


async def _spoken_samples(cache: Path) -> int:
    tts = TtsCache.configured(TtsConfig(), cache)  # the server's default engine
    await tts.start()
    try:
        return len(await tts.synthesize(SENTENCE, "WOMAN", "en-US", SAMPLE_RATE))
    finally:
        await tts.close()
