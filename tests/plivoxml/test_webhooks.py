"""Webhooks against small local application servers: parameters, query merging, signatures as
the receiving side validates them with the official SDK, retries, fallback, limits, callbacks,
and a slow application server that holds up nobody else."""

import asyncio
import logging
import socket
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from aiohttp import web
from plivo.utils import validate_signature, validate_v3_signature

from mediaserver.clock import SystemClock
from mediaserver.plivoxml.signature import (
    NONCE_V2,
    NONCE_V3,
    SIGNATURE_HEADERS,
    SIGNATURE_MA_V2,
    SIGNATURE_MA_V3,
    SIGNATURE_V2,
    SIGNATURE_V3,
    RequestSigner,
)
from mediaserver.plivoxml.webhooks import (
    BODY_LIMIT_BYTES,
    Webhook,
    WebhookClient,
    WebhookError,
    WebhookExchange,
    WebhookFailure,
)
from tests.plivoxml.application_server import ApplicationServer, Received

SUB_TOKEN = "SubAccountToken0123456789"
MAIN_TOKEN = "MainAccountToken9876543210"
SIGNER = RequestSigner(SUB_TOKEN, MAIN_TOKEN)
CALL = {
    "CallUUID": "5b5a2b8a-0d3c-4a8e-9d52-1f0c1f1e2a11",
    "From": "sip:alice@phone.local",
    "To": "15550001111",
    "CallStatus": "ringing",
    "Direction": "inbound",
    "CallerName": "Alice & Bob + Co = 100%",
}
DOCUMENT = "<Response><Speak>Hello</Speak></Response>"
TIMEOUT = 1.0
ATTEMPTS = 3


class Exchanges(list[WebhookExchange]):
    def attempts(self) -> list[int]:
        return [exchange.attempt for exchange in self]


@pytest.fixture
def exchanges() -> Exchanges:
    return Exchanges()


ClientFactory = Callable[..., WebhookClient]


@pytest.fixture
async def client_factory(exchanges: Exchanges) -> AsyncIterator[ClientFactory]:
    """Started clients reporting to `exchanges`; at the end of the test each is closed and
    checked for leaks: nothing in flight, no callback pending, its session closed."""
    clients: list[WebhookClient] = []

    def started(**options: Any) -> WebhookClient:
        client = WebhookClient(SystemClock(), exchanges.append, **options)
        client.start()
        clients.append(client)
        return client

    yield started
    for client in clients:
        await client.close()
        statistics = client.statistics()
        assert (statistics["in_flight"], statistics["notifications"]) == (0, 0)
        assert statistics["sessions_open"] == 0


@pytest.fixture
async def client(client_factory: ClientFactory) -> WebhookClient:
    return client_factory(timeout=TIMEOUT, attempts=ATTEMPTS, retry_delay=0.01)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def assert_signed(received: Received, params: dict[str, str]) -> None:
    """Validate as a Plivo application would: the official SDK, the URL as the server saw it,
    the parameters as they arrived; the plain headers with the sub-account's token, the -Ma-
    ones with the main account's."""
    headers = received.headers
    v3_nonce, v2_nonce = headers[NONCE_V3], headers[NONCE_V2]
    for header, token in ((SIGNATURE_V3, SUB_TOKEN), (SIGNATURE_MA_V3, MAIN_TOKEN)):
        assert validate_v3_signature(
            received.method, received.url, v3_nonce, token, headers[header], dict(params)
        ), header
    for header, token in ((SIGNATURE_V2, SUB_TOKEN), (SIGNATURE_MA_V2, MAIN_TOKEN)):
        assert validate_signature(received.url, v2_nonce, headers[header], token), header


# -- parameters --------------------------------------------------------------------------------


