// The web phone: signs in as an endpoint with JsSIP over the server's SIP WebSocket
// (RFC 7118), calls and answers with WebRTC audio, mutes, sends keys (RFC 4733 or SIP INFO)
// and shows the call's state, duration and audio levels. Bundled by esbuild (make web).
import JsSIP from "jssip";
import { LevelMeter } from "./audio_levels.js";
import { displayName, targetUri } from "./dial_target.js";

const $ = (id) => document.getElementById(id);
const KEY_DURATION_MS = 160;
const BUSY_HERE = 486;

let userAgent = null;
let session = null;
let durationTimer = 0;
const microphone = new LevelMeter($("microphone-level"));
const speaker = new LevelMeter($("speaker-level"));

function mediaConstraints() {
  // Without voice processing a steady tone (or music) reaches the far side untouched.
  const processing = $("voice-processing").checked;
  return {
    audio: {
      echoCancellation: processing,
      noiseSuppression: processing,
      autoGainControl: processing,
    },
    video: false,
  };
}

function showRegistration(text) {
  $("registration").textContent = text;
}

// The call's state: words for people (aria-live reads them out) and data-state for styles.
function showCall(state, text) {
  $("phone").dataset.state = state;
  $("call-state").value = text;
  const live = state === "calling" || state === "ringing" || state === "in-call";
  $("call").disabled = live;
  $("target").disabled = live;
  $("hangup").disabled = !live;
  $("hangup").textContent = state === "ringing" ? "Decline" : "Hang up";
  $("answer").hidden = state !== "ringing";
  $("mute").disabled = state !== "in-call";
  $("keypad").disabled = state !== "in-call";
}

function showDuration(seconds) {
  const minutes = Math.floor(seconds / 60);
  $("duration").value = `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

function startDuration() {
  const started = Date.now();
  showDuration(0);
  durationTimer = setInterval(() => showDuration(Math.floor((Date.now() - started) / 1000)), 1000);
}

function showMuted(muted) {
  $("mute").setAttribute("aria-pressed", String(muted));
  $("mute").textContent = muted ? "Unmute" : "Mute";
}

function hearRemote(connection) {
  connection.addEventListener("track", (event) => {
    if (event.track.kind !== "audio") return;
    const stream = event.streams[0] ?? new MediaStream([event.track]);
    $("remote-audio").srcObject = stream;
    speaker.watch(stream);
  });
}

function watchMicrophone(connection) {
  const sender = connection.getSenders().find((candidate) => candidate.track?.kind === "audio");
  if (sender) microphone.watch(new MediaStream([sender.track]));
}

function follow(rtcSession) {
  const peer = displayName(rtcSession.remote_identity);
  $("sent-digits").value = "";
  // An outgoing session has its connection from the start, an incoming one once answered.
  if (rtcSession.connection) hearRemote(rtcSession.connection);
  else rtcSession.on("peerconnection", ({ peerconnection }) => hearRemote(peerconnection));
  rtcSession.on("confirmed", () => {
    showCall("in-call", `In call with ${peer}`);
    watchMicrophone(rtcSession.connection);
    startDuration();
  });
  rtcSession.on("muted", () => showMuted(true));
  rtcSession.on("unmuted", () => showMuted(false));
  rtcSession.on("ended", () => finish("ended", "Call ended"));
  rtcSession.on("failed", ({ cause }) => finish("failed", `Call failed: ${cause}`));
}

function finish(state, text) {
  clearInterval(durationTimer);
  microphone.stop();
  speaker.stop();
  $("remote-audio").srcObject = null;
  showMuted(false);
  session = null;
  showCall(state, text);
}

function incoming(rtcSession) {
  if (session) {
    rtcSession.terminate({ status_code: BUSY_HERE });
    return;
  }
  session = rtcSession;
  follow(rtcSession);
  showCall("ringing", `Incoming call from ${displayName(rtcSession.remote_identity)}`);
}

function signIn(event) {
  event.preventDefault();
  userAgent?.stop();
  const domain = $("domain").value.trim();
  const uri = `sip:${$("username").value.trim()}@${domain}`;
  try {
    userAgent = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface($("socket").value.trim())],
      uri,
      password: $("password").value,
      register: true,
    });
  } catch (error) {
    // A WebSocket URI or a SIP URI JsSIP cannot use: said on the page, nothing started.
    userAgent = null;
    showRegistration(`Cannot sign in: ${error.message}`);
    return;
  }
  userAgent.on("connecting", () => showRegistration("Connecting…"));
  userAgent.on("registered", () => {
    showRegistration(`Registered as ${uri.slice(4)}`);
    $("login").hidden = true;
    $("phone").hidden = false;
  });
  userAgent.on("unregistered", () => showRegistration("Signed out"));
  userAgent.on("registrationFailed", ({ cause, response }) => {
    const answered = response ? ` (${response.status_code} ${response.reason_phrase})` : "";
    showRegistration(`Not registered: ${cause}${answered}`);
  });
  userAgent.on("disconnected", () => showRegistration("Disconnected from the server, retrying…"));
  userAgent.on("newRTCSession", ({ session: rtcSession, originator }) => {
    if (originator === "remote") {
      incoming(rtcSession);
    } else {
      session = rtcSession;
      follow(rtcSession);
    }
  });
  showRegistration("Connecting…");
  userAgent.start();
}

function signOut() {
  session?.terminate();
  userAgent?.stop();
  userAgent = null;
  $("phone").hidden = true;
  $("login").hidden = false;
  showRegistration("Signed out");
}

function dial(event) {
  event.preventDefault();
  const target = targetUri($("target").value, $("domain").value.trim());
  showCall("calling", `Calling ${target.replace(/^sips?:/i, "")}…`);
  try {
    userAgent.call(target, { mediaConstraints: mediaConstraints() });
  } catch (error) {
    finish("failed", `Call failed: ${error.message}`);
  }
}

function answer() {
  session?.answer({ mediaConstraints: mediaConstraints() });
  $("answer").hidden = true;
}

function pressKey(event) {
  const digit = event.target.closest("button[data-digit]")?.dataset.digit;
  if (!digit || !session) return;
  session.sendDTMF(digit, { transportType: $("dtmf-mode").value, duration: KEY_DURATION_MS });
  $("sent-digits").value += digit;
}

function toggleMute() {
  if (session.isMuted().audio) session.unmute({ audio: true });
  else session.mute({ audio: true });
}

// The settings this server gives its page: the SIP domain and its WebSocket listeners. An
// https page must use wss (browsers block ws from it); http uses ws when the server has it.
async function fillDefaults() {
  if (!navigator.mediaDevices) {
    showRegistration(
      "This page needs a secure context for the microphone: open it over https or on localhost.",
    );
  }
  const settings = await (await fetch("/phone/settings.json")).json();
  $("domain").value = settings.domain;
  const secure = location.protocol === "https:" || !settings.websockets.ws;
  const transport = secure ? "wss" : "ws";
  const port = settings.websockets[transport];
  if (port) $("socket").value = `${transport}://${location.hostname}:${port}/`;
}

$("login").addEventListener("submit", signIn);
$("logout").addEventListener("click", signOut);
$("dial").addEventListener("submit", dial);
$("answer").addEventListener("click", answer);
$("hangup").addEventListener("click", () => session?.terminate());
$("mute").addEventListener("click", toggleMute);
$("keypad").addEventListener("click", pressKey);
window.addEventListener("pagehide", () => userAgent?.stop());
fillDefaults();
