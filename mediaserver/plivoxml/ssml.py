"""The SSML inside <Speak>: which tags nest where, their attributes, and the markup kept.

plivo.md §2.1 gives the tags Plivo accepts (Amazon Polly's subset), what each may contain and
its attributes. A Speak body with SSML is validated here and kept as markup (`Speak.ssml`); the
TTS engine decides what to do with it (DOCS concepts/ssml: only Polly voices honour it).
"""

import re
from collections.abc import Callable
from xml.etree.ElementTree import Element, tostring
from xml.sax.saxutils import escape

from mediaserver.plivoxml import attribute_types as types
from mediaserver.plivoxml.document_error import XmlDocumentError

_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_INLINE = frozenset({"break", "emphasis", "lang", "phoneme", "prosody", "say-as", "sub", "w"})
_WORD = frozenset({"break", "emphasis", "phoneme", "prosody", "say-as", "sub"})
_TIME_RE = re.compile(r"[0-9]{1,6}(\.[0-9]{1,3})?(ms|s)")

# §2.1: parent -> the SSML tags it may contain. Absent tags (break, say-as, sub, phoneme) take
# none. `cont` is the Python SDK's (its to_string() strips the tags, so it rarely arrives).
CHILDREN: dict[str, frozenset[str]] = {
    "Speak": _INLINE | {"cont", "p", "s"},
    "cont": _INLINE | {"cont", "p", "s"},
    "emphasis": _INLINE,
    "s": _INLINE,
    "p": _INLINE | {"s"},
    "prosody": _INLINE | {"p", "s"},
    "lang": _INLINE | {"p", "s"},
    "w": _WORD,
}


def _time(value: str) -> str:
    if _TIME_RE.fullmatch(value) is None:
        raise ValueError('must be a duration such as "500ms" or "2s"')
    return value


# §2.1 SSML attributes; (attribute -> (type, required)).
ATTRIBUTES: dict[str, dict[str, tuple[types.ValueType, bool]]] = {
    "break": {
        "strength": (types.choice("none", "x-weak", "weak", "medium", "strong", "x-strong"), False),
        "time": (_time, False),
    },
    "emphasis": {"level": (types.choice("strong", "moderate", "reduced"), False)},
    "lang": {_XML_LANG: (types.language, True)},
    "phoneme": {"alphabet": (types.choice("ipa", "x-sampa"), False), "ph": (types.text(), True)},
    "prosody": {
        "pitch": (types.text(), False),
        "rate": (types.text(), False),
        "volume": (types.text(), False),
    },
    "say-as": {"interpret-as": (types.text(), True), "format": (types.text(), False)},
    "sub": {"alias": (types.text(), True)},
    "w": {"role": (types.text(), False)},
}


def attribute_name(name: str) -> str:
    """The name as written in the document (`xml:lang`, not ElementTree's `{...}lang`)."""
    return "xml:lang" if name == _XML_LANG else name


class SsmlChecker:
    """Validates the SSML below one <Speak>; `line_of` locates an element for errors."""

    def __init__(self, line_of: Callable[[Element], int]) -> None:
        self._line_of = line_of

    def markup(self, speak: Element) -> str:
        """The Speak body as SSML markup, after checking every tag in it."""
        for child in speak:
            self._check(child, "Speak")
        # The leading text is unescaped by the parser; the children's text and tails are
        # escaped again by tostring(), so the markup stays well-formed.
        inner = escape(speak.text or "") + "".join(tostring(child, "unicode") for child in speak)
        return inner.strip()

    def _check(self, element: Element, parent: str) -> None:
        if element.tag not in CHILDREN[parent]:
            raise self._error(element, f"<{element.tag}> is not allowed in <{parent}>")
        self._check_attributes(element)
        if len(element) and element.tag not in CHILDREN:
            raise self._error(element, f"{element.tag} cannot have any children")
        for child in element:
            self._check(child, element.tag)

    def _check_attributes(self, element: Element) -> None:
        allowed = ATTRIBUTES.get(element.tag, {})
        for name, value in element.attrib.items():
            if name not in allowed:
                raise self._error(element, "unknown attribute", name, value)
            try:
                allowed[name][0](value)
            except ValueError as error:
                raise self._error(element, str(error), name, value) from None
        for name, (_, required) in allowed.items():
            if required and name not in element.attrib:
                raise self._error(element, "attribute is required", name)

    def _error(
        self, element: Element, reason: str, name: str | None = None, value: str | None = None
    ) -> XmlDocumentError:
        return XmlDocumentError(
            reason,
            element=str(element.tag),
            attribute=None if name is None else attribute_name(name),
            value=value,
            line=self._line_of(element),
        )
