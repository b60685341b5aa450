"""JSON schemas of response bodies, written briefly: `object_schema(app_id="string",
sub_account="string?")`, where a trailing `?` allows null (OpenAPI 3.0 `nullable`). Every
listed property is required, so a response missing one breaks its schema."""

from mediaserver.api.rest.route import JsonObject

ERROR_SCHEMA: JsonObject = {
    "type": "object",
    "required": ["api_id", "error"],
    "properties": {"api_id": {"type": "string"}, "error": {"type": "string"}},
}


def object_schema(**properties: str) -> JsonObject:
    return {
        "type": "object",
        "required": sorted(properties),
        "properties": {name: _property(kind) for name, kind in properties.items()},
    }


def reply_schema(**properties: str) -> JsonObject:
    """A single-object response: its properties and the api_id every response carries."""
    return object_schema(api_id="string", **properties)


def _property(kind: str) -> JsonObject:
    base = kind.removesuffix("?")
    schema: dict[str, object] = {"type": base}
    if base == "array":
        schema["items"] = {"type": "string"}
    if kind.endswith("?"):
        schema["nullable"] = True
    return schema
