"""Calls of a sub-account, through the official `plivo` SDK, to and from pjsua2 phones that are
its own endpoints: the call is the sub-account's (it lists and reads it, the main account sees
it too, another sub-account gets 404 for it, live or recorded, and for its recording), and
every webhook of the call (ring, answer, hangup, the recording's callback) is signed with the
sub-account's token (the -Ma- headers with the main account's), as the SDK's validators check
(plivo.md §5). So is a carrier's call (SIPp) to its number. Transfer moves a bridged B leg to
its own document (legs=bleg: the caller goes on after its Dial) or both legs to theirs
(legs=both); what each phone hears is found by FFT. Every test ends with the server's
counters at baseline."""

import time
from pathlib import Path

import plivo
import pytest
from plivo.utils import validate_signature
from plivo.utils.signature_v3 import validate_v3_signature

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer, AppRequest
from tests.interop.call_checks import assert_no_leaks
from tests.interop.phone import Phone, dominant_between
from tests.interop.rest import test_sdk_calls
from tests.interop.rest.conftest import AUTH_TOKEN, http
from tests.interop.rest.test_sdk_calls import CALL_COUNTERS, CALLER_ID, HOLD, baseline, wait_until
from tests.interop.sipp import requires_sipp, run_sipp
from tests.interop.test_application_media import tone_file

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

# The SDK call tests' fixtures: a server of one's own per test, the SDK pointed at it.
server = test_sdk_calls.server
client = test_sdk_calls.client

WAIT = HOLD.removeprefix("<Response>")  # a Wait of a minute, then the end of the document


def subaccount(client: plivo.RestClient, name: str) -> tuple[plivo.RestClient, str, str]:
    """A new sub-account's own SDK client (its keep-alive connection open), auth_id and
    token."""
    created = client.subaccounts.create(name=name, enabled=True)
    own = plivo.RestClient(created.auth_id, created.auth_token)
    own.live_calls.list_ids()
    return own, created.auth_id, created.auth_token


def signed_with(request: AppRequest, token: str, header: str = "") -> bool:
    """The request's V2 and V3 signatures (the plain headers, or the -Ma- ones with
    header="Ma-") pass the SDK's validators with `token`."""
    headers = request.headers
    params = request.params if request.method == "POST" else None
    v2 = validate_signature(
        request.url, headers["X-Plivo-Signature-V2-Nonce"],
        headers[f"X-Plivo-Signature-{header}V2"], token,
    )  # fmt: skip
    v3 = validate_v3_signature(
        request.method, request.url, headers["X-Plivo-Signature-V3-Nonce"], token,
        headers[f"X-Plivo-Signature-{header}V3"], params,
    )  # fmt: skip
    return bool(v2 and v3)


def assert_signed_for(request: AppRequest, sub_token: str) -> None:
    assert signed_with(request, sub_token), request.path
    assert not signed_with(request, AUTH_TOKEN), request.path  # not the main account's
    assert signed_with(request, AUTH_TOKEN, "Ma-"), request.path


