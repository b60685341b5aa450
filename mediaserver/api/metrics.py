"""Every component's statistics() snapshot as Prometheus metric families, read at scrape time.

Components keep plain counts (the per-packet RTP path only increments integers it already
had); this collector turns a snapshot into `mediaserver_<component>_<name>` families when
/metrics is scraped. A figure a source names among its `levels` (how many calls, streams,
bindings there are now) is a gauge; every other figure counts events since start and is a
counter, exposed with Prometheus' `_total` suffix. Per-leg figures carry a `call_uuid` label.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass

from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.registry import Collector

Snapshot = Mapping[str, float]
LabelledRows = Iterable[tuple[Mapping[str, str], Snapshot]]


@dataclass(frozen=True, slots=True)
class MetricSource:
    component: str
    snapshot: Callable[[], Snapshot]
    levels: frozenset[str] = frozenset()  # gauges; the other figures are counters


@dataclass(frozen=True, slots=True)
class LabelledSource:
    """Several rows per component (one per leg), each with the same label names."""

    component: str
    rows: Callable[[], LabelledRows]
    levels: frozenset[str] = frozenset()


class SnapshotCollector(Collector):
    def __init__(self, sources: Iterable[MetricSource], labelled: Iterable[LabelledSource]):
        self._sources = list(sources)
        self._labelled = list(labelled)

    def collect(self) -> Iterator[Metric]:
        for source in self._sources:
            for name, value in sorted(source.snapshot().items()):
                family = _family(source.component, name, name in source.levels, ())
                family.add_metric((), value)
                yield family
        for group in self._labelled:
            yield from _labelled_families(group)


def _labelled_families(group: LabelledSource) -> Iterator[Metric]:
    families: dict[str, CounterMetricFamily | GaugeMetricFamily] = {}
    for labels, values in group.rows():
        for name, value in values.items():
            family = families.get(name)
            if family is None:
                family = _family(group.component, name, name in group.levels, tuple(labels))
                families[name] = family
            family.add_metric(tuple(labels.values()), value)
    for name in sorted(families):
        yield families[name]


def _family(
    component: str, name: str, level: bool, label_names: tuple[str, ...]
) -> CounterMetricFamily | GaugeMetricFamily:
    metric = f"mediaserver_{component}_{name}".replace(".", "_").replace("-", "_")
    if level:
        return GaugeMetricFamily(metric, f"{component}: {name} now", labels=label_names)
    return CounterMetricFamily(metric, f"{component}: {name} since start", labels=label_names)


def parse(text: str) -> dict[str, float]:
    """The unlabelled samples of an exposition by sample name (counters with their `_total`),
    read with prometheus_client's own parser: what tests and tools read back."""
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if not sample.labels
    }
