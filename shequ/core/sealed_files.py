"""Files people attach to a record (an application's materials, a meeting's minutes, a disclosure's
attachments), kept sealed: an image is re-encoded without its metadata (``core.images``), a PDF is
kept as sent, and either is encrypted with SM4-GCM under the current field key with associated data
the owning app chooses (its record, the file's kind, a random token), so a file copied onto another
record does not open. The app keeps the row (its own model); this module does the bytes once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from shequ.core import crypto
from shequ.core.images import clean_image

FILE_MAX_BYTES = 8 * 1024 * 1024
PDF_MAGIC = b"%PDF-"


@dataclass(frozen=True)
class Sealed:
    content: ContentFile[bytes]  # the ciphertext, to save as ``<token>.bin``
    content_type: str
    size: int  # of the plaintext
    token: str
    key_id: str
    filename: str


def seal_upload(
    upload: UploadedFile, *, aad: Callable[[str], bytes], field: str = "files", images_only: bool = False
) -> Sealed:
    """Check, clean and seal one upload; ``aad(token)`` binds it to its record."""
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(PDF_MAGIC) and not images_only:
        if (upload.size or 0) > FILE_MAX_BYTES:
            raise ValidationError({field: _("A file may be at most 8 MB.")})
        data = upload.read(FILE_MAX_BYTES + 1)
        if len(data) > FILE_MAX_BYTES:
            raise ValidationError({field: _("A file may be at most 8 MB.")})
        content_type = "application/pdf"
    else:
        image = clean_image(upload, field=field)
        data, content_type = image.data, image.content_type
    return seal_content(data, aad=aad, content_type=content_type, filename=getattr(upload, "name", "") or "")


def seal_content(data: bytes, *, aad: Callable[[str], bytes], content_type: str, filename: str) -> Sealed:
    """Seal bytes the platform made itself (a generated ledger workbook): no upload checks."""
    token = secrets.token_hex(16)
    key_id = crypto.current_key_id()
    sealed = crypto.seal_bytes(crypto.field_key_bytes(key_id), data, aad(token))
    return Sealed(
        content=ContentFile(sealed),
        content_type=content_type,
        size=len(data),
        token=token,
        key_id=key_id,
        filename=filename[-120:],
    )


def open_sealed(stored: Any, key_id: str, aad: bytes) -> bytes:
    """The content of a sealed file (the caller has checked the reader may see its record)."""
    with stored.open("rb") as fh:
        sealed = fh.read()
    return crypto.open_bytes(crypto.field_key_bytes(key_id), sealed, aad)
