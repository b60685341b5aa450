"""Dial with Number and User (plivo.md §2.7): each attribute is shown in the B legs' INVITEs
(From, X-PH-* headers), in what the caller hears while they ring, in who is connected and for
how long, in the digits sent to the B leg, and in the action and callbackUrl requests with
their parameters by name and value; confirmSound/confirmKey to the B leg, dialMusic to the
caller, digitsMatch on both legs."""

from types import SimpleNamespace

import pytest

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg_events import DigitSource
from mediaserver.calls.scripts import first_to_end
from tests.calls.in_memory import SentRequest, sdp
from tests.plivoxml.application_harness import ANSWER_URL, AppHarness, running_application
from tests.plivoxml.caller import a_leg, b_legs, call, caller_media, heard, peak_frequencies, spoken

ACTION_URL = "http://app.test/action"
CALLBACK_URL = "http://app.test/dial-events"
BOB = "<User>sip:bob@phone.local</User>"
Documents = dict[str, str | Exception]


def dial(
    attributes: str, targets: str = BOB, after: str = "<Speak>After</Speak>", before: str = ""
) -> Documents:
    return {
        ANSWER_URL: f"<Response>{before}<Dial {attributes}>{targets}</Dial>{after}</Response>",
        ACTION_URL: "<Response><Speak>Action</Speak></Response>",
    }


def with_carrier(harness: AppHarness, prefix: str = "") -> None:
    harness.calls.directory.carrier = SimpleNamespace(
        address="127.0.0.1:5090", failover_address="", prefix=prefix, failover_prefix="",
        suffix="", retries=0, retry_seconds=5.0,
    )  # fmt: skip


async def answered(harness: AppHarness, invite: SentRequest, port: int = 6000) -> None:
    invite.answer(200, sdp(port))
    await harness.calls.settle()


async def callee_hangs_up(harness: AppHarness) -> None:
    [b_leg] = b_legs(harness)
    b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.CALLEE)
    await harness.calls.settle()


async def test_action_gets_the_dial_parameters_with_its_method() -> None:
    async with running_application(dial(f'action="{ACTION_URL}" method="GET"')) as harness:
        await call(harness)
        [bob] = harness.calls.sip.invites()
        bob.answer(180)
        await answered(harness, bob)
        [b_leg] = b_legs(harness)
        a_uuid = a_leg(harness).call_uuid
        await callee_hangs_up(harness)
        [action] = harness.app.to(ACTION_URL)
        assert (action.method, action.fetched) == ("GET", True)
        assert {name: action.params[name] for name in action.params if name.startswith("Dial")} == {
            "DialStatus": "completed",
            "DialRingStatus": "true",
            "DialHangupCause": "NORMAL_CLEARING",
            "DialALegUUID": a_uuid,
            "DialBLegUUID": b_leg.call_uuid,
        }
        assert action.params["CallUUID"] == a_uuid
        assert spoken(harness) == ["Action"]


@pytest.mark.parametrize(
    ("status_code", "dial_status", "cause_name"),
    [(486, "busy", "USER_BUSY"), (404, "failed", "UNALLOCATED_NUMBER")],
)
async def test_redirect_false_tells_the_action_and_goes_on(
    status_code: int, dial_status: str, cause_name: str
) -> None:
    async with running_application(dial(f'action="{ACTION_URL}" redirect="false"')) as harness:
        await call(harness)
        harness.calls.sip.invites()[0].answer(status_code)
        await harness.calls.settle()
        [action] = harness.app.to(ACTION_URL)
        assert not action.fetched
        assert action.params["DialStatus"] == dial_status
        assert action.params["DialHangupCause"] == cause_name
        assert action.params["DialRingStatus"] == "false"
        assert action.params["DialBLegUUID"] == ""
        assert spoken(harness) == ["After"]


async def test_timeout_is_the_ring_time() -> None:
    async with running_application(dial(f'action="{ACTION_URL}" timeout="5"')) as harness:
        await call(harness)
        [bob] = harness.calls.sip.invites()
        bob.answer(180)
        await harness.calls.advance(4.5)
        assert harness.calls.causes() == []
        await harness.calls.advance(0.5)
        assert harness.calls.causes() == [("outbound", 6010, "Plivo")]
        assert bob.cancelled
        [action] = harness.app.to(ACTION_URL)
        assert (action.params["DialStatus"], action.params["DialRingStatus"]) == ("timeout", "true")


