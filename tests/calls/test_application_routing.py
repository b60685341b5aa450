"""Calls the router gives to an application run the injected application script; the others
are dialled directly as before; with no script injected they are refused, never dialled."""

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from mediaserver.calls.call_control import CallControl
from mediaserver.calls.call_record import record_for
from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.router import ApplicationRoute
from mediaserver.store.applications import Application, SqliteApplications, new_application
from mediaserver.store.numbers import SqliteNumbers
from mediaserver.transport.peer import Peer
from tests.calls.conftest import Harness, running_harness
from tests.calls.in_memory import Incoming, in_dialog, invite, sdp

CARRIER = Peer("udp", "198.51.100.7", 5060)


@dataclass
class ApplicationScript:
    """Stands in for the Plivo XML interpreter: notes what it was given, answers, hangs up."""

    runs: list[tuple[ApplicationRoute, Caller, bool]] = field(default_factory=list)
    harness: Harness | None = None

    async def __call__(self, leg: CallControl, route: ApplicationRoute, caller: Caller) -> None:
        assert self.harness is not None
        media_ready = self.harness.media[0].is_open  # prepare_media ran before the script
        self.runs.append((route, caller, media_ready))
        leg.answer()
        leg.hangup(Cause.NORMAL_CLEARING, HangupSource.PLIVO)


@pytest.fixture
async def served() -> AsyncIterator[tuple[Harness, ApplicationScript]]:
    script = ApplicationScript()
    async with running_harness(application_script=script) as harness:
        script.harness = harness
        harness.directory.register("bob", 5080)
        yield harness, script


def add_application(harness: Harness, name: str, **flags: bool) -> Application:
    application = new_application(name, "https://app.example/answer", **flags)
    return SqliteApplications(harness.database).add(application)


async def call(harness: Harness, request: Incoming) -> Incoming:
    harness.service.handle_invite(request)
    await harness.settle()
    return request


def from_carrier(number: str) -> Incoming:
    request = invite(number)
    return Incoming(request.request, CARRIER)


async def test_endpoint_with_an_application_runs_the_application_script(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, script = served
    harness.caller.app_id = add_application(harness, "ivr").app_id
    alice = await call(harness, invite("bob"))
    [(route, caller, media_ready)] = script.runs
    assert (route.application.app_name, route.to_number) == ("ivr", "bob")
    assert caller.from_number == "alice"
    assert media_ready
    assert alice.statuses[-1] == 200  # answered by the script
    assert not harness.sip.invites()  # bob is not rung: the application decides
    assert harness.sip.requests("BYE")
    assert harness.causes() == [("inbound", 4000, "Plivo")]


async def test_endpoint_without_one_is_dialled_directly(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, script = served
    add_application(harness, "for numbers", default_number_app=True)
    await call(harness, invite("bob"))
    assert script.runs == []
    [ringing] = harness.sip.invites()
    assert str(ringing.request.uri) == "sip:bob@127.0.0.1:5080"
    ringing.answer(486)
    await harness.settle()


async def test_endpoint_without_one_runs_the_default_endpoint_application(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, script = served
    add_application(harness, "outbound", default_endpoint_app=True)
    await call(harness, invite("15551230000"))
    [(route, _, _)] = script.runs
    assert (route.application.app_name, route.to_number) == ("outbound", "15551230000")
    assert not harness.sip.invites()


async def test_carrier_call_to_a_number_with_an_application(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, script = served
    harness.directory.carrier_addresses.add(CARRIER.host)
    own = add_application(harness, "sales")
    add_application(harness, "default", default_number_app=True)
    SqliteNumbers(harness.database).add("15550001111", alias="bob", app_id=own.app_id)
    caller = await call(harness, from_carrier("+15550001111"))
    [(route, _, _)] = script.runs
    assert (route.application.app_name, route.to_number) == ("sales", "15550001111")
    assert caller.statuses[-1] == 200
    assert not harness.sip.invites()


async def test_carrier_call_to_a_number_with_only_a_default_number_application(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, script = served
    harness.directory.carrier_addresses.add(CARRIER.host)
    add_application(harness, "default", default_number_app=True)
    add_application(harness, "for endpoints", default_endpoint_app=True)
    SqliteNumbers(harness.database).add("15550001111", alias="bob")
    await call(harness, from_carrier("15550001111"))
    [(route, _, _)] = script.runs
    assert (route.application.app_name, route.to_number) == ("default", "15550001111")
    assert not harness.sip.invites()


async def test_carrier_call_to_a_number_with_no_application_rings_its_alias(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, script = served
    harness.directory.carrier_addresses.add(CARRIER.host)
    add_application(harness, "for endpoints", default_endpoint_app=True)
    SqliteNumbers(harness.database).add("15550001111", alias="bob")
    await call(harness, from_carrier("15550001111"))
    assert script.runs == []
    [ringing] = harness.sip.invites()
    assert str(ringing.request.uri) == "sip:bob@127.0.0.1:5080"
    ringing.answer(486)
    await harness.settle()


async def test_without_an_application_script_the_call_is_refused_not_dialled() -> None:
    async with running_harness() as harness:
        harness.directory.register("bob", 5080)
        harness.caller.app_id = add_application(harness, "ivr").app_id
        alice = await call(harness, invite("bob"))
        assert alice.statuses[-1] == Cause.ROUTING_ERROR.cause.sip_status
        assert "applications are not served" in str(alice.responses[-1].headers.get("Warning"))
        assert not harness.sip.invites()
        assert harness.service.statistics()["calls_refused"] == 1
        assert harness.causes() == [("inbound", Cause.ROUTING_ERROR.cause.code, "Plivo")]


async def test_a_sub_accounts_call_and_the_legs_it_dials_belong_to_it(
    served: tuple[Harness, ApplicationScript],
) -> None:
    harness, _ = served
    harness.caller.sub_account = "SA0000000000000000SH"
    alice = await call(harness, invite("bob"))
    [ringing] = harness.sip.invites()
    ringing.answer(200, sdp(6000))
    await harness.settle()
    harness.service.handle_in_dialog(in_dialog(alice, "BYE", 2))
    await harness.settle()
    records = [record_for(leg) for leg in harness.ended]
    assert [(r.direction, r.sub_account) for r in records] == [
        ("inbound", "SA0000000000000000SH"),
        ("outbound", "SA0000000000000000SH"),
    ]
    assert records[1].parent_call_uuid == records[0].call_uuid
