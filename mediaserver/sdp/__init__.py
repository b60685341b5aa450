"""SDP, pure: session descriptions (RFC 4566) and offer/answer (RFC 3264)."""
