"""Linear PCM as numpy arrays: the currency of every codec."""

import numpy as np
import numpy.typing as npt

Pcm16 = npt.NDArray[np.int16]
