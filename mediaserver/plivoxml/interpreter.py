"""Runs an application on one call leg: fetch the answer URL's document, run its verbs in order,
follow Redirects and redirecting actions, and hang up when the document runs out.

Plivo's semantics (reference plivo.md §1): the lazy answer (the call is answered just before
the first verb other than Wait, PreAnswer, Hangup and Dial), hangup 4010 End Of XML
Instructions when the last verb has run and the call is still up, 7011/8011 (7012-7014 and
8012-8014 for action, transfer and redirect documents) when a document cannot be fetched or is
not valid Plivo XML, a limit on redirects, and the hangup URL told how the call ended. The
PF bug that dropped an action's `method` on redirect (plivoframework #133) is not copied.
"""

import logging

from mediaserver.calls.hangup_cause import Cause, HangupSource
from mediaserver.plivoxml.conference_verb import run_conference
from mediaserver.plivoxml.dial_verb import run_dial
from mediaserver.plivoxml.digit_input import run_get_digits, run_get_input
from mediaserver.plivoxml.document_error import XmlDocumentError
from mediaserver.plivoxml.parser import parse_document
from mediaserver.plivoxml.prompts import run_dtmf, run_play, run_speak, run_wait
from mediaserver.plivoxml.record_verb import run_record
from mediaserver.plivoxml.session import (
    CallSession,
    DocumentKind,
    FetchError,
    Goto,
    UnsupportedVerbError,
)
from mediaserver.plivoxml.verbs import (
    ANSWERLESS_VERBS,
    Conference,
    Dial,
    Document,
    Dtmf,
    GetDigits,
    GetInput,
    Hangup,
    Message,
    MultiPartyCall,
    Play,
    PreAnswer,
    Record,
    Redirect,
    Speak,
    Stream,
    Verb,
    Wait,
)

logger = logging.getLogger(__name__)


class Interpreter:
    def __init__(self, session: CallSession) -> None:
        self.session = session
        self._leg = session.leg

    async def run(self) -> None:
        """The whole application, from the answer URL to the end of the last document."""
        urls = self.session.urls
        goto: Goto | None = Goto(urls.answer_url, urls.answer_method, DocumentKind.ANSWER)
        redirects = 0
        while goto is not None and not self._leg.ended:
            document = await self._fetch(goto)
            if document is None:
                return
            goto = await self._execute(document, goto.kind)
            if goto is not None:
                redirects += 1
                if redirects > self.session.services.max_redirects:
                    self.session.fail(Cause.LOOP_DETECTED, f"more than {redirects - 1} redirects")
                    return
        if not self._leg.ended:
            self._leg.hangup(Cause.END_OF_XML, HangupSource.PLIVO)

    async def _fetch(self, goto: Goto) -> Document | None:
        session = self.session
        params = session.parameters(goto.params)
        try:
            body = await self._fetch_body(goto, params)
        except FetchError as error:
            session.fail(goto.kind.unreachable, f"{goto.kind.name.lower()} URL {goto.url}: {error}")
            return None
        try:
            return parse_document(body)
        except XmlDocumentError as error:
            session.fail(goto.kind.invalid, f"invalid XML from {goto.url}: {error}")
            return None

    async def _fetch_body(self, goto: Goto, params: dict[str, str]) -> str:
        """The document; the answer URL falls back to the fallback URL once it has failed."""
        webhooks = self.session.services.webhooks
        urls = self.session.urls
        try:
            return await webhooks.fetch_document(goto.url, goto.method, params)
        except FetchError as error:
            if goto.kind is not DocumentKind.ANSWER or not urls.fallback_url:
                raise
            self.session.debug(f"answer URL {goto.url} failed ({error}): trying the fallback")
            return await webhooks.fetch_document(urls.fallback_url, urls.fallback_method, params)

    async def _execute(self, document: Document, kind: DocumentKind) -> Goto | None:
        for verb in document.verbs:
            if self._leg.ended:
                return None
            if not isinstance(verb, ANSWERLESS_VERBS):
                self.session.answer_if_needed()
            try:
                goto = await self.run_verb(verb)
            except UnsupportedVerbError as error:
                self.session.fail(kind.invalid, str(error))
                return None
            if goto is not None:
                return goto
        return None

    async def run_verb(self, verb: Verb) -> Goto | None:
        session = self.session
        if session.services.on_verb is not None:
            session.services.on_verb(verb)
        match verb:
            case Speak():
                await run_speak(session, verb)
            case Play():
                await run_play(session, verb)
            case Wait():
                await run_wait(session, verb)
            case Dtmf():
                await run_dtmf(session, verb)
            case GetDigits():
                return await run_get_digits(session, verb)
            case GetInput():
                return await run_get_input(session, verb)
            case Dial():
                return await run_dial(session, verb)
            case Hangup():
                self._hangup(verb)
            case Redirect():
                return Goto(verb.url, verb.method, DocumentKind.REDIRECT)
            case PreAnswer():
                return await self._pre_answer(verb)
            case Record():
                return await run_record(session, verb)
            case Conference():
                return await run_conference(session, verb)
            case Stream() | MultiPartyCall() | Message():
                raise UnsupportedVerbError(f"<{type(verb).__name__}> is not supported yet")
        return None

    async def _pre_answer(self, verb: PreAnswer) -> Goto | None:
        """183 with early media; the children run on it without answering the call."""
        self._leg.pre_answer()
        for child in verb.children:
            if self._leg.ended:
                return None
            goto = await self.run_verb(child)
            if goto is not None:
                return goto
        return None

    def _hangup(self, verb: Hangup) -> None:
        if verb.schedule > 0:
            leg = self._leg
            self.session.timers.after(
                "scheduled hangup",
                verb.schedule,
                lambda: leg.hangup(Cause.SCHEDULED_HANGUP, HangupSource.ANSWER_XML),
            )
            return
        cause = Cause.NORMAL_CLEARING
        if verb.reason == "busy":
            cause = Cause.USER_BUSY
        elif verb.reason == "rejected":
            cause = Cause.CALL_REJECTED
        self._leg.hangup(cause, HangupSource.ANSWER_XML)
