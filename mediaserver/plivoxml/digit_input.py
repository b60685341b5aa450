"""GetDigits and GetInput (DTMF): prompts that a key press cuts short, then digits until
numDigits, finishOnKey or a timeout, retried; the action URL gets `Digits` (plivo.md §2.4,
§2.5). Digits count whatever way they came: RFC 4733, SIP INFO or in-band tones."""

import asyncio
from dataclasses import dataclass

from mediaserver.calls.deadlines import NamedTimers
from mediaserver.calls.leg_events import DigitReceived, Ended, LegEvent
from mediaserver.plivoxml.prompts import play_beep, run_play, run_prompt
from mediaserver.plivoxml.session import CallSession, DocumentKind, Goto, UnsupportedVerbError
from mediaserver.plivoxml.verbs import GetDigits, GetInput, Play, Prompt

# GetInput's digitEndTimeout "auto": the gap GetDigits allows between digits by default.
AUTO_DIGIT_END_TIMEOUT = 2


@dataclass(frozen=True, slots=True)
class _Collection:
    """How one round of input is gathered."""

    first_timeout: float
    digit_timeout: float
    num_digits: int
    finish_on_key: str
    valid_digits: str


class DigitCollector:
    """The leg's digits as they come, waited for on the injected clock. While `prompting`,
    the first digit stops the prompt (barge-in)."""

    _END = "end"  # the leg ended
    _TIMEOUT = "timeout"

    def __init__(self, session: CallSession) -> None:
        self._session = session
        self._queue: asyncio.Queue[str] = asyncio.Queue()
        self._timers = NamedTimers(session.services.deadlines)
        self.prompting = False
        session.leg.collect_digits(True)
        self._subscription = session.leg.subscribe(self._hear)

    def _hear(self, event: LegEvent) -> None:
        if isinstance(event, DigitReceived):
            self._queue.put_nowait(event.digit)
            if self.prompting:
                self._session.leg.stop_playing()
        elif isinstance(event, Ended):
            self._queue.put_nowait(self._END)

    @property
    def pressed(self) -> bool:
        return not self._queue.empty()

    async def next(self, within_seconds: float) -> str | None:
        """The next digit, or None after `within_seconds` or when the leg ends."""
        self._timers.after("digit", within_seconds, lambda: self._queue.put_nowait(self._TIMEOUT))
        try:
            item = await self._queue.get()
        finally:
            self._timers.cancel("digit")
        return None if item in (self._END, self._TIMEOUT) else item

    def close(self) -> None:
        self._subscription.cancel()
        self._timers.cancel_all()
        self._session.leg.collect_digits(False)


async def run_get_digits(session: CallSession, verb: GetDigits) -> Goto | None:
    rules = _Collection(
        verb.timeout, verb.digit_timeout, verb.num_digits, verb.finish_on_key, verb.valid_digits
    )
    digits = await _gather(session, verb.prompts, rules, verb.retries, verb)
    _log_digits(session, "GetDigits", digits, verb.log)
    return _report(session, verb.action, verb.method, verb.redirect, {"Digits": digits}, digits)


async def run_get_input(session: CallSession, verb: GetInput) -> Goto | None:
    if "speech" in verb.input_type.split():
        raise UnsupportedVerbError(
            f'<GetInput inputType="{verb.input_type}">: speech input needs a speech recogniser,'
            " which this server does not have"
        )
    digit_timeout = verb.digit_end_timeout or AUTO_DIGIT_END_TIMEOUT
    rules = _Collection(
        verb.execution_timeout, digit_timeout, verb.num_digits, verb.finish_on_key, "0123456789*#"
    )
    digits = await _gather(session, verb.prompts, rules, 1, None)
    _log_digits(session, "GetInput", digits, verb.log)
    params = {"InputType": "dtmf", "Digits": digits}
    return _report(session, verb.action, verb.method, verb.redirect, params, digits)


def _log_digits(session: CallSession, element: str, digits: str, log: bool) -> None:
    """The call's debug log says what was pressed; log="false" keeps the digits themselves
    out of it (§2.4: card numbers, PINs), saying only how many came."""
    if not digits:
        return
    shown = repr(digits) if log else f"{len(digits)} digits (not logged: log=false)"
    session.debug(f"<{element}> received {shown}")


def _report(
    session: CallSession,
    action: str | None,
    method: str,
    redirect: bool,
    params: dict[str, str],
    digits: str,
) -> Goto | None:
    """No digits, or no action: nothing is requested and the next verb runs (§2.4)."""
    if not digits or action is None or session.leg.ended:
        return None
    if redirect:
        return Goto(action, method, DocumentKind.ACTION, params)
    session.notify(action, method, params)
    return None


async def _gather(
    session: CallSession,
    prompts: tuple[Prompt, ...],
    rules: _Collection,
    attempts: int,
    verb: GetDigits | None,
) -> str:
    collector = DigitCollector(session)
    try:
        for _ in range(attempts):
            await _prompt(session, collector, prompts, verb is not None and verb.play_beep)
            digits, valid = await _collect(collector, rules)
            if session.leg.ended:
                return ""
            if digits and valid:
                return digits
            if not valid and verb is not None and verb.invalid_digits_sound:
                await run_play(session, Play(verb.invalid_digits_sound))
        return ""
    finally:
        collector.close()


async def _prompt(
    session: CallSession, collector: DigitCollector, prompts: tuple[Prompt, ...], beep: bool
) -> None:
    collector.prompting = True
    try:
        for prompt in prompts:
            if collector.pressed or not await run_prompt(session, prompt):
                return
        if beep and not collector.pressed:
            await play_beep(session)
    finally:
        collector.prompting = False


async def _collect(collector: DigitCollector, rules: _Collection) -> tuple[str, bool]:
    """(digits, whether all were valid): up to numDigits, finishOnKey (not included) or a
    timeout (the first digit's, then the gap between digits)."""
    digits = ""
    while len(digits) < rules.num_digits:
        digit = await collector.next(rules.digit_timeout if digits else rules.first_timeout)
        if digit is None or (rules.finish_on_key and digit == rules.finish_on_key):
            break
        if digit not in rules.valid_digits:
            return digits, False
        digits += digit
    return digits, True
