"""Calls per second through an answer URL, beside the same run's direct-dial rate.

SIPp plays an endpoint whose application (tools/load/answer_application.py, a child process)
answers `<Speak>` of a short sentence then `<Hangup/>` (tools/load/app_uac.xml: INVITE, 407,
INVITE with credentials, 200, ACK, then the server's BYE after the speech). Every call costs
the server an answer-URL request, a parse, a TTS cache lookup (warm: one sentence for all),
a played prompt and the hangup URL's request. The rate steps up as call_rate.py does (10 s
steps, the highest clean one counts; SIPp's wall time includes the last call's speech).

Reference in the same run: call_rate.py's direct dial (the same SIPp caller, authenticated the
same way, through the outgoing carrier to a SIPp UAS, calls held 100 ms) on a fresh server.
"""

import tempfile
from pathlib import Path

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
        print(f"{STEP_SECONDS} s steps; SIPp UAC (an endpoint) -> server")
        print(f"through an answer URL (<Speak>{SENTENCE}</Speak><Hangup/>, TTS cache warm):")
        with AnswerApplication() as app:
            ours, cpu = climb(
                workdir / "application",
                injection_file(workdir, APPLICATION_CALLER),
                ours=True,
                scenario=SCENARIO,
                answer_url=app.url("/speak"),
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
