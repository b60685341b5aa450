"""One negotiated media stream (RFC 3264 §6): what an offered m= line settles to for us."""

from dataclasses import dataclass, replace

from mediaserver.rtp.payload_types import (
    AUDIO_FORMATS,
    TELEPHONE_EVENT_8000,
    TELEPHONE_EVENT_48000,
    PayloadFormat,
)
from mediaserver.sdp.session import MediaDescription, RtpMap, SessionDescription

RTP_PROFILES = ("RTP/AVP", "RTP/AVPF")  # plain RTP; SDES-SRTP (RTP/SAVP) is not carried
# RFC 5764 §8: DTLS-SRTP over ICE, what browsers offer (JSEP, RFC 8829 §5.1.2).
WEBRTC_PROFILES = ("UDP/TLS/RTP/SAVPF",)
KNOWN_FORMATS = (*AUDIO_FORMATS, TELEPHONE_EVENT_8000, TELEPHONE_EVENT_48000)
# §6.1: our direction for each direction the peer states (sendrecv when both sides can).
ANSWER_DIRECTION = {
    "sendrecv": "sendrecv",
    "sendonly": "recvonly",
    "recvonly": "sendonly",
    "inactive": "inactive",
}
# RFC 3264 §8.4 (RFC 2543 hold): c=0.0.0.0 means "send nothing to me".
CONNECTION_HOLD_DIRECTION = {"sendrecv": "sendonly", "recvonly": "inactive"}


class SdpNegotiationError(ValueError):
    """An answer to our offer that breaks RFC 3264 §6."""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What we can do, in our order of preference."""

    formats: tuple[PayloadFormat, ...] = AUDIO_FORMATS
    ptime_ms: int = 20
    telephone_event_rates: tuple[int, ...] = (8000, 48000)  # () for no RFC 4733 events
    prefer_offerer_order: bool = False  # pick the offer's first acceptable codec instead
    profiles: tuple[str, ...] = RTP_PROFILES  # transport protocols we answer; we offer the first


@dataclass(frozen=True, slots=True)
class NegotiatedStream:
    """The outcome for one m= line; `format` is None when the stream was refused."""

    index: int
    media: str
    format: PayloadFormat | None = None
    payload_type: int | None = None
    telephone_event_payload_type: int | None = None
    fmtp: str | None = None  # the peer's parameters for the chosen codec
    remote_address: str = ""
    remote_port: int = 0
    remote_rtcp_port: int = 0
    rtcp_mux: bool = False
    local_port: int = 0
    direction: str = "inactive"  # ours: may we send, receive, both?
    ptime_ms: int = 20  # what the peer asked to receive, else ours
    remote_on_hold: bool = False  # the peer stopped receiving from us (§8.4)
    rejection: str = ""  # why the stream was refused

    @property
    def accepted(self) -> bool:
        return self.format is not None


def rejected(index: int, media: str, reason: str) -> NegotiatedStream:
    return NegotiatedStream(index, media, rejection=reason)


def offered_formats(media: MediaDescription) -> list[tuple[int, PayloadFormat]]:
    """The m= line's formats that we recognise, in its order, with its payload types."""
    rtpmaps = media.rtpmaps
    found = []
    for text in media.formats:
        if text.isascii() and text.isdigit():
            known = _recognise(int(text), rtpmaps.get(int(text)))
            if known is not None:
                found.append((int(text), known))
    return found


def negotiate_media(
    index: int, offer: SessionDescription, media: MediaDescription, capabilities: Capabilities
) -> NegotiatedStream:
    """§6.1: the first mutually supported codec, in our order (or the offer's), keeping the
    offer's payload type; telephone-event at the codec's clock when offered."""
    reason = _refusal(media, capabilities.profiles)
    if reason:
        return rejected(index, media.media, reason)
    available = offered_formats(media)
    codecs = [(pt, f) for pt, f in available if f in capabilities.formats]
    if not codecs:
        return rejected(index, media.media, f"no common codec in {_describe(media)}")
    if not capabilities.prefer_offerer_order:
        codecs.sort(key=lambda item: capabilities.formats.index(item[1]))
    payload_type, payload_format = codecs[0]
    stream = remote_stream(index, offer, media, payload_type, payload_format)
    events = [(pt, f) for pt, f in available if f.clock_rate in capabilities.telephone_event_rates]
    return replace(
        stream,
        telephone_event_payload_type=telephone_event_for(events, payload_format),
        ptime_ms=media.ptime_ms or capabilities.ptime_ms,
    )


def remote_stream(
    index: int,
    session: SessionDescription,
    media: MediaDescription,
    payload_type: int,
    payload_format: PayloadFormat,
) -> NegotiatedStream:
    """The peer's side of an accepted m= line: address, ports, direction, hold."""
    connection = session.connection_for(media)
    assert connection is not None  # the parser refuses a used stream without one
    stated = media.direction(session.direction)
    # With ICE, c= names the default candidate, 0.0.0.0 when none is gathered yet (RFC 8839
    # §5.1, JSEP §5.2.1): not the RFC 2543 hold it means otherwise.
    is_hold = connection.is_hold and not uses_ice(session, media)
    effective = CONNECTION_HOLD_DIRECTION.get(stated, stated) if is_hold else stated
    rtcp = media.rtcp
    return NegotiatedStream(
        index=index,
        media=media.media,
        format=payload_format,
        payload_type=payload_type,
        fmtp=media.fmtp(payload_type),
        remote_address=connection.host,
        remote_port=media.port,
        # RFC 5761 §5.1.1 (mux), RFC 3605 (a=rtcp), else RFC 3550 §11 (the next port).
        remote_rtcp_port=media.port if media.rtcp_mux else rtcp.port if rtcp else media.port + 1,
        rtcp_mux=media.rtcp_mux,
        direction=ANSWER_DIRECTION[effective],
        ptime_ms=media.ptime_ms or 20,
        remote_on_hold=effective in ("sendonly", "inactive"),
    )


def uses_ice(session: SessionDescription, media: MediaDescription) -> bool:
    """RFC 8839 §5.4: ice-ufrag at media or session level."""
    return media.has_attribute("ice-ufrag") or any(k == "ice-ufrag" for k, _ in session.attributes)


def telephone_event_for(
    available: list[tuple[int, PayloadFormat]], codec: PayloadFormat
) -> int | None:
    """RFC 4733 §2.1: telephone-event runs at the clock of the audio it goes with."""
    return next(
        (
            pt
            for pt, f in available
            if f.encoding_name == "telephone-event" and f.clock_rate == codec.clock_rate
        ),
        None,
    )


def _refusal(media: MediaDescription, profiles: tuple[str, ...]) -> str:
    if media.port == 0:
        return "stream disabled by the offerer"
    if media.media != "audio":
        return f"{media.media} streams are not supported"
    if media.proto not in profiles:
        return f"{media.proto} is not supported"
    return ""


def _describe(media: MediaDescription) -> str:
    rtpmaps = media.rtpmaps
    names = [
        rtpmaps[int(fmt)].encoding_name if int(fmt) in rtpmaps else fmt for fmt in media.formats
    ]
    return " ".join(names)


def _recognise(payload_type: int, rtpmap: RtpMap | None) -> PayloadFormat | None:
    if rtpmap is not None:
        return next(
            (
                known
                for known in KNOWN_FORMATS
                if known.encoding_name.lower() == rtpmap.encoding_name.lower()
                and known.clock_rate == rtpmap.clock_rate
            ),
            None,
        )
    # RFC 3551 §6: static payload types may come without an rtpmap.
    return next((f for f in AUDIO_FORMATS if f.payload_type == payload_type), None)
