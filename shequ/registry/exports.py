"""Exports of people, houses and organizations to Excel, for the exporting user's scope.

Security requirement 14 (bulk export needs permission, is capped, watermarked and audited) and 9–11
(masked by default; full values only with the reveal grant and a reason, audited as a reveal):

* ``RegistryPerm.EXPORT`` in the exported region; rows are those the user may see there;
* at most :data:`EXPORT_MAX_ROWS` rows, or a clear refusal asking for narrower filters;
* ID and phone numbers masked unless the user holds ``Perm.REVEAL_PERSONAL_DATA`` in the whole
  exported region *and* asks for full values with a reason (one ``personal.reveal`` entry);
* the info row and the page footer of every sheet name who exported what, where and when;
* restricted population tags only for holders of a grant, their showing audited (``registry.tag_view``);
* every export, allowed or refused, written to the audit log (``registry.export``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import audit, excel
from shequ.core.models import AuditResult, Region
from shequ.core.permissions import Perm, Viewer, has_perm, scope_q, scopes_for
from shequ.core.personal import mask_id_number, mask_phone
from shequ.registry import selectors
from shequ.registry.models import (
    ETHNICITY_ZH,
    House,
    Organization,
    PersonStatus,
    PersonTag,
    ResidenceType,
    Sensitivity,
    Sex,
)
from shequ.registry.permissions import RegistryPerm as P

EXPORT_MAX_ROWS = 50_000
REASON_MAX_LENGTH = 500


@dataclass
class ExportFile:
    content: bytes
    filename: str
    rows: int
    revealed: bool = False


def _region_label(code: str) -> str:
    if not code:
        return _("all of my regions")
    return Region.objects.filter(code=code).values_list("name", flat=True).first() or code


def watermark(viewer: Viewer, region_code: str, rows: int, *, revealed: bool) -> str:
    """Who exported what and when: the info row and the footer of every exported sheet."""
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    name = getattr(viewer, "display_name", "") or getattr(viewer, "username", "")
    text = _(
        "%(region)s · exported by %(name)s (%(user)s) · %(when)s · %(rows)d rows · for official use only"
    ) % {
        "region": _region_label(region_code),
        "name": name,
        "user": getattr(viewer, "username", ""),
        "when": when,
        "rows": rows,
    }
    if revealed:
        text += " · " + _("full ID and phone numbers: keep safe")
    return text


def _workbook(
    viewer: Viewer,
    region_code: str,
    *,
    name: str,
    title: str,
    columns: list[excel.Column],
    rows: list[list[Any]],
    revealed: bool,
) -> bytes:
    """One watermarked sheet (who exported what, in the info row and the footer) as a workbook."""
    mark = watermark(viewer, region_code, len(rows), revealed=revealed)
    sheet = excel.Sheet(name=name, title=title, info=mark, footer=mark, columns=columns, rows=rows)
    return excel.workbook_bytes([sheet])


def _refuse(
    viewer: Viewer, kind: str, region_code: str, request: HttpRequest | None, why: str, **detail: Any
) -> None:
    audit.record(
        "registry.export",
        actor=viewer,
        request=request,
        region_code=region_code,
        object_type=f"registry.{kind}",
        result=AuditResult.DENIED,
        detail={"kind": kind, "why": why, **detail},
    )


def _check_export(viewer: Viewer, kind: str, region_code: str, request: HttpRequest | None) -> None:
    allowed = has_perm(viewer, P.EXPORT, region_code) if region_code else bool(scopes_for(viewer, P.EXPORT))
    if not allowed:
        _refuse(viewer, kind, region_code, request, "no export right in this region")
        raise PermissionDenied(_("You may not export data of this region."))


def _check_reveal(
    viewer: Viewer, kind: str, region_code: str, reason: str, request: HttpRequest | None, fields: list[str]
) -> str:
    """Full values need the reveal right over the whole exported region, and a reason."""
    codes = [region_code] if region_code else scopes_for(viewer, P.EXPORT)
    if not codes or not all(has_perm(viewer, Perm.REVEAL_PERSONAL_DATA, c) for c in codes):
        audit.record(
            "personal.reveal",
            actor=viewer,
            request=request,
            region_code=region_code,
            object_type=f"registry.{kind}",
            fields=fields,
            reason=(reason or "").strip()[:REASON_MAX_LENGTH],
            result=AuditResult.DENIED,
            detail={"why": "no reveal permission in this region", "context": "export"},
        )
        raise PermissionDenied(_("You may not export full ID and phone numbers of this region."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the export needs full ID and phone numbers.")})
    if len(reason) > REASON_MAX_LENGTH:
        raise ValidationError(
            {"reason": _("Keep the reason under %(n)d characters.") % {"n": REASON_MAX_LENGTH}}
        )
    return reason


def _check_cap(
    viewer: Viewer,
    kind: str,
    region_code: str,
    count: int,
    request: HttpRequest | None,
    filters: Mapping[str, Any],
) -> None:
    if count > EXPORT_MAX_ROWS:
        _refuse(viewer, kind, region_code, request, "too many rows", rows=count, filters=dict(filters))
        raise ValidationError(
            _(
                "The export would have %(n)s rows, more than the %(cap)s allowed at once: narrow it down "
                "with the filters (a grid, a status, a tag)."
            )
            % {"n": f"{count:,}", "cap": f"{EXPORT_MAX_ROWS:,}"},
            code="too_many",
        )


def _finish(
    *,
    viewer: Viewer,
    kind: str,
    region_code: str,
    rows: int,
    filters: Mapping[str, Any],
    reveal_reason: str,
    revealed_fields: list[str],
    request: HttpRequest | None,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """The audit entries of an export that goes out (and of the reveal it carries)."""
    with transaction.atomic():
        if reveal_reason:
            audit.record(
                "personal.reveal",
                actor=viewer,
                request=request,
                region_code=region_code,
                object_type=f"registry.{kind}",
                fields=revealed_fields,
                reason=reveal_reason,
                detail={"context": "export", "rows": rows},
            )
        audit.record(
            "registry.export",
            actor=viewer,
            request=request,
            region_code=region_code,
            object_type=f"registry.{kind}",
            fields=revealed_fields,
            reason=reveal_reason,
            detail={
                "kind": kind,
                "rows": rows,
                "filters": dict(filters),
                "revealed": bool(reveal_reason),
                **dict(extra or {}),
            },
        )


def _filename(kind: str, region_code: str) -> str:
    return f"{kind}-{region_code or 'all'}-{timezone.localtime():%Y%m%d-%H%M}.xlsx"


def _scoped(qs: QuerySet[Any], viewer: Viewer, region_code: str) -> QuerySet[Any]:
    qs = qs.filter(scope_q(viewer, P.EXPORT))
    return qs.filter(region_code__startswith=region_code) if region_code else qs


def _age(born: dt.date | None, today: dt.date) -> int | str:
    if born is None:
        return ""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _years_ago(today: dt.date, years: int) -> dt.date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


# --- People -------------------------------------------------------------------------------------


def people_export(
    *,
    viewer: Viewer,
    region_code: str = "",
    status: str = PersonStatus.ACTIVE,
    tag: str = "",
    residence_type: str = "",
    sex: str = "",
    age_min: int | None = None,
    age_max: int | None = None,
    reveal: bool = False,
    reason: str = "",
    request: HttpRequest | None = None,
    today: dt.date | None = None,
) -> ExportFile:
    """The people of ``region_code`` (the viewer's whole export scope when empty) as a workbook."""
    kind = "person"
    _check_export(viewer, kind, region_code, request)
    revealed_fields = ["id_number", "phone"] if reveal else []
    reveal_reason = (
        _check_reveal(viewer, kind, region_code, reason, request, revealed_fields) if reveal else ""
    )
    today = today or timezone.localdate()
    filters = {
        k: val
        for k, val in {
            "status": status,
            "tag": tag,
            "residence_type": residence_type,
            "sex": sex,
            "age_min": age_min,
            "age_max": age_max,
        }.items()
        if val not in ("", None)
    }
    qs = selectors.person_list(viewer=viewer, status=status or None, tag=tag or None)
    qs = _scoped(qs, viewer, region_code)
    if residence_type:
        qs = qs.filter(residence_type=residence_type)
    if sex:
        qs = qs.filter(sex=sex)
    if age_min is not None:
        qs = qs.filter(birth_date__lte=_years_ago(today, age_min))
    if age_max is not None:
        qs = qs.filter(birth_date__gt=_years_ago(today, age_max + 1))
    count = qs.count()
    _check_cap(viewer, kind, region_code, count, request, filters)
    visible_tags = PersonTag.objects.filter(selectors.visible_tag_q(viewer), active=True).select_related(
        "category"
    )
    people = list(
        qs.select_related("house").prefetch_related(
            Prefetch("tags", queryset=visible_tags, to_attr="shown_tags")
        )
    )
    names = dict(Region.objects.filter(code__in={p.region_code for p in people}).values_list("code", "name"))
    statuses = dict(PersonStatus.choices)
    residence_types = dict(ResidenceType.choices)
    sexes = dict(Sex.choices)
    restricted: list[PersonTag] = []
    rows = []
    for n, person in enumerate(people, start=1):
        tags: list[PersonTag] = getattr(person, "shown_tags", [])
        restricted.extend(t for t in tags if t.category.sensitivity != Sensitivity.NORMAL)
        id_number = person.id_number if reveal else mask_id_number(person.id_number)
        phone = person.phone if reveal else mask_phone(person.phone)
        rows.append(
            [
                n,
                person.name,
                str(sexes.get(person.sex, "")),
                person.birth_date or "",
                _age(person.birth_date, today),
                person.get_id_type_display(),
                id_number,
                phone,
                ETHNICITY_ZH.get(person.ethnicity, ""),
                str(residence_types.get(person.residence_type, "")),
                person.house.address if person.house is not None else names.get(person.region_code, ""),
                person.hukou_address,
                str(statuses.get(person.status, "")),
                "、".join(t.category.label for t in tags),
            ]
        )
    content = _workbook(
        viewer,
        region_code,
        name=str(_("People")),
        title=_("Actual population of %(region)s") % {"region": _region_label(region_code)},
        columns=[
            excel.Column(_("No."), 6, text=False),
            excel.Column(_("Name"), 10),
            excel.Column(_("Sex"), 6),
            excel.Column(_("Date of birth"), 12, text=False),
            excel.Column(_("Age"), 6, text=False),
            excel.Column(_("ID type"), 12),
            excel.Column(_("ID number"), 22),
            excel.Column(_("Mobile number"), 14),
            excel.Column(_("Ethnic group"), 8),
            excel.Column(_("Residence type"), 14),
            excel.Column(_("Address"), 40),
            excel.Column(_("Household registration place"), 24),
            excel.Column(_("Status"), 10),
            excel.Column(_("Tags"), 24),
        ],
        rows=rows,
        revealed=reveal,
    )
    with transaction.atomic():
        if tag:
            selectors.record_tag_filter_view(
                viewer, tag=tag, people=people, request=request, context="export"
            )
        selectors.record_tag_view(viewer, restricted, request=request, context="export")
        _finish(
            viewer=viewer,
            kind=kind,
            region_code=region_code,
            rows=len(rows),
            filters=filters,
            reveal_reason=reveal_reason,
            revealed_fields=revealed_fields,
            request=request,
            extra={"restricted_tags": len(restricted)},
        )
    return ExportFile(
        content=content, filename=_filename("people", region_code), rows=len(rows), revealed=reveal
    )


# --- Houses -------------------------------------------------------------------------------------


def houses_export(
    *, viewer: Viewer, region_code: str = "", use: str = "", request: HttpRequest | None = None
) -> ExportFile:
    kind = "house"
    _check_export(viewer, kind, region_code, request)
    filters = {"use": use} if use else {}
    qs = _scoped(selectors.house_list(viewer=viewer, use=use or None), viewer, region_code)
    count = qs.count()
    _check_cap(viewer, kind, region_code, count, request, filters)
    houses = list(
        qs.annotate(
            residents=Count(
                "residences", filter=Q(residences__end_date__isnull=True, residences__lives_here=True)
            )
        )
    )
    uses = dict(House._meta.get_field("use").choices or [])
    rights = dict(House._meta.get_field("property_type").choices or [])
    rows = [
        [
            n,
            h.address,
            h.building.number or h.building.name,
            h.unit.number if h.unit else "",
            h.number,
            h.floor if h.floor is not None else "",
            h.area if h.area is not None else "",
            str(uses.get(h.use, "")),
            str(rights.get(h.property_type, "")),
            getattr(h, "residents", 0),
        ]
        for n, h in enumerate(houses, start=1)
    ]
    content = _workbook(
        viewer,
        region_code,
        name=str(_("Houses")),
        title=_("Actual houses of %(region)s") % {"region": _region_label(region_code)},
        columns=[
            excel.Column(_("No."), 6, text=False),
            excel.Column(_("Address"), 44),
            excel.Column(_("Building"), 8),
            excel.Column(_("Unit"), 6),
            excel.Column(_("Room"), 8),
            excel.Column(_("Floor"), 6, text=False),
            excel.Column(_("Floor area (m²)"), 10, text=False),
            excel.Column(_("Use"), 10),
            excel.Column(_("Property right"), 12),
            excel.Column(_("Residents"), 8, text=False),
        ],
        rows=rows,
        revealed=False,
    )
    _finish(
        viewer=viewer,
        kind=kind,
        region_code=region_code,
        rows=len(rows),
        filters=filters,
        reveal_reason="",
        revealed_fields=[],
        request=request,
    )
    return ExportFile(content=content, filename=_filename("houses", region_code), rows=len(rows))


# --- Organizations ------------------------------------------------------------------------------


def organizations_export(
    *,
    viewer: Viewer,
    region_code: str = "",
    status: str = "",
    reveal: bool = False,
    reason: str = "",
    request: HttpRequest | None = None,
) -> ExportFile:
    kind = "organization"
    _check_export(viewer, kind, region_code, request)
    revealed_fields = ["contact_phone"] if reveal else []
    reveal_reason = (
        _check_reveal(viewer, kind, region_code, reason, request, revealed_fields) if reveal else ""
    )
    filters = {"status": status} if status else {}
    qs = _scoped(selectors.organization_list(viewer=viewer, status=status or None), viewer, region_code)
    count = qs.count()
    _check_cap(viewer, kind, region_code, count, request, filters)
    orgs = list(qs)
    types = dict(Organization._meta.get_field("type").choices or [])
    statuses = dict(Organization._meta.get_field("status").choices or [])
    rows = [
        [
            n,
            o.name,
            o.uscc,
            str(types.get(o.type, "")),
            o.address,
            o.legal_representative,
            o.contact_name,
            o.contact_phone if reveal else mask_phone(o.contact_phone),
            o.staff_count if o.staff_count is not None else "",
            o.industry,
            str(statuses.get(o.status, "")),
        ]
        for n, o in enumerate(orgs, start=1)
    ]
    content = _workbook(
        viewer,
        region_code,
        name=str(_("Organizations")),
        title=_("Actual organizations of %(region)s") % {"region": _region_label(region_code)},
        columns=[
            excel.Column(_("No."), 6, text=False),
            excel.Column(_("Organization name"), 24),
            excel.Column(_("Unified social credit code"), 20),
            excel.Column(_("Organization type"), 12),
            excel.Column(_("Address"), 36),
            excel.Column(_("Legal representative"), 10),
            excel.Column(_("Contact person"), 10),
            excel.Column(_("Contact phone"), 14),
            excel.Column(_("Staff"), 6, text=False),
            excel.Column(_("Industry"), 12),
            excel.Column(_("Status"), 8),
        ],
        rows=rows,
        revealed=reveal,
    )
    _finish(
        viewer=viewer,
        kind=kind,
        region_code=region_code,
        rows=len(rows),
        filters=filters,
        reveal_reason=reveal_reason,
        revealed_fields=revealed_fields,
        request=request,
    )
    return ExportFile(
        content=content, filename=_filename("organizations", region_code), rows=len(rows), revealed=reveal
    )


EXPORTERS: dict[str, Callable[..., ExportFile]] = {
    "people": people_export,
    "houses": houses_export,
    "organizations": organizations_export,
}


__all__ = ["EXPORT_MAX_ROWS", "ExportFile", "houses_export", "organizations_export", "people_export"]
