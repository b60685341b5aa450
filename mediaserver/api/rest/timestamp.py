"""Times as Plivo's REST API writes and filters them: `2024-05-01 13:17:49+00:00` (UTC here),
and `YYYY-MM-DD HH:MM[:SS[.ffffff]]` in the `__gt`/`__lt` filters."""

from datetime import UTC, datetime

from mediaserver.api.rest.api_error import ApiError

_FILTER_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d")


def plivo_time(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d %H:%M:%S+00:00")


def plivo_date(epoch_seconds: float) -> str:
    return datetime.fromtimestamp(epoch_seconds, UTC).strftime("%Y-%m-%d")


def parse_filter_time(field: str, text: str) -> float:
    """Epoch seconds of a filter's time, read as UTC; a 400 naming the field otherwise."""
    for time_format in _FILTER_FORMATS:
        try:
            moment = datetime.strptime(text.strip(), time_format)
        except ValueError:
            continue
        return moment.replace(tzinfo=UTC).timestamp()
    raise ApiError.invalid(field, "must be a time as YYYY-MM-DD HH:MM[:SS[.ffffff]]")
