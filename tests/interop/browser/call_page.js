// The call test page's script: JsSIP registers, calls or answers (on a click), and the page
// measures what it hears with WebAudio's AnalyserNode. Bundled by esbuild (make web).
import JsSIP from "jssip";

// The fake microphone's tone must reach the far side untouched.
const MEDIA = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};
const FFT_SIZE = 8192;
let userAgent = null;
let session = null;
let analyser = null;
const stateWaiters = [];

function setState(state) {
  document.getElementById("state").value = state;
  for (const waiter of stateWaiters.splice(0)) waiter();
}

function listen(rtcSession) {
  rtcSession.on("confirmed", () => {
    setState("in call");
    const receiver = rtcSession.connection.getReceivers().find((r) => r.track.kind === "audio");
    const stream = new MediaStream([receiver.track]);
    document.getElementById("remote").srcObject = stream;
    const context = new AudioContext();
    analyser = context.createAnalyser();
    analyser.fftSize = FFT_SIZE;
    context.createMediaStreamSource(stream).connect(analyser);
  });
  rtcSession.on("ended", () => setState("ended"));
  rtcSession.on("failed", (event) => setState(`failed: ${event.cause}`));
}

window.start = (socketUrl, uri, password) =>
  new Promise((resolve, reject) => {
    userAgent = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface(socketUrl)],
      uri,
      password,
      register: true,
      session_timers: false,
    });
    userAgent.on("registered", () => resolve({ contact: userAgent.contact.toString() }));
    userAgent.on("registrationFailed", (event) => reject(new Error(event.cause)));
    userAgent.on("newRTCSession", ({ session: rtcSession, originator }) => {
      session = rtcSession;
      listen(rtcSession);
      if (originator === "remote") {
        setState("ringing");
        const button = document.getElementById("answer");
        button.hidden = false;
        button.onclick = () => {
          button.hidden = true;
          rtcSession.answer({ mediaConstraints: MEDIA });
        };
      }
    });
    userAgent.start();
  });

window.call = (target) =>
  new Promise((resolve, reject) => {
    const calling = userAgent.call(target, { mediaConstraints: MEDIA });
    calling.on("confirmed", () => resolve({ state: "in call" }));
    calling.on("failed", (event) => reject(new Error(`call failed: ${event.cause}`)));
  });

window.callState = () => document.getElementById("state").value;

window.waitForState = async (state) => {
  while (window.callState() !== state) await new Promise((resolve) => stateWaiters.push(resolve));
  return state;
};

// The strongest frequency heard, bin by bin, in snapshots over `durationMs`: the median of
// the snapshots' peaks, with the loudest level seen (dBFS).
window.measure = async (durationMs) => {
  const bins = new Float32Array(analyser.frequencyBinCount);
  const peaks = [];
  let loudest = -Infinity;
  for (let elapsed = 0; elapsed < durationMs; elapsed += 200) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    analyser.getFloatFrequencyData(bins);
    let peak = 1;
    for (let i = 2; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
    peaks.push((peak * analyser.context.sampleRate) / FFT_SIZE);
    loudest = Math.max(loudest, bins[peak]);
  }
  peaks.sort((a, b) => a - b);
  return { frequency: peaks[Math.floor(peaks.length / 2)], level: loudest, peaks };
};

// transportType "RFC2833" (RFC 4733 events through RTCDTMFSender) or "INFO" (SIP INFO).
window.sendDtmf = (tones, transportType) => {
  session.sendDTMF(tones, { transportType, duration: 160 });
};

window.hangup = () => session.terminate();
