import socket

import pytest

from mediaserver.media.port_allocator import PortAllocator, PortRangeExhaustedError


def test_allocates_even_rtp_port_with_rtcp_on_the_next_one() -> None:
    allocator = PortAllocator("127.0.0.1", 21001, 21100)
    ports = allocator.allocate(rtcp_mux=False)
    try:
        assert ports.rtp_port % 2 == 0
        assert ports.rtcp_socket is not None
        assert ports.rtcp_socket.getsockname()[1] == ports.rtp_port + 1
        assert allocator.statistics().bound_ports == 2
    finally:
        allocator.release(ports)
    assert allocator.statistics().bound_ports == 0


def test_rtcp_mux_binds_one_port() -> None:
    allocator = PortAllocator("127.0.0.1", 21100, 21199)
    ports = allocator.allocate(rtcp_mux=True)
    assert ports.rtcp_socket is None
    assert allocator.statistics().bound_ports == 1
    allocator.release(ports)


def test_skips_ports_held_by_someone_else_and_moves_round_robin() -> None:
    blocker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    blocker.bind(("127.0.0.1", 21201))  # the RTCP half of the first pair
    allocator = PortAllocator("127.0.0.1", 21200, 21209)
    try:
        first = allocator.allocate(rtcp_mux=False)
        assert first.rtp_port == 21202
        allocator.release(first)
        second = allocator.allocate(rtcp_mux=False)
        assert second.rtp_port == 21204  # not the port just released
        allocator.release(second)
    finally:
        blocker.close()


def test_exhausted_range_raises() -> None:
    allocator = PortAllocator("127.0.0.1", 21300, 21303)
    held = [allocator.allocate(rtcp_mux=False) for _ in range(2)]
    with pytest.raises(PortRangeExhaustedError):
        allocator.allocate(rtcp_mux=False)
    for ports in held:
        allocator.release(ports)
    assert allocator.statistics().allocations == 0


def test_range_without_a_pair_is_rejected() -> None:
    with pytest.raises(ValueError, match="no even/odd pair"):
        PortAllocator("127.0.0.1", 21401, 21401)
