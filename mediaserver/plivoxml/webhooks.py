"""The HTTP side of Plivo applications: answer, action and redirect documents fetched, callbacks
sent, every request form-encoded and signed, over one aiohttp client session per server.

Plivo's rules (reference §1): the URL's query-string parameters join the call's parameters,
and for GET the query string is rebuilt from the merged set; answer_url is tried 3 times in
all, then fallback_answer_url; a document is at most 100 KB. Every exchange (each attempt and
each redirect hop) is reported to the observers: the per-call debug log and /metrics' latency
histogram.

A slow or dead application server costs its own call a timeout and nothing else: requests are
awaited on the event loop, never blocking it, and the connection pool is large enough that
slow servers do not queue other calls' requests behind them.
"""

import asyncio
import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urljoin

import aiohttp
from yarl import URL

from mediaserver.clock import Clock
from mediaserver.plivoxml.signature import SIGNED_METHODS, RequestSigner

logger = logging.getLogger(__name__)

# Plivo: "The XML response may be at most 100 KB" (DOCS xml/request).
BODY_LIMIT_BYTES = 100 * 1024
# Plivo retries answer_url 3 times in all before the fallback (DOCS make-a-call).
DEFAULT_ATTEMPTS = 3
# Plivo waits 60 s; a caller hears silence meanwhile, so a few seconds is kinder.
DEFAULT_TIMEOUT = 5.0
DEFAULT_RETRY_DELAY = 0.5
DEFAULT_MAX_REDIRECTS = 10
# aiohttp's default pool of 100 connections would let 100 slow application servers hold up
# every other call's requests; descriptors are plentiful (app.py raises the limit).
DEFAULT_CONNECTION_LIMIT = 1000
# RFC 9110 §15.4: 303 always becomes GET, and 301/302 may (and in practice do); 307/308 keep
# the method and the body.
REDIRECTS_TO_GET = frozenset({301, 302, 303})
REDIRECTS_KEEPING_METHOD = frozenset({307, 308})
REDIRECTS = REDIRECTS_TO_GET | REDIRECTS_KEEPING_METHOD


@dataclass(frozen=True, slots=True)
class Webhook:
    """An application URL and the method to request it with, as Plivo XML and the
    application's settings name them (answer_url/answer_method, action/method, ...)."""

    url: str
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class WebhookExchange:
    """One HTTP request and its outcome: what the per-call debug log records."""

    url: str
    method: str
    params: Mapping[str, str]
    status: int | None
    error: str | None
    latency_ms: float
    signature_headers: Mapping[str, str]
    attempt: int


class WebhookFailure(enum.Enum):
    INVALID_URL = "invalid URL"
    BAD_METHOD = "bad method"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    HTTP_STATUS = "HTTP status"
    TOO_LARGE = "too large"
    TOO_MANY_REDIRECTS = "too many redirects"


class WebhookError(Exception):
    """Why a webhook failed; the interpreter maps it to Plivo's 7011-7034 hangup causes."""

    def __init__(
        self, failure: WebhookFailure, url: str, detail: str, status: int | None = None
    ) -> None:
        super().__init__(f"{failure.value}: {detail} ({url})")
        self.failure = failure
        self.url = url
        self.detail = detail
        self.status = status

    @property
    def retryable(self) -> bool:
        """Connection errors, timeouts and 5xx may pass; a 4xx or a bad document will not."""
        if self.failure is WebhookFailure.HTTP_STATUS:
            return self.status is not None and self.status >= 500
        return self.failure in (WebhookFailure.UNREACHABLE, WebhookFailure.TIMEOUT)


@dataclass(frozen=True, slots=True)
class OutgoingRequest:
    """One request as it goes on the wire: `params` are the form (POST) or, rebuilt from
    them, `url`'s query (GET)."""

    method: str
    url: str
    params: Mapping[str, str]

    @classmethod
    def prepare(cls, method: str, url: str, params: Mapping[str, str]) -> "OutgoingRequest":
        if method not in SIGNED_METHODS:
            raise WebhookError(WebhookFailure.BAD_METHOD, url, f"{method!r} is not GET or POST")
        target = _absolute_url(url)
        # The call's own parameters win over a query parameter of the same name; a name
        # repeated in the query keeps its last value.
        merged = dict(parse_qsl(target.raw_query_string, keep_blank_values=True)) | dict(params)
        if method == "GET" and merged:
            return cls(method, f"{target.with_query(None)}?{urlencode(merged)}", merged)
        return cls(method, str(target), merged)

    def redirected(
        self, status: int, location: str, params: Mapping[str, str]
    ) -> "OutgoingRequest":
        method = "GET" if status in REDIRECTS_TO_GET else self.method
        return OutgoingRequest.prepare(method, urljoin(self.url, location), params)

    @property
    def form(self) -> Mapping[str, str] | None:
        return self.params if self.method == "POST" else None


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    location: str | None = None
    text: str = ""


