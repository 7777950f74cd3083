"""Ledger pages: the index of ledgers with live counts, one ledger with filters and a paginated
table, and its Excel export.

Who sees what: a ledger needs its view permission (people or places) somewhere; the restricted
special-population ledger does not exist for users without a tag grant (404 everywhere, no card,
no count). Exports need ``registry.export_masked`` over the whole area exported (workers and
heads: ID and phone numbers masked as pages show them); full ID and phone numbers also need
``registry.export`` and ``core.reveal_personal_data`` there (heads) and a written reason, and are
audited as a reveal. The page tells each user which of these they may do. Every
export is capped, watermarked (exporter and time in the info row and footer) and audited as
``registry.ledger_export``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _

# Not aliased: makemessages only extracts the names it knows (gettext_lazy, not _lazy).
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from shequ.core import audit
from shequ.core.components import Ledger
from shequ.core.excel import XLSX_CONTENT_TYPE
from shequ.core.forms import DateInput, PlatformForm
from shequ.core.models import AuditResult, Region
from shequ.core.permissions import Perm, Viewer, active_memberships, has_perm, scopes_for
from shequ.core.personal import REASON_MAX_LENGTH
from shequ.registry import ledgers as L
from shequ.registry.models import KeyPlaceKind, OrganizationStatus, OrganizationType, RiskLevel, Sex
from shequ.registry.permissions import RegistryPerm as P

PAGE_SIZE = 50
WIDE = 24  # columns this wide in Excel (addresses, risk notes) wrap on the page
REGION_OPTIONS_MAX = 1000
_CODE = re.compile(r"^\d{2}(\d{2}(\d{2}(\d{3}(\d{3}(\d{3})?)?)?)?)?$")
_LEVEL_LENGTHS = (2, 4, 6, 9, 12, 15)
LEDGER_PERMS = (P.VIEW_PEOPLE, P.VIEW_PLACES)


def export_max_rows() -> int:
    return int(getattr(settings, "LEDGER_EXPORT_MAX_ROWS", L.EXPORT_MAX_ROWS))


# --- Regions ------------------------------------------------------------------------------------


def _scopes(user: Viewer, perms: Iterable[str]) -> list[str]:
    codes = {c for perm in perms for c in scopes_for(user, perm)}
    return sorted(c for c in codes if not any(c != o and c.startswith(o) for o in codes))


def region_options(user: Viewer, perms: Iterable[str]) -> list[tuple[str, str]]:
    """The regions a user may pick (their scopes and everything below, down to grids), labelled
    with the path from their scope ("泽盛社区 › 第一网格": grid names repeat between communities)."""
    scopes = _scopes(user, perms)
    if not scopes:
        return []
    q = Q()
    for code in scopes:
        q |= Q(code__startswith=code)
    found = list(Region.objects.filter(q).order_by("code").values_list("code", "name")[:REGION_OPTIONS_MAX])
    names = dict(found)
    options = [("", _("All of my area"))]
    for code, _name in found:
        top = next(s for s in scopes if code.startswith(s))
        parts = [names[code[:n]] for n in _LEVEL_LENGTHS if len(top) <= n <= len(code) and code[:n] in names]
        options.append((code, " › ".join(parts)))
    return options


def clean_region_code(user: Viewer, perms: Iterable[str], value: str) -> str:
    """A region code inside the user's scope ('' = all of it); a clear error otherwise."""
    code = (value or "").strip()
    if not code:
        return ""
    scopes = _scopes(user, perms)
    if not _CODE.match(code) or not any(code.startswith(s) for s in scopes):
        raise ValidationError(_("Choose a region within your area."), code="region_scope")
    if not Region.objects.filter(code=code).exists():
        raise ValidationError(_("There is no region with this code."), code="region_unknown")
    return code


def default_region(request: HttpRequest, perms: Iterable[str]) -> str:
    """The region the user is working in (the region bar's choice), if it lies in these scopes."""
    chosen = str(request.session.get("current_region", "") or "")
    if chosen and any(chosen.startswith(s) for s in _scopes(request.user, perms)):
        return chosen
    return ""


# --- Forms --------------------------------------------------------------------------------------

ANY = ("", gettext_lazy("Any"))


