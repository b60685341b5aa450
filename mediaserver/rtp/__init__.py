"""RTP, pure: packets and RTCP (RFC 3550), telephone-event (RFC 4733), payload types."""
