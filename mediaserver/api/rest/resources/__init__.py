"""One module per Plivo resource, each building its `Route`s (see mediaserver.api.rest)."""
