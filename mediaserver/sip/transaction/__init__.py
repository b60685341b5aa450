"""SIP transactions, pure (RFC 3261 §17, with RFC 6026's Accepted state and Timers L, M).

A transaction is fed messages and `now`; it queues messages to send and events for the TU and
reports its next deadline. The driver in mediaserver.transport owns sockets and one timer.
Each state machine is a visible table `(state, input) -> (next state, action)`; an input that
is not in the table raises UnexpectedInputError.
"""
