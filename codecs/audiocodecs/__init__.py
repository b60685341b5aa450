"""Audio codecs: PCM (int16 numpy arrays) <-> payload bytes. Nothing about RTP or I/O."""
