"""Meeting attachments and progress photos: images re-encoded without their metadata
(``core.images``) or PDFs, sealed with SM4-GCM under the current field key and bound to the topic,
the kind and a random token — the government services' way for uploaded materials."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from shequ.core import crypto
from shequ.core.images import clean_image
from shequ.core.models import User
from shequ.core.permissions import Viewer
from shequ.participation.models import FileKind, ProgressUpdate, Topic, TopicFile

MAX_FILES = 10
FILE_MAX_BYTES = 8 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


def _aad(topic_id: int, kind: str, token: str) -> bytes:
    return f"participation.consult:{topic_id}:{kind}:{token}".encode()


def check_count(files: Sequence[UploadedFile], field: str) -> None:
    if len(files) > MAX_FILES:
        raise ValidationError({field: _("At most %(n)d files at once.") % {"n": MAX_FILES}})


def seal(
    topic: Topic,
    upload: UploadedFile,
    *,
    kind: str,
    actor: Viewer | None,
    public: bool,
    progress: ProgressUpdate | None = None,
    images_only: bool = False,
    field: str = "files",
) -> TopicFile:
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(PDF_MAGIC) and not images_only:
        data = upload.read(FILE_MAX_BYTES + 1)
        if len(data) > FILE_MAX_BYTES:
            raise ValidationError({field: _("A file may be at most 8 MB.")})
        content_type = "application/pdf"
    else:
        image = clean_image(upload, field=field)
        data, content_type = image.data, image.content_type
    token = secrets.token_hex(16)
    key_id = crypto.current_key_id()
    sealed = crypto.seal_bytes(crypto.field_key_bytes(key_id), data, _aad(topic.pk, kind, token))
    row = TopicFile(
        topic=topic,
        progress=progress,
        kind=kind if kind in FileKind.values else FileKind.MEETING,
        public=public,
        token=token,
        filename=(getattr(upload, "name", "") or "")[-120:],
        content_type=content_type,
        size=len(data),
        key_id=key_id,
        uploaded_by=actor if isinstance(actor, User) else None,
    )
    row.file.save(f"{token}.bin", ContentFile(sealed), save=False)
    row.save()
    return row


def open_file(row: TopicFile) -> bytes:
    """The file's content (the caller has checked the reader may see it)."""
    with row.file.open("rb") as fh:
        sealed = fh.read()
    return crypto.open_bytes(
        crypto.field_key_bytes(row.key_id), sealed, _aad(row.topic_id, row.kind, row.token)
    )
