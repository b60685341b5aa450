"""A pjsua2 softphone in its own process (PJSIP keeps one library per process), driven by the
JSON lines of tests/interop/phone.py on stdin, reporting events as JSON lines on stdout.

Run as a script: python pjsua_child.py '<options as JSON>'. Everything runs on this thread:
threadCnt=0 and mainThreadOnly, with libHandleEvents() between reads of stdin.
"""

import contextlib
import ctypes
import json
import os
import re
import select
import sys
from typing import Any

import pjsua2 as pj

OPTIONS: dict[str, Any] = json.loads(sys.argv[1])
MEDIA_STATUS = {
    pj.PJSUA_CALL_MEDIA_NONE: "NONE",
    pj.PJSUA_CALL_MEDIA_ACTIVE: "ACTIVE",
    pj.PJSUA_CALL_MEDIA_LOCAL_HOLD: "LOCAL_HOLD",
    pj.PJSUA_CALL_MEDIA_REMOTE_HOLD: "REMOTE_HOLD",
    pj.PJSUA_CALL_MEDIA_ERROR: "ERROR",
}
# pjmedia_stream_dtmf_event_flags (pjsua2 exports no name for it): the RFC 4733 event ended.
DTMF_IS_END = 2
# pjmedia_jb_discard_algo's PJMEDIA_JB_DISCARD_NONE: pjsua2 wraps that enum as an opaque pointer
# and exports none of its names.
JB_DISCARD_NONE = 0
JITTER_BUFFER_FIELDS = ("avgDelayMsec", "minDelayMsec", "maxDelayMsec", "empty", "lost", "discard")
CALL_STATE = {
    pj.PJSIP_INV_STATE_NULL: "NULL",
    pj.PJSIP_INV_STATE_CALLING: "CALLING",
    pj.PJSIP_INV_STATE_INCOMING: "INCOMING",
    pj.PJSIP_INV_STATE_EARLY: "EARLY",
    pj.PJSIP_INV_STATE_CONNECTING: "CONNECTING",
    pj.PJSIP_INV_STATE_CONFIRMED: "CONFIRMED",
    pj.PJSIP_INV_STATE_DISCONNECTED: "DISCONNECTED",
}


def emit(event: str, **fields: Any) -> None:
    print(json.dumps({"event": event, **fields}), flush=True)


def without_telephone_event(sdp: str) -> str:
    """SDP as if this phone had no RFC 4733 support: no telephone-event format anywhere."""
    event_types = set(re.findall(r"a=rtpmap:(\d+) telephone-event/", sdp))
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("m=audio"):
            parts = line.split(" ")
            line = " ".join(parts[:3] + [f for f in parts[3:] if f not in event_types])
        elif any(line.startswith((f"a=rtpmap:{pt} ", f"a=fmtp:{pt} ")) for pt in event_types):
            continue
        lines.append(line)
    return "\r\n".join(lines)


def hold_jitter_buffer(media: Any, delay_ms: int) -> None:
    """Keep `delay_ms` of received audio buffered for the whole call. pjmedia's jitter buffer
    otherwise discards frames (progressive discard) until it holds no more than the arrivals'
    burst level, a single frame when they come steadily, whatever jbMinPre says (that only sets
    the prefetch after the buffer ran empty): a packet later than the time left before the
    next read is then concealed, and the concealment dips a tone."""
    media.jbInit = media.jbMinPre = media.jbMaxPre = delay_ms
    algorithm = media.jbDiscardAlgo  # a copy of the field, behind the opaque pointer
    ctypes.c_int.from_address(int(algorithm)).value = JB_DISCARD_NONE
    media.jbDiscardAlgo = algorithm


