"""A request parameter as a route declares it: its name, type, whether it is required, its
default; the same declaration parses what a client sent and describes it in OpenAPI.

Plivo's documents write every value as a string ("true", "20"), while the official SDK sends
JSON as it is (true, 20): both are accepted for booleans and integers (plivo.md §4,
Transport). Query strings carry only strings, so the same rule reads them too.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from mediaserver.api.rest.api_error import ApiError

ParameterType = Literal["string", "integer", "boolean", "number"]
_TRUE = ("true", "1")
_FALSE = ("false", "0")
# Integers travel as JSON numbers or decimal strings; SQLite stores at most 64-bit ones.
_INTEGER_LIMIT = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Parameter:
    name: str
    type: ParameterType = "string"
    required: bool = False
    default: object = None
    description: str = ""
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None

    def parse(self, raw: object) -> object:
        """The typed value, or an ApiError (400) naming this parameter."""
        value = _PARSERS[self.type](self.name, raw)
        if self.choices and value not in self.choices:
            raise ApiError.invalid(self.name, f"must be one of {', '.join(self.choices)}")
        if isinstance(value, int) and not isinstance(value, bool):
            self._check_range(value)
        return value

    def _check_range(self, value: int) -> None:
        if self.minimum is not None and value < self.minimum:
            raise ApiError.invalid(self.name, f"must be at least {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ApiError.invalid(self.name, f"must be at most {self.maximum}")

    def json_schema(self) -> dict[str, object]:
        schema: dict[str, object] = {"type": self.type}
        if self.choices:
            schema["enum"] = list(self.choices)
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        if self.type == "integer" and self.maximum is None:
            schema["maximum"] = _INTEGER_LIMIT
        return schema


def parse_parameters(
    declared: tuple[Parameter, ...], received: Mapping[str, object]
) -> dict[str, object]:
    """Every declared parameter's value (its default when absent); an unknown or missing one is
    a 400 naming it, so a misspelt parameter never silently takes its default."""
    names = {parameter.name for parameter in declared}
    for name in received:
        if name not in names:
            raise ApiError.invalid(name, "is not a parameter of this resource")
    values: dict[str, object] = {}
    for parameter in declared:
        if parameter.name in received and received[parameter.name] is not None:
            values[parameter.name] = parameter.parse(received[parameter.name])
        elif parameter.required:
            raise ApiError(400, f"{parameter.name} parameter is missing")
        else:
            values[parameter.name] = parameter.default
    return values


def _string(name: str, raw: object) -> str:
    if not isinstance(raw, str):
        raise ApiError.invalid(name, "must be a string")
    if "\x00" in raw:
        raise ApiError.invalid(name, "must not contain NUL characters")
    return raw


def _integer(name: str, raw: object) -> int:
    if isinstance(raw, bool):
        raise ApiError.invalid(name, "must be an integer")
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.strip().lstrip("+-").isdigit() and raw.isascii():
        value = int(raw)
    else:
        raise ApiError.invalid(name, "must be an integer")
    if abs(value) > _INTEGER_LIMIT:
        raise ApiError.invalid(name, "is out of range")
    return value


def _number(name: str, raw: object) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise ApiError.invalid(name, "must be a number")
    try:
        value = float(raw)
    except ValueError:
        raise ApiError.invalid(name, "must be a number") from None
    if not math.isfinite(value):
        raise ApiError.invalid(name, "must be a finite number")
    return value


def _boolean(name: str, raw: object) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in _TRUE + _FALSE:
        return raw.lower() in _TRUE
    raise ApiError.invalid(name, "must be true or false")


_PARSERS = {"string": _string, "integer": _integer, "number": _number, "boolean": _boolean}
