"""Parameters as the SDK sends them (JSON ints and booleans) and as Plivo's documents write
them (strings) parse alike; a wrong one is a 400 naming it."""

import pytest

from mediaserver.api.rest.api_error import ApiError
from mediaserver.api.rest.parameter import Parameter, parse_parameters

LIMIT = Parameter("limit", "integer", default=20, minimum=1, maximum=20)
ENABLED = Parameter("enabled", "boolean", default=False)
NAME = Parameter("name", required=True)
METHOD = Parameter("method", default="POST", choices=("GET", "POST"))


@pytest.mark.parametrize(("raw", "value"), [(5, 5), ("5", 5), ("20", 20), (1, 1)])
def test_integer_accepts_json_numbers_and_decimal_strings(raw: object, value: int) -> None:
    assert LIMIT.parse(raw) == value


@pytest.mark.parametrize("raw", [True, "five", 5.5, "", "0x10", "٣", None, [1]])
def test_integer_refuses_everything_else_naming_the_field(raw: object) -> None:
    with pytest.raises(ApiError) as refused:
        LIMIT.parse(raw)
    assert (refused.value.status, refused.value.error) == (400, "limit: must be an integer")


@pytest.mark.parametrize(("raw", "problem"), [(0, "at least 1"), ("21", "at most 20")])
def test_integer_range_is_checked(raw: object, problem: str) -> None:
    with pytest.raises(ApiError, match=f"limit: must be {problem}"):
        LIMIT.parse(raw)


@pytest.mark.parametrize(
    ("raw", "value"), [(True, True), (False, False), ("true", True), ("False", False)]
)
def test_boolean_accepts_json_and_strings(raw: object, value: bool) -> None:
    assert ENABLED.parse(raw) is value


@pytest.mark.parametrize("raw", [1, "yes", "", None])
def test_boolean_refuses_others(raw: object) -> None:
    with pytest.raises(ApiError, match="enabled: must be true or false"):
        ENABLED.parse(raw)


def test_string_choices_and_types() -> None:
    assert METHOD.parse("GET") == "GET"
    with pytest.raises(ApiError, match="method: must be one of GET, POST"):
        METHOD.parse("PUT")
    with pytest.raises(ApiError, match="name: must be a string"):
        NAME.parse(12)


def test_defaults_fill_absent_parameters() -> None:
    values = parse_parameters((NAME, LIMIT, ENABLED, METHOD), {"name": "x"})
    assert values == {"name": "x", "limit": 20, "enabled": False, "method": "POST"}


def test_missing_required_parameter_is_named() -> None:
    with pytest.raises(ApiError) as refused:
        parse_parameters((NAME, LIMIT), {"limit": 3})
    assert refused.value.error == "name parameter is missing"


def test_unknown_parameter_is_refused_not_ignored() -> None:
    with pytest.raises(ApiError, match="limt: is not a parameter"):
        parse_parameters((NAME, LIMIT), {"name": "x", "limt": 3})


def test_schema_says_what_parse_accepts() -> None:
    assert LIMIT.json_schema() == {"type": "integer", "minimum": 1, "maximum": 20}
    assert METHOD.json_schema() == {"type": "string", "enum": ["GET", "POST"]}
