"""Uploads kept between a spreadsheet import's dry run and its commit.

The file and its check report are kept encrypted (SM4-GCM, bound to the uploader: anyone else's
request cannot decrypt it and gets a 404) in the media storage under a random token, for at most a
day. Imports that keep their batches in files (the 12345 hotline, IoT devices) share this one way;
the registry keeps its batches as rows (``ImportBatch``).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
import secrets
import zlib
from dataclasses import dataclass
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import Http404
from django.utils import timezone

from shequ.core import crypto
from shequ.core.permissions import Viewer, scopes_for
from shequ.core.spreadsheets import Report

TOKEN = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class KeptUpload:
    token: str
    filename: str
    content: bytes
    report: Report
    checked_at: dt.datetime
    committed: list[Any] | None = None  # what its commit made (ticket ids, device codes …)


@dataclass(frozen=True)
class Keeper:
    """One import's kept uploads: ``folder`` in the media storage, ``purpose`` in the encryption's
    associated data, ``perm`` the right a reader still needs when loading it."""

    folder: str
    purpose: str
    perm: str
    ttl: dt.timedelta = dt.timedelta(hours=24)

    def _name(self, token: str) -> str:
        return f"{self.folder}/{token}.bin"

    def _aad(self, token: str, user: Viewer) -> str:
        return f"{self.purpose}:{token}:{user.pk}"

    def save(self, upload: KeptUpload, actor: Viewer) -> None:
        payload = {
            "filename": upload.filename,
            "content": base64.b64encode(zlib.compress(upload.content, 6)).decode() if upload.content else "",
            "report": upload.report.to_json(),
            "checked_at": upload.checked_at.isoformat(),
            "committed": upload.committed,
        }
        sealed = crypto.encrypt(json.dumps(payload, ensure_ascii=False), self._aad(upload.token, actor))
        name = self._name(upload.token)
        if default_storage.exists(name):
            default_storage.delete(name)
        default_storage.save(name, ContentFile(sealed.encode()))

    def keep(self, *, actor: Viewer, filename: str, content: bytes, report: Report) -> KeptUpload:
        """Keep a checked upload for its commit (dropping expired ones first)."""
        self.purge()
        upload = KeptUpload(secrets.token_hex(16), filename[:200], content, report, timezone.now())
        self.save(upload, actor)
        return upload

    def load(self, *, actor: Viewer, token: str) -> KeptUpload:
        """The caller's own kept upload; 404 for anyone else's, an expired one, or a caller who has
        lost the import right since."""
        if not TOKEN.match(token or "") or not getattr(actor, "is_authenticated", False):
            raise Http404
        try:
            with default_storage.open(self._name(token), "rb") as handle:
                sealed = handle.read().decode()
            payload = json.loads(crypto.decrypt(sealed, self._aad(token, actor)))
        except (FileNotFoundError, crypto.CryptoError, ValueError) as exc:
            raise Http404 from exc
        checked_at = dt.datetime.fromisoformat(payload["checked_at"])
        if checked_at < timezone.now() - self.ttl or not scopes_for(actor, self.perm):
            raise Http404
        return KeptUpload(
            token=token,
            filename=payload["filename"],
            content=zlib.decompress(base64.b64decode(payload["content"])) if payload["content"] else b"",
            report=Report.from_json(payload["report"]),
            checked_at=checked_at,
            committed=payload.get("committed"),
        )

    def purge(self, now: dt.datetime | None = None) -> int:
        """Delete kept uploads older than the time to live; answers how many."""
        now = now or timezone.now()
        try:
            _dirs, files = default_storage.listdir(self.folder)
        except FileNotFoundError:
            return 0
        dropped = 0
        for name in files:
            path = f"{self.folder}/{name}"
            if default_storage.get_modified_time(path) < now - self.ttl:
                default_storage.delete(path)
                dropped += 1
        return dropped
