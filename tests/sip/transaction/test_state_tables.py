"""Every (state, input) pair: a table transition, or UnexpectedInputError; nothing else."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mediaserver.sip.message import Request, build_response
from mediaserver.sip.transaction.client import (
    ClientInput,
    ClientState,
    InviteClientTransaction,
    NonInviteClientTransaction,
)
from mediaserver.sip.transaction.machine import UnexpectedInputError
from mediaserver.sip.transaction.server import (
    InviteServerTransaction,
    NonInviteServerTransaction,
    ServerInput,
    ServerState,
)
from mediaserver.sip.transaction.timers import Timers

from .conftest import request

MACHINES = [
    (InviteServerTransaction, ServerState, ServerInput),
    (NonInviteServerTransaction, ServerState, ServerInput),
    (InviteClientTransaction, ClientState, ClientInput),
    (NonInviteClientTransaction, ClientState, ClientInput),
]


def message_for(event_name: str, invite: Request) -> object:
    if "RECEIVED" in event_name and event_name != "ACK_RECEIVED":
        code = {"PROVISIONAL": 180, "SUCCESS": 200, "FAILURE": 486}[event_name.split("_")[0]]
        return build_response(invite, code, to_tag="t")
    if event_name.endswith("_SENT"):
        code = {"PROVISIONAL": 180, "SUCCESS": 200, "FAILURE": 486}[event_name.split("_")[0]]
        return build_response(invite, code, to_tag="t")
    return request("ACK", to_tag="t") if event_name == "ACK_RECEIVED" else invite


@pytest.mark.parametrize(("machine", "states", "inputs"), MACHINES)
@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_every_state_and_input(machine, states, inputs, data) -> None:  # type: ignore[no-untyped-def]
    invite = request("INVITE")
    transaction = machine(invite, reliable=data.draw(st.booleans()), timers=Timers())
    transaction.state = data.draw(st.sampled_from(list(states)))
    event = data.draw(st.sampled_from(list(inputs)))
    if (transaction.state, event) in machine.transitions:
        transaction._feed(event, 1.0, message_for(event.name, invite))
        assert transaction.state in states
    else:
        with pytest.raises(UnexpectedInputError):
            transaction._feed(event, 1.0, message_for(event.name, invite))
