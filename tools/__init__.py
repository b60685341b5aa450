"""Benchmarks (`make bench`) and load tests (`make load`) of the server.

Imported first so that mediaserver's process settings (one BLAS thread) hold before any tool
imports numpy: the figures are those of the server as it runs.
"""

import mediaserver  # noqa: F401
