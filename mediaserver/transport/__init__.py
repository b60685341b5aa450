"""The only SIP socket code: UDP and TCP transports feeding the pure SIP layer (RFC 3261 §18)."""
