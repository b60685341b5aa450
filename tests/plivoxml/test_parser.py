"""parse_document beyond the golden files: limits, encodings, each attribute type per element."""

from dataclasses import fields

import pytest

from mediaserver.plivoxml import attribute_types as types
from mediaserver.plivoxml import verbs
from mediaserver.plivoxml.attributes import ATTRIBUTES, BODIES
from mediaserver.plivoxml.document_error import XmlDocumentError
from mediaserver.plivoxml.parser import MAX_DEPTH, MAX_DOCUMENT_BYTES, parse_document

# One valid document per element, its attributes written where {} is.
MINIMAL = {
    "Speak": "<Speak {}>Hello</Speak>",
    "Play": "<Play {}>https://a.example.com/x.wav</Play>",
    "Wait": "<Wait {}/>",
    "DTMF": "<DTMF {}>1</DTMF>",
    "GetDigits": "<GetDigits {}/>",
    "GetInput": '<GetInput action="https://a.example.com/i" inputType="dtmf" {}/>',
    "Record": "<Record {}/>",
    "Dial": "<Dial {}><Number>1555</Number></Dial>",
    "Number": "<Dial><Number {}>1555</Number></Dial>",
    "User": "<Dial><User {}>sip:a@b.example.com</User></Dial>",
    "Hangup": "<Hangup {}/>",
    "Redirect": "<Redirect {}>https://a.example.com/next</Redirect>",
    "Conference": "<Conference {}>room</Conference>",
    "Stream": "<Stream {}>wss://s.example.com/</Stream>",
    "MultiPartyCall": '<MultiPartyCall role="agent" {}>room</MultiPartyCall>',
    "Message": "<Message {}>hi</Message>",
}
VERB_TYPES: dict[str, type] = {
    "Speak": verbs.Speak,
    "Play": verbs.Play,
    "Wait": verbs.Wait,
    "DTMF": verbs.Dtmf,
    "GetDigits": verbs.GetDigits,
    "GetInput": verbs.GetInput,
    "Record": verbs.Record,
    "Dial": verbs.Dial,
    "Number": verbs.Number,
    "User": verbs.User,
    "Hangup": verbs.Hangup,
    "Redirect": verbs.Redirect,
}


def _document(element: str, attributes: str = "") -> str:
    return f"<Response>\n{MINIMAL[element].format(attributes)}\n</Response>"


def _attributes_of_type(parse: types.ValueType) -> list[tuple[str, str]]:
    return sorted(
        (element, name)
        for element, specs in ATTRIBUTES.items()
        for name, spec in specs.items()
        if spec.parse is parse and element in MINIMAL and name not in MINIMAL[element]
    )


def _refusal(document: str) -> XmlDocumentError:
    with pytest.raises(XmlDocumentError) as refused:
        parse_document(document)
    return refused.value


@pytest.mark.parametrize("element", sorted(VERB_TYPES))
def test_each_attribute_and_body_fills_a_field_of_its_verb(element: str) -> None:
    names = {field.name for field in fields(VERB_TYPES[element])}
    specs = [*ATTRIBUTES[element].values(), *([BODIES[element]] if element in BODIES else [])]
    assert {spec.field for spec in specs} <= names


@pytest.mark.parametrize("element", sorted(MINIMAL))
def test_each_minimal_document_parses(element: str) -> None:
    assert len(parse_document(_document(element)).verbs) == 1


@pytest.mark.parametrize(("element", "name"), _attributes_of_type(types.boolean))
@pytest.mark.parametrize("value", ["True", "TRUE", "1", "yes", ""])
def test_boolean_other_than_true_or_false_is_refused(element: str, name: str, value: str) -> None:
    error = _refusal(_document(element, f'{name}="{value}"'))
    assert (error.element, error.attribute, error.value, error.line) == (element, name, value, 2)


@pytest.mark.parametrize(("element", "name"), _attributes_of_type(types.boolean))
def test_boolean_false_is_valid(element: str, name: str) -> None:
    parse_document(_document(element, f'{name}="false"'))


@pytest.mark.parametrize(("element", "name"), _attributes_of_type(types.METHOD))
@pytest.mark.parametrize("value", ["get", "PUT", "Post", ""])
def test_method_other_than_get_or_post_is_refused(element: str, name: str, value: str) -> None:
    error = _refusal(_document(element, f'{name}="{value}"'))
    assert (error.element, error.attribute, error.value) == (element, name, value)


