"""SIP transactions, pure (RFC 3261 §17, with RFC 6026's Accepted state and Timers L, M).

A transaction is fed messages and `now`; it queues messages to send (`messages_to_send()`)
and events for the TU (`next_event()`), and reports one deadline (`next_deadline()`) at which
the driver calls `handle_timer(now)`. The driver in mediaserver.transport owns the sockets,
the clock and the single timer; matching.py tells it which transaction a message belongs to.

- client.py: INVITE (§17.1.1) and non-INVITE (§17.1.2) client transactions; the ACK of a
  non-2xx final response (§17.1.1.3) and the CANCEL of an INVITE (§9.1) are built here.
- server.py: INVITE (§17.2.1) and non-INVITE (§17.2.2) server transactions.
- machine.py: the shared runner. Each state machine is a visible table
  `(state, input) -> (next state, action)`; an input that is not in the table raises
  UnexpectedInputError and changes nothing.
- matching.py: §17.1.3 and §17.2.3 keys (with the RFC 2543 fallback) and TransactionTable.
- timers.py: T1, T2, T4 and the timers derived from them.
"""
