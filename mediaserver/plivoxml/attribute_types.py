"""Attribute and body value types of Plivo XML: a string in, a typed value out, or ValueError.

Each type is a function of the text alone; the parser adds the element, attribute and line to
the error. The rules are plivo.md §2 (current documents where the legacy ones differ).
"""

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from mediaserver.sip.errors import SipParseError
from mediaserver.sip.uri import SipUri

ValueType = Callable[[str], object]

DISABLED = ("", "none")  # finishOnKey (§2.4, §2.6) and callerId/callerName (§2.7, PF)
_INTEGER_RE = re.compile(r"[0-9]{1,9}")
_DTMF_RE = re.compile(r"[0-9*#A-DwW]+")  # §2.9: digits plus w (0.5 s) and W (1 s) waits
_SEND_DIGITS_RE = re.compile(r"[0-9*#A-DwW]+(@[0-9]{1,5})?")  # §2.7: "@ms" sets tone length
_KEYS = frozenset("0123456789*#")
_HEADER_PAIR_RE = re.compile(r"[A-Za-z0-9]+=[A-Za-z0-9]+")
_E164_RE = re.compile(r"\+?[0-9]{1,15}")
_CONTROL_RE = re.compile(r"[\x00-\x20\x7f]")
_POLLY_RE = re.compile(r"Polly\.[A-Za-z]+(-[A-Za-z]+)?")
_LANGUAGE_RE = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{2,4}){0,2}")


def boolean(text: str) -> bool:
    """PF `prepare_attributes`: true only for exactly "true"; we refuse all but "false" too."""
    if text == "true":
        return True
    if text == "false":
        return False
    raise ValueError('must be "true" or "false"')


def whole_number(text: str, minimum: int, maximum: int | None = None) -> int:
    if _INTEGER_RE.fullmatch(text) is None:
        raise ValueError("must be a whole number")
    value = int(text)
    if maximum is not None and not minimum <= value <= maximum:
        raise ValueError(f"must be {minimum} to {maximum}")
    if value < minimum:
        raise ValueError(f"must be {minimum} or more")
    return value


def integer(minimum: int, maximum: int | None = None) -> ValueType:
    return lambda text: whole_number(text, minimum, maximum)


def capped_integer(minimum: int, cap: int) -> ValueType:
    """§2.7 Dial timeLimit: values of `cap` or more are cut to it, not refused."""
    return lambda text: min(whole_number(text, minimum), cap)


def seconds_or_auto(minimum: int, maximum: int) -> ValueType:
    """§2.5 digitEndTimeout, speechEndTimeout: "auto" (None) or whole seconds in range."""
    return lambda text: None if text == "auto" else whole_number(text, minimum, maximum)


def choice(*values: str, ignore_case: bool = False) -> ValueType:
    def parse(text: str) -> str:
        found = text.lower() if ignore_case else text
        if found not in values:
            raise ValueError("must be one of " + ", ".join(values))
        return found

    return parse


METHOD = choice("GET", "POST")  # PF: "method must be 'GET' or 'POST'", case as written


def text(max_length: int | None = None) -> ValueType:
    def parse(value: str) -> str:
        if not value:
            raise ValueError("must not be empty")
        if max_length is not None and len(value) > max_length:
            raise ValueError(f"must be at most {max_length} characters")
        return value

    return parse


def url(schemes: tuple[str, ...] = ("http", "https")) -> ValueType:
    """An absolute URL: PF ignored relative ones (plivoframework issue #2)."""

    def parse(value: str) -> str:
        if _CONTROL_RE.search(value):
            raise ValueError("must be a URL without spaces or control characters")
        try:
            parts = urlsplit(value)
            parts.port  # noqa: B018 (urlsplit checks the port only when asked)
        except ValueError as error:
            raise ValueError(f"must be an absolute URL ({error})") from None
        if parts.scheme.lower() not in schemes or not parts.hostname:
            raise ValueError("must be an absolute " + " or ".join(schemes) + " URL")
        return value

    return parse


HTTP_URL = url()


def url_or(*words: str) -> ValueType:
    """A URL, or one of a few keywords: Dial dialMusic "real", enterSound "beep:1"..."""

    def parse(value: str) -> str:
        return value if value in words else str(HTTP_URL(value))

    return parse


def blank_or(parse: ValueType) -> ValueType:
    """`none` or an empty value stands for "not at all" (the value is then "")."""

    def blank(value: str) -> object:
        return "" if value in DISABLED else parse(value)

    return blank


