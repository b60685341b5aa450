"""The offer/answer model (RFC 3264) for audio: answers, offers, and reading answers."""

from dataclasses import dataclass, replace

from mediaserver.rtp.payload_types import (
    AUDIO_FORMATS,
    TELEPHONE_EVENT_8000,
    TELEPHONE_EVENT_48000,
    PayloadFormat,
)
from mediaserver.sdp.session import (
    Connection,
    MediaDescription,
    Origin,
    RtpMap,
    SessionDescription,
)

RTP_PROFILES = ("RTP/AVP", "RTP/AVPF")
# §6.1: what we answer to each offered direction (sendrecv when both sides can).
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
FIRST_DYNAMIC_PAYLOAD_TYPE = 96


class SdpNegotiationError(ValueError):
    """Nothing acceptable in the offer (answer with 488), or an answer that breaks §6."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What we can do, in our order of preference."""

    formats: tuple[PayloadFormat, ...] = AUDIO_FORMATS
    ptime_ms: int = 20
    telephone_event: bool = True
    prefer_offerer_order: bool = False  # pick the offer's first acceptable codec


@dataclass(frozen=True, slots=True)
class NegotiatedStream:
    """The outcome for one m= line."""

    index: int
    format: PayloadFormat | None  # None: the stream was rejected (port 0)
    payload_type: int | None = None
    telephone_event_payload_type: int | None = None
    remote_address: str = ""
    remote_port: int = 0
    direction: str = "inactive"  # ours: may we send, receive, both?
    ptime_ms: int = 20
    remote_on_hold: bool = False  # the peer put us on hold

    @property
    def accepted(self) -> bool:
        return self.format is not None


def offered_formats(media: MediaDescription) -> list[tuple[int, PayloadFormat]]:
    """The offer's formats that we recognise, in its order, with its payload types."""
    rtpmaps = media.rtpmaps
    found = []
    for text in media.formats:
        if not text.isdigit():
            continue
        payload_type = int(text)
        known = _recognise(payload_type, rtpmaps.get(payload_type))
        if known is not None:
            found.append((payload_type, known))
    return found


def answer_offer(
    offer: SessionDescription,
    capabilities: Capabilities,
    address: str,
    port: int,
    origin: Origin,
) -> tuple[SessionDescription, list[NegotiatedStream]]:
    """§6: the answer, one m= line per offered one. The first acceptable audio stream gets
    `port`; others (and anything not audio over RTP) are refused with port 0."""
    answered: list[MediaDescription] = []
    streams: list[NegotiatedStream] = []
    for index, media in enumerate(offer.media):
        stream = _negotiate(index, offer, media, capabilities)
        if stream.accepted and any(s.accepted for s in streams):
            stream = NegotiatedStream(index, None)  # one audio stream per call
        streams.append(stream)
        answered.append(_answer_media(media, stream, capabilities, port))
    if not any(stream.accepted for stream in streams):
        raise SdpNegotiationError("no acceptable audio stream in the offer")
    connection = Connection(address, "IP6" if ":" in address else "IP4")
    answer = SessionDescription(origin=origin, connection=connection, media=tuple(answered))
    return answer, streams


def build_offer(
    capabilities: Capabilities, address: str, port: int, origin: Origin, direction: str = "sendrecv"
) -> SessionDescription:
    """Our offer: one audio stream with every format we support (also what an offerless
    INVITE or re-INVITE gets, §5 and RFC 3261 §14.2)."""
    formats: list[str] = []
    attributes: list[tuple[str, str | None]] = []
    next_dynamic = FIRST_DYNAMIC_PAYLOAD_TYPE
    offered = list(capabilities.formats)
    if capabilities.telephone_event:
        offered += [TELEPHONE_EVENT_48000, TELEPHONE_EVENT_8000]
    for payload_format in offered:
        payload_type = payload_format.payload_type
        if payload_type is None:
            payload_type, next_dynamic = next_dynamic, next_dynamic + 1
        formats.append(str(payload_type))
        attributes.append(("rtpmap", f"{payload_type} {payload_format.rtpmap}"))
        if payload_format.encoding_name == "telephone-event":
            attributes.append(("fmtp", f"{payload_type} 0-16"))
    attributes += [("ptime", str(capabilities.ptime_ms)), (direction, None)]
    media = MediaDescription("audio", port, "RTP/AVP", tuple(formats), attributes=tuple(attributes))
    connection = Connection(address, "IP6" if ":" in address else "IP4")
    return SessionDescription(origin=origin, connection=connection, media=(media,))