class LedgerFilterForm(PlatformForm):
    """The filters a ledger accepts; fields are built from its declaration."""

    def __init__(self, data: Any, *, ledger: Ledger, viewer: Viewer) -> None:
        super().__init__(data)
        self.ledger = ledger
        self.viewer = viewer
        names = set(ledger.filters)
        perms = [ledger.perm] if ledger.perm else LEDGER_PERMS
        self.perms = perms
        if L.REGION in names:
            self.fields[L.REGION] = forms.CharField(
                label=_("Region"),
                required=False,
                widget=forms.Select(choices=region_options(viewer, perms)),
            )
        if L.AS_OF in names:
            self.fields[L.AS_OF] = forms.DateField(
                label=_("As of"),
                required=False,
                help_text=_("Ages and tags are counted on this day."),
                widget=DateInput(),
                input_formats=["%Y-%m-%d"],
            )
        if L.AGE_MIN in names:
            self.fields[L.AGE_MIN] = forms.IntegerField(
                label=_("Age from"), required=False, min_value=0, max_value=150
            )
            self.fields[L.AGE_MAX] = forms.IntegerField(
                label=_("Age to"), required=False, min_value=0, max_value=150
            )
        if L.SEX in names:
            self.fields[L.SEX] = forms.ChoiceField(
                label=_("Sex"), required=False, choices=[ANY, *Sex.choices]
            )
        if L.DISABILITY_TYPE in names:
            self.fields[L.DISABILITY_TYPE] = forms.ChoiceField(
                label=_("Kind of disability"),
                required=False,
                choices=[ANY, *((code, label) for code, (label, _zh) in L.DISABILITY_TYPES.items())],
            )
        if L.DISABILITY_GRADE in names:
            self.fields[L.DISABILITY_GRADE] = forms.ChoiceField(
                label=_("Disability grade"),
                required=False,
                choices=[ANY, *((g, _("Grade %(n)s") % {"n": g}) for g in L.DISABILITY_GRADES)],
            )
        if L.CATEGORY in names:
            self.fields[L.CATEGORY] = forms.ChoiceField(
                label=_("Group"),
                required=False,
                choices=[ANY, *((c.code, c.label) for c in L.special_categories(viewer))],
            )
        if L.ORG_TYPE in names:
            self.fields[L.ORG_TYPE] = forms.ChoiceField(
                label=_("Type"), required=False, choices=[ANY, *OrganizationType.choices]
            )
        if L.ORG_STATUS in names:
            self.fields[L.ORG_STATUS] = forms.ChoiceField(
                label=_("Status"),
                required=False,
                choices=[("", _("Operating or suspended")), ("all", _("All")), *OrganizationStatus.choices],
            )
        if L.PLACE_KIND in names:
            self.fields[L.PLACE_KIND] = forms.ChoiceField(
                label=_("Kind"), required=False, choices=[ANY, *KeyPlaceKind.choices]
            )
        if L.RISK_LEVEL in names:
            self.fields[L.RISK_LEVEL] = forms.ChoiceField(
                label=_("Risk level"), required=False, choices=[ANY, *RiskLevel.choices]
            )

    def clean_region(self) -> str:
        return clean_region_code(self.viewer, self.perms, self.cleaned_data.get(L.REGION) or "")

    def clean_as_of(self) -> date | None:
        day: date | None = self.cleaned_data.get(L.AS_OF)
        if day is None:
            return None
        today = timezone.localdate()
        if day < date(1900, 1, 1) or day > today + timedelta(days=366):
            raise ValidationError(
                _("Choose a date between 1900 and one year from today."), code="as_of_range"
            )
        return day

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        low, high = data.get(L.AGE_MIN), data.get(L.AGE_MAX)
        if low is not None and high is not None and low > high:
            self.add_error(L.AGE_MAX, _("The upper age is below the lower age."))
        return data

    def filters(self) -> dict[str, Any]:
        """The validated filters, with the defaults filled in (as of today)."""
        data = {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}
        data.setdefault(L.REGION, "")
        data.setdefault(L.AS_OF, timezone.localdate())
        return data

    def params(self) -> list[tuple[str, str]]:
        """The submitted filter values, to carry into the export form (the region even when empty:
        "all of my area" must not fall back to the region the user is working in)."""
        return [
            (name, str(self.data.get(name) or ""))
            for name in self.fields
            if name == L.REGION or self.data.get(name) not in (None, "")
        ]


