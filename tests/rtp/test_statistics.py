"""Our receive statistics against tshark's `-z rtp,streams` on the same captures."""

import re
import subprocess
from pathlib import Path

import pytest

from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.statistics import ReceiveStatistics
from tests.loopback_capture import timed_udp_payloads

PCAPS = Path("/usr/share/sip-tester")


def tshark_streams(path: Path) -> list[list[str]]:
    output = subprocess.run(
        ["tshark", "-r", str(path), "-o", "rtp.heuristic_rtp:TRUE", "-q", "-z", "rtp,streams"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [line.split() for line in output.splitlines() if re.match(r"\s+\d+\.\d+\s", line)]


@pytest.mark.parametrize("name", ["g711a.pcap", "dtmf_2833_1.pcap", "dtmf_2833_7.pcap"])
def test_counts_loss_and_jitter_match_tshark(name: str) -> None:
    (row,) = tshark_streams(PCAPS / name)
    packets = [(t, RtpPacket.parse(d)) for t, d in timed_udp_payloads(PCAPS / name)]
    statistics = ReceiveStatistics(clock_rate=8000)
    for arrival, packet in packets:
        statistics.update(packet.sequence_number, packet.timestamp, packet.ssrc, arrival)
    # Columns: start end src port dst port ssrc payload pkts lost (pct) min/mean/max delta,
    # min/mean/max jitter; "Lost" is expected minus received, negative with duplicates.
    lost_index = row.index(next(c for c in row if c.startswith("("))) - 1
    assert statistics.packets_received == int(row[lost_index - 1])
    assert statistics.cumulative_lost == int(row[lost_index])
    mean_jitter_ms, max_jitter_ms = float(row[lost_index + 6]), float(row[lost_index + 7])
    if max_jitter_ms > 0:  # tshark computes no jitter for telephone-event-only streams
        assert statistics.max_jitter / 8 == pytest.approx(max_jitter_ms, abs=0.002)
        assert statistics.mean_jitter / 8 == pytest.approx(mean_jitter_ms, abs=0.01)


def test_sequence_wrap_and_loss() -> None:
    statistics = ReceiveStatistics(8000)
    sequence = [65533, 65534, 0, 1, 3, 2, 4]  # 65535 lost, 2/3 reordered
    for n, sequence_number in enumerate(sequence):
        assert statistics.update(sequence_number, 160 * n, 1, n * 0.02)
    assert statistics.extended_highest_sequence == 65536 + 4
    assert statistics.expected == 8
    assert statistics.cumulative_lost == 1
    block = statistics.report_block(ssrc=1)
    assert block.fraction_lost == 256 // 8
    assert block.cumulative_lost == 1


def test_a_lone_jump_is_discarded_without_touching_the_counts() -> None:
    """A.1: a packet far from the sequence is dropped unless the next one follows it."""
    statistics = ReceiveStatistics(8000)
    for n in range(5):
        assert statistics.update(100 + n, 160 * n, 7, n * 0.02)
    jitter = statistics.jitter
    assert not statistics.update(40_000, 999_999, 7, 0.1)
    assert statistics.update(105, 800, 7, 0.1)
    assert (statistics.packets_received, statistics.packets_lost) == (6, 0)
    assert statistics.jitter == jitter


def test_a_confirmed_jump_restarts_the_sequence_and_keeps_the_loss() -> None:
    statistics = ReceiveStatistics(8000)
    for sequence_number in (1, 2, 4):  # 3 lost
        statistics.update(sequence_number, 0, 7, 0.0)
    assert not statistics.update(30_000, 0, 7, 0.0)
    assert statistics.update(30_001, 160, 7, 0.02)  # the source restarted
    assert statistics.update(30_003, 480, 7, 0.06)  # 30,002 lost
    assert (statistics.packets_received, statistics.packets_lost) == (5, 2)


def test_a_new_ssrc_starts_a_new_sequence_at_once() -> None:
    statistics = ReceiveStatistics(8000)
    statistics.update(10, 0, 7, 0.0)
    assert statistics.update(50_000, 0, 8, 0.02)
    assert statistics.update(50_001, 160, 8, 0.04)
    assert (statistics.ssrc, statistics.packets_received, statistics.packets_lost) == (8, 3, 0)