def process_answer(offer: SessionDescription, answer: SessionDescription) -> list[NegotiatedStream]:
    """§5/§6: read the answer to our offer; its formats must be among those we offered."""
    if len(answer.media) != len(offer.media):
        raise SdpNegotiationError("the answer does not have one m= line per offered one")
    streams = []
    for index, (ours, theirs) in enumerate(zip(offer.media, answer.media, strict=True)):
        if theirs.port == 0:
            streams.append(NegotiatedStream(index, None))
            continue
        offered = dict(offered_formats(ours))
        chosen = [
            (pt, f) for pt, f in offered_formats(theirs) if f.encoding_name != "telephone-event"
        ]
        if not chosen or any(pt not in offered for pt, _ in chosen):
            raise SdpNegotiationError("the answer chose a format we did not offer")
        payload_type, payload_format = chosen[0]
        streams.append(_stream(index, answer, theirs, payload_type, payload_format, 20))
    return streams


def next_version(origin: Origin) -> Origin:
    """§8: each new offer or answer in a session increments the version."""
    return replace(origin, session_version=origin.session_version + 1)


def _recognise(payload_type: int, rtpmap: RtpMap | None) -> PayloadFormat | None:
    if rtpmap is not None:
        for candidate in (*AUDIO_FORMATS, TELEPHONE_EVENT_8000, TELEPHONE_EVENT_48000):
            if (
                candidate.encoding_name.lower() == rtpmap.encoding_name.lower()
                and candidate.clock_rate == rtpmap.clock_rate
            ):
                return candidate
        return None
    # RFC 3551 static types may come without an rtpmap.
    return next((f for f in AUDIO_FORMATS if f.payload_type == payload_type), None)


def _negotiate(
    index: int, offer: SessionDescription, media: MediaDescription, capabilities: Capabilities
) -> NegotiatedStream:
    if media.media != "audio" or media.port == 0 or media.proto not in RTP_PROFILES:
        return NegotiatedStream(index, None)
    available = offered_formats(media)
    codecs = [(pt, f) for pt, f in available if f in capabilities.formats]
    if not codecs:
        return NegotiatedStream(index, None)
    if not capabilities.prefer_offerer_order:
        codecs.sort(key=lambda item: capabilities.formats.index(item[1]))
    payload_type, payload_format = codecs[0]
    stream = _stream(index, offer, media, payload_type, payload_format, capabilities.ptime_ms)
    if capabilities.telephone_event:
        stream = replace(
            stream, telephone_event_payload_type=_telephone_event(available, payload_format)
        )
    return replace(stream, direction=ANSWER_DIRECTION[media.direction(offer.direction)])


def _stream(
    index: int,
    session: SessionDescription,
    media: MediaDescription,
    payload_type: int,
    payload_format: PayloadFormat,
    ptime_ms: int,
) -> NegotiatedStream:
    connection = session.connection_for(media)
    assert connection is not None  # the parser refuses a stream without one
    direction = media.direction(session.direction)
    return NegotiatedStream(
        index=index,
        format=payload_format,
        payload_type=payload_type,
        telephone_event_payload_type=_telephone_event(offered_formats(media), payload_format),
        remote_address=connection.address.split("/")[0],
        remote_port=media.port,
        direction=ANSWER_DIRECTION[direction],
        ptime_ms=media.ptime_ms or ptime_ms,
        remote_on_hold=direction in ("sendonly", "inactive") or connection.is_hold,
    )


def _telephone_event(
    available: list[tuple[int, PayloadFormat]], codec: PayloadFormat
) -> int | None:
    """RFC 4733 §7.1.1: the event clock matches the codec's; else any offered one."""
    events = [(pt, f) for pt, f in available if f.encoding_name == "telephone-event"]
    same_rate = [pt for pt, f in events if f.clock_rate == codec.clock_rate]
    return same_rate[0] if same_rate else (events[0][0] if events else None)


def _answer_media(
    media: MediaDescription, stream: NegotiatedStream, capabilities: Capabilities, port: int
) -> MediaDescription:
    if not stream.accepted:
        # §6: a refused stream keeps its m= line, with port 0 and the offered formats.
        return MediaDescription(media.media, 0, media.proto, media.formats[:1] or ("0",))
    assert stream.format is not None
    assert stream.payload_type is not None
    formats = [str(stream.payload_type)]
    attributes: list[tuple[str, str | None]] = [
        ("rtpmap", f"{stream.payload_type} {stream.format.rtpmap}")
    ]
    fmtp = media.fmtp(stream.payload_type)
    if fmtp is not None:
        attributes.append(("fmtp", f"{stream.payload_type} {fmtp}"))
    event = stream.telephone_event_payload_type
    if event is not None:
        rate = media.rtpmaps[event].clock_rate if event in media.rtpmaps else 8000
        formats.append(str(event))
        attributes += [("rtpmap", f"{event} telephone-event/{rate}"), ("fmtp", f"{event} 0-16")]
    attributes += [("ptime", str(stream.ptime_ms)), (stream.direction, None)]
    if media.has_attribute("rtcp-mux"):
        attributes.append(("rtcp-mux", None))  # RFC 5761 §5.1.1: accept when offered
    return MediaDescription(
        "audio", port, media.proto, tuple(formats), attributes=tuple(attributes)
    )
