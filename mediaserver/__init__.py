"""A Plivo-compatible SIP/RTP media server in one asyncio program."""

import os

# One event loop does all the work, and numpy's matrices here are small (a 20 ms tick of a few
# hundred streams): OpenBLAS's extra threads only spin between calls, and were measured taking
# a whole core of this process under call load. Set before anything imports numpy.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")
