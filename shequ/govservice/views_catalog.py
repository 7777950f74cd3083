"""The catalog editor (事项库) for those who hold ``govservice.catalog`` (county officers and above):
every item, also those out of use, with its version; a form for a new item and for each item's
every field. One call to ``services.catalog.item_save`` per save (versioned and audited there)."""

from __future__ import annotations

import functools
from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.forms import apply_service_errors
from shequ.govservice import forms_catalog as forms
from shequ.govservice import selectors
from shequ.govservice.models import ServiceItem
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.services import catalog

FORBIDDEN = "govservice/staff/forbidden.html"
catalog_page = functools.partial(guards.page, template=FORBIDDEN)

MATERIAL_NAMES = ("code", "name_zh", "name", "required", "source")
FIELD_NAMES = ("name", "label_zh", "label", "kind", "required", "choices")


@catalog_page(P.CATALOG)
def catalog_admin(request: HttpRequest) -> HttpResponse:
    items = list(selectors.item_list(active_only=False).select_related("updated_by"))
    return render(request, "govservice/catalog/list.html", {"items": items})


def _rows(
    request: HttpRequest, item: ServiceItem | None
) -> tuple[list[forms.MaterialRowForm], list[forms.FieldRowForm], bool]:
    """The material and form-field rows: as posted (bound, or shown again with more blank rows on
    "more rows"), else from the item with blank rows to fill. The flag: only more rows were asked for."""
    existing = [str(m.get("source") or "") for m in (item.materials if item else [])]
    sources = forms.source_choices(existing)
    more = request.POST.get("more", "") if request.method == "POST" else ""
    if request.method == "POST":
        data = request.POST
        m_count = forms.row_count(data, "m_count", 0)
        f_count = forms.row_count(data, "f_count", 0)
        if more:
            m_initial = forms.posted_rows(data, "m", m_count, MATERIAL_NAMES)
            f_initial = forms.posted_rows(data, "f", f_count, FIELD_NAMES)
            if more == "materials":
                m_initial += [{"required": True}] * forms.MORE_ROWS
            else:
                f_initial += [{"required": True, "kind": "text"}] * forms.MORE_ROWS
            return (
                [
                    forms.MaterialRowForm(prefix=f"m{i}", initial=r, sources=sources)
                    for i, r in enumerate(m_initial)
                ],
                [forms.FieldRowForm(prefix=f"f{i}", initial=r) for i, r in enumerate(f_initial)],
                True,
            )
        return (
            [forms.MaterialRowForm(data, prefix=f"m{i}", sources=sources) for i in range(m_count)],
            [forms.FieldRowForm(data, prefix=f"f{i}") for i in range(f_count)],
            False,
        )
    m_initial = forms.material_initial(item.materials if item else [])
    m_initial += [{"required": True}] * forms.BLANK_ROWS
    f_initial = forms.field_initial(item.form if item else [])
    f_initial += [{"required": True, "kind": "text"}] * forms.BLANK_ROWS
    return (
        [forms.MaterialRowForm(prefix=f"m{i}", initial=r, sources=sources) for i, r in enumerate(m_initial)],
        [forms.FieldRowForm(prefix=f"f{i}", initial=r) for i, r in enumerate(f_initial)],
        False,
    )


def _edit(request: HttpRequest, item: ServiceItem | None) -> HttpResponse:
    new = item is None
    m_rows, f_rows, more = _rows(request, item)
    if request.method == "POST" and more:
        initial: dict[str, Any] = request.POST.dict()
        initial.update(
            {flag: flag in request.POST for flag in ("instant", "online", "care_plan", "is_active")}
        )
        form = forms.ItemForm(initial=initial, new=new)
    elif request.method == "POST":
        form = forms.ItemForm(request.POST, new=new)
    else:
        form = forms.ItemForm(initial=forms.item_initial(item) if item else None, new=new)
    errors: dict[str, list[str]] = {"materials": [], "form": []}
    if request.method == "POST" and not more:
        valid = form.is_valid()
        valid = all([r.is_valid() for r in m_rows]) and valid
        valid = all([r.is_valid() for r in f_rows]) and valid
        if valid:
            data: dict[str, Any] = {
                **{k: v for k, v in form.cleaned_data.items() if k not in {"code", "min_age", "tags_any"}},
                "materials": [row for r in m_rows if (row := r.row()) is not None],
                "form": [row for r in f_rows if (row := r.row()) is not None],
                "eligibility": form.eligibility(),
            }
            try:
                saved = catalog.item_save(
                    actor=request.user,
                    data=data,
                    item=item,
                    code=form.cleaned_data.get("code", ""),
                    request=request,
                )
            except ValidationError as exc:
                details = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
                for key in ("materials", "form"):
                    errors[key] = list(details.pop(key, []))
                details.setdefault("min_age", []).extend(details.pop("eligibility", []))
                apply_service_errors(form, ValidationError({k: v for k, v in details.items() if v}))
            else:
                if item is not None and saved.version == item.version:
                    messages.info(request, _("Nothing was changed."))
                else:
                    messages.success(
                        request,
                        _("%(name)s saved as version %(version)s.")
                        % {"name": saved.name_zh, "version": saved.version},
                    )
                return redirect("govservice:catalog_admin")
    failed = request.method == "POST" and not more
    row_errors = [e for r in [*m_rows, *f_rows] if r.is_bound for errs in r.errors.values() for e in errs]
    context = {
        "item": item,
        "form": form,
        "material_rows": m_rows,
        "field_rows": f_rows,
        "material_errors": errors["materials"],
        "field_errors": errors["form"],
        "extra_errors": [*errors["materials"], *errors["form"], *row_errors],
        "new": new,
    }
    bad = failed and (form.errors or any(errors.values()) or row_errors)
    return render(request, "govservice/catalog/edit.html", context, status=400 if bad else 200)


@catalog_page(P.CATALOG, methods=("GET", "POST"))
def item_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@catalog_page(P.CATALOG, methods=("GET", "POST"))
def item_edit(request: HttpRequest, code: str) -> HttpResponse:
    return _edit(request, selectors.get_item(code, active_only=False))
