"""The API listener (aiohttp) on the address `[api] listen` names: /metrics for Prometheus,
and the routes and middlewares the other parts hand it (the REST API, recording files)."""

import logging
import ssl
from collections.abc import Sequence

from aiohttp import web
from aiohttp.typedefs import Middleware

from mediaserver.api.server_metrics import ServerMetrics

logger = logging.getLogger(__name__)


class ApiServer:
    def __init__(
        self,
        metrics: ServerMetrics,
        routes: Sequence[web.RouteDef] = (),
        middlewares: Sequence[Middleware] = (),
        client_max_size: int = 1024**2,
    ) -> None:
        self.metrics = metrics
        self._routes = routes
        # Every request is timed, the other middlewares' refusals too.
        self._middlewares = [metrics.timing_middleware, *middlewares]
        self._client_max_size = client_max_size
        self._runner: web.AppRunner | None = None

    async def start(self, listen: str, tls: ssl.SSLContext | None = None) -> None:
        """Listen on `listen` (host:port), with https when `tls` is given."""
        host, _, port = listen.rpartition(":")
        application = web.Application(
            middlewares=self._middlewares, client_max_size=self._client_max_size
        )
        application.router.add_get("/metrics", self.metrics.handler)
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
