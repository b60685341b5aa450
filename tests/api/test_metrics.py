"""The snapshot collector: a source's levels are gauges, its other figures counters with
`_total`, per-leg rows one family per figure with their labels; read back with parse()."""

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from mediaserver.api.metrics import LabelledSource, MetricSource, SnapshotCollector, parse


def exposition(collector: SnapshotCollector) -> str:
    registry = CollectorRegistry()
    registry.register(collector)
    return generate_latest(registry).decode()


def test_levels_are_gauges_and_the_other_figures_counters() -> None:
    source = MetricSource("calls", lambda: {"legs": 2, "calls_answered": 7}, frozenset({"legs"}))
    text = exposition(SnapshotCollector([source], []))
    kinds = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert kinds == {
        "mediaserver_calls_legs": "gauge",
        "mediaserver_calls_calls_answered": "counter",
    }
    assert parse(text) == {"mediaserver_calls_legs": 2, "mediaserver_calls_calls_answered_total": 7}


def test_each_leg_is_a_labelled_sample_of_one_family_per_figure() -> None:
    rows = [
        ({"call_uuid": "a", "direction": "inbound"}, {"rtp_packets_received": 50, "rtp_lost": -1}),
        ({"call_uuid": "b", "direction": "outbound"}, {"rtp_packets_received": 40, "rtp_lost": 0}),
    ]
    group = LabelledSource("leg", lambda: rows, frozenset({"rtp_lost"}))
    families = list(text_string_to_metric_families(exposition(SnapshotCollector([], [group]))))
    assert [(family.name, family.type) for family in families] == [
        ("mediaserver_leg_rtp_lost", "gauge"),
        ("mediaserver_leg_rtp_packets_received", "counter"),
    ]
    received = {s.labels["call_uuid"]: (s.name, s.value) for s in families[1].samples}
    assert received == {
        "a": ("mediaserver_leg_rtp_packets_received_total", 50),
        "b": ("mediaserver_leg_rtp_packets_received_total", 40),
    }
    assert parse(exposition(SnapshotCollector([], [group]))) == {}  # labelled: not read back


def test_a_snapshot_is_read_at_every_scrape() -> None:
    counts = {"requests": 0}
    collector = SnapshotCollector([MetricSource("rest", lambda: counts)], [])
    assert parse(exposition(collector))["mediaserver_rest_requests_total"] == 0
    counts["requests"] = 3
    assert parse(exposition(collector))["mediaserver_rest_requests_total"] == 3
