"""The README's REST examples run as written against a running server: the curl block (its
address and credentials are the embedded defaults; only the address is pointed at the test's
server) and the SDK lines."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mediaserver.store.applications import SqliteApplications
from mediaserver.store.database import open_database
from mediaserver.store.endpoints import SqliteEndpoints
from mediaserver.store.subaccounts import SqliteSubaccounts
from tests.conftest import ServerProcess

pytestmark = pytest.mark.interop

README = Path(__file__).resolve().parents[3] / "README.md"
DEFAULT_API = "http://127.0.0.1:8080"


def example(language: str) -> str:
    """The first `language` block of the README's REST API section."""
    section = README.read_text().split("### REST API", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert found is not None, f"no {language} example in the REST API section"
    assert DEFAULT_API in found.group(1)
    return found.group(1)


@pytest.mark.skipif(shutil.which("jq") is None, reason="jq is not installed")
def test_curl_examples_run_as_written(rest_server: ServerProcess, base_url: str) -> None:
    script = example("sh").replace(DEFAULT_API, base_url)
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    lines = ran.stdout.splitlines()
    assert re.fullmatch(
        r'\{"app_name":"ivr","answer_url":"https://app.example/answer","sip_uri":"sip:\d{17}@phone.local"\}',
        lines[0],
    )
    assert re.fullmatch(
        r'\{"username":"alice\d{12}","sip_registered":"false","sip_contact":""\}', lines[1]
    )
    assert '"limit":1' in lines[2]
    assert re.fullmatch(r'\{"auth_id":"SA[A-Z0-9]{18}","auth_token":"[A-Za-z0-9]{40}"\}', lines[3])
    store = open_database(rest_server.database_path)
    try:
        assert not [a for a in SqliteApplications(store).list() if a.app_name == "ivr"]
        assert not [e for e in SqliteEndpoints(store).list() if e.username.startswith("alice")]
        assert [s.name for s in SqliteSubaccounts(store).list()].count("shop") == 1
    finally:
        store.close()


def test_sdk_lines_run_as_written(base_url: str) -> None:
    script = example("python").replace(DEFAULT_API, base_url)
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert "'limit': 5" in ran.stdout
