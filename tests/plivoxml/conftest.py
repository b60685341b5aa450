"""A small application server per test (aiohttp, an ephemeral port), for the tests whose
webhooks go over HTTP."""

from collections.abc import AsyncIterator

import pytest

from tests.plivoxml.application_server import ApplicationServer


@pytest.fixture
async def app() -> AsyncIterator[ApplicationServer]:
    server = ApplicationServer()
    await server.start()
    yield server
    await server.close()
