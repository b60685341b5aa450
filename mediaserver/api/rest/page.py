"""Plivo's list pages (plivo.md §4, Pagination): `limit` 1-20 (default 20) and `offset`, and a
`meta` object whose `next` and `previous` are relative URIs of the neighbouring pages, or
null."""

from collections.abc import Sequence
from urllib.parse import urlencode

from mediaserver.api.rest.parameter import Parameter
from mediaserver.api.rest.route import JsonObject, Reply, RestRequest

MAX_LIMIT = 20
PAGE_PARAMETERS = (
    Parameter("limit", "integer", default=MAX_LIMIT, minimum=1, maximum=MAX_LIMIT),
    Parameter("offset", "integer", default=0, minimum=0),
)


def page_reply(request: RestRequest, objects: Sequence[JsonObject]) -> Reply:
    """One page of `objects` (every match, in order), with its meta."""
    limit, offset = page_window(request)
    return counted_page_reply(request, objects[offset : offset + limit], len(objects))


def page_window(request: RestRequest) -> tuple[int, int]:
    """(limit, offset) of the page asked for, for a store that reads only that page."""
    return request.integer("limit"), request.integer("offset")


def counted_page_reply(request: RestRequest, page: Sequence[JsonObject], total: int) -> Reply:
    """The page asked for, already cut out of `total` matches, with its meta."""
    limit, offset = page_window(request)
    meta = {
        "limit": limit,
        "offset": offset,
        "total_count": total,
        "next": _link(request, limit, offset + limit) if offset + limit < total else None,
        "previous": _link(request, limit, max(0, offset - limit)) if offset > 0 else None,
    }
    return Reply(body={"meta": meta, "objects": list(page)})


def _link(request: RestRequest, limit: int, offset: int) -> str:
    query = {**request.query, "limit": str(limit), "offset": str(offset)}
    return f"{request.url_path}?{urlencode(query)}"


def list_schema(object_schema: JsonObject) -> JsonObject:
    """The JSON schema of a page whose objects follow `object_schema`."""
    link = {"type": "string", "nullable": True}
    meta = {
        "type": "object",
        "required": ["limit", "offset", "total_count", "next", "previous"],
        "properties": {
            "limit": {"type": "integer"},
            "offset": {"type": "integer"},
            "total_count": {"type": "integer"},
            "next": link,
            "previous": link,
        },
    }
    return {
        "type": "object",
        "required": ["api_id", "meta", "objects"],
        "properties": {
            "api_id": {"type": "string"},
            "meta": meta,
            "objects": {"type": "array", "items": object_schema},
        },
    }