async def test_post_sends_the_parameters_form_encoded(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/answer", DOCUMENT)
    params = {**CALL, "CallerName": "José Ñúñez & Co", "X-PH-Room": "a b+c"}
    text = await client.fetch(Webhook(app.url("/answer"), "POST"), params, signer=SIGNER)
    assert text == DOCUMENT
    (received,) = app.requests
    assert received.method == "POST"
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.form == params
    assert received.query == {}
    assert_signed(received, received.form)


async def test_get_sends_the_parameters_in_the_query(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/answer", DOCUMENT)
    assert await client.fetch(Webhook(app.url("/answer"), "GET"), CALL, signer=SIGNER) == DOCUMENT
    (received,) = app.requests
    assert (received.method, received.query, received.form) == ("GET", CALL, {})
    assert_signed(received, received.query)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_query_string_parameters_join_the_parameter_set(
    app: ApplicationServer, client: WebhookClient, method: str
) -> None:
    app.answer("/answer")
    url = app.url("/answer?app=ivr&menu=main%20menu&CallUUID=from-the-url")
    await client.fetch(Webhook(url, method), CALL, signer=SIGNER)
    (received,) = app.requests
    merged = {"app": "ivr", "menu": "main menu", **CALL}
    if method == "GET":
        # The query string is rebuilt from the merged set; the call's own values win.
        assert received.query == merged
    else:
        assert received.form == merged
        assert received.query == {"app": "ivr", "menu": "main menu", "CallUUID": "from-the-url"}
    assert_signed(received, received.form)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_signatures_cover_the_url_as_sent_when_it_needed_encoding(
    app: ApplicationServer, client: WebhookClient, method: str
) -> None:
    """A path with spaces, non-ASCII and percent-escapes is encoded once, before signing, so
    the signature covers the bytes the server sees."""
    app.answer("/été à/x y")
    await client.fetch(Webhook(app.url("/été à/x%20y?q=%41"), method), CALL, signer=SIGNER)
    (received,) = app.requests
    assert received.url.startswith(app.url("/%C3%A9t%C3%A9%20%C3%A0/x%20y?"))
    assert_signed(received, received.form)


async def test_each_exchange_is_reported_with_what_was_sent(
    app: ApplicationServer, client: WebhookClient, exchanges: Exchanges
) -> None:
    app.answer("/answer", DOCUMENT)
    await client.fetch(Webhook(app.url("/answer?x=1"), "POST"), CALL, signer=SIGNER)
    (exchange,) = exchanges
    (received,) = app.requests
    assert (exchange.url, exchange.method, exchange.status) == (received.url, "POST", 200)
    assert (exchange.error, exchange.attempt) == (None, 1)
    assert exchange.params == received.form
    assert exchange.signature_headers == {
        name: received.headers[name] for name in SIGNATURE_HEADERS
    }
    assert 0 < exchange.latency_ms < TIMEOUT * 1000


async def test_the_body_is_decoded_with_its_charset(
    app: ApplicationServer, client: WebhookClient
) -> None:
    async def latin1(request: web.Request) -> web.Response:
        body = "<Response><Speak>Señor</Speak></Response>".encode("latin-1")
        return web.Response(body=body, content_type="text/xml", charset="iso-8859-1")

    app.route("/answer", latin1)
    text = await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert text == "<Response><Speak>Señor</Speak></Response>"


async def test_applications_do_not_share_cookies(
    app: ApplicationServer, client: WebhookClient
) -> None:
    async def sets_cookie(request: web.Request) -> web.Response:
        response = web.Response(text=DOCUMENT)
        response.set_cookie("session", "secret-of-another-account")
        return response

    app.route("/login", sets_cookie)
    app.answer("/answer")
    await client.fetch(Webhook(app.url("/login")), CALL, signer=SIGNER)
    await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert "Cookie" not in app.received("/answer")[0].headers


# -- retries and fallback ----------------------------------------------------------------------


async def test_a_5xx_is_retried_until_the_attempts_are_spent(
    app: ApplicationServer, client: WebhookClient, exchanges: Exchanges
) -> None:
    app.answer("/answer", "busy", status=503)
    before = client.statistics()
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert (raised.value.failure, raised.value.status) == (WebhookFailure.HTTP_STATUS, 503)
    assert "HTTP 503" in str(raised.value)
    assert len(app.requests) == ATTEMPTS
    assert exchanges.attempts() == [1, 2, 3]
    assert [exchange.status for exchange in exchanges] == [503] * ATTEMPTS
    after = client.statistics()
    assert after["requests"] - before["requests"] == ATTEMPTS
    assert after["failures"] - before["failures"] == ATTEMPTS


async def test_a_retry_that_succeeds_returns_the_document(
    app: ApplicationServer, client: WebhookClient, exchanges: Exchanges
) -> None:
    async def fails_once(request: web.Request) -> web.Response:
        if len(app.requests) == 1:
            return web.Response(status=500)
        return web.Response(text=DOCUMENT)

    app.route("/answer", fails_once)
    assert await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER) == DOCUMENT
    assert [(exchange.attempt, exchange.status) for exchange in exchanges] == [(1, 500), (2, 200)]
    # Every attempt is signed afresh: a new nonce, and it validates.
    first, second = app.requests
    assert first.headers[NONCE_V3] != second.headers[NONCE_V3]
    assert_signed(second, second.form)


async def test_a_404_is_not_retried(
    app: ApplicationServer, client: WebhookClient, exchanges: Exchanges
) -> None:
    app.answer("/answer", "no such app", status=404)
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert raised.value.status == 404
    assert not raised.value.retryable
    assert len(app.requests) == 1
    assert exchanges.attempts() == [1]


async def test_an_unreachable_server_is_retried_then_reported(
    client: WebhookClient, exchanges: Exchanges
) -> None:
    url = f"http://127.0.0.1:{closed_port()}/answer"
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(url), CALL, signer=SIGNER)
    assert raised.value.failure is WebhookFailure.UNREACHABLE
    assert exchanges.attempts() == [1, 2, 3]
    assert all(exchange.status is None and exchange.error for exchange in exchanges)


