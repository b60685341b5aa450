"""/metrics as Prometheus reads it: prometheus_client's own parser takes the whole exposition,
counts are counters (`_total`), levels are gauges, and the latency histograms move when the
official `plivo` SDK places a call (POST Call/) to a registered pjsua2 phone, its answer URL
is fetched, the phone answers, and the SDK lists the call records (GET Call/)."""

import urllib.request

import plivo
import pytest
from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import ServerProcess
from tests.interop.application_server import ApplicationServer
from tests.interop.phone import Phone
from tests.interop.rest.test_sdk_calls import wait_until

pytestmark = pytest.mark.interop
pytest.importorskip("pjsua2")

CALLS_ROUTE = "/v1/Account/{auth_id}/Call/"
WEBHOOK = "mediaserver_webhook_duration_seconds"
SETUP = "mediaserver_call_setup_seconds"
API = "mediaserver_api_request_duration_seconds"


def families(server: ServerProcess) -> dict[str, Metric]:
    url = f"http://127.0.0.1:{server.api_port}/metrics"
    with urllib.request.urlopen(url, timeout=5) as reply:
        text = reply.read().decode()
    parsed = list(text_string_to_metric_families(text))
    by_name = {family.name: family for family in parsed}
    assert len(by_name) == len(parsed), "a metric family is exposed twice"
    return by_name


def observed(found: dict[str, Metric], histogram: str, **labels: str) -> tuple[float, float]:
    """(count, sum) of one labelled series of a histogram; (0, 0) before its first sample."""
    family = found.get(histogram)
    if family is None:
        return 0.0, 0.0
    figures = {
        sample.name.removeprefix(histogram): sample.value
        for sample in family.samples
        if sample.labels == labels
    }
    return figures.get("_count", 0.0), figures.get("_sum", 0.0)


def test_the_exposition_parses_with_counters_as_counters_and_levels_as_gauges(
    rest_server: ServerProcess,
) -> None:
    found = families(rest_server)
    assert all(name.startswith("mediaserver_") for name in found)
    kinds = {
        "mediaserver_calls_calls_answered": "counter",
        "mediaserver_sip_datagrams_in": "counter",
        "mediaserver_media_late_ticks": "counter",
        "mediaserver_media_rtp_packets_received": "counter",
        "mediaserver_rest_requests": "counter",
        "mediaserver_process_cpu_seconds": "counter",
        "mediaserver_calls_legs": "gauge",
        "mediaserver_media_streams": "gauge",
        "mediaserver_media_buffered_bytes": "gauge",
        "mediaserver_media_rtp_packets_lost": "gauge",  # RFC 3550: duplicates lower it
        "mediaserver_registrar_bindings": "gauge",
        "mediaserver_process_open_fds": "gauge",
        "mediaserver_process_tasks": "gauge",
    }
    assert {name: found[name].type for name in kinds} == kinds
    for family in found.values():
        assert family.type in ("counter", "gauge", "histogram"), family
        if family.type == "counter":
            assert all(sample.name.endswith("_total") for sample in family.samples), family


def test_webhook_call_setup_and_api_histograms_move_with_a_call_placed_through_the_sdk(
    rest_server: ServerProcess, client: plivo.RestClient
) -> None:
    rest_server.cli("endpoint", "add", "metered", "metered-secret", "--exact")
    before = families(rest_server)
    with (
        ApplicationServer({"/answer": '<Response><Wait length="1"/></Response>'}) as app,
        Phone("metered", rest_server.sip_port, password="metered-secret", auto_answer=200) as bob,
    ):
        bob.register()
        client.calls.create(from_="15550001111", to_="metered", answer_url=app.url("/answer"))
        bob.wait_for("call_state", state="CONFIRMED")
        bob.wait_for("call_state", state="DISCONNECTED", timeout=20)
        wait_until(lambda: len(app.requests_to("/answer")) >= 2)  # the answer and the hangup
    listed = client.calls.list(limit=20)
    after = families(rest_server)

    assert any(call.to_number == "metered" for call in listed)
    webhooks = [observed(found, WEBHOOK, method="POST", status="2xx") for found in (before, after)]
    assert webhooks[1][0] - webhooks[0][0] >= 2
    assert webhooks[1][1] > webhooks[0][1]
    # The phone answers at once: a setup time in the histogram, well under the ring timeout.
    setups = [observed(found, SETUP, direction="outbound") for found in (before, after)]
    assert setups[1][0] - setups[0][0] == 1
    assert 0 < setups[1][1] - setups[0][1] < 5
    for method in ("POST", "GET"):
        counts = [
            observed(found, API, method=method, route=CALLS_ROUTE) for found in (before, after)
        ]
        assert counts[1][0] - counts[0][0] == 1, method
    # The scrapes themselves are timed under their own route.
    assert observed(after, API, method="GET", route="/metrics")[0] >= 1
