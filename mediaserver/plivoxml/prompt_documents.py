"""Documents that only make sound: what dialMusic, confirmSound, waitSound and the conference
sounds point at. Their Play, Speak and Wait run; Plivo ignores any other element there
(plivo.md §2.7, §2.8), and so do we, with a debug-log entry. A document that cannot be fetched
or parsed plays nothing and is logged: the call goes on."""

from mediaserver.plivoxml.document_error import XmlDocumentError
from mediaserver.plivoxml.parser import parse_document
from mediaserver.plivoxml.session import CallSession, FetchError
from mediaserver.plivoxml.verbs import Play, Prompt, Speak, Wait


async def fetch_prompts(session: CallSession, url: str, purpose: str) -> tuple[Prompt, ...]:
    """The Play, Speak and Wait verbs of the document at `url` (POSTed with the call's
    parameters, as Plivo does for these URLs)."""
    try:
        body = await session.services.webhooks.fetch_document(url, "POST", session.parameters())
        document = parse_document(body)
    except (FetchError, XmlDocumentError) as error:
        session.debug(f"{purpose} {url}: {error}")
        return ()
    prompts = tuple(verb for verb in document.verbs if isinstance(verb, Play | Speak | Wait))
    if len(prompts) < len(document.verbs):
        session.debug(f"{purpose} {url}: only Play, Speak and Wait run there; the rest is ignored")
    return prompts
