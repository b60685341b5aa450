from pathlib import Path

import pytest

from mediaserver.config import Config, ConfigError, ListenAddress, load_config

DEFAULT = Path(__file__).parents[1] / "config" / "default.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(text)
    return path


def test_default_file_matches_embedded_defaults() -> None:
    assert load_config(DEFAULT, environ={}) == Config()


def test_environment_overrides_file(tmp_path: Path) -> None:
    path = write(tmp_path, '[sip]\ndomain = "a.example"\n')
    config = load_config(
        path,
        environ={
            "MEDIASERVER_SIP_DOMAIN": "b.example",
            "MEDIASERVER_RTP_PORT_MIN": "20000",
            "MEDIASERVER_SIP_LISTEN": "udp:127.0.0.1:5070, tcp:[::1]:5070",
        },
    )
    assert config.sip.domain == "b.example"
    assert config.rtp.port_min == 20000
    assert config.sip.listen_addresses == [
        ListenAddress("udp", "127.0.0.1", 5070),
        ListenAddress("tcp", "::1", 5070),
    ]


def test_websocket_listeners_and_origins() -> None:
    config = load_config(
        None,
        environ={
            "MEDIASERVER_SIP_LISTEN": "ws:127.0.0.1:5066, wss:[::1]:7443",
            "MEDIASERVER_SIP_WS_ORIGINS": "https://phone.example.com, http://localhost:8080",
        },
    )
    assert config.sip.listen_addresses == [
        ListenAddress("ws", "127.0.0.1", 5066),
        ListenAddress("wss", "::1", 7443),
    ]
    assert config.sip.ws_origins == ["https://phone.example.com", "http://localhost:8080"]


def test_environment_accepts_toml_array() -> None:
    config = load_config(None, environ={"MEDIASERVER_SIP_LISTEN": '["udp:127.0.0.1:0"]'})
    assert config.sip.listen == ["udp:127.0.0.1:0"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[sip]\nlisten = ['sctp:0.0.0.0:5060']\n", "sip.listen"),
        ("[sip]\nlisten = ['udp:example.com:5060']\n", "sip.listen"),
        ("[sip]\nlisten = ['udp:0.0.0.0:99999']\n", "sip.listen"),
        ("[sip]\ndomain = 'bad domain'\n", "sip.domain"),
        ("[sip]\nnope = 1\n", "sip.nope"),
        ("[bogus]\nx = 1\n", "bogus"),
        ("[rtp]\nport_min = 'x'\n", "rtp.port_min"),
        ("[rtp]\nport_min = 40000\nport_max = 30000\n", "rtp.port_min"),
        ("[rtp]\nopus_complexity = 11\n", "rtp.opus_complexity"),
        ("[account]\nauth_id = 'XY123'\n", "account.auth_id"),
        ("[storage]\nurl = 'postgres://x'\n", "storage.url"),
        ("[log]\nformat = 'xml'\n", "log.format"),
        ("[tts]\nengine = 'festival'\n", "tts.engine"),
        ("[tts]\nworkers = 0\n", "tts.workers"),
        ("[registrar]\ndigest_algorithms = ['SHA-1']\n", "registrar.digest_algorithms"),
        ("[registrar]\nmin_expires = 7200\n", "registrar.min_expires"),
        ("[sip]\ntls_certificate = 'cert.pem'\n", "sip.tls_key"),
        ("[sip]\nws_origins = ['phone.example.com']\n", "sip.ws_origins"),
        ("[sip]\nws_origins = ['https://phone.example.com/page']\n", "sip.ws_origins"),
        ("[sip]\nws_ping_interval = 0\n", "sip.ws_ping_interval"),
        ("[sip]\nws_idle_timeout = 600\n", "sip.ws_idle_timeout"),
        ("[calls]\nconference_max_members = 0\n", "calls.conference_max_members"),
        ("[api]\nrate_limit_requests = 0\n", "api.rate_limit_requests"),
        ("[api]\nrate_limit_seconds = -5\n", "api.rate_limit_seconds"),
    ],
)
def test_bad_value_names_its_key(tmp_path: Path, text: str, key: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(write(tmp_path, text), environ={})
    assert raised.value.key == key


def test_bad_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[sip\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path, environ={})


def test_unknown_environment_key_is_refused() -> None:
    with pytest.raises(ConfigError) as raised:
        load_config(None, environ={"MEDIASERVER_SIPDOMAIN": "x"})
    assert raised.value.key == "MEDIASERVER_SIPDOMAIN"