def test_a_sub_accounts_call_is_its_own_and_signed_with_its_token(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path
) -> None:
    shop, shop_id, shop_token = subaccount(client, "shop")
    other, other_id, other_token = subaccount(client, "other")
    bob = shop.endpoints.create(username="bob", password="bob-secret", alias="Bob").username
    wav = tone_file(tmp_path / "600.wav", 600, 2.0)
    callbacks = dict.fromkeys(("/ring", "/hangup", "/recorded"), "")
    with ApplicationServer({**callbacks}, files={"/600.wav": wav}) as app:
        app.routes["/answer"] = f"<Response><Play>{app.url('/600.wav')}</Play>{WAIT}"
        before = baseline(server, client)
        heard = tmp_path / "bob.wav"
        with Phone(
            bob, server.sip_port, password="bob-secret", record_path=heard, auto_answer=200
        ) as phone:
            phone.register()
            shop.calls.create(
                from_=CALLER_ID, to_=bob, answer_url=app.url("/answer"),
                ring_url=app.url("/ring"), hangup_url=app.url("/hangup"),
            )  # fmt: skip
            phone.wait_for("call_state", state="CONFIRMED")
            call_uuid = wait_until(lambda: app.requests_to("/answer"))[0].params["CallUUID"]
            assert call_uuid in shop.live_calls.list_ids().calls
            assert call_uuid in client.live_calls.list_ids().calls
            assert call_uuid not in other.live_calls.list_ids().calls
            assert shop.live_calls.get(call_uuid).call_status == "in-progress"
            for act in (
                lambda: other.live_calls.get(call_uuid),
                lambda: other.calls.send_digits(call_uuid, digits="1", leg="aleg"),
                lambda: other.calls.hangup(call_uuid),
            ):
                with pytest.raises(plivo.exceptions.ResourceNotFoundError):
                    act()
            for legs, urls, named in (
                ("bleg", {"bleg_url": app.url("/x")}, "legs"),  # not bridged: no B leg
                ("both", {"bleg_url": app.url("/x")}, "aleg_url"),
            ):
                with pytest.raises(plivo.exceptions.ValidationError, match=named):
                    shop.calls.transfer(call_uuid, legs=legs, **urls)
            recording = shop.calls.record(
                call_uuid, file_format="wav", callback_url=app.url("/recorded")
            )
            time.sleep(1.5)
            shop.calls.hangup(call_uuid)
            phone.wait_for("call_state", state="DISCONNECTED")
        [hangup] = wait_until(lambda: app.requests_to("/hangup"))
        [answer], [ring] = app.requests_to("/answer"), app.requests_to("/ring")
        [recorded] = wait_until(lambda: app.requests_to("/recorded"))
    assert abs(dominant_between(heard, 0.3, 1.7) - 600) < 15  # the refused transfers moved nothing
    assert not app.requests_to("/x")
    for request in (ring, answer, hangup, recorded):
        assert_signed_for(request, shop_token)
    assert hangup.params["HangupSource"] == "API Request"
    assert_no_leaks(server, before, counters=CALL_COUNTERS)

    assert shop.calls.get(call_uuid).hangup_source == "API Request"
    assert client.calls.get(call_uuid).to_number == bob
    assert call_uuid in [record.call_uuid for record in shop.calls.list(limit=5)]
    assert call_uuid in [r.call_uuid for r in client.calls.list(subaccount=shop_id)]
    assert call_uuid not in [r.call_uuid for r in client.calls.list(subaccount=other_id)]
    assert call_uuid not in [record.call_uuid for record in other.calls.list(limit=20)]
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        other.calls.get(call_uuid)
    assert recorded.params["recording_id"] == recording.recording_id
    assert shop.recordings.get(recording.recording_id).call_uuid == call_uuid
    with pytest.raises(plivo.exceptions.ResourceNotFoundError):
        other.recordings.get(recording.recording_id)
    base = f"http://127.0.0.1:{server.api_port}"
    for auth_id, token, status in ((shop_id, shop_token, 200), (other_id, other_token, 404)):
        log = http(
            base, "GET", f"/v1/Account/{auth_id}/Call/{call_uuid}/DebugLog/",
            credentials=(auth_id, token),
        )  # fmt: skip
        assert log.status == status, auth_id


