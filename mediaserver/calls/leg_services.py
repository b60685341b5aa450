"""What every leg of a call service shares, handed to each leg when it is made."""

from dataclasses import dataclass
from typing import TYPE_CHECKING

from mediaserver.calls.deadlines import Deadlines
from mediaserver.calls.dialog_transport import DialogTransport
from mediaserver.config import CallsConfig
from mediaserver.media.tts import TtsEngine
from mediaserver.sip.transaction.timers import Timers

if TYPE_CHECKING:
    from mediaserver.calls.dialer import Dialer


@dataclass(frozen=True, slots=True)
class LegServices:
    """The SIP transport legs send through, the deadlines their timers run on, the SIP timers
    (T1, T2), the calls configuration, the dialer and the text-to-speech engine."""

    sip: DialogTransport
    deadlines: Deadlines
    sip_timers: Timers
    limits: CallsConfig
    dialer: "Dialer"
    tts: TtsEngine | None = None
