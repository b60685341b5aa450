"""`mediaserver simulate ANSWER_URL`: run an application against a virtual caller and print
the transcript (requests with their parameters and signatures, verbs, audio, the hangup)."""

import argparse
import asyncio
import tempfile
from pathlib import Path

from mediaserver.admin import EXIT_USAGE, Subcommands, fail
from mediaserver.calls.hangup_cause import Cause
from mediaserver.config import Config
from mediaserver.media.tts_cache import TtsCache
from mediaserver.plivoxml.simulation import Simulation, simulate


def add_commands(commands: Subcommands) -> list[argparse.ArgumentParser]:
    command = commands.add_parser(
        "simulate", help="run an application against a virtual caller; print the transcript"
    )
    command.add_argument("answer_url")
    command.add_argument("--from", dest="from_number", default="15551230000")
    command.add_argument("--to", dest="to_number", default="15557650000")
    command.add_argument(
        "--digits",
        default="",
        help="digits the caller presses when input is asked for; commas separate the groups"
        " pressed at successive inputs (e.g. '1#,2')",
    )
    command.add_argument("--method", default="POST", choices=("GET", "POST"))
    command.set_defaults(handler=_simulate)
    return [command]


def _simulate(config: Config, arguments: argparse.Namespace) -> int:
    if not arguments.answer_url.startswith(("http://", "https://")):
        return fail("the answer URL must be an absolute http(s) URL", EXIT_USAGE)
    simulation = Simulation(
        arguments.answer_url,
        arguments.method,
        arguments.from_number,
        arguments.to_number,
        arguments.digits,
    )
    with tempfile.TemporaryDirectory(prefix="mediaserver-tts-") as cache:
        cause = asyncio.run(_run(simulation, config, Path(cache)))
    return 0 if cause is not None else 1


async def _run(simulation: Simulation, config: Config, cache: Path) -> Cause | None:
    """The simulation with the configured TTS engine, closed (no worker left) at the end."""
    tts = TtsCache.configured(config.tts, cache)
    try:
        return await simulate(simulation, config.account.auth_token, tts, print)
    finally:
        await tts.close()
