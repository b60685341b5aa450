import json
import subprocess
import sys
from pathlib import Path

import pytest

from mediaserver.cli import main
from mediaserver.store.call_records import CallRecord, SqliteCallRecords
from mediaserver.store.database import open_database


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


def run(capsys: pytest.CaptureFixture[str], config: Path, *arguments: str) -> tuple[int, str, str]:
    """The CLI in this process (faster than a child): exit code, stdout, stderr."""
    try:
        code = main([*arguments, "--config", str(config)])
    except SystemExit as stopped:  # argparse refusing the command line
        code = int(stopped.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def database_path(config: Path) -> Path:
    return config.parent / "data" / "db.sqlite"


def test_carrier_commands_through_the_real_program(config: Path) -> None:
    added = mediaserver("carrier", "incoming", "add", "acme", "192.0.2.0/24", config=config)
    assert added.returncode == 0, added.stderr
    assert len(added.stdout.strip()) == 20
    listed = mediaserver("carrier", "incoming", "list", config=config)
    assert listed.stdout == "acme\tenabled\t192.0.2.0/24\n"
    refused = mediaserver("carrier", "outgoing", "add", "out", "--address", "a b", config=config)
    assert refused.returncode == 2
    assert refused.stderr.startswith("mediaserver: address: outgoing carrier address 'a b'")


def test_incoming_carrier_add_list_disable_remove(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    assert (
        run(capsys, config, "carrier", "incoming", "add", "acme", "192.0.2.1", "2001:DB8::/32")[0]
        == 0
    )
    assert (
        run(capsys, config, "carrier", "incoming", "add", "quiet", "10.0.0.0/8", "--disabled")[0]
        == 0
    )
    assert run(capsys, config, "carrier", "incoming", "list")[1].splitlines() == [
        "acme\tenabled\t192.0.2.1,2001:db8::/32",
        "quiet\tdisabled\t10.0.0.0/8",
    ]
    code, _, error = run(capsys, config, "carrier", "incoming", "add", "acme", "192.0.2.2")
    assert (code, error) == (1, "mediaserver: incoming carrier acme already exists\n")
    assert run(capsys, config, "carrier", "incoming", "enable", "quiet")[0] == 0
    assert run(capsys, config, "carrier", "incoming", "disable", "acme")[0] == 0
    assert run(capsys, config, "carrier", "incoming", "list")[1].splitlines() == [
        "acme\tdisabled\t192.0.2.1,2001:db8::/32",
        "quiet\tenabled\t10.0.0.0/8",
    ]
    assert run(capsys, config, "carrier", "incoming", "remove", "acme")[0] == 0
    code, _, error = run(capsys, config, "carrier", "incoming", "remove", "acme")
    assert (code, error) == (1, "mediaserver: no incoming carrier acme\n")
    assert run(capsys, config, "carrier", "incoming", "enable", "acme")[0] == 1


@pytest.mark.parametrize(
    "arguments",
    [
        ("carrier", "incoming", "add", "acme", "192.0.2.1", "example.com"),
        ("carrier", "incoming", "add", "acme", "10.0.0.1/8"),
        ("carrier", "incoming", "add", "acme"),
        ("carrier", "outgoing", "add", "out", "--address", "2001:db8::1"),
        ("carrier", "outgoing", "add", "out", "--address", "h", "--failover-address", "h:99999"),
        ("carrier", "outgoing", "add", "out", "--address", "h", "--retries", "-1"),
        ("carrier", "outgoing", "add", "out", "--address", "h", "--retries", "two"),
        ("carrier", "outgoing", "add", "out", "--address", "h", "--retry-seconds", "0"),
        ("carrier", "outgoing", "add", "out", "--address", "h", "--prefix", "1@x"),
        ("carrier", "outgoing", "add", "out"),
        ("number", "add", "+44 20 79x6"),
        ("number", "add", "1234567890123456"),
        ("number", "remove", "nope"),
        ("cdr", "list", "--limit", "0"),
        ("application", "add", "ivr"),
        ("application", "add", "ivr", "--answer-url", "example.com/answer"),
        ("application", "add", "ivr", "--answer-url", "http://a/", "--hangup-url", "ftp://h/"),
        ("application", "add", "ivr", "--answer-url", "http://a/", "--fallback-method", "PUT"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], config: Path, arguments: tuple[str, ...]
) -> None:
    code, out, error = run(capsys, config, *arguments)
    assert code == 2
    assert out == ""
    assert error.strip(), "a message on stderr"
    assert len(error.strip().splitlines()) == 1 or error.startswith("usage:")
    assert not database_path(config).exists()


def test_outgoing_carrier_add_list_remove(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    code, out, _ = run(
        capsys, config, "carrier", "outgoing", "add", "main",
        "--address", "sip.example.com:5080;transport=TCP",
        "--failover-address", "[2001:db8::1]", "--prefix", "+", "--failover-prefix", "00",
        "--suffix", "#", "--retries", "3", "--retry-seconds", "2.5",
    )  # fmt: skip
    assert code == 0
    assert len(out.strip()) == 20
    assert (
        run(capsys, config, "carrier", "outgoing", "add", "spare", "--address", "192.0.2.9")[0] == 0
    )
    assert run(capsys, config, "carrier", "outgoing", "list")[1].splitlines() == [
        "main\tenabled\tsip.example.com:5080;transport=tcp\t[2001:db8::1]\t+\t00\t#\t3\t2.5",
        "spare\tenabled\t192.0.2.9\t-\t-\t-\t-\t1\t5",
    ]
    code, _, error = run(capsys, config, "carrier", "outgoing", "add", "main", "--address", "h")
    assert (code, error) == (1, "mediaserver: outgoing carrier main already exists\n")
    assert run(capsys, config, "carrier", "outgoing", "remove", "main")[0] == 0
    assert run(capsys, config, "carrier", "outgoing", "remove", "main")[0] == 1
    assert (
        run(capsys, config, "carrier", "outgoing", "add", "off", "--address", "h", "--disabled")[0]
        == 0
    )
    assert (
        run(capsys, config, "carrier", "outgoing", "list")[1]
        .splitlines()[1]
        .startswith("off\tdisabled\th\t")
    )


def test_number_add_list_remove(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    app_id = run(capsys, config, "application", "add", "app", "--answer-url", "http://a/")[1]
    code, out, _ = run(
        capsys, config, "number", "add", "+1 415-555-0100", "--alias", "Support",
        "--app", app_id.strip(),
    )  # fmt: skip
    assert (code, out) == (0, "14155550100\n")
    assert run(capsys, config, "number", "add", "442079460958")[0] == 0
    assert run(capsys, config, "number", "list")[1].splitlines() == [
        f"14155550100\tSupport\t{app_id.strip()}\t-",
        "442079460958\t\t-\t-",
    ]
    code, _, error = run(capsys, config, "number", "add", "14155550100")
    assert (code, error) == (1, "mediaserver: number 14155550100 already exists\n")
    code, _, error = run(capsys, config, "number", "add", "15550001", "--sub-account", "SA1")
    assert (code, error) == (1, "mediaserver: no sub-account SA1\n")
    assert run(capsys, config, "number", "remove", "+14155550100")[0] == 0
    code, _, error = run(capsys, config, "number", "remove", "14155550100")
    assert (code, error) == (1, "mediaserver: no number 14155550100\n")
    assert run(capsys, config, "number", "list")[1] == "442079460958\t\t-\t-\n"


def test_cdr_list_prints_json_lines_newest_first(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    assert run(capsys, config, "cdr", "list") == (0, "", "")
    connection = open_database(database_path(config))
    records = SqliteCallRecords(connection)
    for number in range(3):
        records.write(
            CallRecord(
                f"leg-{number}", None if number == 0 else "leg-0",
                "inbound" if number == 0 else "outbound", "14155550100", "442079460958",
                100.0 + number, None, 200.0 + number, 100, 0, "No Answer", 3000, "Callee",
                "192.0.2.1", "PCMU", 480, f"call-{number}",
            )
        )  # fmt: skip
    connection.close()
    code, out, _ = run(capsys, config, "cdr", "list", "--limit", "2")
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert [line["call_uuid"] for line in lines] == ["leg-2", "leg-1"]
    assert lines[0] == {
        "call_uuid": "leg-2",
        "parent_call_uuid": "leg-0",
        "direction": "outbound",
        "from_number": "14155550100",
        "to_number": "442079460958",
        "initiation_time": 102.0,
        "answer_time": None,
        "end_time": 202.0,
        "call_duration": 100,
        "bill_duration": 0,
        "hangup_cause_name": "No Answer",
        "hangup_cause_code": 3000,
        "hangup_source": "Callee",
        "source_ip": "192.0.2.1",
        "codec": "PCMU",
        "sip_status": 480,
        "sip_call_id": "call-2",
        "rtp_packets_received": 0,
        "rtp_packets_sent": 0,
        "rtp_packets_lost": 0,
        "rtp_jitter_ms": 0.0,
        "sub_account": None,
    }
    assert len(run(capsys, config, "cdr", "list")[1].splitlines()) == 3


def add_application(capsys: pytest.CaptureFixture[str], config: Path, *options: str) -> str:
    code, out, error = run(capsys, config, "application", "add", *options)
    assert code == 0, error
    return out.splitlines()[-1]


def test_application_add_list_update_remove(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    ivr = add_application(
        capsys, config, "ivr", "--answer-url", "https://app.example/answer",
        "--hangup-url", "https://app.example/hangup", "--hangup-method", "GET",
        "--default-endpoint-app",
    )  # fmt: skip
    assert ivr.isdigit()
    assert len(ivr) == 17
    other = add_application(capsys, config, "other", "--answer-url", "http://10.0.0.1:8080/x")
    assert run(capsys, config, "application", "list")[1].splitlines() == [
        f"{ivr}\tivr\tPOST https://app.example/answer\tGET https://app.example/hangup"
        "\tPOST -\tdefault-endpoint-app",
        f"{other}\tother\tPOST http://10.0.0.1:8080/x\tPOST -\tPOST -\t-",
    ]
    assert run(
        capsys, config, "application", "update", other, "--default-endpoint-app",
        "--default-number-app", "--answer-method", "GET", "--name", "menu",
        "--fallback-answer-url", "https://backup.example/",
    ) == (0, "", "")  # fmt: skip
    assert run(capsys, config, "application", "list")[1].splitlines() == [
        f"{ivr}\tivr\tPOST https://app.example/answer\tGET https://app.example/hangup\tPOST -\t-",
        f"{other}\tmenu\tGET http://10.0.0.1:8080/x\tPOST -\tPOST https://backup.example/"
        "\tdefault-endpoint-app,default-number-app",
    ]
    assert run(capsys, config, "application", "update", other, "--no-default-number-app")[0] == 0
    assert (
        run(capsys, config, "application", "list")[1]
        .splitlines()[1]
        .endswith("\tdefault-endpoint-app")
    )
    assert run(capsys, config, "application", "remove", ivr)[0] == 0
    assert run(capsys, config, "application", "remove", ivr)[1:] == (
        "",
        f"mediaserver: no application {ivr}\n",
    )
    assert len(run(capsys, config, "application", "list")[1].splitlines()) == 1


def test_application_update_refuses_bad_fields_and_unknown_ids(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    app_id = add_application(capsys, config, "ivr", "--answer-url", "http://a.example/")
    code, _, error = run(capsys, config, "application", "update", app_id, "--answer-url", "/x")
    assert (code, error) == (
        2,
        "mediaserver: answer_url: must be an absolute http or https URL, not '/x'\n",
    )
    code, _, error = run(capsys, config, "application", "update", "123", "--name", "x")
    assert (code, error) == (1, "mediaserver: no application 123\n")
    assert "\tivr\tPOST http://a.example/\t" in run(capsys, config, "application", "list")[1]


def test_endpoints_and_numbers_refuse_unknown_applications(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    code, _, error = run(capsys, config, "endpoint", "add", "bob", "pw", "--exact", "--app", "9")
    assert (code, error) == (1, "mediaserver: no application 9\n")
    code, _, error = run(capsys, config, "number", "add", "15550001111", "--app", "9")
    assert (code, error) == (1, "mediaserver: no application 9\n")
    assert run(capsys, config, "endpoint", "list")[1] == ""
    assert run(capsys, config, "number", "list")[1] == ""


def test_removing_an_application_detaches_its_endpoints(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    app_id = add_application(capsys, config, "ivr", "--answer-url", "http://a.example/")
    assert run(capsys, config, "endpoint", "add", "bob", "pw", "--exact", "--app", app_id)[0] == 0
    assert run(capsys, config, "endpoint", "list")[1] == f"bob\t\t{app_id}\n"
    assert run(capsys, config, "application", "remove", app_id)[0] == 0
    assert run(capsys, config, "endpoint", "list")[1] == "bob\t\t-\n"


def test_application_add_prints_the_app_id_last_through_the_real_program(config: Path) -> None:
    added = mediaserver("application", "add", "ivr", "--answer-url", "http://a/", config=config)
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines()[-1].isdigit()