class ExportForm(PlatformForm):
    full = forms.BooleanField(label=gettext_lazy("Full ID and phone numbers"), required=False)
    reason = forms.CharField(
        label=gettext_lazy("Why you need the full numbers"),
        help_text=gettext_lazy(
            "Written to the audit log with your name, e.g. checking the old-age allowance list."
        ),
        required=False,
        max_length=REASON_MAX_LENGTH,
        widget=forms.TextInput(),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        data["reason"] = (data.get("reason") or "").strip()
        if data.get("full") and not data["reason"]:
            self.add_error("reason", _("Say why you need the full ID and phone numbers."))
        return data


class RegionForm(PlatformForm):
    def __init__(self, data: Any, *, viewer: Viewer, perms: Sequence[str]) -> None:
        super().__init__(data)
        self.viewer = viewer
        self.perms = perms
        self.fields["region"] = forms.CharField(
            label=_("Region"), required=False, widget=forms.Select(choices=region_options(viewer, perms))
        )

    def clean_region(self) -> str:
        return clean_region_code(self.viewer, self.perms, self.cleaned_data.get("region") or "")


# --- Helpers ------------------------------------------------------------------------------------


def _deny(request: HttpRequest, action: str, *, key: str, why: str, region_code: str = "") -> None:
    audit.record(
        action,
        request=request,
        region_code=region_code,
        object_type="registry.ledger",
        object_id=key,
        result=AuditResult.DENIED,
        detail={"why": why},
    )


def _ledger(request: HttpRequest, key: str) -> Ledger:
    """The ledger, 404 for unknown ones and restricted ones the user may not know of; an
    audited 403 for a user without the ledger's view permission."""
    ledger = L.ledger_for(request.user, key)
    if ledger is None:
        raise Http404
    if not ledger.is_visible_to(request.user):
        _deny(request, "access.denied", key=key, why=f"needs {ledger.perm}")
        raise PermissionDenied
    return ledger


def _area_codes(user: Viewer, ledger: Ledger, filters: dict[str, Any]) -> list[str]:
    region = filters.get(L.REGION) or ""
    return (
        [region] if region else scopes_for(user, ledger.perm) if ledger.perm else _scopes(user, LEDGER_PERMS)
    )


def _covers(user: Viewer, perm: str, codes: Sequence[str]) -> bool:
    return bool(codes) and all(has_perm(user, perm, code) for code in codes)


def _can_export_full(user: Viewer, codes: Sequence[str]) -> bool:
    return _covers(user, P.EXPORT, codes) and _covers(user, Perm.REVEAL_PERSONAL_DATA, codes)


def _person_url() -> Any:
    """Builds links to person pages once the people pages exist (``registry:person``)."""
    try:
        reverse("registry:person", args=[1])
    except NoReverseMatch:
        return None
    return lambda pk: reverse("registry:person", args=[pk])


_LINKED = ("name", "head")


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _table(ledger: Ledger, objects: list[Any], filters: dict[str, Any], first: int) -> list[dict[str, Any]]:
    link = _person_url()
    table = []
    for n, obj in enumerate(objects, start=first):
        row = ledger.row(obj, filters, False)
        person = row.get("_person")
        cells = [
            {
                "value": _display(row.get(c.key)),
                "url": link(person) if link and person and c.key in _LINKED else "",
                "wide": c.width >= WIDE,
            }
            for c in ledger.columns
        ]
        table.append({"n": n, "cells": cells})
    return table


def _unit(user: Viewer) -> str:
    """Where the exporter works, for the watermark: their department, or their region."""
    memberships = sorted(active_memberships(user), key=lambda m: len(m.region_code))
    for m in memberships:
        if m.department is not None:
            return str(m.department.name)
    return L.region_title([memberships[0].region_code]) if memberships else ""


def _render(
    request: HttpRequest,
    ledger: Ledger,
    form: LedgerFilterForm,
    *,
    export_form: ExportForm | None = None,
    export_error: str = "",
    status: int = 200,
) -> HttpResponse:
    user = request.user
    context: dict[str, Any] = {
        "ledger": ledger,
        "form": form,
        "export_form": export_form or ExportForm(),
        "export_error": export_error,
        "shown": False,
        "page": None,
        "table": [],
    }
    if form.is_valid():
        filters = form.filters()
        codes = _area_codes(user, ledger, filters)
        rows = ledger.query(user, filters)
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        objects = list(page.object_list)
        if ledger.record_view is not None:
            ledger.record_view(user, objects, request, f"ledger:{ledger.key}")
        context.update(
            shown=True,
            page=page,
            table=_table(ledger, objects, filters, page.start_index()),
            total=page.paginator.count,
            area=L.region_title(codes),
            as_of=filters[L.AS_OF],
            params=form.params(),
            can_export=_covers(user, P.EXPORT_MASKED, codes),
            can_reveal=_can_export_full(user, codes),
            export_max=export_max_rows(),
        )
    elif status == 200:
        status = 400
    return render(request, "registry/ledgers/ledger.html", context, status=status)


def _filter_data(request: HttpRequest, source: Any, ledger: Ledger) -> Any:
    data = source.copy()
    if L.REGION in ledger.filters and L.REGION not in data:
        data[L.REGION] = default_region(request, [ledger.perm] if ledger.perm else LEDGER_PERMS)
    return data


# --- Views --------------------------------------------------------------------------------------


@login_required
@require_GET
def ledger_index(request: HttpRequest) -> HttpResponse:
    user = request.user
    visible = L.ledgers_visible_to(user)
    if not visible:
        _deny(request, "access.denied", key="", why="no ledger visible")
        raise PermissionDenied
    data = request.GET.copy()
    if "region" not in data:
        data["region"] = default_region(request, LEDGER_PERMS)
    form = RegionForm(data, viewer=user, perms=LEDGER_PERMS)
    status = 200
    region = ""
    if form.is_valid():
        region = form.cleaned_data["region"]
    else:
        status = 400
    today = timezone.localdate()
    cards = []
    for ledger in visible:
        filters = {L.REGION: region, L.AS_OF: today}
        cards.append({"ledger": ledger, "count": ledger.query(user, filters).count()})
    codes = [region] if region else _scopes(user, LEDGER_PERMS)
    context = {"form": form, "cards": cards, "area": L.region_title(codes), "as_of": today, "region": region}
    return render(request, "registry/ledgers/index.html", context, status=status)


@login_required
@require_GET
def ledger(request: HttpRequest, key: str) -> HttpResponse:
    found = _ledger(request, key)
    form = LedgerFilterForm(_filter_data(request, request.GET, found), ledger=found, viewer=request.user)
    return _render(request, found, form)


@login_required
@require_POST
def ledger_export(request: HttpRequest, key: str) -> HttpResponse:
    found = _ledger(request, key)
    user = request.user
    form = LedgerFilterForm(_filter_data(request, request.POST, found), ledger=found, viewer=user)
    export_form = ExportForm(request.POST)
    if not form.is_valid() or not export_form.is_valid():
        return _render(request, found, form, export_form=export_form, status=400)
    filters = form.filters()
    codes = _area_codes(user, found, filters)
    area_code = filters.get(L.REGION) or (codes[0] if len(codes) == 1 else "")
    if not _covers(user, P.EXPORT_MASKED, codes):
        _deny(request, "registry.ledger_export", key=key, why="no export permission", region_code=area_code)
        raise PermissionDenied(_("You may not export this ledger."))
    full: bool = export_form.cleaned_data["full"]
    reason: str = export_form.cleaned_data["reason"]
    if full and not _can_export_full(user, codes):
        audit.record(
            "personal.reveal",
            request=request,
            region_code=area_code,
            object_type="registry.ledger",
            object_id=key,
            fields=["id_number", "phone"],
            reason=reason,
            result=AuditResult.DENIED,
            detail={"why": "no reveal permission in this region"},
        )
        raise PermissionDenied(_("You may not see full ID and phone numbers here."))
    shown_filters = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in filters.items()}
    rows = found.query(user, filters)
    total = rows.count()
    limit = export_max_rows()
    if total > limit:
        audit.record(
            "registry.ledger_export",
            request=request,
            region_code=area_code,
            object_type="registry.ledger",
            object_id=key,
            result=AuditResult.DENIED,
            detail={"why": "too many rows", "rows": total, "limit": limit, "filters": shown_filters},
        )
        message = _(
            "This ledger has %(n)d rows; an export holds at most %(max)d. Choose a smaller region "
            "or narrow the filters."
        ) % {"n": total, "max": limit}
        return _render(request, found, form, export_form=export_form, export_error=message, status=400)
    objects = list(rows)
    now = timezone.now()
    area = L.region_title(codes)
    content = L.ledger_workbook(
        ledger=found,
        rows=objects,
        filters=filters,
        area=area,
        unit=_unit(user),
        exporter=getattr(user, "name", "") or user.get_username(),
        full=full,
        exported_at=now,
    )
    with transaction.atomic():
        if found.record_view is not None:
            found.record_view(user, objects, request, f"ledger_export:{key}")
        if full:
            audit.record(
                "personal.reveal",
                request=request,
                region_code=area_code,
                object_type="registry.ledger",
                object_id=key,
                fields=["id_number", "phone"],
                reason=reason,
                detail={"rows": len(objects), "context": "ledger export"},
            )
        audit.record(
            "registry.ledger_export",
            request=request,
            region_code=area_code,
            object_type="registry.ledger",
            object_id=key,
            fields=["id_number", "phone"] if full else [],
            reason=reason,
            detail={"ledger": key, "filters": shown_filters, "rows": len(objects), "full": full},
        )
    day = filters[L.AS_OF].strftime("%Y%m%d")
    name = f"{area}{found.title}-{day}.xlsx"
    response = HttpResponse(content, content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = (
        f"attachment; filename=\"ledger-{key}-{day}.xlsx\"; filename*=UTF-8''{quote(name)}"
    )
    return response