class Call(pj.Call):
    def __init__(self, account: "Account", call_id: int = pj.PJSUA_INVALID_ID) -> None:
        super().__init__(account, call_id)
        self.media_connected = False

    def onCallState(self, prm: Any) -> None:  # noqa: N802 (pjsua2 callback)
        info = self.getInfo()
        emit(
            "call_state",
            state=CALL_STATE.get(info.state, str(info.state)),
            last_status_code=int(info.lastStatusCode),
            last_reason=info.lastReason,
        )
        if info.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            phone.calls.remove(self) if self in phone.calls else None

    def onCallMediaState(self, prm: Any) -> None:  # noqa: N802
        info = self.getInfo()
        for index, media in enumerate(info.media):
            if media.type != pj.PJMEDIA_TYPE_AUDIO:
                continue
            status = MEDIA_STATUS.get(media.status, str(media.status))
            codec = ""
            with contextlib.suppress(pj.Error):
                codec = self.getStreamInfo(index).codecName
            if media.status in (pj.PJSUA_CALL_MEDIA_ACTIVE, pj.PJSUA_CALL_MEDIA_REMOTE_HOLD):
                phone.connect_audio(self.getAudioMedia(index))
            emit("media_state", status=status, codec=codec)

    def onCallSdpCreated(self, prm: Any) -> None:  # noqa: N802
        if not OPTIONS.get("telephone_event", True):
            prm.sdp.wholeSdp = without_telephone_event(prm.sdp.wholeSdp)

    def onDtmfDigit(self, prm: Any) -> None:  # noqa: N802
        emit("dtmf", digit=prm.digit, method=int(prm.method))

    def onDtmfEvent(self, prm: Any) -> None:  # noqa: N802
        if prm.flags & DTMF_IS_END:
            emit("dtmf_end", digit=prm.digit, duration_ms=int(prm.duration))


class Account(pj.Account):
    def onRegState(self, prm: Any) -> None:  # noqa: N802
        info = self.getInfo()
        emit("reg_state", code=int(prm.code), active=bool(info.regIsActive))

    def onIncomingCall(self, prm: Any) -> None:  # noqa: N802
        call = Call(self, prm.callId)
        phone.calls.append(call)
        emit("incoming_call", remote_uri=call.getInfo().remoteUri)
        code = OPTIONS.get("auto_answer")
        if code is None:
            return
        answer = pj.CallOpParam()
        answer.statusCode = int(code) if int(code) != 200 else 180
        call.answer(answer)
        if int(code) == 200:
            answer.statusCode = 200
            call.answer(answer)