def dtmf_digits(value: str) -> str:
    if _DTMF_RE.fullmatch(value) is None:
        raise ValueError("must be DTMF digits 0-9, *, #, A-D, with w and W for pauses")
    return value


def send_digits(value: str) -> str:
    if _SEND_DIGITS_RE.fullmatch(value) is None:
        raise ValueError("must be DTMF digits 0-9*#A-D with w/W pauses and an optional @ms")
    return value


def key(value: str) -> str:
    if len(value) != 1 or value not in _KEYS:
        raise ValueError("must be one key: 0-9, * or #")
    return value


def keys(value: str) -> str:
    if not value or not set(value) <= _KEYS:
        raise ValueError("must be keys from 0-9, * and #")
    return value


def digit_patterns(value: str) -> tuple[str, ...]:
    """§2.7 digitsMatch: comma-separated patterns of keys."""
    patterns = tuple(pattern.strip() for pattern in value.split(","))
    for pattern in patterns:
        keys(pattern)
    return patterns


def header_pairs(value: str) -> tuple[tuple[str, str], ...]:
    """§2.7 sipHeaders `k=v,k2=v2`: keys and values limited to [A-Za-z0-9]."""
    pairs = value.split(",")
    if any(_HEADER_PAIR_RE.fullmatch(pair) is None for pair in pairs):
        raise ValueError("must be name=value pairs of letters and digits, separated by commas")
    return tuple((name, content) for name, _, content in (p.partition("=") for p in pairs))


def extra_headers(value: str) -> str:
    """§2.10 Stream extraHeaders: the sipHeaders shape, at most 512 bytes."""
    header_pairs(value)
    if len(value.encode()) > 512:
        raise ValueError("must be at most 512 bytes")
    return value


def comma_list(*values: str) -> ValueType:
    def parse(value: str) -> str:
        for item in value.split(","):
            choice(*values, ignore_case=True)(item)
        return value.lower()

    return parse


def e164(value: str) -> str:
    """§2.7 Number: an E.164 number, digits with an optional leading +."""
    if _E164_RE.fullmatch(value) is None:
        raise ValueError("must be a phone number: up to 15 digits with an optional +")
    return value


def sip_uri(value: str) -> str:
    """§2.7 User: a SIP URI with a user part, such as sip:alice@phone.plivo.com."""
    try:
        uri = SipUri.parse(value)
    except SipParseError as error:
        raise ValueError(f"must be a SIP URI ({error.reason})") from None
    if uri.scheme not in ("sip", "sips") or uri.user is None:
        raise ValueError("must be a sip: URI with a user, such as sip:alice@example.com")
    if uri.headers:
        # RFC 3261 §19.1.5: headers in a URI become headers of the request; a document may
        # add headers only through sipHeaders, as X-PH-* (§2.7).
        raise ValueError("must not carry headers (?name=value); use sipHeaders")
    return value


def voice(value: str) -> str:
    """§2.2: WOMAN, MAN, or an Amazon Polly voice such as Polly.Joey or Polly.Joanna-Neural."""
    if value not in ("WOMAN", "MAN") and _POLLY_RE.fullmatch(value) is None:
        raise ValueError("must be WOMAN, MAN or Polly.<Name>")
    return value


def language(value: str) -> str:
    """A language tag (§2.2 lists the WOMAN/MAN ones; Polly voices know more, e.g. arb)."""
    if _LANGUAGE_RE.fullmatch(value) is None:
        raise ValueError("must be a language tag such as en-US")
    return value


def input_type(value: str) -> str:
    """§2.5: dtmf, speech, or both (whichever comes first wins), as "dtmf speech"."""
    kinds = value.split()
    if not kinds or not set(kinds) <= {"dtmf", "speech"} or len(set(kinds)) != len(kinds):
        raise ValueError('must be "dtmf", "speech" or "dtmf speech"')
    return " ".join(sorted(kinds))


def hints(value: str) -> str:
    """§2.5: comma-separated phrases; at most 500 of them, 100 characters each, 10k in all."""
    phrases = value.split(",")
    if len(value) > 10_000 or len(phrases) > 500:
        raise ValueError("must be at most 500 phrases and 10000 characters")
    if any(len(phrase) > 100 for phrase in phrases):
        raise ValueError("each phrase must be at most 100 characters")
    return value
