"""GetDigits and GetInput with inputType="dtmf" (plivo.md §2.4, §2.5): every attribute is
shown changing which digits the action gets, when, how, or what the caller hears; speech input
is refused with 8011 until the server has a speech recogniser."""

import numpy as np
import pytest

from mediaserver.calls.leg_events import DigitSource
from tests.plivoxml.application_harness import ANSWER_URL, AppHarness, running_application
from tests.plivoxml.caller import call, caller_media, heard, peak_frequencies, spoken

ACTION_URL = "http://app.test/action"
SOUND_URL = "http://sounds.test/invalid.wav"
Documents = dict[str, str | Exception]
DOCUMENTS: Documents = {ACTION_URL: "<Response><Speak>Action</Speak></Response>"}


def menu(attributes: str, prompts: str = "", after: str = "<Speak>Next</Speak>") -> Documents:
    return DOCUMENTS | {
        ANSWER_URL: f"<Response><GetDigits {attributes}>{prompts}</GetDigits>{after}</Response>"
    }


async def press(harness: AppHarness, digits: str) -> None:
    for digit in digits:
        caller_media(harness).press(digit, DigitSource.RFC4733)
    await harness.calls.settle()


def digits_posted(harness: AppHarness) -> list[str]:
    return [request.params["Digits"] for request in harness.app.to(ACTION_URL)]


async def test_action_gets_the_digits_by_post_and_its_document_replaces_the_rest() -> None:
    documents = menu(f'action="{ACTION_URL}" numDigits="2"')
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, "42")
        [request] = harness.app.to(ACTION_URL)
        assert (request.method, request.fetched, request.params["Digits"]) == ("POST", True, "42")
        assert spoken(harness) == ["Action"]


async def test_method_get_fetches_the_action_with_get() -> None:
    documents = menu(f'action="{ACTION_URL}" method="GET" numDigits="1"')
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, "7")
        assert [r.method for r in harness.app.to(ACTION_URL)] == ["GET"]


async def test_without_an_action_the_digits_are_thrown_away_and_the_next_verb_runs() -> None:
    async with running_application(menu('numDigits="1"')) as harness:
        await call(harness)
        await press(harness, "7")
        assert harness.app.to(ACTION_URL) == []
        assert spoken(harness) == ["Next"]


async def test_redirect_false_tells_the_action_and_goes_on_with_the_document() -> None:
    documents = menu(f'action="{ACTION_URL}" numDigits="1" redirect="false"')
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, "3")
        [request] = harness.app.to(ACTION_URL)
        assert (request.fetched, request.params["Digits"]) == (False, "3")
        assert spoken(harness) == ["Next"]


async def test_timeout_is_the_wait_for_the_first_digit() -> None:
    async with running_application(menu(f'action="{ACTION_URL}" timeout="3"')) as harness:
        await call(harness)
        await harness.calls.advance(2.5)
        assert spoken(harness) == []
        await harness.calls.advance(0.5)
        assert spoken(harness) == ["Next"]
        assert harness.app.to(ACTION_URL) == []  # nothing pressed: no request (§2.4)


async def test_digit_timeout_is_the_gap_allowed_between_digits() -> None:
    documents = menu(f'action="{ACTION_URL}" timeout="10" digitTimeout="4"')
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, "1")
        await harness.calls.advance(3.5)
        await press(harness, "2")
        await harness.calls.advance(3.5)
        assert harness.app.to(ACTION_URL) == []
        await harness.calls.advance(0.5)
        assert digits_posted(harness) == ["12"]


async def test_the_digit_timeout_defaults_to_two_seconds() -> None:
    async with running_application(menu(f'action="{ACTION_URL}" timeout="10"')) as harness:
        await call(harness)
        await press(harness, "1")
        await harness.calls.advance(1.5)
        assert harness.app.to(ACTION_URL) == []
        await harness.calls.advance(0.5)
        assert digits_posted(harness) == ["1"]


@pytest.mark.parametrize(
    ("finish_on_key", "pressed", "posted"),
    [(None, "12#", "12"), ("*", "1#*", "1#"), ("", "1#2", "1#2"), ("none", "1#2", "1#2")],
)
async def test_finish_on_key_ends_the_input_and_is_not_included(
    finish_on_key: str | None, pressed: str, posted: str
) -> None:
    """`#` by default; "" and "none" turn it off, so `#` is a digit like any other."""
    key = "" if finish_on_key is None else f'finishOnKey="{finish_on_key}"'
    documents = menu(f'action="{ACTION_URL}" numDigits="3" {key}')
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, pressed)  # no clock: only the key or numDigits can end it
        assert digits_posted(harness) == [posted]


async def test_num_digits_ends_the_input_at_that_many_digits() -> None:
    async with running_application(menu(f'action="{ACTION_URL}" numDigits="3"')) as harness:
        await call(harness)
        await press(harness, "12")
        assert harness.app.to(ACTION_URL) == []
        await press(harness, "34")
        assert digits_posted(harness) == ["123"]


async def test_retries_replay_the_prompts_and_wait_again() -> None:
    documents = menu(f'action="{ACTION_URL}" timeout="2" retries="3"', "<Speak>Menu</Speak>")
    async with running_application(documents) as harness:
        await call(harness)
        for _ in range(2):
            caller_media(harness).finish_playing()
            await harness.calls.settle()
            await harness.calls.advance(2)
        assert spoken(harness) == ["Menu"] * 3
        await press(harness, "5")
        await harness.calls.advance(2)
        assert digits_posted(harness) == ["5"]


