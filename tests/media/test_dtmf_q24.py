"""The DTMF detector against the ITU-T Q.24-style test set of tools/bench/dtmf.py, with
multimon-ng's score on the same bursts printed beside ours (asserted: ours only)."""

from pathlib import Path

import pytest

from tools.bench.dtmf import build_test_set, print_table, render_all, run_detector, score


def test_q24_test_set_side_by_side_with_multimon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bursts = build_test_set()
    assert len(bursts) >= 2000
    signals = render_all(bursts)
    found = run_detector(signals)
    scores = score(bursts, signals, found, tmp_path)
    with capsys.disabled():
        print(f"\nDTMF test set: {len(bursts)} bursts")
        print_table(scores)
    # Exactly the wanted digits per burst: a valid one missed or reported twice (a tone broken
    # for 10 ms counted as two presses) fails, as does any digit from an invalid burst.
    wrong = [(b, f) for b, f in zip(bursts, found, strict=True) if f != b.expected]
    assert not wrong, f"{len(wrong)} bursts read wrong, e.g. {wrong[:3]}"
    assert sum(not b.valid for b in bursts) >= 300
    assert sum(b.break_ms > 0 for b in bursts) >= 256
