"""One account's view of the server's webhook client: every request of its calls signed with
its token (and the main account's, in the -Ma- headers), failures as the interpreter's
FetchError."""

from collections.abc import Mapping

from mediaserver.plivoxml.session import FetchError
from mediaserver.plivoxml.signature import RequestSigner
from mediaserver.plivoxml.webhooks import Webhook, WebhookClient, WebhookError


class AccountWebhooks:
    def __init__(self, client: WebhookClient, signer: RequestSigner) -> None:
        self._client = client
        self._signer = signer

    async def fetch_document(self, url: str, method: str, params: Mapping[str, str]) -> str:
        try:
            return await self._client.fetch(Webhook(url, method), params, signer=self._signer)
        except WebhookError as error:
            raise FetchError(str(error)) from None

    def notify(self, url: str, method: str, params: Mapping[str, str]) -> None:
        self._client.notify(Webhook(url, method), params, signer=self._signer)