async def test_the_fallback_is_used_with_its_method_after_the_primary_fails(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/answer", status=500)
    app.answer("/fallback", DOCUMENT)
    text = await client.fetch(
        Webhook(app.url("/answer"), "POST"),
        CALL,
        signer=SIGNER,
        fallback=Webhook(app.url("/fallback"), "GET"),
    )
    assert text == DOCUMENT
    assert len(app.received("/answer")) == ATTEMPTS
    (fallback,) = app.received("/fallback")
    assert (fallback.method, fallback.query) == ("GET", CALL)
    assert_signed(fallback, fallback.query)


async def test_when_the_fallback_fails_too_its_error_is_raised(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/fallback", status=404)
    dead = f"http://127.0.0.1:{closed_port()}/answer"
    with pytest.raises(WebhookError) as raised:
        await client.fetch(
            Webhook(dead), CALL, signer=SIGNER, fallback=Webhook(app.url("/fallback"))
        )
    assert (raised.value.status, raised.value.url) == (404, app.url("/fallback"))


# -- limits and bad input ---------------------------------------------------------------------


async def test_a_slow_answer_times_out_and_is_retried(
    app: ApplicationServer, client: WebhookClient, exchanges: Exchanges
) -> None:
    async def never(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.Response(text=DOCUMENT)

    app.route("/answer", never)
    clock = SystemClock()
    started = clock.now()
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    elapsed = clock.now() - started
    assert raised.value.failure is WebhookFailure.TIMEOUT
    assert f"{TIMEOUT:g} s" in str(raised.value)
    assert exchanges.attempts() == [1, 2, 3]
    assert ATTEMPTS * TIMEOUT <= elapsed < ATTEMPTS * TIMEOUT + 2


async def test_a_body_of_exactly_the_limit_is_accepted(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/answer", "x" * BODY_LIMIT_BYTES)
    text = await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert len(text) == BODY_LIMIT_BYTES


async def test_a_bigger_body_is_refused_naming_the_limit(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/answer", "x" * (BODY_LIMIT_BYTES + 1))
    with pytest.raises(WebhookError, match="100 KB") as raised:
        await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert raised.value.failure is WebhookFailure.TOO_LARGE
    assert len(app.requests) == 1


async def test_an_endless_chunked_body_is_refused_without_reading_it_all(
    app: ApplicationServer, client: WebhookClient
) -> None:
    """No Content-Length, and the body never ends: only reading at most the limit returns."""
    written: list[int] = []

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        try:
            while True:
                await response.write(b"<" * 16384)
                written.append(16384)
        except ConnectionError:
            return response  # the client hung up, as it should

    app.route("/answer", endless)
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(app.url("/answer")), CALL, signer=SIGNER)
    assert raised.value.failure is WebhookFailure.TOO_LARGE
    assert sum(written) < 100 * BODY_LIMIT_BYTES


@pytest.mark.parametrize("method", ["PUT", "DELETE", "get", ""])
async def test_a_method_other_than_get_or_post_is_refused_unsent(
    app: ApplicationServer, client: WebhookClient, method: str
) -> None:
    app.answer("/answer")
    with pytest.raises(WebhookError, match=f"{method!r} is not GET or POST") as raised:
        await client.fetch(Webhook(app.url("/answer"), method), CALL, signer=SIGNER)
    assert raised.value.failure is WebhookFailure.BAD_METHOD
    assert app.requests == []


@pytest.mark.parametrize("url", ["/answer", "ftp://127.0.0.1/answer", "http:///answer", ""])
async def test_a_url_that_is_not_absolute_http_is_refused(
    client: WebhookClient, exchanges: Exchanges, url: str
) -> None:
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(url), CALL, signer=SIGNER)
    assert raised.value.failure is WebhookFailure.INVALID_URL
    assert exchanges == []


# -- redirects ---------------------------------------------------------------------------------


def redirect(status: int, location: str) -> web.Response:
    return web.Response(status=status, headers={"Location": location})


@pytest.mark.parametrize(("status", "method"), [(302, "GET"), (303, "GET"), (307, "POST")])
async def test_redirects_are_followed_and_every_hop_is_signed(
    app: ApplicationServer, client: WebhookClient, status: int, method: str
) -> None:
    async def moved(request: web.Request) -> web.Response:
        return redirect(status, "/moved?step=2")

    app.route("/answer", moved)
    app.answer("/moved", DOCUMENT)
    assert await client.fetch(Webhook(app.url("/answer"), "POST"), CALL, signer=SIGNER) == DOCUMENT
    (hop,) = app.received("/moved")
    assert hop.method == method
    assert (hop.query if method == "GET" else hop.form) == {"step": "2", **CALL}
    assert_signed(hop, hop.form)


async def test_a_redirect_loop_is_cut_off(
    app: ApplicationServer, client_factory: ClientFactory, exchanges: Exchanges
) -> None:
    async def loop(request: web.Request) -> web.Response:
        return redirect(302, request.path)

    app.route("/loop", loop)
    client = client_factory(max_redirects=4, attempts=3)
    with pytest.raises(WebhookError) as raised:
        await client.fetch(Webhook(app.url("/loop")), CALL, signer=SIGNER)
    assert raised.value.failure is WebhookFailure.TOO_MANY_REDIRECTS
    assert len(app.requests) == 5
    assert exchanges.attempts() == [1] * 5


# -- callbacks ---------------------------------------------------------------------------------


async def test_notify_sends_in_the_background(
    app: ApplicationServer, client: WebhookClient
) -> None:
    app.answer("/hangup", "ignored")
    hangup = {**CALL, "HangupCause": "NORMAL_CLEARING", "Duration": "12"}
    client.notify(Webhook(app.url("/hangup"), "POST"), hangup, signer=SIGNER)
    assert client.statistics()["notifications"] == 1
    await client.close()  # waits for callbacks in flight
    (received,) = app.requests
    assert received.form == hangup
    assert_signed(received, received.form)


async def test_callback_failures_are_logged_never_raised(
    app: ApplicationServer, client: WebhookClient, caplog: pytest.LogCaptureFixture
) -> None:
    app.answer("/broken", status=500)
    dead = f"http://127.0.0.1:{closed_port()}/hangup"
    with caplog.at_level(logging.WARNING, logger="mediaserver.plivoxml.webhooks"):
        client.notify(Webhook(app.url("/broken")), CALL, signer=SIGNER)
        client.notify(Webhook(dead), CALL, signer=SIGNER)
        client.notify(Webhook(app.url("/broken"), "PATCH"), CALL, signer=SIGNER)
        await client.close()  # waits for callbacks in flight
    failures = [record.getMessage() for record in caplog.records]
    assert len(failures) == 3
    assert any("HTTP 500" in message for message in failures)
    assert any("unreachable" in message for message in failures)
    assert any("'PATCH'" in message for message in failures)
    assert len(app.received("/broken")) == ATTEMPTS


async def test_close_cancels_callbacks_that_outlast_the_grace(
    app: ApplicationServer, client_factory: ClientFactory
) -> None:
    """Close waits one request timeout for callbacks in flight, then cancels them: three
    attempts would take three timeouts, close returns after about one."""

    async def hangs(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.Response()

    app.route("/hangup", hangs)
    client = client_factory(timeout=TIMEOUT, attempts=3)
    client.notify(Webhook(app.url("/hangup")), CALL, signer=SIGNER)
    await app.wait_for("/hangup", 1)
    clock = SystemClock()
    started = clock.now()
    await client.close()
    assert clock.now() - started < 2 * TIMEOUT
    assert len(app.received("/hangup")) < 3
    statistics = client.statistics()
    assert statistics["requests"] == len(app.received("/hangup"))
    assert (statistics["in_flight"], statistics["notifications"]) == (0, 0)
    assert statistics["sessions_open"] == 0


async def test_notify_before_start_is_an_error(exchanges: Exchanges) -> None:
    client = WebhookClient(SystemClock(), exchanges.append)
    with pytest.raises(RuntimeError, match="not started"):
        client.notify(Webhook("http://127.0.0.1/"), CALL, signer=SIGNER)


# -- a slow application server holds up nobody else -------------------------------------------


async def test_slow_application_servers_block_neither_the_loop_nor_other_fetches(
    app: ApplicationServer, client_factory: ClientFactory
) -> None:
    release = asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="<Response><Speak>late</Speak></Response>")

    app.route("/slow", slow)
    app.answer("/fast", DOCUMENT)
    client = client_factory(timeout=30)
    slow_fetches = [
        asyncio.create_task(client.fetch(Webhook(app.url("/slow")), CALL, signer=SIGNER))
        for _ in range(150)
    ]
    async with asyncio.timeout(10):
        await app.wait_for("/slow", len(slow_fetches))
    assert client.statistics()["in_flight"] == len(slow_fetches)

    # 150 requests are held open (more than aiohttp's default pool of 100): the loop stays
    # responsive and each fetch to another application completes promptly.
    clock = SystemClock()
    lags: list[float] = []
    for _ in range(20):
        started = clock.now()
        assert await client.fetch(Webhook(app.url("/fast")), CALL, signer=SIGNER) == DOCUMENT
        lags.append(clock.now() - started)
        tick = clock.now()
        await asyncio.sleep(0.01)
        lags.append(clock.now() - tick - 0.01)
    assert max(lags) < 0.5, max(lags)
    assert all(not fetch.done() for fetch in slow_fetches)

    release.set()
    documents = await asyncio.gather(*slow_fetches)
    assert set(documents) == {"<Response><Speak>late</Speak></Response>"}
    await client.close()
    assert client.statistics()["in_flight"] == 0
