import subprocess
import sys
from pathlib import Path

import pytest


def mediaserver(*arguments: str, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mediaserver", *arguments, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "server.toml"
    path.write_text(f'[storage]\nurl = "sqlite:///{tmp_path}/data/db.sqlite"\n')
    return path


def test_endpoint_add_appends_plivo_timestamp_suffix(config: Path) -> None:
    result = mediaserver("endpoint", "add", "alice", "secret", config=config)
    assert result.returncode == 0, result.stderr
    username = result.stdout.strip()
    assert username.startswith("alice")
    assert len(username) == len("alice") + 12
    assert username[5:].isdigit()


def test_endpoint_add_list_remove(config: Path) -> None:
    added = mediaserver("endpoint", "add", "bob", "pw", "--alias", "Bob", "--exact", config=config)
    assert added.stdout.strip() == "bob"
    assert mediaserver("endpoint", "list", config=config).stdout.split("\t")[:2] == ["bob", "Bob"]
    duplicate = mediaserver("endpoint", "add", "bob", "pw", "--exact", config=config)
    assert duplicate.returncode == 1
    assert "already exists" in duplicate.stderr
    assert mediaserver("endpoint", "remove", "bob", config=config).returncode == 0
    assert mediaserver("endpoint", "list", config=config).stdout == ""
    assert mediaserver("endpoint", "remove", "bob", config=config).returncode == 1


def test_config_check_accepts_default(config: Path) -> None:
    result = mediaserver("config", "check", config=config)
    assert result.returncode == 0
    assert "configuration OK" in result.stdout


def test_bad_config_stops_with_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[rtp]\nport_max = 'lots'\n")
    result = mediaserver("config", "check", config=path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "mediaserver: configuration error: rtp.port_max: 'lots' is not an integer"
    ]
