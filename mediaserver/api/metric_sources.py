"""What /metrics reads from each part of a server, and which of its figures are levels (gauges:
what is open or held now); every other figure counts since start (a counter).

Per-leg RTP figures are read from the streams' own counters when /metrics is scraped: the
per-packet path does no work for them.
"""

import asyncio
import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from mediaserver.api.metrics import LabelledRows, LabelledSource, MetricSource
from mediaserver.api.rest.rest_api import RestApi
from mediaserver.calls.call_service import CallService
from mediaserver.calls.registrar import Registrar
from mediaserver.media.engine import MediaEngine
from mediaserver.media.recent_speech import RecentSpeech
from mediaserver.media.tts_cache import TtsCache
from mediaserver.plivoxml.application_calls import ApplicationCalls
from mediaserver.plivoxml.call_requests import CallRequests
from mediaserver.plivoxml.live_media import LiveMedia
from mediaserver.transport.sip_transport import SipTransport

# RFC 3550 §6.4.1: the cumulative number of packets lost goes down when duplicates arrive, so
# it is a level, not a counter (a counter that decreases reads as a restart).
_RTP_LEVELS = frozenset({"rtp_packets_lost"})


@dataclass(frozen=True, slots=True)
class MeasuredParts:
    transport: SipTransport
    registrar: Registrar
    calls: CallService
    applications: ApplicationCalls
    requests: CallRequests
    live_media: LiveMedia
    rest: RestApi
    engine: MediaEngine
    tts: TtsCache
    speech: RecentSpeech


def metric_sources(parts: MeasuredParts) -> list[MetricSource]:
    engine = parts.engine
    return [
        MetricSource("sip", parts.transport.statistics, frozenset({
            "transactions", "server_transactions", "client_transactions",
            "invite_transactions", "terminated_transactions", "tcp_connections",
            "ws_connections",
        })),
        MetricSource("registrar", parts.registrar.statistics, frozenset({
            "bindings", "nonces_tracked",
        })),
        MetricSource("calls", parts.calls.statistics, frozenset({
            "calls", "legs", "dialogs", "pending_invites", "leg_timers", "call_timers",
        })),
        MetricSource("applications", parts.applications.statistics, frozenset({
            "in_flight", "notifications", "sessions_open", "debug_log_calls",
            "debug_log_entries", "application_timers", "application_legs", "conference_rooms",
            "conference_members", "conference_tasks",
        })),
        MetricSource("api_calls", parts.requests.statistics, frozenset({
            "api_call_requests", "api_machine_detections",
        })),
        MetricSource("live_media", parts.live_media.statistics, frozenset({
            "prompts", "recordings",
        })),
        MetricSource("rest", parts.rest.statistics, frozenset({"accounts_tracked"})),
        MetricSource("media", lambda: dataclasses.asdict(engine.statistics()), frozenset({
            "streams", "webrtc_streams", "relay_streams", "batch_streams",
            "transcoding_streams", "bound_ports", "open_sockets", "conferences", "players",
            "recorders", "dtmf_detectors", "timers", "buffered_bytes", *_RTP_LEVELS,
        })),
        MetricSource("tts", parts.tts.statistics, frozenset({"processes"})),
        MetricSource("speech", parts.speech.statistics, frozenset({
            "speech_in_memory", "speech_samples_in_memory",
        })),
        # Open descriptors, memory and CPU come from prometheus_client's ProcessCollector.
        MetricSource("process", _process_statistics, frozenset({"tasks"})),
    ]  # fmt: skip


def leg_sources(calls: CallService) -> list[LabelledSource]:
    levels = _RTP_LEVELS | {"rtp_jitter_seconds"}
    return [LabelledSource("leg", lambda: _leg_rows(calls), levels)]


def _process_statistics() -> Mapping[str, float]:
    """What leaks show up in first besides descriptors: tasks on the loop."""
    return {"tasks": len(asyncio.all_tasks())}


def _leg_rows(calls: CallService) -> LabelledRows:
    for leg in calls.live_legs():
        figures, port = leg.media.statistics(), leg.media.rtp_port
        if figures is None or port is None:
            continue
        labels = {
            "call_uuid": leg.call_uuid,
            "direction": leg.direction,
            "codec": leg.media.codec,
            "rtp_port": str(port),
        }
        values = dataclasses.asdict(figures)
        values["jitter_seconds"] = values.pop("jitter_ms") / 1000
        yield labels, {f"rtp_{name}": value for name, value in values.items()}