@pytest.mark.parametrize("legs", ["bleg", "both"])
def test_transfer_moves_the_bridged_b_leg_to_its_own_document(
    server: ServerProcess, client: plivo.RestClient, tmp_path: Path, legs: str
) -> None:
    """alice (the sub-account's endpoint, running its application) Dials bob. legs=bleg:
    bob hears bleg_url's tone and alice leaves the Dial for its next verb (plivo.md §2.7: a
    Dial whose B leg leaves goes on, as when it hangs up); legs=both: alice hears aleg_url's."""
    shop, _, shop_token = subaccount(client, "shop")
    tones = {hz: tone_file(tmp_path / f"{hz}.wav", hz, 3.0) for hz in (500, 700, 900)}
    with ApplicationServer(
        {"/hangup": ""}, files={f"/{hz}.wav": t for hz, t in tones.items()}
    ) as app:
        desk = shop.applications.create(
            app_name="desk", answer_url=app.url("/answer"), hangup_url=app.url("/hangup")
        )
        alice = shop.endpoints.create("alice", "alice-secret", "Alice", app_id=desk.app_id)
        bob = shop.endpoints.create("bob", "bob-secret", "Bob").username
        dial = f"<Dial><User>sip:{bob}@phone.local</User></Dial>"
        app.routes |= {
            "/answer": f"<Response>{dial}<Play>{app.url('/700.wav')}</Play>{WAIT}",
            "/aleg": f"<Response><Play>{app.url('/500.wav')}</Play>{WAIT}",
            "/bleg": f"<Response><Play>{app.url('/900.wav')}</Play>{WAIT}",
        }
        before = baseline(server, client)
        alice_heard, bob_heard = tmp_path / "alice.wav", tmp_path / "bob.wav"
        with (
            Phone(alice.username, server.sip_port, password="alice-secret",
                  record_path=alice_heard, tone_hz=1300) as caller,
            Phone(bob, server.sip_port, password="bob-secret", record_path=bob_heard,
                  tone_hz=440, auto_answer=200) as callee,
        ):  # fmt: skip
            caller.register()
            callee.register()
            caller.call("sip:desk@phone.local")
            callee.wait_for("call_state", state="CONFIRMED")
            caller.wait_for("call_state", state="CONFIRMED")
            started = time.monotonic()
            a_uuid = wait_until(lambda: app.requests_to("/answer"))[0].params["CallUUID"]
            time.sleep(1.2)
            urls = {"aleg_url": app.url("/aleg")} if legs == "both" else {}
            reply = shop.calls.transfer(a_uuid, legs=legs, bleg_url=app.url("/bleg"), **urls)
            moved = wait_until(lambda: app.requests_to("/bleg"))[0]
            moved_at = time.monotonic() - started
            time.sleep(2.0)
            b_uuid = moved.params["CallUUID"]
            assert {a_uuid, b_uuid} <= set(shop.live_calls.list_ids().calls)
            shop.calls.hangup(a_uuid)
            shop.calls.hangup(b_uuid)
            caller.wait_for("call_state", state="DISCONNECTED")
            callee.wait_for("call_state", state="DISCONNECTED")
        [a_hangup] = wait_until(lambda: app.requests_to("/hangup"))
        b_hangup = wait_until(lambda: app.requests_to("/bleg")[1:])[0]
        a_requests = app.requests_to("/answer") + app.requests_to("/aleg")
    assert reply.message == "call transferred"
    assert abs(dominant_between(alice_heard, 0.3, 1.0) - 440) < 15  # bridged to bob
    assert abs(dominant_between(bob_heard, 0.3, 1.0) - 1300) < 15  # bridged to alice
    assert abs(dominant_between(bob_heard, moved_at + 0.3, moved_at + 1.5) - 900) < 15
    alice_tone = 500 if legs == "both" else 700
    assert abs(dominant_between(alice_heard, moved_at + 0.3, moved_at + 1.5) - alice_tone) < 15
    assert (moved.params["Direction"], moved.params["ALegUUID"]) == ("outbound", a_uuid)
    assert len(app.requests_to("/aleg")) == (1 if legs == "both" else 0)
    for request in (*a_requests, moved, a_hangup, b_hangup):
        assert_signed_for(request, shop_token)
    assert b_hangup.params["HangupSource"] == "API Request"
    assert_no_leaks(server, before, counters=CALL_COUNTERS)
    records = {record.call_uuid: record for record in shop.calls.list(limit=5)}
    assert records[b_uuid].parent_call_uuid == a_uuid
    assert records[a_uuid].hangup_source == records[b_uuid].hangup_source == "API Request"


@requires_sipp
def test_a_carriers_call_to_a_sub_accounts_number_is_its_own(
    server: ServerProcess, client: plivo.RestClient
) -> None:
    """SIPp as the carrier calls the sub-account's number, which runs its application."""
    shop, shop_id, shop_token = subaccount(client, "shop")
    other, _, _ = subaccount(client, "other")
    number = "15550002222"
    server.cli("carrier", "incoming", "add", "trunk", "127.0.0.1")
    with ApplicationServer({"/answer": "<Response><Speak>Hello</Speak></Response>"}) as app:
        desk = shop.applications.create(app_name="desk", answer_url=app.url("/answer"))
        server.cli("number", "add", number, "--app", desk.app_id, "--sub-account", shop_id)
        before = baseline(server, client)
        result = run_sipp("carrier_call.xml", f"127.0.0.1:{server.sip_port}", "-s", number)
        assert result.returncode == 0, result.stdout + result.stderr
        # No hangup_url: the answer URL hears the hangup too (plivo.md §3).
        fetched, hangup = wait_until(lambda: app.requests_to("/answer")[1:] and app.requests)
    assert (fetched.params["CallStatus"], hangup.params["CallStatus"]) == ("ringing", "completed")
    for request in (fetched, hangup):
        assert_signed_for(request, shop_token)
    assert_no_leaks(server, before, counters=CALL_COUNTERS)
    call_uuid = fetched.params["CallUUID"]
    [record] = [r for r in shop.calls.list(limit=5) if r.call_uuid == call_uuid]
    assert (record.call_direction, record.to_number) == ("inbound", number)
    assert call_uuid not in [r.call_uuid for r in other.calls.list(limit=20)]
