"""Configuration: TOML file, then MEDIASERVER_<SECTION>_<KEY> environment overrides.

Each section is a frozen dataclass whose field defaults are the embedded defaults. A bad file
or value raises ConfigError naming the key, so start-up can stop with one clear line.
"""

import dataclasses
import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

ENV_PREFIX = "MEDIASERVER_"
AUTH_ID_PATTERN = re.compile(r"^MA[A-Z0-9]{18}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DIGEST_ALGORITHMS = ("MD5", "SHA-256")
TRANSPORTS = ("udp", "tcp", "ws", "wss")
WEBSOCKET_TRANSPORTS = ("ws", "wss")


class ConfigError(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class ListenAddress:
    transport: str
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> "ListenAddress":
        """Parse `udp:0.0.0.0:5060`, `tcp:[::1]:5060` or `wss:0.0.0.0:8443`."""
        transport, _, rest = text.partition(":")
        host, _, port = rest.rpartition(":")
        host = host.removeprefix("[").removesuffix("]")
        if transport.lower() not in TRANSPORTS:
            raise ValueError(f"{text!r}: transport must be one of {', '.join(TRANSPORTS)}")
        _check_ip(host)
        return cls(transport.lower(), host, _port(port))


@dataclass(frozen=True, slots=True)
class SipConfig:
    domain: str = "phone.local"
    listen: list[str] = field(
        default_factory=lambda: [
            "udp:0.0.0.0:5060", "tcp:0.0.0.0:5060", "ws:0.0.0.0:5066", "wss:0.0.0.0:7443",
        ]
    )  # fmt: skip
    advertised_address: str = ""
    # RFC 3261 §17.1.1.1 timer values; T1 is the round-trip estimate the others derive from.
    t1_ms: int = 500
    t2_ms: int = 4000
    t4_ms: int = 5000
    # WSS listeners: PEM files; both empty means a self-signed pair made under var/ at start.
    tls_certificate: str = ""
    tls_key: str = ""
    # Origins (`https://phone.example.com`) allowed to open a WebSocket; empty allows all.
    ws_origins: list[str] = field(default_factory=list)
    ws_ping_interval: int = 30  # seconds between WebSocket pings; no pong in half that: closed
    # Seconds without a SIP message before a WebSocket is closed. A registered browser may
    # say nothing until its refresh, so this must exceed registrar.max_expires.
    ws_idle_timeout: int = 3900

    def validate(self) -> None:
        if not 10 <= self.t1_ms <= self.t2_ms or self.t4_ms < self.t1_ms:
            raise ConfigError("sip.t1_ms", "need 10 <= t1_ms <= t2_ms and t1_ms <= t4_ms")
        if not re.fullmatch(r"[A-Za-z0-9.-]+", self.domain):
            raise ConfigError("sip.domain", f"{self.domain!r} is not a host name")
        if not self.listen:
            raise ConfigError("sip.listen", "at least one listen address is needed")
        for text in self.listen:
            _field_check("sip.listen", ListenAddress.parse, text)
        if bool(self.tls_certificate) != bool(self.tls_key):
            raise ConfigError("sip.tls_key", "give both tls_certificate and tls_key, or neither")
        if self.ws_ping_interval <= 0 or self.ws_idle_timeout <= 0:
            raise ConfigError("sip.ws_ping_interval", "WebSocket intervals must be positive")
        for origin in self.ws_origins:
            _field_check("sip.ws_origins", _check_origin, origin)

    @property
    def listen_addresses(self) -> list[ListenAddress]:
        return [ListenAddress.parse(text) for text in self.listen]


@dataclass(frozen=True, slots=True)
class RegistrarConfig:
    min_expires: int = 60
    max_expires: int = 3600
    default_expires: int = 3600
    digest_algorithms: list[str] = field(default_factory=lambda: ["MD5"])
    nonce_lifetime: int = 300
    failures_per_minute: int = 30

    def validate(self) -> None:
        if not 0 < self.min_expires <= self.max_expires:
            raise ConfigError("registrar.min_expires", "must be positive and <= max_expires")
        if not self.min_expires <= self.default_expires <= self.max_expires:
            raise ConfigError("registrar.default_expires", "must lie in [min_expires, max_expires]")
        unknown = set(self.digest_algorithms) - set(DIGEST_ALGORITHMS)
        if unknown or not self.digest_algorithms:
            raise ConfigError(
                "registrar.digest_algorithms", f"choose from {', '.join(DIGEST_ALGORITHMS)}"
            )
        if self.nonce_lifetime <= 0:
            raise ConfigError("registrar.nonce_lifetime", "must be positive")
        if self.failures_per_minute <= 0:
            raise ConfigError("registrar.failures_per_minute", "must be positive")


@dataclass(frozen=True, slots=True)
class RtpConfig:
    address: str = "0.0.0.0"
    port_min: int = 16384
    port_max: int = 32767
    # libopus encoder complexity (0-10) for streams the engine encodes to Opus: 5 costs half
    # the CPU of 10 at 8 kHz (tools/bench/codecs.py prints both), what WebRTC picks on
    # constrained devices.
    opus_complexity: int = 5

    def validate(self) -> None:
        _field_check("rtp.address", _check_ip, self.address)
        if not 1024 <= self.port_min < self.port_max <= 65535:
            raise ConfigError("rtp.port_min", "need 1024 <= port_min < port_max <= 65535")
        if not 0 <= self.opus_complexity <= 10:
            raise ConfigError("rtp.opus_complexity", "libopus takes 0 to 10")


@dataclass(frozen=True, slots=True)
class WebRtcConfig:
    # The address in the one ICE host candidate of each WebRTC stream (we are an ICE-lite
    # agent, RFC 8445 §2.5: browsers find the way to it). Behind a 1:1 NAT, the public
    # address; empty: rtp.address, or when that is a wildcard the address facing the browser.
    candidate_address: str = ""

    def validate(self) -> None:
        if self.candidate_address:
            _field_check("webrtc.candidate_address", _check_ip, self.candidate_address)


CALL_CODECS = ("PCMU", "PCMA", "opus")


@dataclass(frozen=True, slots=True)
class CallsConfig:
    codecs: list[str] = field(default_factory=lambda: list(CALL_CODECS))  # preference order
    ptime_ms: int = 20
    telephone_event: bool = True  # offer/accept RFC 4733 events
    ring_timeout: int = 60  # seconds a B leg may ring (cause 6010 Ring Timeout Reached)
    media_timeout: int = 60  # seconds without RTP before hanging up (6020 Media Timeout)
    max_duration: int = 14400  # seconds a call may last (6000 Scheduled Hangup)
    min_session_expires: int = 90  # RFC 4028 Min-SE we insist on (§5)
    # maxMembers of a <Conference> that does not set it: Plivo's default, 20, is also the most a
    # document may set (plivo.md §2.8); PF's default was 200. A larger one admits larger rooms.
    conference_max_members: int = 20

    def validate(self) -> None:
        unknown = [codec for codec in self.codecs if codec not in CALL_CODECS]
        if unknown or not self.codecs:
            raise ConfigError("calls.codecs", f"choose from {', '.join(CALL_CODECS)}")
        if self.ptime_ms != 20:
            raise ConfigError("calls.ptime_ms", "only 20 ms packetisation is carried")
        for name in ("ring_timeout", "media_timeout", "max_duration", "conference_max_members"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"calls.{name}", "must be positive")
        if self.min_session_expires < 90:
            raise ConfigError("calls.min_session_expires", "RFC 4028 §4: at least 90")


@dataclass(frozen=True, slots=True)
class ApiConfig:
    listen: str = "127.0.0.1:8080"
    # Requests per account admitted within a sliding window of `rate_limit_seconds`: Plivo's
    # 300 per 5 s by default (plivo.md §4); a server of one's own may allow more.
    rate_limit_requests: int = 300
    rate_limit_seconds: int = 5
    # https with the wss certificate: browsers give the web phone a microphone only in a
    # secure context (https, or a page on localhost).
    tls: bool = False

    def validate(self) -> None:
        host, _, port = self.listen.rpartition(":")
        _field_check("api.listen", _check_ip, host.removeprefix("[").removesuffix("]"))
        _field_check("api.listen", _port, port)
        for name in ("rate_limit_requests", "rate_limit_seconds"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"api.{name}", "must be positive")


@dataclass(frozen=True, slots=True)
class AccountConfig:
    auth_id: str = "MA00000000000000000A"
    auth_token: str = "change-me-change-me-change-me"

    def validate(self) -> None:
        if not AUTH_ID_PATTERN.fullmatch(self.auth_id):
            raise ConfigError("account.auth_id", "must be 'MA' followed by 18 capitals or digits")
        if len(self.auth_token) < 8:
            raise ConfigError("account.auth_token", "must be at least 8 characters")


@dataclass(frozen=True, slots=True)
class StorageConfig:
    url: str = "sqlite:///var/mediaserver.db"

    def validate(self) -> None:
        if not self.url.startswith("sqlite:///"):
            raise ConfigError("storage.url", "only sqlite:///PATH is supported")

    @property
    def sqlite_path(self) -> Path:
        return Path(self.url.removeprefix("sqlite:///"))


@dataclass(frozen=True, slots=True)
class LogConfig:
    level: str = "INFO"
    format: str = "text"

    def validate(self) -> None:
        if self.level.upper() not in LOG_LEVELS:
            raise ConfigError("log.level", f"choose from {', '.join(LOG_LEVELS)}")
        if self.format not in ("text", "json"):
            raise ConfigError("log.format", "choose 'text' or 'json'")


TTS_ENGINES = ("espeak-ng", "pyttsx3")


@dataclass(frozen=True, slots=True)
class TtsConfig:
    # Which synthesiser renders Speak (both are libespeak-ng underneath); the faster on
    # Linux by tools/bench/tts.py is the default.
    engine: str = "pyttsx3"
    workers: int = 2  # pyttsx3 worker processes, each rendering one text at a time

    def validate(self) -> None:
        if self.engine not in TTS_ENGINES:
            raise ConfigError("tts.engine", f"choose from {', '.join(TTS_ENGINES)}")
        if not 1 <= self.workers <= 16:
            raise ConfigError("tts.workers", "must be 1 to 16")


@dataclass(frozen=True, slots=True)
class Config:
    sip: SipConfig = field(default_factory=SipConfig)
    registrar: RegistrarConfig = field(default_factory=RegistrarConfig)
    rtp: RtpConfig = field(default_factory=RtpConfig)
    calls: CallsConfig = field(default_factory=CallsConfig)
    webrtc: WebRtcConfig = field(default_factory=WebRtcConfig)
    api: ApiConfig = field(default_factory=ApiConfig)
    account: AccountConfig = field(default_factory=AccountConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    tts: TtsConfig = field(default_factory=TtsConfig)
    log: LogConfig = field(default_factory=LogConfig)

    def validate(self) -> None:
        for section in dataclasses.fields(self):
            getattr(self, section.name).validate()
        if self.sip.ws_idle_timeout <= self.registrar.max_expires:
            # The binding dies with its connection: closing an idle one must not end a live
            # registration whose client is waiting for its refresh time.
            raise ConfigError("sip.ws_idle_timeout", "must exceed registrar.max_expires")


def load_config(path: Path | None, environ: Mapping[str, str] | None = None) -> Config:
    """Read `path` (or only defaults), apply environment overrides, validate."""
    document: dict[str, Any] = {}
    if path is not None:
        try:
            document = tomllib.loads(path.read_text())
        except OSError as error:
            raise ConfigError(str(path), error.strerror or str(error)) from error
        except tomllib.TOMLDecodeError as error:
            raise ConfigError(str(path), f"not valid TOML: {error}") from error
    _apply_environment(document, os.environ if environ is None else environ)
    config = _build(document)
    config.validate()
    return config


def _apply_environment(document: dict[str, Any], environ: Mapping[str, str]) -> None:
    sections = {f.name: f for f in dataclasses.fields(Config)}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        section, _, key = name.removeprefix(ENV_PREFIX).lower().partition("_")
        if section not in sections or not key:
            raise ConfigError(name, "no such configuration key")
        document.setdefault(section, {})[key] = _environment_value(value)


def _environment_value(text: str) -> Any:
    """Lists may be given as a TOML array or comma-separated; other values stay strings."""
    if text.startswith("["):
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return text
    return text


def _build(document: dict[str, Any]) -> Config:
    sections: dict[str, Any] = {}
    config_hints = get_type_hints(Config)
    for section_name, values in document.items():
        section_type = config_hints.get(section_name)
        if section_type is None:
            raise ConfigError(section_name, "unknown section")
        if not isinstance(values, dict):
            raise ConfigError(section_name, "must be a table")
        sections[section_name] = _build_section(section_name, section_type, values)
    return Config(**sections)


def _build_section(section_name: str, section_type: type[Any], values: dict[str, Any]) -> Any:
    hints = get_type_hints(section_type)
    kwargs: dict[str, Any] = {}
    for key, value in values.items():
        if key not in hints:
            raise ConfigError(f"{section_name}.{key}", "unknown key")
        kwargs[key] = _coerce(f"{section_name}.{key}", hints[key], value)
    return section_type(**kwargs)


_TRUTHS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}


def _coerce(key: str, expected: Any, value: Any) -> Any:
    if expected is bool:
        if isinstance(value, str) and value.lower() in _TRUTHS:
            return _TRUTHS[value.lower()]  # from an environment variable
        if not isinstance(value, bool):
            raise ConfigError(key, "must be true or false")
        return value
    if expected is int:
        if isinstance(value, bool):
            raise ConfigError(key, "must be an integer")
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                raise ConfigError(key, f"{value!r} is not an integer") from None
        if not isinstance(value, int):
            raise ConfigError(key, "must be an integer")
        return value
    if expected is str:
        if not isinstance(value, str):
            raise ConfigError(key, "must be a string")
        return value
    # list[str]
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",") if item.strip()]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(key, "must be a list of strings")
    return value


def _field_check(key: str, check: Any, value: str) -> None:
    try:
        check(value)
    except ValueError as error:
        raise ConfigError(key, str(error)) from None


def _check_ip(host: str) -> None:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{host!r} is not an IP address") from None


def _check_origin(origin: str) -> None:
    """RFC 6454 §6.2: an Origin header value is scheme "://" host [":" port], nothing more."""
    if not re.fullmatch(r"[a-z][a-z0-9+.-]*://[^/?#\s]+", origin, re.IGNORECASE):
        raise ValueError(f"{origin!r} is not an origin (scheme://host[:port])")


def _port(text: str) -> int:
    """A port number; 0 lets the operating system choose (used by tests)."""
    if not text.isdigit() or not 0 <= int(text) < 65536:
        raise ValueError(f"{text!r} is not a port number")
    return int(text)
