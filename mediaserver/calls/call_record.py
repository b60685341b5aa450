"""A leg's call detail record (Plivo's CDR fields), written the moment the leg ends."""

import math

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.calls.leg import Leg
from mediaserver.media.stream_statistics import StreamStatistics
from mediaserver.store.call_records import CallRecord, CallRecords

# A leg that never opened a stream (refused, unanswered before any offer).
_NO_MEDIA = StreamStatistics(0, 0, 0, 0, 0, 0, 0.0)


def record_for(leg: Leg) -> CallRecord:
    end_time = leg.end_time if leg.end_time is not None else leg.initiation_time
    cause = (leg.cause or Cause.NORMAL_CLEARING).cause
    answered = leg.answer_time
    # Plivo: call_duration counts from the answer; billing rounds up to the whole second.
    talk = 0.0 if answered is None else max(0.0, end_time - answered)
    media = leg.media.statistics() or _NO_MEDIA
    return CallRecord(
        call_uuid=leg.call_uuid,
        parent_call_uuid=leg.parent_call_uuid,
        direction="inbound" if leg.direction == "inbound" else "outbound",
        from_number=leg.from_number,
        to_number=leg.to_number,
        initiation_time=leg.initiation_time,
        answer_time=answered,
        end_time=end_time,
        call_duration=int(talk),
        bill_duration=math.ceil(talk),
        hangup_cause_name=cause.label,
        hangup_cause_code=cause.code,
        hangup_source=(leg.hangup_source or HangupSource.PLIVO).value,
        source_ip=leg.source_ip,
        codec=leg.media.codec,
        sip_status=leg.sip_status,
        sip_call_id=leg.sip_call_id,
        rtp_packets_received=media.packets_received,
        rtp_packets_sent=media.packets_sent,
        rtp_packets_lost=media.packets_lost,
        rtp_jitter_ms=round(media.jitter_ms, 3),
        sub_account=leg.sub_account,
    )


class CallRecordWriter:
    """The call service's on_leg_ended: the row is committed before the leg's end is
    acknowledged to anyone (the BYE's 200 goes after it)."""

    def __init__(self, records: CallRecords) -> None:
        self._records = records
        self.written = 0

    def __call__(self, leg: Leg) -> None:
        self._records.write(record_for(leg))
        self.written += 1
