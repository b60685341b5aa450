"""Plivo XML documents into verbs: `parse_document(text) -> Document`, or XmlDocumentError.

What Plivo does before running a document (plivo.md §1 "Fetch", "Nesting check", "Attribute
parse"): the body is at most 100 KB of XML whose root is <Response>; an unknown element, a child
its parent does not take, an unknown attribute or a bad value fails the whole document. The XML
is read by defusedxml with DTDs, entities and external references refused, so an entity bomb
is refused at its DOCTYPE, before anything expands. Everything is checked here, once; the verbs
that come out hold typed values and every default (verbs.py).
"""

from collections.abc import Callable
from typing import Any, Final
from xml.etree.ElementTree import Element, ParseError, TreeBuilder

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser

from mediaserver.plivoxml import verbs
from mediaserver.plivoxml.attributes import ATTRIBUTES, BODIES
from mediaserver.plivoxml.document_error import XmlDocumentError
from mediaserver.plivoxml.ssml import SsmlChecker, attribute_name

# Field name -> typed value, as attributes.py's types give them; the verb types check the rest.
Fields = dict[str, Any]
# What one element becomes: a verb, or a Dial target.
Node = verbs.Verb | verbs.DialTarget

MAX_DOCUMENT_BYTES: Final = 100 * 1024  # §1 Limits: "at most 100 KB"
# Response > PreAnswer > GetDigits > Speak leaves SSML a dozen levels; far deeper nesting is
# refused while reading, so nothing later recurses through an attacker's depth.
MAX_DEPTH: Final = 16

_PROMPTS = frozenset({"Speak", "Play", "Wait"})
# §2.1 nesting matrix (PY `_nestable`): parent -> the children it takes. Every element not
# here takes none, except Speak, whose children are SSML (ssml.py). PreAnswer follows the SDKs
# (the verbs' contract), not the latest DOCS' shorter Speak/Play/Wait list.
CHILDREN: dict[str, frozenset[str]] = {
    "Response": frozenset(ATTRIBUTES) - {"Response", "Number", "User"},
    "GetDigits": _PROMPTS,
    "GetInput": _PROMPTS,
    "PreAnswer": _PROMPTS | {"GetDigits", "Redirect", "Message", "DTMF"},
    "Dial": frozenset({"Number", "User"}),
}
_KEPT_AS_PAIRS: dict[str, Callable[..., verbs.Verb]] = {
    "Stream": verbs.Stream,
    "MultiPartyCall": verbs.MultiPartyCall,
    "Message": verbs.Message,
}
_PLAIN: dict[str, Callable[..., Node]] = {
    "Conference": verbs.Conference,
    "Play": verbs.Play,
    "Wait": verbs.Wait,
    "DTMF": verbs.Dtmf,
    "Record": verbs.Record,
    "Hangup": verbs.Hangup,
    "Redirect": verbs.Redirect,
    "Number": verbs.Number,
    "User": verbs.User,
}


def parse_document(text: str | bytes) -> verbs.Document:
    """The verbs of a Plivo XML document; XmlDocumentError names what Plivo would refuse."""
    size = len(text) if isinstance(text, bytes) else len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_DOCUMENT_BYTES:
        raise XmlDocumentError(f"document is {size} bytes, more than the 100 KB allowed")
    if not text.strip():
        raise XmlDocumentError("document is empty")
    reader = _DocumentReader()
    root = reader.read(text)
    if root.tag != "Response":
        raise reader.error(root, "the root element must be <Response>")
    reader.check_attributes(root)
    # Typed loosely: the nesting matrix has admitted only verbs under <Response>.
    found: tuple[Any, ...] = tuple(reader.verb(child) for child in reader.children(root))
    return verbs.Document(verbs=found)


class _LineTreeBuilder(TreeBuilder):
    """Notes each element's line as it starts (ElementTree keeps none) and bounds the depth."""

    def __init__(self) -> None:
        super().__init__()
        self.parser: DefusedXMLParser | None = None
        self.lines: dict[int, int] = {}
        self._depth = 0

    def start(self, tag: str, attrs: dict[str, str], /) -> Element:
        line = self.current_line()
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise XmlDocumentError(f"elements nested more than {MAX_DEPTH} deep", line=line)
        element = super().start(tag, attrs)
        self.lines[id(element)] = line
        return element

    def end(self, tag: str, /) -> Element:
        self._depth -= 1
        return super().end(tag)

    def current_line(self) -> int:
        return 1 if self.parser is None else int(self.parser.parser.CurrentLineNumber)