class WebhookClient:
    """Fetches documents and sends callbacks for every call of one server."""

    def __init__(
        self,
        clock: Clock,
        observer: Callable[[WebhookExchange], None],
        *,
        timeout: float = DEFAULT_TIMEOUT,
        attempts: int = DEFAULT_ATTEMPTS,
        retry_delay: float = DEFAULT_RETRY_DELAY,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        connection_limit: int = DEFAULT_CONNECTION_LIMIT,
    ) -> None:
        self._clock = clock
        self._observers = [observer]
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._attempts = attempts
        self._retry_delay = retry_delay
        self._max_redirects = max_redirects
        self._connection_limit = connection_limit
        self._session: aiohttp.ClientSession | None = None
        self._notifications: set[asyncio.Task[None]] = set()
        self._in_flight = 0
        self._counts = {"requests": 0, "failures": 0}

    def observe(self, observer: Callable[[WebhookExchange], None]) -> None:
        """Report every exchange to `observer` too."""
        self._observers.append(observer)

    def start(self) -> None:
        # No cookie jar: one session serves every account's applications, which must not
        # see each other's cookies.
        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._connection_limit),
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._timeout,
        )

    async def close(self) -> None:
        """Callbacks still in flight get one request timeout to finish, then are cancelled."""
        if self._notifications:
            grace = self._timeout.total
            _, unfinished = await asyncio.wait(set(self._notifications), timeout=grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def statistics(self) -> dict[str, int]:
        return {
            **self._counts,
            "in_flight": self._in_flight,
            "notifications": len(self._notifications),
            "sessions_open": 0 if self._session is None else 1,
        }

    async def fetch(
        self,
        webhook: Webhook,
        params: Mapping[str, str],
        *,
        signer: RequestSigner,
        fallback: Webhook | None = None,
    ) -> str:
        """The document at `webhook` (answer_url, an action, a redirect), trying `fallback`
        when it fails; raises WebhookError saying why the last one failed."""
        try:
            return await self._with_retries(webhook, params, signer)
        except WebhookError as error:
            if fallback is None:
                raise
            logger.info("%s; trying the fallback %s", error, fallback.url)
        return await self._with_retries(fallback, params, signer)

    def notify(self, webhook: Webhook, params: Mapping[str, str], *, signer: RequestSigner) -> None:
        """Send a callback (hangup_url, a non-redirecting action, callbackUrl) in the
        background; its failure is logged, never raised to the call."""
        if self._session is None:
            raise RuntimeError("the webhook client is not started")
        task = asyncio.get_running_loop().create_task(self._notify(webhook, params, signer))
        self._notifications.add(task)
        task.add_done_callback(self._notifications.discard)

    async def _notify(
        self, webhook: Webhook, params: Mapping[str, str], signer: RequestSigner
    ) -> None:
        try:
            await self._with_retries(webhook, params, signer)
        except WebhookError as error:
            logger.warning("callback failed: %s", error)

    async def _with_retries(
        self, webhook: Webhook, params: Mapping[str, str], signer: RequestSigner
    ) -> str:
        attempt = 1
        while True:
            try:
                return await self._attempt(webhook, params, signer, attempt)
            except WebhookError as error:
                if not error.retryable or attempt >= self._attempts:
                    raise
                logger.info("attempt %d of %d: %s", attempt, self._attempts, error)
            attempt += 1
            await asyncio.sleep(self._retry_delay)

    async def _attempt(
        self, webhook: Webhook, params: Mapping[str, str], signer: RequestSigner, attempt: int
    ) -> str:
        """One attempt, following up to `max_redirects` redirects, each hop signed anew (a
        signature covers its own URL) and carrying the call's parameters again."""
        request = OutgoingRequest.prepare(webhook.method, webhook.url, params)
        for _ in range(self._max_redirects + 1):
            answer = await self._exchange(request, signer, attempt)
            if answer.location is None:
                return answer.text
            request = request.redirected(answer.status, answer.location, params)
        detail = f"more than {self._max_redirects} redirects"
        raise WebhookError(WebhookFailure.TOO_MANY_REDIRECTS, webhook.url, detail)

    async def _exchange(
        self, request: OutgoingRequest, signer: RequestSigner, attempt: int
    ) -> _Answer:
        headers = signer.headers(request.method, request.url, request.params)
        started = self._clock.now()
        self._counts["requests"] += 1
        self._in_flight += 1
        try:
            answer = await self._send(request, headers)
        except WebhookError as error:
            self._counts["failures"] += 1
            self._report(request, headers, attempt, started, error.status, str(error))
            raise
        finally:
            self._in_flight -= 1
        self._report(request, headers, attempt, started, answer.status, None)
        return answer

    async def _send(self, request: OutgoingRequest, headers: Mapping[str, str]) -> _Answer:
        if self._session is None:
            raise RuntimeError("the webhook client is not started")
        try:
            async with self._session.request(
                request.method,
                URL(request.url, encoded=True),
                data=request.form,
                headers=headers,
                allow_redirects=False,
            ) as response:
                return await self._answer(request.url, response)
        except TimeoutError as error:
            detail = f"no answer within {self._timeout.total:g} s"
            raise WebhookError(WebhookFailure.TIMEOUT, request.url, detail) from error
        except aiohttp.ClientError as error:
            detail = str(error) or type(error).__name__
            raise WebhookError(WebhookFailure.UNREACHABLE, request.url, detail) from error

    async def _answer(self, url: str, response: aiohttp.ClientResponse) -> _Answer:
        location = response.headers.get("Location")
        if response.status in REDIRECTS and location is not None:
            return _Answer(response.status, location=location)
        if not 200 <= response.status < 300:
            detail = f"HTTP {response.status} {response.reason or ''}".rstrip()
            raise WebhookError(WebhookFailure.HTTP_STATUS, url, detail, response.status)
        body = await _read_limited(url, response)
        return _Answer(response.status, text=_decode(body, response.charset))

    def _report(
        self,
        request: OutgoingRequest,
        headers: Mapping[str, str],
        attempt: int,
        started: float,
        status: int | None,
        error: str | None,
    ) -> None:
        latency_ms = (self._clock.now() - started) * 1000
        exchange = WebhookExchange(
            request.url,
            request.method,
            request.params,
            status,
            error,
            latency_ms,
            headers,
            attempt,
        )
        for observer in self._observers:
            observer(exchange)


async def _read_limited(url: str, response: aiohttp.ClientResponse) -> bytes:
    """The body, never holding more than the limit and one byte: a bigger one is refused
    as soon as it shows (by Content-Length, or by reading one byte past the limit)."""
    if response.content_length is not None and response.content_length > BODY_LIMIT_BYTES:
        raise _too_large(url)
    body = bytearray()
    while chunk := await response.content.read(BODY_LIMIT_BYTES + 1 - len(body)):
        body += chunk
        if len(body) > BODY_LIMIT_BYTES:
            raise _too_large(url)
    return bytes(body)


def _too_large(url: str) -> WebhookError:
    detail = f"the body is over the 100 KB limit ({BODY_LIMIT_BYTES} bytes)"
    return WebhookError(WebhookFailure.TOO_LARGE, url, detail)


def _decode(body: bytes, charset: str | None) -> str:
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        # An unknown charset name: the document is XML, whose default is UTF-8.
        return body.decode("utf-8", errors="replace")


def _absolute_url(url: str) -> URL:
    """`url` with what the wire needs percent-encoded, as aiohttp will send it (so the
    signature covers the very bytes the application server sees)."""
    try:
        target = URL(url).with_fragment(None)
    except ValueError as error:
        raise WebhookError(WebhookFailure.INVALID_URL, url, str(error)) from error
    if target.scheme not in ("http", "https") or not target.host:
        raise WebhookError(WebhookFailure.INVALID_URL, url, "not an absolute http(s) URL")
    return target
