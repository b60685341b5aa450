"""schemathesis, reading /v1/openapi.json from the running server, sends valid and invalid
requests to every operation with the main account's credentials: no answer may be a 5xx, and
every answer must match the schema the document gives for its status. Bounded in examples so
the suite stays fast.

(schemathesis' lazy pytest loader does not run under this pytest, so each operation's
Hypothesis strategy is driven directly.)"""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.interop.rest.conftest import AUTH_ID, AUTH_TOKEN

pytestmark = pytest.mark.interop

EXAMPLES_PER_OPERATION = 20


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_5xx_and_every_response_matches_the_schema(base_url: str, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(f"{base_url}/v1/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    # 33 for the resources, 14 for Call/ (records, live calls, Play/Speak/DTMF/Record...),
    # 16 for Conference/ (rooms, members' Kick/Mute/Deaf/Play/Speak, Record).
    assert len(operations) >= 63
    paths = {operation.path for operation in operations}
    assert any(path.endswith("/Call/{call_uuid}/DebugLog/") for path in paths)
    assert any(path.endswith("/Member/{member_id}/Speak/") for path in paths)

    for operation in operations:

        @given(case=operation.as_strategy(mode))
        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def exchange(case: schemathesis.Case) -> None:
            # The document describes any account; requests go to the one we hold.
            case.path_parameters = {**(case.path_parameters or {}), "auth_id": AUTH_ID}
            case.call_and_validate(
                base_url=base_url,
                auth=(AUTH_ID, AUTH_TOKEN),
                checks=[not_a_server_error, response_schema_conformance],
            )

        exchange()
