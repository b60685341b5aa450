"""Composition root: configuration in, every part built, one TaskGroup, clean stop."""

import asyncio
import contextlib
import logging
import signal

from mediaserver.config import Config
from mediaserver.logs import configure_logging
from mediaserver.store.database import open_database

logger = logging.getLogger(__name__)


def run_server(config: Config) -> int:
    configure_logging(config.log)
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(config))
    else:
        uvloop.run(serve(config))
    return 0


async def serve(config: Config, ready: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or cancellation), then close everything."""
    database = open_database(config.storage.sqlite_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    try:
        logger.info("mediaserver started (SIP domain %s)", config.sip.domain)
        if ready is not None:
            ready.set()
        await stop.wait()
        logger.info("stopping")
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signum)
        database.close()
        logger.info("stopped")
