"""One server's Prometheus registry: the components' snapshots (metrics.SnapshotCollector) and
the latency histograms measured as things happen: webhook exchanges, call setup (INVITE to
answer) and REST API requests.

A registry per server, not prometheus_client's global one: tests run several servers in one
process, and each one's /metrics must describe that server alone.
"""

import time
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from prometheus_client import CollectorRegistry, Histogram
from prometheus_client.aiohttp import make_aiohttp_handler
from prometheus_client.process_collector import ProcessCollector

from mediaserver.api.metrics import LabelledSource, MetricSource, SnapshotCollector
from mediaserver.calls.leg import Leg
from mediaserver.plivoxml.webhooks import WebhookExchange

# A webhook times out after 5 s (webhooks.DEFAULT_TIMEOUT); an API request should take ms.
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# An inbound call is answered when its application says so (an answer URL fetched, maybe a
# PreAnswer first); an outbound one when its callee picks up, after ringing for up to minutes.
SETUP_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 60.0, 120.0)
UNMATCHED_ROUTE = "unmatched"
# RFC 9110 §9 (and PATCH): any other token a client sends is "other", so no client can grow
# the histogram's label sets.
KNOWN_METHODS = frozenset(
    {"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"}
)

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ServerMetrics:
    def __init__(
        self, sources: Iterable[MetricSource], labelled: Iterable[LabelledSource] = ()
    ) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(SnapshotCollector(sources, labelled))
        ProcessCollector(namespace="mediaserver", registry=self.registry)
        self.webhook_seconds = Histogram(
            "mediaserver_webhook_duration_seconds",
            "Application webhook requests (each attempt and redirect hop), request to answer",
            ["method", "status"],
            registry=self.registry,
            buckets=REQUEST_BUCKETS,
        )
        self.call_setup_seconds = Histogram(
            "mediaserver_call_setup_seconds",
            "Legs from the INVITE (received or sent) to the answer",
            ["direction"],
            registry=self.registry,
            buckets=SETUP_BUCKETS,
        )
        self.api_request_seconds = Histogram(
            "mediaserver_api_request_duration_seconds",
            "Requests to the API listener by route template and method, arrival to response",
            ["method", "route"],
            registry=self.registry,
            buckets=REQUEST_BUCKETS,
        )
        self.handler = make_aiohttp_handler(self.registry)

    def webhook_exchange(self, exchange: WebhookExchange) -> None:
        """The webhook client's observer."""
        status = "error" if exchange.status is None else f"{exchange.status // 100}xx"
        labels = self.webhook_seconds.labels(exchange.method, status)
        labels.observe(exchange.latency_ms / 1000)

    def leg_answered(self, leg: Leg) -> None:
        """The call service's on_leg_answered: both times are the leg's own wall clock."""
        if leg.answer_time is not None:
            setup = max(leg.answer_time - leg.initiation_time, 0.0)
            self.call_setup_seconds.labels(leg.direction or "unknown").observe(setup)

    @web.middleware
    async def timing_middleware(
        self, request: web.Request, handler: _Handler
    ) -> web.StreamResponse:
        """Outermost, so refusals the other middlewares answer are timed too. The route is
        its template (`/v1/Account/{auth_id}/Call/`), never the path: ids stay out of labels."""
        started = time.perf_counter()
        try:
            return await handler(request)
        finally:
            resource = request.match_info.route.resource
            route = UNMATCHED_ROUTE if resource is None else resource.canonical
            method = request.method if request.method in KNOWN_METHODS else "other"
            elapsed = time.perf_counter() - started
            self.api_request_seconds.labels(method, route).observe(elapsed)
