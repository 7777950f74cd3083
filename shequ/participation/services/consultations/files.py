"""Meeting attachments and progress photos: images re-encoded without their metadata
(``core.images``) or PDFs, sealed with SM4-GCM under the current field key and bound to the topic,
the kind and a random token — the government services' way for uploaded materials."""

from __future__ import annotations

from collections.abc import Sequence

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from shequ.core.models import User
from shequ.core.permissions import Viewer
from shequ.core.sealed_files import open_sealed, seal_upload
from shequ.participation.models import FileKind, ProgressUpdate, Topic, TopicFile

MAX_FILES = 10


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
    sealed = seal_upload(
        upload, aad=lambda token: _aad(topic.pk, kind, token), field=field, images_only=images_only
    )
    row = TopicFile(
        topic=topic,
        progress=progress,
        kind=kind if kind in FileKind.values else FileKind.MEETING,
        public=public,
        token=sealed.token,
        filename=sealed.filename,
        content_type=sealed.content_type,
        size=sealed.size,
        key_id=sealed.key_id,
        uploaded_by=actor if isinstance(actor, User) else None,
    )
    row.file.save(f"{sealed.token}.bin", sealed.content, save=False)
    row.save()
    return row


def open_file(row: TopicFile) -> bytes:
    """The file's content (the caller has checked the reader may see it)."""
    return open_sealed(row.file, row.key_id, _aad(row.topic_id, row.kind, row.token))
