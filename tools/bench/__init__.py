"""Benchmarks. Each module here defines `run() -> None`, which prints its figures next to a
reference run (a C implementation, Kamailio, rtpengine) and the issue's targets. They never
fail on wall-clock time."""
