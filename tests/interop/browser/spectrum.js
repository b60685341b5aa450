// What a page hears, measured with WebAudio's AnalyserNode: window.measureSpectrum(stream,
// durationMs) gives the strongest frequency, bin by bin, in snapshots over `durationMs` (the
// median of the snapshots' peaks) with the loudest level seen (dBFS). A plain script: the
// test pages bundle it, and tests inject it into pages they did not write (the web phone).
(() => {
  const FFT_SIZE = 8192;

  window.measureSpectrum = async (stream, durationMs) => {
    const context = new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = FFT_SIZE;
    context.createMediaStreamSource(stream).connect(analyser);
    const bins = new Float32Array(analyser.frequencyBinCount);
    const peaks = [];
    let loudest = -Infinity;
    for (let elapsed = 0; elapsed < durationMs; elapsed += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      analyser.getFloatFrequencyData(bins);
      let peak = 1;
      for (let i = 2; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
      peaks.push((peak * context.sampleRate) / FFT_SIZE);
      loudest = Math.max(loudest, bins[peak]);
    }
    await context.close();
    peaks.sort((a, b) => a - b);
    return { frequency: peaks[Math.floor(peaks.length / 2)], level: loudest, peaks };
  };
})();
