"""A Plivo-compatible SIP/RTP media server in one asyncio program."""