async def test_play_beep_beeps_after_the_prompts_before_listening() -> None:
    documents = menu(f'action="{ACTION_URL}" playBeep="true"', "<Speak>Menu</Speak>")
    async with running_application(documents) as harness:
        await call(harness)
        media = caller_media(harness)
        media.finish_playing()
        await harness.calls.settle()
        assert len(media.played) == 2
        beep = heard(media.played[1])
        assert len(beep) == 2400  # 300 ms
        assert peak_frequencies(beep) == pytest.approx([700], abs=5)


async def test_no_beep_by_default() -> None:
    documents = menu(f'action="{ACTION_URL}" timeout="2"', "<Speak>Menu</Speak>")
    async with running_application(documents) as harness:
        await call(harness)
        caller_media(harness).finish_playing()
        await harness.calls.settle()
        await harness.calls.advance(2)
        assert len(caller_media(harness).played) == 2  # the menu, then "Next"
        assert spoken(harness) == ["Menu", "Next"]


async def test_valid_digits_refuses_other_keys_and_invalid_digits_sound_is_played() -> None:
    documents = menu(
        f'action="{ACTION_URL}" numDigits="1" retries="2" validDigits="123"'
        f' invalidDigitsSound="{SOUND_URL}"'
    )
    async with running_application(documents) as harness:
        harness.sounds.sounds[SOUND_URL] = np.full(800, 1234, np.int16)
        await call(harness)
        media = caller_media(harness)
        await press(harness, "9")
        assert harness.app.to(ACTION_URL) == []
        [sound] = media.played
        assert np.count_nonzero(heard(sound) == 1234) == 800
        media.finish_playing()
        await harness.calls.settle()
        await press(harness, "2")  # the retry takes a valid digit
        assert digits_posted(harness) == ["2"]


async def test_a_digit_during_the_prompts_stops_them_and_counts() -> None:
    documents = menu(
        f'action="{ACTION_URL}" numDigits="2"',
        "<Speak>First</Speak><Speak>Second</Speak><Play>http://sounds.test/x.wav</Play>",
    )
    async with running_application(documents) as harness:
        await call(harness)
        media = caller_media(harness)
        playing = media.playing
        await press(harness, "4")
        assert playing is not None
        assert playing.result() is False  # stopped, not finished
        assert spoken(harness) == ["First"]
        await press(harness, "2")
        assert digits_posted(harness) == ["42"]


@pytest.mark.parametrize(("log", "entry"), [("", "'1234'"), ('log="false"', "4 digits")])
async def test_log_false_keeps_the_digits_out_of_the_debug_log(log: str, entry: str) -> None:
    async with running_application(menu(f'action="{ACTION_URL}" numDigits="4" {log}')) as harness:
        await call(harness)
        await press(harness, "1234")
        [received] = [line for line in harness.debug if "received" in line]
        assert entry in received
        if log:
            assert "1234" not in " ".join(harness.debug)


def get_input(attributes: str, prompts: str = "") -> Documents:
    return DOCUMENTS | {
        ANSWER_URL: (
            f'<Response><GetInput action="{ACTION_URL}" inputType="dtmf" {attributes}>'
            f"{prompts}</GetInput><Speak>Next</Speak></Response>"
        )
    }


async def test_get_input_dtmf_posts_input_type_and_digits() -> None:
    async with running_application(get_input('numDigits="2"')) as harness:
        await call(harness)
        await press(harness, "58")
        [request] = harness.app.to(ACTION_URL)
        assert request.method == "POST"
        assert (request.params["InputType"], request.params["Digits"]) == ("dtmf", "58")


@pytest.mark.parametrize(
    ("attributes", "pressed", "posted"),
    [('finishOnKey="*"', "12*", "12"), ("", "12#", "12"), ('numDigits="1"', "12", "1")],
)
async def test_get_input_finish_on_key_and_num_digits(
    attributes: str, pressed: str, posted: str
) -> None:
    async with running_application(get_input(attributes)) as harness:
        await call(harness)
        await press(harness, pressed)
        assert digits_posted(harness) == [posted]


async def test_get_input_method_and_redirect_false() -> None:
    documents = get_input('method="GET" redirect="false" numDigits="1"')
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, "9")
        [request] = harness.app.to(ACTION_URL)
        assert (request.method, request.fetched) == ("GET", False)
        assert spoken(harness) == ["Next"]


async def test_get_input_execution_timeout_is_the_wait_for_input() -> None:
    async with running_application(get_input('executionTimeout="6"')) as harness:
        await call(harness)
        await harness.calls.advance(5.5)
        assert spoken(harness) == []
        await harness.calls.advance(0.5)
        assert spoken(harness) == ["Next"]


async def test_get_input_digit_end_timeout_is_the_gap_between_digits() -> None:
    async with running_application(get_input('digitEndTimeout="5"')) as harness:
        await call(harness)
        await press(harness, "1")
        await harness.calls.advance(4.5)
        assert harness.app.to(ACTION_URL) == []
        await harness.calls.advance(0.5)
        assert digits_posted(harness) == ["1"]


async def test_get_input_prompts_are_cut_short_by_a_digit() -> None:
    documents = get_input('numDigits="1"', "<Speak>Say or press</Speak><Speak>Again</Speak>")
    async with running_application(documents) as harness:
        await call(harness)
        await press(harness, "3")
        assert spoken(harness) == ["Say or press", "Action"]


@pytest.mark.parametrize("input_type", ["speech", "dtmf speech"])
async def test_get_input_speech_ends_the_call_8011_naming_it(input_type: str) -> None:
    document = (
        f'<Response><GetInput action="{ACTION_URL}" inputType="{input_type}">'
        "<Speak>Say something</Speak></GetInput></Response>"
    )
    async with running_application({ANSWER_URL: document}) as harness:
        await call(harness)
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert spoken(harness) == []
        assert any("speech" in entry and "GetInput" in entry for entry in harness.debug)