async def test_time_limit_hangs_up_the_b_leg_and_the_document_goes_on() -> None:
    async with running_application(dial('timeLimit="3"')) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        await harness.calls.advance(2.5)
        assert harness.calls.causes() == []
        await harness.calls.advance(0.5)
        assert harness.calls.causes() == [("outbound", 6000, "Plivo")]
        assert spoken(harness) == ["After"]


@pytest.mark.parametrize(
    ("attributes", "from_header"),
    [
        ("", '"alice" <sip:alice@phone.local>'),
        ('callerId="15550001" callerName="Support Desk"', '"Support Desk" <sip:15550001@'),
        ('callerId="none" callerName="none"', "<sip:anonymous@phone.local>"),
    ],
)
async def test_caller_id_and_caller_name_are_the_b_legs_from(
    attributes: str, from_header: str
) -> None:
    """The A leg's caller by default; PF: "none" blanks them."""
    async with running_application(dial(attributes)) as harness:
        await call(harness)
        [bob] = harness.calls.sip.invites()
        assert bob.request.headers.get("From").startswith(from_header)


async def test_a_number_or_user_may_present_its_own_caller_id_and_name() -> None:
    targets = f'<Number callerId="15559999" callerName="Sales">15550002222</Number>{BOB}'
    async with running_application(dial('callerName="Desk"', targets)) as harness:
        with_carrier(harness)
        await call(harness)
        carrier, bob = harness.calls.sip.invites()
        assert carrier.request.headers.get("From").startswith('"Sales" <sip:15559999@')
        assert bob.request.headers.get("From").startswith('"Desk" <sip:alice@')


async def test_hang_up_on_star_drops_the_b_leg_and_the_caller_goes_on() -> None:
    async with running_application(dial('hangupOnStar="true"')) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        caller_media(harness).press("*", DigitSource.RFC4733)
        await harness.calls.settle()
        assert harness.calls.causes() == [("outbound", 4000, "Caller")]
        assert spoken(harness) == ["After"]


async def test_star_does_nothing_without_hang_up_on_star() -> None:
    async with running_application(dial("")) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        caller_media(harness).press("*", DigitSource.SIP_INFO)
        await harness.calls.settle()
        assert harness.calls.causes() == []
        assert len(b_legs(harness)) == 1


async def test_dial_music_real_passes_the_b_legs_early_media_to_the_caller() -> None:
    async with running_application(dial('dialMusic="real"')) as harness:
        alice = await call(harness)
        [bob] = harness.calls.sip.invites()
        bob.answer(183, sdp(6000))
        await harness.calls.settle()
        a_media, b_media = harness.calls.media
        assert alice.statuses[-1] == 183
        assert a_media.connected_to(b_media)
        assert 200 not in alice.statuses


async def test_without_dial_music_an_unanswered_caller_hears_180_not_early_media() -> None:
    async with running_application(dial("")) as harness:
        alice = await call(harness)
        [bob] = harness.calls.sip.invites()
        bob.answer(183, sdp(6000))
        await harness.calls.settle()
        a_media, b_media = harness.calls.media
        assert alice.statuses[-1] == 180
        assert not a_media.connected_to(b_media)


async def test_an_answered_caller_hears_a_ringback_tone_while_the_b_leg_rings() -> None:
    async with running_application(dial("", before="<Speak>Connecting</Speak>")) as harness:
        await call(harness)
        caller_media(harness).finish_playing()
        await harness.calls.settle()
        harness.calls.sip.invites()[0].answer(180)
        await harness.calls.settle()
        ringback = caller_media(harness).played[-1]
        tone = heard(ringback, max_seconds=1.0)
        assert peak_frequencies(tone, 2) == pytest.approx([440, 480], abs=3)


async def test_callback_url_gets_the_answer_and_hangup_events() -> None:
    documents = dial(f'callbackUrl="{CALLBACK_URL}" callbackMethod="GET"')
    async with running_application(documents) as harness:
        await call(harness)
        [bob] = harness.calls.sip.invites()
        await answered(harness, bob)
        [b_leg] = b_legs(harness)
        a_uuid = a_leg(harness).call_uuid
        [answer] = harness.app.to(CALLBACK_URL)
        await callee_hangs_up(harness)
        _, hangup = harness.app.to(CALLBACK_URL)
        common = {
            "DialALegUUID": a_uuid,
            "DialBLegUUID": b_leg.call_uuid,
            "DialBLegFrom": "alice",
            "DialBLegTo": "bob",
        }
        assert (answer.method, answer.fetched) == ("GET", False)
        assert answer.params["CallUUID"] == a_uuid
        assert {k: v for k, v in answer.params.items() if k.startswith("Dial")} == common | {
            "DialAction": "answer",
            "DialBLegStatus": "answer",
        }
        assert {k: v for k, v in hangup.params.items() if k.startswith("Dial")} == common | {
            "DialAction": "hangup",
            "DialBLegStatus": "hangup",
            "DialBLegHangupCauseName": "Normal Hangup",
            "DialBLegHangupCauseCode": "4000",
            "DialBLegHangupSource": "Callee",
        }


