"""What the caller says, handed to every verb listening at once.

A leg takes one recording sink (CallControl.record); an application can have several
listeners at a time: a Record recordSession keeps recording the whole call (plivo.md §2.6)
while a voicemail Record, or a Wait for silence or a beep, listens too. Each listener joins and
leaves here, and the leg's one sink is this fan-out while anyone listens.

The leg mixes in what the caller hears when any listener asks for it (a mono session
recording). The others then get that mix too; while they listen the caller hears nothing of
the application's (a Record's beep comes before it listens, a Wait is silent), so the mix is
the caller's voice.
"""

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.media.port import MediaSink


class CallerAudio:
    def __init__(self, leg: CallControl) -> None:
        self._leg = leg
        self._listeners: dict[MediaSink, bool] = {}  # sink -> whether it asked for `heard`

    def listen(self, sink: MediaSink, heard: bool = False) -> None:
        self._listeners[sink] = heard
        self._leg.record(self, heard=any(self._listeners.values()))

    def stop_listening(self, sink: MediaSink) -> None:
        if self._listeners.pop(sink, None) is None:
            return
        if self._listeners:
            self._leg.record(self, heard=any(self._listeners.values()))
        else:
            self._leg.stop_recording()

    def write_frame(self, pcm: Pcm16) -> None:
        # A copy: a listener may leave (a Wait ends on this very frame) while it is handed on.
        for sink in tuple(self._listeners):
            sink.write_frame(pcm)
