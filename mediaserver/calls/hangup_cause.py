"""Why a leg ended: Plivo's hangup causes (name, code) and their SIP equivalents.

Names are the FreeSWITCH/Q.850 ones Plivo reports as HangupCause; codes are Plivo's
HangupCauseCode table. A cause also says which SIP response an unanswered A leg gets
(RFC 3261 §21, RFC 3398 for the Q.850 pairs) and which a failed B leg's response maps to.
"""

import enum
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class HangupCause:
    name: str  # HangupCause in webhooks: the FreeSWITCH/Q.850 name
    code: int  # HangupCauseCode / hangup_cause_code
    sip_status: int  # the final response an unanswered caller gets
    label: str  # HangupCauseName / hangup_cause_name: Plivo's name for the code


class Cause(enum.Enum):
    NORMAL_CLEARING = HangupCause("NORMAL_CLEARING", 4000, 480, "Normal Hangup")
    ORIGINATOR_CANCEL = HangupCause("ORIGINATOR_CANCEL", 1000, 487, "Canceled")
    USER_BUSY = HangupCause("USER_BUSY", 3010, 486, "Busy Line")
    CALL_REJECTED = HangupCause("CALL_REJECTED", 3020, 603, "Rejected")
    NO_ANSWER = HangupCause("NO_ANSWER", 3000, 480, "No Answer")
    RING_TIMEOUT = HangupCause("NO_ANSWER", 6010, 480, "Ring Timeout Reached")
    FORBIDDEN = HangupCause("CALL_REJECTED", 3040, 403, "Forbidden")
    UNALLOCATED_NUMBER = HangupCause("UNALLOCATED_NUMBER", 3050, 404, "Unallocated number")
    INVALID_DESTINATION = HangupCause(
        "INVALID_NUMBER_FORMAT", 2000, 484, "Invalid Destination Address"
    )
    ENDPOINT_NOT_REGISTERED = HangupCause(
        "USER_NOT_REGISTERED", 2020, 480, "Endpoint Not Registered"
    )
    LOOP_DETECTED = HangupCause("EXCHANGE_ROUTING_ERROR", 2060, 482, "Loop Detected")
    REQUEST_TIMEOUT = HangupCause("RECOVERY_ON_TIMER_EXPIRE", 3070, 408, "Request timeout")
    CARRIER_ERROR = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 3080, 503, "Internal server error from carrier"
    )
    CONGESTION = HangupCause(
        "NORMAL_CIRCUIT_CONGESTION", 3090, 503, "Network congestion from carrier"
    )
    BUSY_EVERYWHERE = HangupCause("USER_BUSY", 3100, 600, "Busy everywhere")
    DECLINED = HangupCause("CALL_REJECTED", 3110, 603, "Declined")
    DOES_NOT_EXIST_ANYWHERE = HangupCause(
        "UNALLOCATED_NUMBER", 3120, 604, "User does not exist anywhere"
    )
    INCOMPATIBLE_MEDIA = HangupCause("INCOMPATIBLE_DESTINATION", 5000, 488, "Network Error")
    NETWORK_ERROR = HangupCause("NETWORK_OUT_OF_ORDER", 5000, 503, "Network Error")
    INTERNAL_ERROR = HangupCause("NORMAL_TEMPORARY_FAILURE", 5010, 500, "Internal Error")
    ROUTING_ERROR = HangupCause("NO_ROUTE_DESTINATION", 5020, 404, "Routing Error")
    SCHEDULED_HANGUP = HangupCause("ALLOTTED_TIMEOUT", 6000, 480, "Scheduled Hangup")
    MEDIA_TIMEOUT = HangupCause("MEDIA_TIMEOUT", 6020, 480, "Media Timeout")
    LOST_RACE = HangupCause("LOSE_RACE", 9000, 487, "Lost Race")
    # Applications (Plivo XML): the document ran out, or its server or XML failed the call.
    END_OF_XML = HangupCause("NORMAL_CLEARING", 4010, 480, "End Of XML Instructions")
    ANSWER_URL_ERROR = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 7011, 500, "Error Reaching Answer URL"
    )
    ACTION_URL_ERROR = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 7012, 500, "Error Reaching Action URL"
    )
    TRANSFER_URL_ERROR = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 7013, 500, "Error Reaching Transfer URL"
    )
    REDIRECT_URL_ERROR = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 7014, 500, "Error Reaching Redirect URL"
    )
    INVALID_ANSWER_XML = HangupCause("NORMAL_TEMPORARY_FAILURE", 8011, 500, "Invalid Answer XML")
    INVALID_ACTION_XML = HangupCause("NORMAL_TEMPORARY_FAILURE", 8012, 500, "Invalid Action XML")
    INVALID_TRANSFER_XML = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 8013, 500, "Invalid Transfer XML"
    )
    INVALID_REDIRECT_XML = HangupCause(
        "NORMAL_TEMPORARY_FAILURE", 8014, 500, "Invalid Redirect XML"
    )
    MACHINE_DETECTED = HangupCause("NORMAL_CLEARING", 9100, 480, "Machine Detected")
    CONFIRM_KEY_FAILED = HangupCause("NORMAL_CLEARING", 9110, 480, "Confirm Key Challenge Failed")

    @property
    def cause(self) -> HangupCause:
        return self.value


class HangupSource(enum.Enum):
    """Plivo's hangup_source values."""

    CALLER = "Caller"
    CALLEE = "Callee"
    PLIVO = "Plivo"
    CARRIER = "Carrier"
    ERROR = "Error"
    API_REQUEST = "API Request"
    ANSWER_XML = "Answer XML"
    UNKNOWN = "Unknown"


# RFC 3261 §21 and RFC 3398 §8.2.6.1: a B leg's final failure, as the cause the A leg reports.
_BY_STATUS = {
    403: Cause.FORBIDDEN,
    404: Cause.UNALLOCATED_NUMBER,
    408: Cause.REQUEST_TIMEOUT,
    480: Cause.NO_ANSWER,
    482: Cause.LOOP_DETECTED,
    483: Cause.LOOP_DETECTED,
    484: Cause.INVALID_DESTINATION,
    486: Cause.USER_BUSY,
    487: Cause.ORIGINATOR_CANCEL,
    488: Cause.INCOMPATIBLE_MEDIA,
    500: Cause.CARRIER_ERROR,
    502: Cause.NETWORK_ERROR,
    503: Cause.CONGESTION,
    600: Cause.BUSY_EVERYWHERE,
    603: Cause.DECLINED,
    604: Cause.DOES_NOT_EXIST_ANYWHERE,
}


def cause_for_status(status_code: int) -> Cause:
    """The cause of a B leg that ended with `status_code` (class defaults for the rest)."""
    known = _BY_STATUS.get(status_code)
    if known is not None:
        return known
    if status_code >= 600:
        return Cause.DECLINED
    if status_code >= 500:
        return Cause.CARRIER_ERROR
    return Cause.CALL_REJECTED
