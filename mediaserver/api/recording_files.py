"""GET /v1/Account/{auth_id}/Recording/{recording_id}.{format}: a recording's file, to the
account's credentials (HTTP Basic) or to the signed link the application was given."""

import base64
import binascii
import hmac
import re

from aiohttp import web

from mediaserver.plivoxml.recording_archive import RecordingArchive

CONTENT_TYPES = {"wav": "audio/wav", "mp3": "audio/mpeg"}
_FILE_NAME = re.compile(r"(?P<id>[0-9a-f]{32})\.(?P<format>wav|mp3)")


class RecordingFiles:
    def __init__(self, archive: RecordingArchive, auth_id: str, auth_token: str) -> None:
        self._archive = archive
        self._auth_id = auth_id
        self._auth_token = auth_token

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/v1/Account/{auth_id}/Recording/{file_name}", self.get)]

    async def get(self, request: web.Request) -> web.StreamResponse:
        if not (self._signed(request) or self._authenticated(request)):
            raise web.HTTPUnauthorized(
                text='{"error": "authentication required"}',
                content_type="application/json",
                headers={"WWW-Authenticate": 'Basic realm="mediaserver"'},
            )
        found = _FILE_NAME.fullmatch(request.match_info["file_name"])
        if request.match_info["auth_id"] != self._auth_id or found is None:
            raise web.HTTPNotFound(text='{"error": "not found"}', content_type="application/json")
        path = self._archive.path_for(found["id"], found["format"])
        if not path.exists():
            raise web.HTTPNotFound(text='{"error": "not found"}', content_type="application/json")
        return web.FileResponse(path, headers={"Content-Type": CONTENT_TYPES[found["format"]]})

    def _signed(self, request: web.Request) -> bool:
        expires = request.query.get("Expires", "")
        signature = request.query.get("Signature", "")
        return bool(signature) and self._archive.link_is_valid(request.path, expires, signature)

    def _authenticated(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return hmac.compare_digest(user, self._auth_id) and hmac.compare_digest(
            password, self._auth_token
        )
