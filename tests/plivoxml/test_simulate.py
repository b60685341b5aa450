"""`mediaserver simulate` runs Plivo's IVR example against a virtual caller who presses 2, and
prints the transcript: the signed requests, the Speak of option 2, the hangup cause 4010."""

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from tests.interop.application_server import ApplicationServer

MENU = (
    '<Response><GetDigits action="{choice}" method="POST" numDigits="1" timeout="5">'
    "<Speak>Press one for sales, two for support.</Speak></GetDigits>"
    "<Speak>We did not hear you.</Speak></Response>"
)
SENTENCES = {"1": "Sales speaking.", "2": "Support is closed today."}


def choice(params: Mapping[str, str]) -> str:
    sentence = SENTENCES.get(params.get("Digits", ""), "That is not an option.")
    return f"<Response><Speak>{sentence}</Speak></Response>"


def test_simulate_prints_the_transcript_of_the_ivr_example(tmp_path: Path) -> None:
    with ApplicationServer({"/answer": "", "/choice": choice}) as app:
        app.routes["/answer"] = MENU.format(choice=app.url("/choice"))
        config = tmp_path / "server.toml"
        config.write_text(f'[storage]\nurl = "sqlite:///{tmp_path / "db.sqlite"}"\n')
        result = subprocess.run(
            [
                sys.executable, "-m", "mediaserver", "simulate", app.url("/answer"),
                "--digits", "2", "--from", "15550001111", "--config", str(config),
            ],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    transcript = result.stdout
    assert result.returncode == 0, result.stderr
    assert f"request POST {app.url('/answer')}" in transcript
    assert "From=15550001111" in transcript
    assert "header X-Plivo-Signature-V3:" in transcript
    assert "caller presses '2'" in transcript
    assert "Digits=2" in transcript
    assert "caller hears speech" in transcript
    assert "'Support is closed today.'" in transcript
    assert "Sales speaking." not in transcript
    assert "hangup: 4010 End Of XML Instructions" in transcript
    assert len(app.requests_to("/choice")) == 1
