"""A conference room's recording (<Conference record="true">, plivo.md §2.8): one file of the
room's whole mix, every member and every room sound, from the first recording member's entry
(or the REST API's Record/) until the room closes or the REST API stops it; listed with the
Record verb's recordings (type "conference", with the room's name and account).

Without recordWhenAlone, the frames of a room holding one member are left out (nothing is
said to nobody). The members that asked for it are told twice on their callbackUrl:
ConferenceAction=record when it starts (durations -1, as Record's session mode gives them) and
again with the real durations once the file is in place.
"""

from collections.abc import Callable

from audiocodecs.pcm import Pcm16
from mediaserver.calls.conference_room import ConferenceRoom
from mediaserver.calls.conference_rooms import ConferenceRooms
from mediaserver.media.recorder import Recorder
from mediaserver.plivoxml.record_verb import RecordingFile
from mediaserver.plivoxml.session import RecordingArchive
from mediaserver.store.recordings import Recording

Listener = Callable[[dict[str, str]], None]  # the Record* parameters, once known


class ConferenceRecording:
    def __init__(
        self,
        room: ConferenceRoom,
        archive: RecordingArchive,
        file_format: str,
        alone: bool,
        call_uuid: str,
    ) -> None:
        self.call_uuid = call_uuid  # the member whose document asked for it
        # At the room's rate when it starts (16 kHz with a wideband member): the mixer
        # converts the room's mix to it if the rate changes afterwards.
        self.sample_rate = room.mix_rate()
        self._file = RecordingFile(
            archive,
            call_uuid,
            file_format,
            1,
            conference_name=room.name,
            sub_account=room.account,
            sample_rate=self.sample_rate,
        )
        self.recording_id = self._file.recording_id
        self.url = self._file.url
        self._room = room
        self._alone = alone
        self._recorder = Recorder(self._file.writer)
        self.listeners: list[Listener] = []
        self._finished = False

    def write_frame(self, pcm: Pcm16) -> None:
        if self._alone or len(self._room.members) > 1:
            self._recorder.write_frame(pcm)

    def parameters(self, recording: Recording | None = None) -> dict[str, str]:
        """RecordUrl, RecordingID and the durations (-1 while it runs)."""
        params = {"RecordUrl": self.url, "RecordingID": self.recording_id}
        if recording is None:
            durations = ("-1", "-1", "-1", "-1")
        else:
            duration_ms = recording.recording_duration_ms
            durations = (
                str(round(duration_ms / 1000)), str(duration_ms),
                str(recording.recording_start_ms), str(recording.recording_end_ms),
            )  # fmt: skip
        names = ("RecordingDuration", "RecordingDurationMs", "RecordingStartMs", "RecordingEndMs")
        return params | dict(zip(names, durations, strict=True))

    async def finish(self) -> None:
        """Close the file, list it, tell the listeners (the room has stopped recording);
        once, whether the room closed or the recording was stopped first."""
        if self._finished:
            return
        self._finished = True
        recording = await self._file.close()
        for listener in self.listeners:
            listener(self.parameters(recording))


def start_recording(
    rooms: ConferenceRooms,
    room: ConferenceRoom,
    archive: RecordingArchive,
    file_format: str,
    alone: bool,
    call_uuid: str,
) -> ConferenceRecording:
    """Record `room` until it closes; the file is finished by the rooms' own task."""
    recording = ConferenceRecording(room, archive, file_format, alone, call_uuid)
    room.record_mix(recording, recording.sample_rate)

    def finish() -> None:
        rooms.spawn(recording.finish())

    room.on_close.append(finish)
    return recording


def stop_recording(rooms: ConferenceRooms, room: ConferenceRoom) -> bool:
    """Stop the room's recording now; its file is finished by the rooms' own task (False:
    the room was not recording)."""
    recording = room.recording
    if not isinstance(recording, ConferenceRecording):
        return False
    room.record_mix(None)
    rooms.spawn(recording.finish())
    return True
