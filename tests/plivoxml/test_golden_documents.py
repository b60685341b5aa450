"""Golden documents: fixtures/plivoxml/*.xml give exactly their verbs; refused/*.xml are refused.

Most valid documents are what the official Python SDK's builders write (sdk_documents.py), so
what Plivo's users produce parses; every attribute of every element is set in one of them.
"""

from dataclasses import dataclass
from pathlib import Path

import pytest
from defusedxml.ElementTree import parse as parse_xml

from mediaserver.plivoxml.attributes import ATTRIBUTES
from mediaserver.plivoxml.document_error import XmlDocumentError
from mediaserver.plivoxml.parser import parse_document
from mediaserver.plivoxml.ssml import ATTRIBUTES as SSML_ATTRIBUTES
from mediaserver.plivoxml.ssml import attribute_name
from mediaserver.plivoxml.verbs import Document
from tests.plivoxml import golden_verbs, hand_written_verbs
from tests.plivoxml.sdk_documents import BUILDERS

FIXTURES = Path(__file__).parents[2] / "fixtures" / "plivoxml"

GOLDEN: dict[str, Document] = {
    "ivr.xml": golden_verbs.IVR,
    "ivr_operator.xml": golden_verbs.IVR_OPERATOR,
    "speak_ssml.xml": golden_verbs.SPEAK_SSML,
    "get_input.xml": golden_verbs.GET_INPUT,
    "record.xml": golden_verbs.RECORD,
    "dial.xml": golden_verbs.DIAL,
    "conference.xml": golden_verbs.CONFERENCE,
    "multi_party_call.xml": golden_verbs.MULTI_PARTY_CALL,
    "stream_message_dtmf.xml": golden_verbs.STREAM_MESSAGE_DTMF,
    "prompts_and_control.xml": golden_verbs.PROMPTS_AND_CONTROL,
    "defaults.xml": hand_written_verbs.DEFAULTS,
    "hand_written.xml": hand_written_verbs.HAND_WRITTEN,
}


@dataclass(frozen=True, slots=True)
class Refusal:
    element: str | None
    attribute: str | None
    line: int | None
    reason: str  # the start of XmlDocumentError.reason


_DTD = "refused: DTDForbidden"
REFUSED: dict[str, Refusal] = {
    "action_relative": Refusal("Record", "action", 2, "must be an absolute http or https URL"),
    "boolean_not_lower_case": Refusal("GetDigits", "redirect", 2, 'must be "true" or "false"'),
    "conference_too_many_members": Refusal("Conference", "maxMembers", 2, "must be 1 to 20"),
    "dial_in_get_digits": Refusal("Dial", None, 3, "<Dial> is not allowed in <GetDigits>"),
    "dial_without_target": Refusal("Dial", None, 3, "Dial needs at least one Number or User"),
    "digits_match_letters": Refusal("Dial", "digitsMatch", 2, "must be keys from 0-9"),
    "doctype": Refusal(None, None, 2, _DTD),
    "dtmf_bad_digit": Refusal("DTMF", None, 2, "body must be DTMF digits"),
    "entity_bomb": Refusal(None, None, 2, _DTD),
    "external_entity": Refusal(None, None, 2, _DTD),
    "finish_on_key_two_keys": Refusal("GetDigits", "finishOnKey", 2, "must be one key"),
    "get_input_bad_type": Refusal("GetInput", "inputType", 2, 'must be "dtmf", "speech"'),
    "get_input_without_action": Refusal("GetInput", "action", 2, "attribute is required"),
    "hangup_bad_reason": Refusal("Hangup", "reason", 2, "must be one of rejected, busy"),
    "malformed": Refusal(None, None, 3, "not well-formed XML: mismatched tag"),
    "method_lower_case": Refusal("Redirect", "method", 2, "must be one of GET, POST"),
    "multi_party_call_without_role": Refusal("MultiPartyCall", "role", 2, "attribute is required"),
    "num_digits_out_of_range": Refusal("GetDigits", "numDigits", 2, "must be 1 to 99"),
    "number_letters": Refusal("Number", None, 3, "body must be a phone number"),
    "play_empty": Refusal("Play", None, 2, "body must be an absolute http or https URL"),
    "play_not_a_url": Refusal("Play", None, 2, "body must be an absolute http or https URL"),
    "pre_answer_attribute": Refusal("PreAnswer", "timeout", 2, "unknown attribute"),
    "record_in_pre_answer": Refusal("Record", None, 3, "<Record> is not allowed in <PreAnswer>"),
    "redirect_ftp": Refusal("Redirect", None, 2, "body must be an absolute http or https URL"),
    "root_not_response": Refusal("Document", None, 1, "the root element must be <Response>"),
    "sip_headers_dash": Refusal("Dial", "sipHeaders", 2, "must be name=value pairs"),
    "speak_empty": Refusal("Speak", None, 2, "body must not be empty"),
    "speak_in_dial": Refusal("Speak", None, 3, "<Speak> is not allowed in <Dial>"),
    "ssml_bad_nesting": Refusal("s", None, 3, "<s> is not allowed in <w>"),
    "ssml_break_with_child": Refusal("break", None, 2, "break cannot have any children"),
    "ssml_unknown_attribute": Refusal("break", "duration", 2, "unknown attribute"),
    "stream_bidirectional_both": Refusal("Stream", "audioTrack", 2, "must be inbound"),
    "text_in_response": Refusal("Response", None, 1, "text is not allowed here"),
    "undefined_entity": Refusal(None, None, 2, "not well-formed XML: undefined entity"),
    "unknown_attribute": Refusal("GetDigits", "numdigits", 2, "unknown attribute"),
    "unknown_element": Refusal("Say", None, 3, "unknown element"),
    "user_not_sip": Refusal("User", None, 3, "body must be a SIP URI"),
    "wait_length_zero": Refusal("Wait", "length", 2, "must be 1 or more"),
    "wait_with_child": Refusal("Wait", None, 2, "Wait cannot have any children"),
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(path.name for path in FIXTURES.glob("*.xml")) == sorted(GOLDEN)
    assert sorted(path.stem for path in (FIXTURES / "refused").glob("*.xml")) == sorted(REFUSED)


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_golden_document_gives_its_verbs(name: str) -> None:
    assert parse_document((FIXTURES / name).read_bytes()) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_sdk_builders_still_write_the_golden_document(name: str) -> None:
    written = BUILDERS[name]().to_string()
    assert written == (FIXTURES / name).read_text(encoding="utf-8")
    assert parse_document(written) == GOLDEN[name]


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_document_names_element_attribute_and_line(name: str) -> None:
    expected = REFUSED[name]
    with pytest.raises(XmlDocumentError) as refused:
        parse_document((FIXTURES / "refused" / f"{name}.xml").read_bytes())
    error = refused.value
    assert (error.element, error.attribute, error.line) == (
        expected.element,
        expected.attribute,
        expected.line,
    )
    assert error.reason.startswith(expected.reason)


def test_golden_documents_set_every_attribute_of_every_element() -> None:
    """So no attribute in attributes.py or ssml.py goes untried by a golden document."""
    written: set[tuple[str, str]] = set()
    for name in GOLDEN:
        root = parse_xml(FIXTURES / name).getroot()
        written |= {(str(e.tag), attribute_name(a)) for e in root.iter() for a in e.attrib}
    tables = {(tag, name) for tag, specs in ATTRIBUTES.items() for name in specs}
    tables |= {
        (tag, attribute_name(name)) for tag, names in SSML_ATTRIBUTES.items() for name in names
    }
    assert tables - written == set()
