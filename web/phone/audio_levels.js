// Audio levels for the page's meters (WebAudio's AnalyserNode): the RMS of the latest
// samples, redrawn once per animation frame while a stream is watched.
let context = null;

export class LevelMeter {
  constructor(meter) {
    this.meter = meter;
    this.source = null;
    this.frame = 0;
  }

  watch(stream) {
    this.stop();
    context ??= new AudioContext();
    // A context made before any user gesture starts suspended (Chrome's autoplay policy).
    context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 1024;
    this.source = context.createMediaStreamSource(stream);
    this.source.connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const draw = () => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const sample of samples) sum += sample * sample;
      // sqrt(2) * RMS: a full-scale sine reads 1.
      this.meter.value = Math.min(1, Math.SQRT2 * Math.sqrt(sum / samples.length));
      this.frame = requestAnimationFrame(draw);
    };
    draw();
  }

  stop() {
    cancelAnimationFrame(this.frame);
    this.source?.disconnect();
    this.source = null;
    this.meter.value = 0;
  }
}