async def test_sip_headers_of_dial_and_of_user_go_out_as_x_ph() -> None:
    targets = '<User sipHeaders="Desk=7">sip:bob@phone.local</User>'
    async with running_application(dial('sipHeaders="Team=blue,Tier=2"', targets)) as harness:
        await call(harness)
        [bob] = harness.calls.sip.invites()
        headers = bob.request.headers
        assert (headers.get("X-PH-Team"), headers.get("X-PH-Tier")) == ("blue", "2")
        assert headers.get("X-PH-Desk") == "7"


async def test_number_and_user_ring_at_once_and_the_first_answer_wins() -> None:
    targets = f"<Number>15550002222</Number>{BOB}"
    documents = dial(f'callbackUrl="{CALLBACK_URL}"', targets)
    async with running_application(documents) as harness:
        with_carrier(harness)
        await call(harness)
        carrier, bob = harness.calls.sip.invites()
        assert str(carrier.request.uri).startswith("sip:15550002222@127.0.0.1:5090")
        assert str(bob.request.uri).startswith("sip:bob@127.0.0.1:5080")
        bob.answer(180)
        carrier.answer(180)
        await harness.calls.settle()
        await answered(harness, carrier)
        assert bob.cancelled
        assert harness.calls.causes() == [("outbound", 9000, "Plivo")]  # Lost Race
        a_media, number_media, _ = harness.calls.media
        assert a_media.connected_to(number_media)
        [answer] = harness.app.to(CALLBACK_URL)
        assert answer.params["DialBLegTo"] == "15550002222"


async def test_send_digits_go_to_the_b_leg_that_answers_once_it_answers() -> None:
    """The carrier's prefix is on the B leg's number; the digits are still the Number's. An
    empty sendDigitsMode (the Python SDK writes one) changes nothing."""
    targets = (
        '<Number sendDigits="1w2#" sendDigitsMode="">15550002222</Number>'
        '<User sendDigits="9">sip:bob@phone.local</User>'
    )
    async with running_application(dial("", targets)) as harness:
        with_carrier(harness, prefix="9")
        await call(harness)
        carrier, _ = harness.calls.sip.invites()
        carrier.answer(183, sdp(6000))
        await harness.calls.settle()
        number_media = harness.calls.media[1]
        assert number_media.digits_sent == []  # not before the answer by default
        await answered(harness, carrier)
        assert number_media.digits_sent == ["1w2#"]
        assert harness.calls.media[2].digits_sent == []


async def test_send_on_preanswer_sends_the_digits_on_early_media() -> None:
    targets = '<Number sendDigits="ww55" sendOnPreanswer="true">15550002222</Number>'
    async with running_application(dial("", targets)) as harness:
        with_carrier(harness)
        await call(harness)
        [carrier] = harness.calls.sip.invites()
        carrier.answer(183, sdp(6000))
        await harness.calls.settle()
        number_media = harness.calls.media[1]
        assert number_media.digits_sent == ["ww55"]
        await answered(harness, carrier)
        assert number_media.digits_sent == ["ww55"]  # not again on the answer


async def test_send_digits_mode_other_than_blank_ends_the_call_8011_naming_it() -> None:
    targets = '<Number sendDigits="1" sendDigitsMode="inband">15550002222</Number>'
    async with running_application(dial("", targets)) as harness:
        await call(harness)
        assert harness.calls.sip.invites() == []
        assert harness.calls.causes() == [("inbound", 8011, "Error")]
        assert any("sendDigitsMode" in entry for entry in harness.debug)


CONFIRM_URL = "http://app.test/confirm"
MUSIC_URL = "http://app.test/music"


async def test_confirm_sound_plays_to_the_b_leg_before_it_is_connected() -> None:
    documents = dial(f'confirmSound="{CONFIRM_URL}"')
    documents[CONFIRM_URL] = "<Response><Speak>Call for you</Speak><Hangup/></Response>"
    async with running_application(documents) as harness:
        alice = await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        assert spoken(harness) == ["Call for you"]  # to bob: the Hangup there is ignored
        assert 200 not in alice.statuses  # alice still rings while bob hears it
        b_media = harness.calls.media[1]
        b_media.finish_playing()
        await harness.calls.settle()
        assert alice.statuses[-1] == 200
        assert caller_media(harness).connected_to(b_media)
        assert harness.app.to(CONFIRM_URL)[0].method == "POST"


