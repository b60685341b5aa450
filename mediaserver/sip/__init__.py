"""SIP, pure: syntax (RFC 3261 §7, §25), transactions (§17, RFC 6026), digest (RFC 7616).

No I/O, no clock reads: bytes and `now` in, events and bytes out.
"""
