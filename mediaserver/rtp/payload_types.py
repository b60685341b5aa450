"""RTP payload formats we speak: rtpmap facts (RFC 3551 static types, RFC 7587, RFC 4733)."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PayloadFormat:
    encoding_name: str
    clock_rate: int
    channels: int = 1
    payload_type: int | None = None  # the static type, None for dynamic ones

    @property
    def rtpmap(self) -> str:
        """The a=rtpmap value after the payload type (RFC 4566 §6)."""
        suffix = f"/{self.channels}" if self.channels != 1 else ""
        return f"{self.encoding_name}/{self.clock_rate}{suffix}"


PCMU = PayloadFormat("PCMU", 8000, 1, 0)
PCMA = PayloadFormat("PCMA", 8000, 1, 8)
# RFC 7587 §7: Opus is always signalled as opus/48000/2, whatever it carries.
OPUS = PayloadFormat("opus", 48000, 2)
TELEPHONE_EVENT_8000 = PayloadFormat("telephone-event", 8000)
TELEPHONE_EVENT_48000 = PayloadFormat("telephone-event", 48000)

AUDIO_FORMATS = (PCMU, PCMA, OPUS)
_BY_NAME = {f.encoding_name.lower(): f for f in AUDIO_FORMATS}


class UnknownPayloadFormatError(KeyError):
    """An encoding name we do not support."""


def payload_format(encoding_name: str) -> PayloadFormat:
    try:
        return _BY_NAME[encoding_name.lower()]
    except KeyError:
        raise UnknownPayloadFormatError(f"unsupported encoding {encoding_name!r}") from None


def rtp_clock_rate(encoding_name: str) -> int:
    return payload_format(encoding_name).clock_rate


def codec_name_for(encoding_name: str) -> str:
    """The audiocodecs name for an SDP encoding name."""
    return {"pcmu": "PCMU", "pcma": "PCMA", "opus": "opus"}[
        payload_format(encoding_name).encoding_name.lower()
    ]


def format_parameters(fmtp: str | None) -> dict[str, str]:
    """The parameters of an a=fmtp value after its payload type (RFC 4566 §6), in the
    `name=value;name=value` form that Opus (RFC 7587 §7) and most audio formats use."""
    parameters: dict[str, str] = {}
    for item in (fmtp or "").split(";"):
        name, _, value = item.partition("=")
        if name.strip():
            parameters[name.strip().lower()] = value.strip()
    return parameters


def wants_inband_fec(fmtp: str | None) -> bool:
    """RFC 7587 §6.1: useinbandfec=1 says the receiver decodes Opus in-band FEC; absent, it
    defaults to 0, and FEC would only cost the sender CPU and the network bits."""
    return format_parameters(fmtp).get("useinbandfec") == "1"
