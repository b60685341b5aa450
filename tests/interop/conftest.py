"""Fixtures of the browser tests: the test pages' own HTTP origin."""

from collections.abc import AsyncIterator

import pytest

from tests.interop.chromium import PageServer


@pytest.fixture
async def pages() -> AsyncIterator[PageServer]:
    """The test pages and bundles, served from http://127.0.0.1:PORT."""
    served = PageServer()
    await served.start()
    yield served
    await served.close()
