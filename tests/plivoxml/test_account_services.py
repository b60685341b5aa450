"""One account's services: a sub-account's calls have their webhooks signed with its token
(the -Ma- headers with the main account's, plivo.md §5), validated with the official SDK, and
their recordings filed as its own; the main account's calls sign both with the main token."""

from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from plivo.utils import validate_signature, validate_v3_signature

from mediaserver.clock import SystemClock
from mediaserver.plivoxml.application_calls import ApplicationCalls
from mediaserver.plivoxml.recording_archive import RecordingArchive
from mediaserver.plivoxml.signature import (
    NONCE_V2,
    NONCE_V3,
    SIGNATURE_MA_V2,
    SIGNATURE_MA_V3,
    SIGNATURE_V2,
    SIGNATURE_V3,
)
from mediaserver.store.database import open_database
from mediaserver.store.recordings import Recording, SqliteRecordings
from tests.plivoxml.application_server import ApplicationServer, Received

MAIN_TOKEN = "MainAccountToken9876543210"
SHOP = "SA0000000000000000SH"
SHOP_TOKEN = "ShopToken0123456789abcdef"
PARAMS = {"CallUUID": "c-1", "From": "15550001111", "To": "sip:bob@phone.local"}


@pytest.fixture
async def applications(tmp_path: Path) -> AsyncIterator[ApplicationCalls]:
    rows = SqliteRecordings(open_database(tmp_path / "db.sqlite"))
    archive = RecordingArchive(tmp_path / "recordings", rows, "http://api.test", "MA1", MAIN_TOKEN)
    calls = ApplicationCalls(
        SystemClock(), None, "phone.local", archive, tmp_path / "sounds",  # type: ignore[arg-type]
        MAIN_TOKEN, subaccount_token={SHOP: SHOP_TOKEN}.get,
    )  # fmt: skip
    calls.start()
    yield calls
    await calls.close()


def signed_with(received: Received, token: str, main_token: str) -> bool:
    headers, form = received.headers, received.form
    v3_nonce, v2_nonce, url = headers[NONCE_V3], headers[NONCE_V2], received.url
    return all(
        (
            validate_v3_signature("POST", url, v3_nonce, token, headers[SIGNATURE_V3], form),
            validate_v3_signature(
                "POST", url, v3_nonce, main_token, headers[SIGNATURE_MA_V3], form
            ),
            validate_signature(url, v2_nonce, headers[SIGNATURE_V2], token),
            validate_signature(url, v2_nonce, headers[SIGNATURE_MA_V2], main_token),
        )
    )


@pytest.mark.parametrize(
    ("sub_account", "token"),
    [(SHOP, SHOP_TOKEN), (None, MAIN_TOKEN), ("SA00000000000000GONE", MAIN_TOKEN)],
)
async def test_an_accounts_webhooks_are_signed_with_its_token(
    applications: ApplicationCalls, app: ApplicationServer, sub_account: str | None, token: str
) -> None:
    """A removed sub-account's call (its token gone) is signed with the main token."""
    app.answer("/answer", "<Response/>")
    webhooks = applications.services_for(sub_account).webhooks
    await webhooks.fetch_document(app.url("/answer"), "POST", PARAMS)
    [received] = app.received("/answer")
    assert received.form == PARAMS
    assert signed_with(received, token, MAIN_TOKEN)
    assert signed_with(received, SHOP_TOKEN, MAIN_TOKEN) is (token == SHOP_TOKEN)


def test_a_sub_accounts_recordings_are_its_own(applications: ApplicationCalls) -> None:
    recording = Recording("r1", "c-1", "wav", "call", "r1.wav", 1000, 0, 1000, 1.0)
    applications.services_for(SHOP).recordings.add(recording)
    applications.services_for(None).recordings.add(replace(recording, recording_id="r2"))
    rows = applications.archive.rows
    assert [(r.recording_id, r.sub_account) for r in (rows.get("r1"), rows.get("r2")) if r] == [
        ("r1", SHOP),
        ("r2", None),
    ]
