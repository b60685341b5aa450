"""Where an application's <Number> and <User> go: numbers out through the outgoing carrier,
users of our domain to their registered contacts, other SIP URIs to their own host."""

from mediaserver.calls.dialer import Caller
from mediaserver.calls.hangup_cause import Cause
from mediaserver.calls.router import Refusal, Route, Router, route_to_sip_uri
from mediaserver.plivoxml.verbs import DialTarget, Number
from mediaserver.sip.errors import SipParseError
from mediaserver.sip.uri import SipUri
from mediaserver.store.numbers import normalise_number


class RouterDialPlan:
    def __init__(self, router: Router, domain: str) -> None:
        self._router = router
        self._domain = domain.lower()

    def route_for(self, target: DialTarget) -> Route | Refusal:
        if isinstance(target, Number):
            try:
                number = normalise_number(target.number)
            except ValueError as error:
                return Refusal(Cause.INVALID_DESTINATION, str(error))
            return self._router.route_to_number(number)
        try:
            uri = SipUri.parse(target.uri)
        except SipParseError as error:
            return Refusal(Cause.INVALID_DESTINATION, f"{target.uri}: {error.reason}")
        if uri.host.lower() == self._domain and uri.user:
            return self._router.route_to_endpoint(uri.user)
        return route_to_sip_uri(uri)

    def caller(self, caller_id: str, caller_name: str) -> Caller:
        """B legs show `caller_id` (a number or a user of ours) as From, with the name."""
        user = caller_id.removeprefix("sip:").split("@", 1)[0] or "anonymous"
        display = caller_name.replace('"', "")
        name = f'"{display}" ' if display else ""
        return Caller(f"{name}<sip:{user}@{self._domain}>", user)