async def test_confirm_key_connects_only_when_pressed() -> None:
    async with running_application(dial(f'confirmKey="5" action="{ACTION_URL}"')) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        b_media = harness.calls.media[1]
        b_media.press("3", DigitSource.RFC4733)  # not the key
        await harness.calls.settle()
        assert not caller_media(harness).connected_to(b_media)
        b_media.press("5", DigitSource.INBAND)
        await harness.calls.settle()
        assert caller_media(harness).connected_to(b_media)


async def test_confirm_key_not_pressed_in_time_fails_the_dial_9110() -> None:
    attributes = f'confirmKey="#" confirmTimeout="5" action="{ACTION_URL}"'
    async with running_application(dial(attributes)) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        await harness.calls.advance(4)
        assert harness.app.to(ACTION_URL) == []
        await harness.calls.advance(2)
        assert ("outbound", 9110, "Plivo") in harness.calls.causes()
        [action] = harness.app.to(ACTION_URL)
        assert action.params["DialStatus"] == "failed"
        assert action.params["DialHangupCause"] == "NORMAL_CLEARING"


async def test_dial_music_document_plays_to_the_caller_while_the_targets_ring() -> None:
    documents = dial(f'dialMusic="{MUSIC_URL}"')
    documents[MUSIC_URL] = "<Response><Speak>Please hold</Speak><Hangup/></Response>"
    async with running_application(documents) as harness:
        alice = await call(harness)
        [bob] = harness.calls.sip.invites()
        bob.answer(180)
        await harness.calls.settle()
        assert 183 in alice.statuses  # the music is early media
        assert spoken(harness) == ["Please hold"]
        caller_media(harness).finish_playing()
        await harness.calls.settle()
        assert spoken(harness) == ["Please hold", "Please hold"]  # again while it rings
        assert any("only Play, Speak and Wait" in entry for entry in harness.debug)
        await answered(harness, bob)
        assert caller_media(harness).connected_to(harness.calls.media[1])


async def test_digits_match_on_either_leg_is_reported_to_the_callback() -> None:
    attributes = f'digitsMatch="12,*9" digitsMatchBLeg="77" callbackUrl="{CALLBACK_URL}"'
    async with running_application(dial(attributes)) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        a_media, b_media = caller_media(harness), harness.calls.media[1]
        for digit in "3129":
            a_media.press(digit, DigitSource.RFC4733)
        for digit in "77":
            b_media.press(digit, DigitSource.SIP_INFO)
        a_media.press("*", DigitSource.INBAND)
        a_media.press("9", DigitSource.INBAND)
        await harness.calls.settle()
        events = [
            r.params for r in harness.app.to(CALLBACK_URL) if r.params["DialAction"] == "digits"
        ]
        assert [(e["DialDigitsMatch"], e["DialDigitsPressedBy"]) for e in events] == [
            ("12", "ALeg"), ("77", "BLeg"), ("*9", "ALeg"),
        ]  # fmt: skip


async def test_a_b_leg_moved_to_its_own_script_leaves_the_dial_which_goes_on() -> None:
    """REST legs=bleg: the B leg leaves the bridge alive; the caller's document goes on as
    when the B leg hangs up (the action hears a completed dial), and no hangup callback is
    sent for a leg that did not hang up."""
    attributes = f'action="{ACTION_URL}" redirect="false" callbackUrl="{CALLBACK_URL}"'
    async with running_application(dial(attributes)) as harness:
        await call(harness)
        await answered(harness, harness.calls.sip.invites()[0])
        [b_leg] = b_legs(harness)
        assert caller_media(harness).connected_to(harness.calls.media[1])
        b_leg.unbridge()

        async def its_own_document() -> None:
            await first_to_end(b_leg)

        harness.calls.service.scripts.move(b_leg, "transfer", its_own_document())
        await harness.calls.settle()
        assert not b_leg.ended
        assert spoken(harness) == ["After"]
        [action] = harness.app.to(ACTION_URL)
        assert (action.params["DialStatus"], action.params["DialHangupCause"]) == (
            "completed",
            "NORMAL_CLEARING",
        )
        assert [r.params["DialAction"] for r in harness.app.to(CALLBACK_URL)] == ["answer"]
        assert not b_leg.ended  # the caller's document ended; the moved leg is not its own
        b_leg.hangup(Cause.NORMAL_CLEARING, HangupSource.API_REQUEST)
        await harness.calls.settle()
