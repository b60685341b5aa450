"""The offer/answer model (RFC 3264) for audio: answering offers, making offers, reading answers.

The call layer answers an INVITE's offer with `answer_offer` (or first `negotiate_offer`, to
know whether to send 488 before it allocates ports), sends `build_offer` in an offerless INVITE
or re-INVITE, reads the answer to it with `process_answer`, and holds or resumes a call with
`build_reoffer`. Every session description it sends after the first goes through `revise` (§8).
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

from mediaserver.rtp.payload_types import (
    AUDIO_FORMATS,
    TELEPHONE_EVENT_8000,
    TELEPHONE_EVENT_48000,
    PayloadFormat,
)
from mediaserver.sdp.session import (
    Attribute,
    Connection,
    MediaDescription,
    Origin,
    SessionDescription,
)
from mediaserver.sdp.stream import (
    ANSWER_DIRECTION,
    Capabilities,
    NegotiatedStream,
    SdpNegotiationError,
    negotiate_media,
    offered_formats,
    rejected,
    remote_stream,
    telephone_event_for,
)

FIRST_DYNAMIC_PAYLOAD_TYPE = 96  # RFC 3551 §3: 96-127 are dynamic
SUPPORTED_EVENTS = frozenset(range(17))  # RFC 4733 §3.2: DTMF 0-9 * # A-D, and flash (16)
# §8.4: hold keeps what we receive unchanged and stops our sending side being used.
HOLD_DIRECTION = {
    "sendrecv": "sendonly",
    "recvonly": "inactive",
    "sendonly": "sendonly",
    "inactive": "inactive",
}
RESUME_DIRECTION = {"sendonly": "sendrecv", "inactive": "recvonly"}
# §6.1: the directions an answer may take for each offered one.
ALLOWED_ANSWER_DIRECTIONS = {
    "sendrecv": frozenset(("sendrecv", "sendonly", "recvonly", "inactive")),
    "sendonly": frozenset(("recvonly", "inactive")),
    "recvonly": frozenset(("sendonly", "inactive")),
    "inactive": frozenset(("inactive",)),
}


@dataclass(frozen=True, slots=True)
class Answer:
    """Our answer to an offer and what it settled per m= line."""

    session: SessionDescription
    streams: tuple[NegotiatedStream, ...]

    @property
    def acceptable(self) -> bool:
        """False: nothing usable was offered, and SIP answers 488 (RFC 3261 §13.3.1.1)."""
        return any(stream.accepted for stream in self.streams)

    @property
    def reason(self) -> str:
        """Why streams were refused ("" when none was): a 488 Warning text."""
        if not self.streams:
            return "no media streams offered"
        return "; ".join(dict.fromkeys(s.rejection for s in self.streams if s.rejection))


def negotiate_offer(
    offer: SessionDescription, capabilities: Capabilities
) -> tuple[NegotiatedStream, ...]:
    """§6: what each offered m= line would settle to; no ports are needed yet."""
    return tuple(
        negotiate_media(index, offer, media, capabilities)
        for index, media in enumerate(offer.media)
    )


def answer_offer(
    offer: SessionDescription,
    capabilities: Capabilities,
    address: str,
    ports: Sequence[int],
    origin: Origin,
) -> Answer:
    """§6: one answer m= line per offered one. The n-th accepted audio stream gets ports[n];
    audio streams beyond those ports, and everything we cannot do, get port 0."""
    streams = list(negotiate_offer(offer, capabilities))
    free_ports = list(ports)
    for position, stream in enumerate(streams):
        if stream.accepted and not free_ports:
            streams[position] = rejected(stream.index, stream.media, "one audio stream per call")
        elif stream.accepted:
            streams[position] = replace(stream, local_port=free_ports.pop(0))
    answered = tuple(
        _answer_media(media, stream, capabilities)
        for media, stream in zip(offer.media, streams, strict=True)
    )
    session = SessionDescription(
        origin=origin, connection=Connection.for_address(address), media=answered
    )
    return Answer(session, tuple(streams))


def build_offer(
    capabilities: Capabilities,
    address: str,
    port: int,
    origin: Origin,
    direction: str = "sendrecv",
) -> SessionDescription:
    """Our offer: one audio stream with every format we support, in our order; also what an
    offerless INVITE or re-INVITE gets (§5, RFC 3261 §14.2)."""
    formats: list[str] = []
    attributes: list[Attribute] = []
    next_dynamic = FIRST_DYNAMIC_PAYLOAD_TYPE
    for payload_format in _offered_formats(capabilities):
        payload_type = payload_format.payload_type
        if payload_type is None:
            payload_type, next_dynamic = next_dynamic, next_dynamic + 1
        formats.append(str(payload_type))
        attributes += _format_attributes(payload_type, payload_format, None)
    attributes += [("ptime", str(capabilities.ptime_ms)), (direction, None)]
    proto = capabilities.profiles[0]
    media = MediaDescription("audio", port, proto, tuple(formats), attributes=tuple(attributes))
    return SessionDescription(
        origin=origin, connection=Connection.for_address(address), media=(media,)
    )


def build_reoffer(previous: SessionDescription, direction: str) -> SessionDescription:
    """§8: a new offer keeps every m= line, in order, of the last description we sent; only
    the direction of the streams in use changes (hold: `HOLD_DIRECTION`, §8.4)."""
    media = tuple(m if m.port == 0 else m.with_direction(direction) for m in previous.media)
    return revise(previous, replace(previous, media=media))


def process_answer(
    offer: SessionDescription, answer: SessionDescription
) -> tuple[NegotiatedStream, ...]:
    """§5 and §6: read the answer to our offer. Raises SdpNegotiationError when the answer
    breaks §6 (the call layer then ends the dialog)."""
    if len(answer.media) != len(offer.media):
        raise SdpNegotiationError("the answer does not have one m= line per offered one")
    return tuple(
        _answered_stream(index, offer, answer, ours, theirs)
        for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True))
    )


def revise(previous: SessionDescription, new: SessionDescription) -> SessionDescription:
    """§8: a description we send again keeps the o= line of the previous one; the version
    goes up by one exactly when something else changed."""
    unchanged = replace(new, origin=previous.origin) == previous
    version = previous.origin.session_version + (0 if unchanged else 1)
    return replace(new, origin=replace(previous.origin, session_version=version))


def hold_direction(direction: str) -> str:
    return HOLD_DIRECTION[direction]


def resume_direction(direction: str) -> str:
    return RESUME_DIRECTION.get(direction, direction)


def _offered_formats(capabilities: Capabilities) -> list[PayloadFormat]:
    """Our codecs, then the telephone-event clocks that match one of them (RFC 4733 §2.1)."""
    codec_rates = {f.clock_rate for f in capabilities.formats}
    events = [
        event
        for event in (TELEPHONE_EVENT_48000, TELEPHONE_EVENT_8000)
        if event.clock_rate in codec_rates
        and event.clock_rate in capabilities.telephone_event_rates
    ]
    return [*capabilities.formats, *events]


def _format_attributes(
    payload_type: int, payload_format: PayloadFormat, offered_fmtp: str | None
) -> list[Attribute]:
    attributes: list[Attribute] = [("rtpmap", f"{payload_type} {payload_format.rtpmap}")]
    if payload_format.encoding_name == "telephone-event":
        attributes.append(("fmtp", f"{payload_type} {_event_list(offered_fmtp)}"))
    elif payload_format.encoding_name == "opus":
        # RFC 7587 §6.1: our decoder recovers a lost frame from in-band FEC; we send mono,
        # so sprop-stereo stays at its default 0 and is not echoed back.
        attributes.append(("fmtp", f"{payload_type} useinbandfec=1"))
    return attributes


def _event_list(offered: str | None) -> str:
    """RFC 4733 §7.1.1: the events both sides support; a receiver without the parameter
    assumes 0-15."""
    events = SUPPORTED_EVENTS & _parse_events(offered) if offered else SUPPORTED_EVENTS
    return _format_events(sorted(events or SUPPORTED_EVENTS))


def _parse_events(text: str) -> frozenset[int]:
    events: set[int] = set()
    for item in text.split(","):
        first, _, last = item.strip().partition("-")
        if not first.isascii() or not first.isdigit() or (last and not last.isdigit()):
            return frozenset()
        events.update(range(int(first), min(int(last or first), 255) + 1))
    return frozenset(events)


def _format_events(events: list[int]) -> str:
    ranges: list[list[int]] = []
    for event in events:
        if ranges and ranges[-1][1] == event - 1:
            ranges[-1][1] = event
        else:
            ranges.append([event, event])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)


def _answer_media(
    media: MediaDescription, stream: NegotiatedStream, capabilities: Capabilities
) -> MediaDescription:
    if not stream.accepted:
        # §6: a refused stream keeps its m= line, with port 0 and (some of) its formats.
        return MediaDescription(media.media, 0, media.proto, media.formats[:1])
    assert stream.format is not None
    assert stream.payload_type is not None
    formats = [str(stream.payload_type)]
    attributes = _format_attributes(stream.payload_type, stream.format, None)
    event = stream.telephone_event_payload_type
    if event is not None:
        rate = media.rtpmaps[event].clock_rate if event in media.rtpmaps else 8000
        formats.append(str(event))
        event_format = TELEPHONE_EVENT_48000 if rate == 48000 else TELEPHONE_EVENT_8000
        attributes += _format_attributes(event, event_format, media.fmtp(event))
    attributes += [("ptime", str(capabilities.ptime_ms)), (stream.direction, None)]
    if stream.rtcp_mux:
        attributes.append(("rtcp-mux", None))  # RFC 5761 §5.1.1: accepted as offered
    return MediaDescription(
        "audio", stream.local_port, media.proto, tuple(formats), attributes=tuple(attributes)
    )


def _answered_stream(
    index: int,
    offer: SessionDescription,
    answer: SessionDescription,
    ours: MediaDescription,
    theirs: MediaDescription,
) -> NegotiatedStream:
    if (theirs.media, theirs.proto) != (ours.media, ours.proto):
        raise SdpNegotiationError(f"m= line {index} changed its media or transport (§6)")
    if theirs.port == 0:
        return rejected(index, theirs.media, "refused by the answerer")
    if ours.port == 0:
        raise SdpNegotiationError(f"m= line {index} was disabled in our offer (§6)")
    chosen = _answered_codecs(index, ours, theirs)
    if not chosen:
        return rejected(index, theirs.media, "the answer kept no codec we know")
    ours_direction = ours.direction(offer.direction)
    theirs_direction = theirs.direction(answer.direction)
    if theirs_direction not in ALLOWED_ANSWER_DIRECTIONS[ours_direction]:
        raise SdpNegotiationError(f"{theirs_direction} does not answer {ours_direction} (§6.1)")
    payload_type, payload_format = chosen[0]
    stream = remote_stream(index, answer, theirs, payload_type, payload_format)
    return replace(
        stream,
        telephone_event_payload_type=telephone_event_for(offered_formats(theirs), payload_format),
        direction=ANSWER_DIRECTION[theirs_direction],
        ptime_ms=theirs.ptime_ms or ours.ptime_ms or stream.ptime_ms,
        local_port=ours.port,
    )


def _answered_codecs(
    index: int, ours: MediaDescription, theirs: MediaDescription
) -> list[tuple[int, PayloadFormat]]:
    """§6.1: an answer lists only formats from the offer (by payload type, or the same codec
    under the answerer's own dynamic number)."""
    offered = offered_formats(ours)
    offered_types = {str(pt) for pt, _ in offered} | set(ours.formats)
    known = dict(offered_formats(theirs))
    for fmt in theirs.formats:
        number = int(fmt) if fmt.isascii() and fmt.isdigit() else -1
        in_offer = fmt in offered_types or known.get(number) in {f for _, f in offered}
        if not in_offer:
            raise SdpNegotiationError(f"m= line {index}: format {fmt} was not offered")
    return [
        (pt, f)
        for pt, f in known.items()
        if f.encoding_name != "telephone-event" and f in AUDIO_FORMATS
    ]
