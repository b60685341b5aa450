"""Prometheus text exposition (format 0.0.4) of every component's statistics() snapshot.

Each component reports flat counters; they are exposed as `mediaserver_<component>_<name>`
gauges, which is what the leak checks and dashboards read. Per-leg figures carry a
`call_uuid` label.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

Snapshot = Mapping[str, float]
LabelledRows = Iterable[tuple[Mapping[str, str], Snapshot]]


@dataclass(frozen=True, slots=True)
class MetricSource:
    component: str
    snapshot: Callable[[], Snapshot]


@dataclass(frozen=True, slots=True)
class LabelledSource:
    """Several rows per component (one per leg), each with its labels."""

    component: str
    rows: Callable[[], LabelledRows]


def render(sources: Iterable[MetricSource], labelled: Iterable[LabelledSource] = ()) -> str:
    lines: list[str] = []
    for source in sources:
        for name, value in sorted(source.snapshot().items()):
            metric = _metric_name(source.component, name)
            lines += [f"# TYPE {metric} gauge", f"{metric} {_number(value)}"]
    for group in labelled:
        by_metric: dict[str, list[str]] = {}
        for labels, values in group.rows():
            label_text = ",".join(f'{key}="{_escape(value)}"' for key, value in labels.items())
            for name, value in values.items():
                metric = _metric_name(group.component, name)
                by_metric.setdefault(metric, []).append(
                    f"{metric}{{{label_text}}} {_number(value)}"
                )
        for metric, samples in sorted(by_metric.items()):
            lines += [f"# TYPE {metric} gauge", *samples]
    return "\n".join(lines) + "\n"


def parse(text: str) -> dict[str, float]:
    """The unlabelled samples of an exposition (what tests and tools read back)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#") or "{" in line:
            continue
        name, _, value = line.partition(" ")
        values[name] = float(value)
    return values


def _metric_name(component: str, name: str) -> str:
    return f"mediaserver_{component}_{name}".replace(".", "_").replace("-", "_")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
