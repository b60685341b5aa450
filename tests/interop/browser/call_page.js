// The call test page's script: JsSIP registers, calls or answers (on a click), and the page
// measures what it hears (spectrum.js). Bundled by esbuild (make web).
import JsSIP from "jssip";
import "./spectrum.js";

// The fake microphone's tone must reach the far side untouched.
const MEDIA = {
  audio: { echoCancellation: false, noiseSuppression: false, autoGainControl: false },
  video: false,
};
let userAgent = null;
let session = null;
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

// What the page hears (spectrum.js), from the <audio> element's stream.
window.measure = (durationMs) =>
  window.measureSpectrum(document.getElementById("remote").srcObject, durationMs);

// transportType "RFC2833" (RFC 4733 events through RTCDTMFSender) or "INFO" (SIP INFO).
window.sendDtmf = (tones, transportType) => {
  session.sendDTMF(tones, { transportType, duration: 160 });
};

window.hangup = () => session.terminate();
