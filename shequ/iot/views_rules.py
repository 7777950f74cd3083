"""Rules (list in words, a new one for ``iot.rules`` holders, switching one on or off) and the dead
letters of the viewer's regions (``iot.manage``): counters by reason and the recent rows."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from shequ.core import guards
from shequ.core.permissions import Viewer, has_perm
from shequ.iot import labels, selectors, services
from shequ.iot.forms import RuleForm
from shequ.iot.models import Rule
from shequ.iot.permissions import IotPerm as P
from shequ.iot.views_console import apply_errors, iot_page, page_of

DEAD_PAYLOAD_SHOWN = 300


def _with_words(rules: list[Rule], viewer: Viewer) -> list[Rule]:
    for r in rules:
        r.words = labels.params_in_words(r.kind, r.device_kind, r.params)  # type: ignore[attr-defined]
        r.can_switch = has_perm(viewer, P.RULES, r.region_code)  # type: ignore[attr-defined]
    return rules


def _rules_page(request: HttpRequest, *, status: int = 200, failed: str = "") -> HttpResponse:
    viewer = request.user
    page = page_of(request, selectors.rules_in_force(viewer=viewer).select_related("region"))
    context = {
        "page": page,
        "rules": _with_words(list(page.object_list), viewer),
        "can_create": has_perm(viewer, P.RULES),
        "failed": failed,
    }
    return render(request, "iot/console/rules.html", context, status=status)


@iot_page(P.VIEW)
def rule_list(request: HttpRequest) -> HttpResponse:
    return _rules_page(request)


@iot_page(P.RULES, methods=("GET", "POST"))
def rule_new(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    form = RuleForm(request.POST if request.method == "POST" else None, viewer=viewer)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            rule = services.rule_create(
                actor=viewer,
                region=data["region"],
                name=data["name"],
                kind=data["kind"],
                device_kind=data["device_kind"],
                severity=data["severity"],
                ticket_category=data["ticket_category"],
                params=form.params(),
                request=request,
            )
        except ValidationError as exc:
            apply_errors(form, exc, params_field=form.params_error_field())
        else:
            messages.success(request, _("Rule “%(name)s” created and switched on.") % {"name": rule.name})
            return redirect("iot:rules")
    status = 400 if form.is_bound else 200
    return render(request, "iot/console/rule_new.html", {"form": form}, status=status)


@iot_page(P.VIEW, methods=("POST",))
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    """Switch a rule on or off (``enabled`` = "1" or "0"); the service checks ``iot.rules``."""
    viewer = request.user
    rule = selectors.get_rule_in_force_for(viewer, pk)
    guards.require(request, P.RULES, rule.region_code)
    wanted = request.POST.get("enabled")
    if wanted not in ("0", "1"):
        return _rules_page(request, status=400, failed=_("Choose whether the rule is on or off."))
    rule = services.rule_set_enabled(actor=viewer, rule=rule, enabled=wanted == "1", request=request)
    if rule.enabled:
        messages.success(request, _("Rule “%(name)s” switched on.") % {"name": rule.name})
    else:
        messages.success(request, _("Rule “%(name)s” switched off.") % {"name": rule.name})
    return redirect("iot:rules")


@iot_page(P.MANAGE)
def dead_letters(request: HttpRequest) -> HttpResponse:
    viewer = request.user
    reason = request.GET.get("reason", "")
    if reason not in labels.REASON_LABELS:
        reason = ""
    page = page_of(request, selectors.dead_letter_list(viewer=viewer, reason=reason or None))
    rows = list(page.object_list)
    for row in rows:
        row.reason_label = labels.reason_label(row.reason)
        row.shown = row.payload[:DEAD_PAYLOAD_SHOWN]
        row.cut = len(row.payload) > DEAD_PAYLOAD_SHOWN
    mine = selectors.dead_letter_reasons(viewer=viewer)
    platform = selectors.dead_letter_counts()
    counters = [
        {
            "code": code,
            "label": labels.reason_label(code),
            "mine": mine.get(code, 0),
            "all": platform.get(code, 0),
        }
        for code in labels.REASON_LABELS
        if mine.get(code) or platform.get(code)
    ]
    context = {
        "page": page,
        "rows": rows,
        "counters": counters,
        "reason": reason,
        "reason_label": labels.reason_label(reason) if reason else "",
    }
    return render(request, "iot/console/dead_letters.html", context)
