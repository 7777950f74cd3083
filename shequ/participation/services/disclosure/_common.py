"""Helpers of the disclosure services: text checks, refusals (audited), the audit entry and event
of one change."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import LEVEL_CODE_LENGTH, AuditResult, Region, RegionLevel, User
from shequ.core.permissions import Viewer, has_perm
from shequ.core.text import bounded_text as text  # noqa: F401 (the services call c.text)

COMMUNITY_LENGTH = LEVEL_CODE_LENGTH[RegionLevel.COMMUNITY]


def now() -> Any:
    return timezone.now()


def refuse(
    actor: Viewer | None, obj: Any, action: str, why: str, *, request: HttpRequest | None = None
) -> None:
    """Audit a refused attempt and raise PermissionDenied."""
    audit.record(
        f"participation.{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=getattr(obj, "region_code", ""),
        object_type=f"participation.{type(obj).__name__.lower()}",
        object_id=getattr(obj, "pk", "") or "",
        result=AuditResult.DENIED,
        reason=why,
    )
    raise PermissionDenied(_("You may not do this in this region."))


def require(
    actor: Viewer | None, perm: str, obj: Any, action: str, request: HttpRequest | None, *, code: str = ""
) -> None:
    if actor is None or not has_perm(actor, perm, code or obj.region_code):
        refuse(actor, obj, action, f"needs {perm} for the region", request=request)


def record(
    action: str,
    obj: Any,
    *,
    actor: Viewer | None,
    request: HttpRequest | None = None,
    detail: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    audit.record(
        f"participation.{action}",
        actor=actor if isinstance(actor, User) else None,
        request=request,
        region_code=obj.region_code,
        object_type=f"participation.{type(obj).__name__.lower()}",
        object_id=obj.pk,
        detail=detail or {},
        reason=reason,
    )


def community(code: str) -> Region:
    """The community (or village) a disclosure belongs to."""
    region = Region.objects.filter(code=code[:COMMUNITY_LENGTH]).first()
    if region is None or region.level != RegionLevel.COMMUNITY:
        raise ValidationError({"region": _("Disclosure is made by a community or village: choose one.")})
    return region


def parent_code(code: str) -> str:
    lengths = sorted(n for n in LEVEL_CODE_LENGTH.values() if n < len(code))
    return code[: lengths[-1]] if lengths else code