class Phone:
    def __init__(self) -> None:
        self.endpoint = pj.Endpoint()
        self.endpoint.libCreate()
        config = pj.EpConfig()
        config.uaConfig.threadCnt = 0
        config.uaConfig.mainThreadOnly = True
        config.logConfig.level = 1
        config.logConfig.consoleLevel = 1
        config.medConfig.noVad = True
        config.medConfig.ecTailLen = 0
        config.medConfig.clockRate = 8000
        config.medConfig.sndClockRate = 8000
        if OPTIONS.get("jitter_buffer_ms"):
            hold_jitter_buffer(config.medConfig, int(OPTIONS["jitter_buffer_ms"]))
        self.endpoint.libInit(config)
        transport = pj.TransportConfig()
        transport.port = 0
        transport.boundAddress = "127.0.0.1"
        kind = pj.PJSIP_TRANSPORT_TCP if OPTIONS["transport"] == "tcp" else pj.PJSIP_TRANSPORT_UDP
        transport_id = self.endpoint.transportCreate(kind, transport)
        self.endpoint.libStart()
        self.endpoint.audDevManager().setNullDev()
        self._choose_codecs(OPTIONS.get("codecs"))
        self.port = int(self.endpoint.transportGetInfo(transport_id).localName.rpartition(":")[2])
        self.calls: list[Call] = []
        self.tone = pj.ToneGenerator()
        self.tone.createToneGenerator(8000, 1)
        self.digits = pj.ToneGenerator()
        self.digits.createToneGenerator(8000, 1)
        self.recorder: pj.AudioMediaRecorder | None = None
        self.player: pj.AudioMediaPlayer | None = None
        if OPTIONS.get("tone_hz"):
            tone = pj.ToneDesc()
            tone.freq1 = tone.freq2 = int(OPTIONS["tone_hz"])
            tone.on_msec, tone.off_msec, tone.volume = 10_000, 0, 0
            tones = pj.ToneDescVector()
            tones.append(tone)
            self.tone.play(tones, True)
        self.account = Account()
        self.account.create(self._account_config())

    def _choose_codecs(self, wanted: list[str] | None) -> None:
        if not wanted:
            return
        for codec in self.endpoint.codecEnum2():
            name = codec.codecId.split("/")[0].upper()
            chosen = [w.upper() for w in wanted]
            priority = 255 - chosen.index(name) if name in chosen else 0
            self.endpoint.codecSetPriority(codec.codecId, priority)

    def _account_config(self) -> Any:
        config = pj.AccountConfig()
        domain, user = OPTIONS["domain"], OPTIONS["username"]
        config.idUri = f"sip:{user}@{domain}"
        server = OPTIONS.get("server")
        if server:
            suffix = ";transport=tcp" if OPTIONS["transport"] == "tcp" else ""
            config.regConfig.registrarUri = f"sip:{server}{suffix}"
            config.regConfig.registerOnAdd = False
            config.sipConfig.proxies.append(f"sip:{server};lr{suffix}")
            credentials = pj.AuthCredInfo("digest", "*", user, 0, OPTIONS["password"])
            config.sipConfig.authCreds.append(credentials)
        config.natConfig.iceEnabled = False
        config.natConfig.sdpNatRewriteUse = 0
        config.natConfig.viaRewriteUse = 0
        config.natConfig.contactRewriteUse = 0
        config.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
        return config

    def connect_audio(self, audio: Any) -> None:
        self.tone.startTransmit(audio)
        self.digits.startTransmit(audio)
        self._play_once(audio)
        path = OPTIONS.get("record_path")
        if path and self.recorder is None:
            self.recorder = pj.AudioMediaRecorder()
            self.recorder.createRecorder(path)
        if self.recorder is not None:
            audio.startTransmit(self.recorder)

    def _play_once(self, audio: Any) -> None:
        """The WAV at play_path (16-bit mono), once, from the first time the call's media is up
        (what an answering machine does with its greeting)."""
        path = OPTIONS.get("play_path")
        if path and self.player is None:
            self.player = pj.AudioMediaPlayer()
            self.player.createPlayer(path, pj.PJMEDIA_FILE_NO_LOOP)
            self.player.startTransmit(audio)

    def command(self, text: str) -> None:
        request = json.loads(text)
        name = request.pop("command")
        try:
            result = getattr(self, f"do_{name}")(**request)
        except pj.Error as error:
            emit("error", command=name, reason=error.info())
            return
        emit("done", command=name, result=result)

    def do_register(self) -> None:
        self.account.setRegistration(True)

    def do_unregister(self) -> None:
        self.account.setRegistration(False)

    def do_call(self, uri: str) -> None:
        call = Call(self.account)
        self.calls.append(call)
        call.makeCall(uri, pj.CallOpParam(True))

    def do_answer(self, code: int = 200) -> None:
        answer = pj.CallOpParam()
        answer.statusCode = code
        self.calls[-1].answer(answer)

    def do_hangup(self) -> None:
        for call in list(self.calls):
            call.hangup(pj.CallOpParam())

    def do_hold(self) -> None:
        self.calls[-1].setHold(pj.CallOpParam(True))

    def do_unhold(self) -> None:
        parameters = pj.CallOpParam(True)
        parameters.opt.flag = pj.PJSUA_CALL_UNHOLD
        self.calls[-1].reinvite(parameters)

    def do_dial_dtmf(self, digits: str) -> None:
        self.calls[-1].dialDtmf(digits)

    def do_info_dtmf(self, digits: str) -> None:
        parameters = pj.CallSendDtmfParam()
        parameters.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
        parameters.digits = digits
        self.calls[-1].sendDtmf(parameters)

    def do_inband_dtmf(self, digits: str, on_msec: int = 100) -> None:
        """Q.23 tones in the audio (for a call that negotiated no telephone-event)."""
        tones = pj.ToneDigitVector()
        for character in digits:
            digit = pj.ToneDigit()
            digit.digit, digit.on_msec, digit.off_msec, digit.volume = character, on_msec, 100, 0
            tones.append(digit)
        self.digits.playDigits(tones, False)

    def do_jitter_buffer(self) -> dict[str, int]:
        """How the last call's jitter buffer fared: frames it had none for (empty, lost)."""
        state = self.calls[-1].getStreamStat(0).jbuf
        return {field: int(getattr(state, field)) for field in JITTER_BUFFER_FIELDS}

    def do_stop_recording(self) -> None:
        self.recorder = None  # the WAV header is finalised when the recorder is destroyed

    def do_quit(self) -> None:
        raise SystemExit(0)


def serve() -> None:
    """Commands from stdin between event polls. Read with os.read: a buffered readline could
    take several lines at once while select() then reports nothing left to read."""
    pending = b""
    while True:
        readable, _, _ = select.select([sys.stdin.fileno()], [], [], 0)
        if readable:
            chunk = os.read(sys.stdin.fileno(), 65536)
            if not chunk:
                return
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                try:
                    phone.command(line.decode())
                except SystemExit:
                    return
        phone.endpoint.libHandleEvents(10)


phone = Phone()
emit("ready", port=phone.port)
serve()
phone.recorder = phone.player = None
phone.account.shutdown()
phone.endpoint.libDestroy()