@pytest.mark.parametrize(("element", "name"), _attributes_of_type(types.HTTP_URL))
@pytest.mark.parametrize("value", ["/relative", "ftp://a.example.com/x", "https://", "a b"])
def test_url_attribute_must_be_absolute_http(element: str, name: str, value: str) -> None:
    """plivoframework issue #2: relative action URLs went nowhere; Plivo wants absolute ones."""
    error = _refusal(_document(element, f'{name}="{value}"'))
    assert (error.element, error.attribute, error.value) == (element, name, value)


def test_document_over_100_kb_is_refused_before_parsing() -> None:
    padding = "<Response><Speak>x</Speak><!-- {} --></Response>"
    fits = padding.format("x" * (MAX_DOCUMENT_BYTES - len(padding) + 2))
    assert len(fits.encode()) == MAX_DOCUMENT_BYTES
    assert parse_document(fits) == verbs.Document(verbs=(verbs.Speak("x"),))
    too_large = "<" * (MAX_DOCUMENT_BYTES + 1)  # not XML at all: the size is checked first
    error = _refusal(too_large)
    assert (error.element, error.line) == (None, None)
    assert "100 KB" in error.reason


def test_size_counts_bytes_not_characters() -> None:
    text = "é" * (MAX_DOCUMENT_BYTES // 2)  # 2 bytes each in UTF-8
    document = f"<Response><Speak>{text}</Speak></Response>"
    assert "100 KB" in _refusal(document).reason


def test_str_and_bytes_in_any_declared_encoding_give_the_same_verbs() -> None:
    expected = verbs.Document(verbs=(verbs.Speak("Café crème"),))
    text = "<Response><Speak>Café crème</Speak></Response>"
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?>' + text
    assert parse_document(text) == expected
    assert parse_document(text.encode()) == expected
    assert parse_document(latin.encode("latin-1")) == expected


@pytest.mark.parametrize("document", ["", "   \n", b"\n"])
def test_empty_document_is_refused(document: str | bytes) -> None:
    assert _refusal(document).reason == "document is empty"


def _nested_ssml(depth: int) -> str:
    inner = "<emphasis>" * depth + "x" + "</emphasis>" * depth
    return f'<Response><Speak voice="Polly.Joey">{inner}</Speak></Response>'


@pytest.mark.parametrize("depth", [MAX_DEPTH - 1, 4000])
def test_deep_nesting_is_refused_while_reading(depth: int) -> None:
    """Within 100 KB, SSML could nest thousands deep; nothing after the reader recurses that far."""
    error = _refusal(_nested_ssml(depth))
    assert error.reason == f"elements nested more than {MAX_DEPTH} deep"
    assert error.line == 1


def test_nesting_up_to_the_limit_parses() -> None:
    speak = parse_document(_nested_ssml(MAX_DEPTH - 2)).verbs[0]
    assert isinstance(speak, verbs.Speak)
    assert speak.ssml


def test_error_describes_itself_for_the_debug_log() -> None:
    error = _refusal(_document("GetDigits", 'numDigits="many"'))
    assert str(error) == "line 2 <GetDigits> numDigits='many': must be a whole number"
    error = _refusal("<Response>\n<Play>  </Play></Response>")
    assert str(error) == "line 2 <Play> '': body must be an absolute http or https URL"


def test_plain_speak_text_is_kept_unescaped_and_ssml_is_kept_as_markup() -> None:
    plain = parse_document("<Response><Speak>Fish &amp; chips &lt;3</Speak></Response>")
    assert plain.verbs == (verbs.Speak("Fish & chips <3"),)
    ssml = parse_document(
        '<Response><Speak voice="Polly.Amy">Fish &amp; <break/>chips &lt;3</Speak></Response>'
    )
    assert ssml.verbs == (
        verbs.Speak("Fish &amp; <break />chips &lt;3", voice="Polly.Amy", ssml=True),
    )


def test_get_input_speech_is_accepted_by_the_parser() -> None:
    """The interpreter, not the parser, refuses speech until there is an ASR engine."""
    document = parse_document(
        '<Response><GetInput action="https://a.example.com/i" inputType="speech"/></Response>'
    )
    assert document.verbs == (verbs.GetInput("https://a.example.com/i", "speech"),)


def test_dial_time_limit_past_24_hours_is_cut_not_refused() -> None:
    document = parse_document(_document("Dial", 'timeLimit="86401"'))
    assert document.verbs[0] == verbs.Dial(targets=(verbs.Number("1555"),), time_limit=86400)


def test_namespaced_element_is_unknown() -> None:
    error = _refusal('<Response xmlns:t="urn:x"><t:Speak>hi</t:Speak></Response>')
    assert (error.element, error.reason) == ("{urn:x}Speak", "unknown element")
