"""The one way a REST handler refuses a request: Plivo's status code and `error` text, which
the API sends as `{"api_id", "error"}` (plivo.md §4, Transport)."""

from http import HTTPStatus


class ApiError(Exception):
    """A refusal the client caused or may retry: always a 4xx. Server faults are not ApiErrors:
    they escape, are logged, and become the one 500 (the SDK re-sends voice requests on 5xx,
    so a client's mistake must never look like one)."""

    def __init__(self, status: int, error: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error

    @classmethod
    def invalid(cls, field: str, problem: str) -> "ApiError":
        return cls(HTTPStatus.BAD_REQUEST, f"{field}: {problem}")

    @classmethod
    def not_found(cls, resource: str, identifier: str) -> "ApiError":
        return cls(HTTPStatus.NOT_FOUND, f"{resource} {identifier} not found")

    @classmethod
    def forbidden(cls, reason: str) -> "ApiError":
        return cls(HTTPStatus.FORBIDDEN, reason)
