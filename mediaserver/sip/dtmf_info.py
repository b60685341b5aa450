"""DTMF in SIP INFO bodies (RFC 6086 carries them; the formats are de facto standards).

`application/dtmf-relay` (Cisco, what most phones send): `Signal=5` and `Duration=160` lines.
`application/dtmf`: the digit alone. RFC 4733 §3.2 numbers events 10 and 11 for * and #,
which some agents send in Signal.
"""

DTMF_CONTENT_TYPES = frozenset(("application/dtmf-relay", "application/dtmf"))
_DIGITS = frozenset("0123456789*#ABCD")
_EVENT_DIGITS = {"10": "*", "11": "#", "12": "A", "13": "B", "14": "C", "15": "D"}


class DtmfInfoError(ValueError):
    """A DTMF INFO body without a digit we know."""


def digit_from_info(content_type: str, body: bytes) -> str:
    """The digit an INFO carries; raises DtmfInfoError for anything else."""
    media_type = content_type.split(";")[0].strip().lower()
    text = body.decode("ascii", "replace").strip()
    if media_type == "application/dtmf-relay":
        text = _signal(text)
    digit = _EVENT_DIGITS.get(text, text).upper()
    if digit not in _DIGITS:
        raise DtmfInfoError(f"not a DTMF digit: {text[:20]!r}")
    return digit


def _signal(text: str) -> str:
    for line in text.splitlines():
        name, _, value = line.partition("=")
        if name.strip().lower() == "signal":
            return value.strip()
    raise DtmfInfoError("no Signal= line")
