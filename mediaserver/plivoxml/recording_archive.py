"""Recordings on disk and in the store, and the links that serve them.

Files live under one directory as `<recording_id>.<format>`. Their URL is on the API listener
(`/v1/Account/{auth_id}/Recording/<id>.<format>`), never open: a request needs the account's
credentials (HTTP Basic), or carries the signature this archive put in the link it handed to
the application (HMAC-SHA256 over the path and an expiry, keyed by the auth token), so the
application can fetch the file it was told about and nobody can guess another.
"""

import base64
import hashlib
import hmac
import time
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlencode

from mediaserver.store.recordings import Recording, SqliteRecordings

LINK_LIFETIME_SECONDS = 7 * 24 * 3600


class RecordingArchive:
    def __init__(
        self, directory: Path, rows: SqliteRecordings, base_url: str, auth_id: str, token: str
    ) -> None:
        self.directory = directory
        self.rows = rows
        self._base_url = base_url.rstrip("/")
        self._auth_id = auth_id
        self._key = token.encode()

    def path_for(self, recording_id: str, file_format: str) -> Path:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"{recording_id}.{file_format}"

    def file_path(self, recording_id: str, file_format: str) -> str:
        """The URL path that serves a recording's file."""
        return f"/v1/Account/{self._auth_id}/Recording/{recording_id}.{file_format}"

    def url_for(self, recording_id: str, file_format: str) -> str:
        """A signed link to the file, as RecordUrl hands it out."""
        path = self.file_path(recording_id, file_format)
        expires = str(int(time.time()) + LINK_LIFETIME_SECONDS)
        query = urlencode({"Expires": expires, "Signature": self._sign(path, expires)})
        return f"{self._base_url}{path}?{query}"

    def link_is_valid(self, path: str, expires: str, signature: str) -> bool:
        if not expires.isdigit() or int(expires) < time.time():
            return False
        return hmac.compare_digest(self._sign(path, expires), signature)

    def add(self, recording: Recording) -> None:
        self.rows.add(recording)

    def remove(self, recording_id: str) -> Recording | None:
        """Delete a recording: its row first (it is no longer listed), then its file."""
        removed = self.rows.remove(recording_id)
        if removed is not None:
            (self.directory / removed.file_name).unlink(missing_ok=True)
        return removed

    def _sign(self, path: str, expires: str) -> str:
        digest = hmac.new(self._key, f"{path}\n{expires}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).decode().rstrip("=")


class AccountRecordings:
    """One sub-account's view of the archive: what its calls record is listed as its own."""

    def __init__(self, archive: RecordingArchive, sub_account: str) -> None:
        self._archive = archive
        self._sub_account = sub_account

    def path_for(self, recording_id: str, file_format: str) -> Path:
        return self._archive.path_for(recording_id, file_format)

    def url_for(self, recording_id: str, file_format: str) -> str:
        return self._archive.url_for(recording_id, file_format)

    def add(self, recording: Recording) -> None:
        self._archive.add(replace(recording, sub_account=self._sub_account))
