"""Our receive statistics against tshark's `-z rtp,streams` on the same captures."""

import re
import struct
import subprocess
from pathlib import Path

import pytest

from mediaserver.rtp.packet import RtpPacket
from mediaserver.rtp.statistics import ReceiveStatistics

PCAPS = Path("/usr/share/sip-tester")


def timed_udp_payloads(path: Path) -> list[tuple[float, bytes]]:
    data = path.read_bytes()
    (magic,) = struct.unpack_from("<I", data)
    endian = "<" if magic == 0xA1B2C3D4 else ">"
    link_header = {1: 14, 113: 16}[struct.unpack_from(endian + "I", data, 20)[0]]
    offset, found = 24, []
    while offset + 16 <= len(data):
        seconds, micros, captured = struct.unpack_from(endian + "III", data, offset)
        ip = data[offset + 16 + link_header : offset + 16 + captured]
        offset += 16 + captured
        if len(ip) >= 20 and ip[9] == 17:
            udp = ip[(ip[0] & 0x0F) * 4 :]
            found.append((seconds + micros / 1e6, udp[8 : struct.unpack_from("!H", udp, 4)[0]]))
    return found


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
        statistics.update(packet, arrival)
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
        statistics.update(RtpPacket(0, sequence_number, 160 * n, 1), n * 0.02)
    assert statistics.extended_highest_sequence == 65536 + 4
    assert statistics.expected == 8
    assert statistics.cumulative_lost == 1
    block = statistics.report_block(ssrc=1)
    assert block.fraction_lost == 256 // 8
    assert block.cumulative_lost == 1
