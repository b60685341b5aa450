from collections.abc import AsyncIterator

import pytest

from mediaserver.clock import SystemClock
from mediaserver.config import RtpConfig
from mediaserver.media.engine import MediaEngine


@pytest.fixture
async def engine() -> AsyncIterator[MediaEngine]:
    """An engine on 127.0.0.1 whose counters must be back to zero after the test."""
    media = MediaEngine(RtpConfig("127.0.0.1", 20000, 29999), SystemClock())
    yield media
    media.close()
    assert media.statistics().is_idle(), media.statistics()
