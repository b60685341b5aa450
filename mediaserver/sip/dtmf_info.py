"""DTMF in SIP INFO bodies (RFC 6086 carries them; the formats are de facto standards).

`application/dtmf-relay` (Cisco, what most phones send): `Signal=5` and `Duration=160` lines
(milliseconds).
`application/dtmf`: the digit alone. RFC 4733 §3.2 numbers events 10 and 11 for * and #,
which some agents send in Signal.
"""

from dataclasses import dataclass

DTMF_CONTENT_TYPES = frozenset(("application/dtmf-relay", "application/dtmf"))
_DIGITS = frozenset("0123456789*#ABCD")
_EVENT_DIGITS = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}


class DtmfInfoError(ValueError):
    """A DTMF INFO body without a digit we know."""


@dataclass(frozen=True, slots=True)
class DtmfInfo:
    digit: str
    duration_ms: int | None  # dtmf-relay's Duration=, when present and a number


def dtmf_from_info(content_type: str, body: bytes) -> DtmfInfo:
    """The digit an INFO carries, and how long it lasts when the body says; raises
    DtmfInfoError for anything else."""
    media_type = content_type.split(";")[0].strip().lower()
    text = body.decode("ascii", "replace").strip()
    if media_type != "application/dtmf-relay":
        return DtmfInfo(_digit(text), None)
    fields = _fields(text)
    if "signal" not in fields:
        raise DtmfInfoError("no Signal= line")
    duration = fields.get("duration", "")
    return DtmfInfo(_digit(fields["signal"]), int(duration) if duration.isdigit() else None)


def _digit(text: str) -> str:
    digit = _EVENT_DIGITS.get(text, text).upper()
    if digit not in _DIGITS:
        raise DtmfInfoError(f"not a DTMF digit: {text[:20]!r}")
    return digit


def _fields(text: str) -> dict[str, str]:
    """`Name=value` lines by lower-cased name; the first of a repeated name counts."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        fields.setdefault(name.strip().lower(), value.strip())
    return fields
