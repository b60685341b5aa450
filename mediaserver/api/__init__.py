"""The HTTP side: /metrics now; the Plivo-compatible REST API arrives with its issue."""
