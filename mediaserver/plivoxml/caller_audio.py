"""What the caller says, handed to every verb listening at once.

A leg takes one recording sink (CallControl.record); an application can have several
listeners at a time: a Record recordSession keeps recording the whole call (plivo.md §2.6)
while a voicemail Record, or a Wait for silence or a beep, listens too. Each listener joins and
leaves here, and the leg's one sink is this fan-out while anyone listens.
"""

from audiocodecs.pcm import Pcm16
from mediaserver.calls.call_control import CallControl
from mediaserver.media.port import MediaSink


class CallerAudio:
    def __init__(self, leg: CallControl) -> None:
        self._leg = leg
        self._listeners: list[MediaSink] = []

    def listen(self, sink: MediaSink) -> None:
        if not self._listeners:
            self._leg.record(self)
        self._listeners.append(sink)

    def stop_listening(self, sink: MediaSink) -> None:
        if sink in self._listeners:
            self._listeners.remove(sink)
            if not self._listeners:
                self._leg.stop_recording()

    def write_frame(self, pcm: Pcm16) -> None:
        # A copy: a listener may leave (a Wait ends on this very frame) while it is handed on.
        for sink in tuple(self._listeners):
            sink.write_frame(pcm)
