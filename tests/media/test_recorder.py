from pathlib import Path

import numpy as np

from mediaserver.media.audio_file import AudioWriter, read_audio
from mediaserver.media.recorder import Recorder, StereoRecorder


def test_mono_recorder_writes_every_frame(tmp_path: Path) -> None:
    recorder = Recorder(AudioWriter(tmp_path / "r.wav"))
    for _ in range(25):
        recorder.write_frame(np.full(160, 1000, np.int16))
    recorder.close()
    assert recorder.duration_seconds == 0.5
    assert len(read_audio(tmp_path / "r.wav")) == 4000


def test_stereo_recorder_pads_a_silent_leg(tmp_path: Path) -> None:
    writer = AudioWriter(tmp_path / "s.wav", channels=2)
    recorder = StereoRecorder(writer)
    for n in range(10):
        recorder.left.write_frame(np.full(160, 1000, np.int16))
        if n % 2 == 0:
            recorder.right.write_frame(np.full(160, -1000, np.int16))
    recorder.close()
    assert writer.samples_written == 1600
