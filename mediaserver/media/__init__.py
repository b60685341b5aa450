"""The media engine: RTP sockets, the 20 ms clock, passive ports, DTMF, TTS, files."""
