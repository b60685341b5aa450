"""Hypothesis: parse_document gives a Document or raises XmlDocumentError, whatever it is given.

Three sources of input: any text or bytes; the golden documents with bytes deleted, inserted
and repeated; and documents assembled from Plivo's own element and attribute names with
values valid somewhere, so the checks run deep rather than stopping at the first syntax error.
Entity bombs are refused at their DOCTYPE: tracemalloc shows nothing expanding.
"""

import tracemalloc
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mediaserver.plivoxml.attributes import ATTRIBUTES
from mediaserver.plivoxml.document_error import XmlDocumentError
from mediaserver.plivoxml.parser import CHILDREN, parse_document
from mediaserver.plivoxml.ssml import ATTRIBUTES as SSML_ATTRIBUTES
from mediaserver.plivoxml.ssml import CHILDREN as SSML_CHILDREN
from mediaserver.plivoxml.ssml import attribute_name
from mediaserver.plivoxml.verbs import Document

FIXTURES = Path(__file__).parents[2] / "fixtures" / "plivoxml"
SEEDS = [path.read_bytes() for path in sorted(FIXTURES.glob("*.xml"))]
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ELEMENTS = sorted({*ATTRIBUTES, *SSML_CHILDREN, *SSML_ATTRIBUTES, "Say", "x:Speak"})
ATTRIBUTE_NAMES = sorted(
    {name for specs in ATTRIBUTES.values() for name in specs} | {"xml:lang", "foo", "ph", "time"}
)
VALUES = [
    "true", "false", "True", "GET", "POST", "get", "0", "1", "5", "99", "100", "-1", "1e3",
    "", "none", "auto", "#", "*#", "12", "a=b,c=d", "X-a=b", "https://a.example.com/x",
    "/relative", "wss://s.example.com/", "real", "beep:1", "dtmf speech", "speech", "agent",
    "mp3", "wav", "mono", "busy", "inbound", "both", "Polly.Joey", "en-US", "500ms", "ipa",
    "&amp;", "]]>", "\U0001f600",
]  # fmt: skip
BODIES = ["", "Hello", "15552223333", "sip:a@b.example.com", "https://a.example.com/x.wav",
          "wss://s.example.com/", "12w#", "a &amp; b", "<![CDATA[<x>]]>"]  # fmt: skip


def _parse_or_refuse(document: str | bytes) -> None:
    try:
        result: Document | XmlDocumentError = parse_document(document)
    except XmlDocumentError as error:
        result = error
    if isinstance(result, XmlDocumentError):
        assert result.reason
        assert str(result)
    else:
        assert isinstance(result, Document)


@FUZZ
@given(st.one_of(st.text(), st.binary()))
def test_any_text_or_bytes(document: str | bytes) -> None:
    _parse_or_refuse(document)


@st.composite
def _mutated_seed(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 40)))
        action = draw(st.sampled_from(["delete", "insert", "repeat"]))
        if action == "delete":
            del data[start:end]
        elif action == "insert":
            data[start:start] = draw(st.sampled_from([b"<", b">", b'"', b"&", b"/>", b"\x00"]))
        else:
            data[start:start] = data[start:end] * draw(st.integers(2, 5))
    return bytes(data)


@FUZZ
@given(_mutated_seed())
def test_golden_documents_mutated(document: bytes) -> None:
    _parse_or_refuse(document)


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _names_for(tag: str) -> list[str]:
    own = ATTRIBUTES.get(tag) or SSML_ATTRIBUTES.get(tag) or {}
    return sorted(attribute_name(name) for name in own) or ATTRIBUTE_NAMES


@st.composite
def _element(draw: st.DrawFn, parent: str, depth: int) -> str:
    """Mostly what `parent` takes, with its own attributes; now and then anything at all."""
    allowed = sorted(CHILDREN.get(parent) or SSML_CHILDREN.get(parent) or ELEMENTS)
    tag = draw(st.one_of(*[st.sampled_from(allowed)] * 9, st.sampled_from(ELEMENTS)))
    names = st.one_of(*[st.sampled_from(_names_for(tag))] * 9, st.sampled_from(ATTRIBUTE_NAMES))
    chosen = draw(st.lists(names, max_size=4, unique=True))
    attributes = "".join(f' {n}="{_escape(draw(st.sampled_from(VALUES)))}"' for n in chosen)
    children = [] if depth == 0 else draw(st.lists(_element(tag, depth - 1), max_size=3))
    body = "".join(children) or draw(st.sampled_from(BODIES))
    return f"<{tag}{attributes}>{body}</{tag}>"


@settings(FUZZ, max_examples=100)
@given(st.lists(_element("Response", 2), max_size=4))
def test_documents_of_plivo_names_and_values(children: list[str]) -> None:
    _parse_or_refuse(f'<Response xmlns:x="urn:x">{"".join(children)}</Response>')


def _peak_bytes_while_parsing(document: str) -> int:
    tracemalloc.start()
    try:
        _parse_or_refuse(document)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_billion_laughs_is_refused_without_memory_growth() -> None:
    """Expanded, lol9 would be 3 GB; refused at the DOCTYPE, parsing peaks under 1 MB."""
    bomb = (FIXTURES / "refused" / "entity_bomb.xml").read_text()
    assert _peak_bytes_while_parsing(bomb) < 1_000_000


def test_quadratic_blowup_is_refused_without_memory_growth() -> None:
    """One 50 kB entity used 1000 times (no nesting, so no per-level limit would catch it)."""
    entity = "a" * 50_000
    bomb = (
        f'<!DOCTYPE r [<!ENTITY a "{entity}">]><Response><Speak>{"&a;" * 1000}</Speak></Response>'
    )
    assert _peak_bytes_while_parsing(bomb) < 1_000_000
