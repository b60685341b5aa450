"""The API listener (aiohttp) on the address `[api] listen` names: /metrics for Prometheus,
and the routes and middlewares the other parts hand it (the REST API, recording files)."""

import logging
import ssl
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from mediaserver.api.metrics import LabelledSource, MetricSource, render

logger = logging.getLogger(__name__)

PROMETHEUS_TEXT = "text/plain; version=0.0.4"


class ApiServer:
    def __init__(
        self,
        sources: list[MetricSource],
        labelled: list[LabelledSource],
        routes: Sequence[web.RouteDef] = (),
        middlewares: Sequence[Middleware] = (),
        client_max_size: int = 1024**2,
    ) -> None:
        self._sources = sources
        self._labelled = labelled
        self._routes = routes
        self._middlewares = middlewares
        self._client_max_size = client_max_size
        self._runner: web.AppRunner | None = None

    async def start(self, listen: str, tls: ssl.SSLContext | None = None) -> None:
        """Listen on `listen` (host:port), with https when `tls` is given."""
        host, _, port = listen.rpartition(":")
        application = web.Application(
            middlewares=self._middlewares, client_max_size=self._client_max_size
        )
        application.router.add_get("/metrics", self._metrics)
        application.router.add_routes(self._routes)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host.strip("[]"), int(port), ssl_context=tls)
        await site.start()
        logger.info("API listening on %s://%s/", "http" if tls is None else "https", listen)

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = render(self._sources, self._labelled)
        return web.Response(text=body, headers={"Content-Type": PROMETHEUS_TEXT})
