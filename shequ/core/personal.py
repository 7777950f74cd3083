"""Personal data on pages: masking, mobile-number validation, and the audited reveal.

Pages and the API show masked values (``430104********1234``, ``138****5678``). Seeing the full
value takes ``Perm.REVEAL_PERSONAL_DATA`` in the object's region and a reason, and every attempt —
allowed or denied — is written to the audit log (security requirements 9–11).
"""

from __future__ import annotations

import re
import unicodedata

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit, crypto
from shequ.core.fields import EncryptedTextField
from shequ.core.models import AuditResult, User
from shequ.core.permissions import Perm, Viewer, has_perm

MASK = "*"
REASON_MAX_LENGTH = 500


def _compact(value: str | None) -> str:
    return crypto.normalize(value or "")


def _mask_middle(value: str, head: int, tail: int) -> str:
    """Keep ``head`` and ``tail`` characters; short values keep less so that most stays hidden."""
    n = len(value)
    if n == 0:
        return ""
    if n <= 4:
        return MASK * n
    if head + tail >= n - 3:  # not enough to hide: keep the last two only
        return MASK * (n - 2) + value[-2:]
    return value[:head] + MASK * (n - head - tail) + value[-tail:]


def mask_id_number(value: str | None) -> str:
    """``430104199001011234`` → ``430104********1234`` (region code and last four kept)."""
    return _mask_middle(_compact(value), 6, 4)


def mask_phone(value: str | None) -> str:
    """``13812345678`` → ``138****5678``; a prefix such as +86 stays visible, four digits are hidden."""
    compact = _compact(value)
    n = len(compact)
    if n >= 11:
        return compact[: n - 8] + MASK * 4 + compact[-4:]
    return _mask_middle(compact, n - 8 if n > 8 else 0, 4)


def mask_name(value: str | None) -> str:
    """A name as public lists show it (公示): ``张三`` → ``张*``, ``张三丰`` → ``张*丰``,
    ``欧阳小明`` → ``欧**明``: the first character and, from three characters on, the last one
    stay; a one-character name is hidden whole."""
    name = (value or "").strip()
    if len(name) <= 1:
        return MASK * len(name)
    if len(name) == 2:
        return name[0] + MASK
    return name[0] + MASK * (len(name) - 2) + name[-1]


_MOBILE = re.compile(r"^1[3-9]\d{9}$")


def clean_mobile(value: str | None) -> str:
    """A mainland mobile number in its stored form (11 digits); '' stays ''. Full-width digits,
    spaces, dashes and a +86 prefix are accepted."""
    compact = crypto.normalize(unicodedata.normalize("NFKC", value or ""))
    if not compact:
        return ""
    for prefix in ("+86", "0086"):
        if compact.startswith(prefix):
            compact = compact[len(prefix) :]
    if not _MOBILE.match(compact):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number, for example 13812345678."), code="invalid_mobile"
        )
    return compact


# Credentials kept in encrypted fields that are not personal data and must never be shown.
_NEVER_REVEALED = frozenset({"core.user.totp_secret"})


def revealable_field(obj: models.Model, field: str) -> EncryptedTextField | None:
    """The encrypted personal-data field ``field`` of ``obj``, or None if it may not be revealed."""
    try:
        model_field = obj._meta.get_field(field)
    except Exception:  # FieldDoesNotExist and reverse relations alike
        return None
    if not isinstance(model_field, EncryptedTextField) or model_field.secret:
        return None
    if f"{obj._meta.label_lower}.{field}" in _NEVER_REVEALED:
        return None
    return model_field


def object_region_codes(obj: models.Model) -> list[str]:
    """The regions an object belongs to: ``region_code`` for region-owned rows; for an account,
    its home region and the regions of its active memberships."""
    if isinstance(obj, User):
        from shequ.core.accounts import user_region_codes

        return user_region_codes(obj)
    code = getattr(obj, "region_code", "")
    return [code] if code else []


def reveal(
    *, actor: Viewer | None, obj: models.Model, field: str, reason: str, request: HttpRequest | None = None
) -> str:
    """The full value of an encrypted field, for someone allowed to see it, with a reason; audited.

    Denied attempts are audited with result "denied" and raise PermissionDenied; a missing reason
    raises ValidationError and reveals nothing.
    """
    regions = object_region_codes(obj)
    allowed_in = next((c for c in regions if has_perm(actor, Perm.REVEAL_PERSONAL_DATA, c)), None)
    label = obj._meta.label_lower
    model_field = revealable_field(obj, field)
    if model_field is None or allowed_in is None:
        why = "field not revealable" if model_field is None else "no reveal permission in this region"
        audit.record(
            "personal.reveal",
            actor=actor,
            request=request,
            region_code=regions[0] if regions else "",
            object_type=label,
            object_id=obj.pk,
            fields=[field],
            reason=(reason or "").strip(),
            result=AuditResult.DENIED,
            detail={"why": why},
        )
        raise PermissionDenied(_("You may not see this value."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why you need to see the full value.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX_LENGTH}}
        )
    value = str(getattr(obj, field))  # decrypt before writing "success" to the log
    with transaction.atomic():
        audit.record(
            "personal.reveal",
            actor=actor,
            request=request,
            region_code=allowed_in,
            object_type=label,
            object_id=obj.pk,
            fields=[field],
            reason=reason,
        )
    return value