class _DocumentReader:
    """One document's elements, with their lines, turned into verbs."""

    def __init__(self) -> None:
        self._builder = _LineTreeBuilder()
        self._ssml = SsmlChecker(self.line_of)

    def read(self, text: str | bytes) -> Element:
        parser = DefusedXMLParser(
            target=self._builder, forbid_dtd=True, forbid_entities=True, forbid_external=True
        )
        self._builder.parser = parser
        try:
            parser.feed(text)
            root: Element = parser.close()
        except ParseError as error:
            # expat's message ends with the position, which the error carries on its own.
            line, column = error.position
            problem = str(error).split(": line")[0]
            reason = f"not well-formed XML: {problem} at column {column}"
            raise XmlDocumentError(reason, line=line) from None
        except DefusedXmlException as error:
            reason = f"refused: {type(error).__name__} (DTDs and entities are not allowed)"
            raise XmlDocumentError(reason, line=self._builder.current_line()) from None
        except UnicodeError:
            raise XmlDocumentError("document is not valid text") from None
        return root

    def line_of(self, element: Element) -> int:
        return self._builder.lines[id(element)]

    def error(
        self, element: Element, reason: str, name: str | None = None, value: str | None = None
    ) -> XmlDocumentError:
        line = self.line_of(element)
        return XmlDocumentError(
            reason, element=str(element.tag), attribute=name, value=value, line=line
        )

    def verb(self, element: Element) -> Node:
        tag = element.tag
        values = self.check_attributes(element) | self._body(element)
        if tag == "Speak":
            return self._speak(element, values)
        children = self.children(element)
        if tag in _PLAIN:
            return _PLAIN[tag](**values)
        if tag in _KEPT_AS_PAIRS:
            return self._kept_as_pairs(element, values)
        # Typed loosely: the nesting matrix has admitted only what each container takes.
        nested: tuple[Any, ...] = tuple(self.verb(child) for child in children)
        if tag == "Dial":
            return self._dial(element, values, nested)
        if tag == "PreAnswer":
            return verbs.PreAnswer(children=nested)
        verb_type = verbs.GetDigits if tag == "GetDigits" else verbs.GetInput
        return verb_type(**values, prompts=nested)

    def children(self, element: Element) -> list[Element]:
        """The element's children, each one its parent takes (§2.1), and no stray text."""
        allowed = CHILDREN.get(str(element.tag), frozenset())
        for child in element:
            if child.tag not in ATTRIBUTES:
                raise self.error(child, "unknown element")
            if not allowed:
                raise self.error(element, f"{element.tag} cannot have any children")
            if child.tag not in allowed:
                raise self.error(child, f"<{child.tag}> is not allowed in <{element.tag}>")
        if element.tag not in BODIES and (element.text or "").strip():
            raise self.error(element, "text is not allowed here", value=element.text)
        for child in element:
            if (child.tail or "").strip():
                raise self.error(element, "text is not allowed here", value=child.tail)
        return list(element)

    def check_attributes(self, element: Element) -> Fields:
        """Each attribute parsed into its field (attributes.py); required ones present."""
        specs = ATTRIBUTES[str(element.tag)]
        values: Fields = {}
        for name, text in element.attrib.items():
            if name not in specs:
                raise self.error(element, "unknown attribute", attribute_name(name), text)
            try:
                values[specs[name].field] = specs[name].parse(text)
            except ValueError as error:
                raise self.error(element, str(error), name, text) from None
        for name, spec in specs.items():
            if spec.required and spec.field not in values:
                raise self.error(element, "attribute is required", name)
        return values

    def _body(self, element: Element) -> Fields:
        spec = BODIES.get(str(element.tag))
        if spec is None or (element.tag == "Speak" and len(element)):
            return {}
        text = (element.text or "").strip()
        try:
            return {spec.field: spec.parse(text)}
        except ValueError as error:
            raise self.error(element, f"body {error}", value=text) from None

    def _speak(self, element: Element, values: Fields) -> verbs.Speak:
        if not len(element):
            return verbs.Speak(**values)
        markup = self._ssml.markup(element)
        return verbs.Speak(**values, text=markup, ssml=True)

    def _kept_as_pairs(self, element: Element, values: Fields) -> verbs.Verb:
        """Stream, MultiPartyCall, Message: body plus (name, text) pairs."""
        verb_type = _KEPT_AS_PAIRS[str(element.tag)]
        body_field = BODIES[str(element.tag)].field
        body = values.pop(body_field)
        # §2.10: a bidirectional stream carries only the inbound track.
        if values.get("bidirectional") and values.get("audio_track", "inbound") != "inbound":
            track = element.get("audioTrack")
            raise self.error(element, "must be inbound when bidirectional", "audioTrack", track)
        pairs = tuple((name, _as_text(value)) for name, value in values.items())
        return verb_type(**{body_field: body, "attributes": pairs})

    def _dial(self, element: Element, values: Fields, targets: tuple[Any, ...]) -> verbs.Dial:
        if not targets:
            raise self.error(element, "Dial needs at least one Number or User")
        return verbs.Dial(targets=targets, **values)


def _as_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return ",".join(str(item) for item in value)
    return str(value)
