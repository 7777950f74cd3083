"""Cleaning an uploaded photo: one way for every app that keeps pictures people send (a ticket's
photos, an application's scanned materials)."""

from __future__ import annotations

import io
import struct

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

PHOTO_MAX_BYTES = 8 * 1024 * 1024
PHOTO_MAX_PIXELS = 40_000_000
PHOTO_TYPES = {"JPEG": ("image/jpeg", ".jpg"), "PNG": ("image/png", ".png"), "WEBP": ("image/webp", ".webp")}


class CleanImage:
    def __init__(self, data: bytes, content_type: str, extension: str, width: int, height: int) -> None:
        self.data, self.content_type, self.extension = data, content_type, extension
        self.width, self.height = width, height


# The only metadata a stored photo keeps: its colour profile and a palette's transparent colour.
_PIXEL_INFO = frozenset({"icc_profile", "transparency"})


def clean_image(upload: UploadedFile | bytes, *, field: str = "photos") -> CleanImage:
    """Accept JPEG, PNG or WebP up to 8 MB; re-encode to drop EXIF, XMP and comments (they carry the
    GPS position, the device and sometimes a name). Errors are keyed by ``field``."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    too_big = ValidationError({field: _("A photo may be at most 8 MB.")})
    if not isinstance(upload, bytes) and (upload.size or 0) > PHOTO_MAX_BYTES:
        raise too_big  # before reading it into memory
    raw = upload if isinstance(upload, bytes) else upload.read(PHOTO_MAX_BYTES + 1)
    if len(raw) > PHOTO_MAX_BYTES:
        raise too_big
    try:
        with Image.open(io.BytesIO(raw)) as probe:
            fmt = probe.format or ""
            if fmt not in PHOTO_TYPES:
                raise ValidationError({field: _("Photos must be JPEG, PNG or WebP images.")})
            if probe.width * probe.height > PHOTO_MAX_PIXELS:
                raise ValidationError({field: _("The photo has too many pixels.")})
            probe.load()
            image = ImageOps.exif_transpose(probe)
            # Keep the pixels and what drawing them needs, nothing the phone wrote about them:
            # Pillow would carry a JPEG comment (a name, a phone number) into the new file.
            image.info = {k: v for k, v in image.info.items() if k in _PIXEL_INFO}
            out = io.BytesIO()
            if fmt == "JPEG":
                image.convert("RGB").save(out, "JPEG", quality=85)
            else:
                image.save(out, fmt)
    except Image.DecompressionBombError as exc:  # declares far more pixels than PHOTO_MAX_PIXELS
        raise ValidationError({field: _("The photo has too many pixels.")}) from exc
    # Damaged files fail in Pillow's decoders with any of these (a broken PNG chunk: SyntaxError).
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error) as exc:
        raise ValidationError({field: _("The file is not a readable image.")}) from exc
    content_type, extension = PHOTO_TYPES[fmt]
    return CleanImage(out.getvalue(), content_type, extension, image.width, image.height)
