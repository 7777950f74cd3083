"""The on-duty roster pages (值班表): pick a region, then see who is on duty now and in the next
14 days; those with ``core.manage_duty`` there add and remove shifts, set the fallback person and
copy last week. Thin: forms parse, ``core.duty`` decides and audits."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import duty, guards
from shequ.core.forms import DutyFallbackForm, DutyShiftForm, DutyShiftRemoveForm
from shequ.core.models import Region, User
from shequ.core.permissions import Perm, codes_q, has_perm, scopes_for
from shequ.core.views_admin import _apply_errors

ROSTER_DAYS = 14
PICK_LIMIT = 100


@guards.page(Perm.VIEW_REGION)
def duty_index(request: HttpRequest) -> HttpResponseBase:
    """The rosters the user may open: those they manage first; straight there when only one."""
    user = request.user
    levels = list(duty.DUTY_LEVELS)
    managed = list(
        Region.objects.filter(codes_q(scopes_for(user, Perm.MANAGE_DUTY), "code"), level__in=levels).order_by(
            "code"
        )[:PICK_LIMIT]
    )
    regions = managed or list(
        Region.objects.filter(codes_q(scopes_for(user, Perm.VIEW_REGION), "code"), level__in=levels).order_by(
            "code"
        )[: PICK_LIMIT + 1]
    )
    if len(regions) == 1:
        return redirect("core:duty_roster", code=regions[0].code)
    return render(
        request,
        "core/duty/index.html",
        {"regions": regions[:PICK_LIMIT], "more": len(regions) > PICK_LIMIT, "managed": bool(managed)},
    )


@guards.page(Perm.VIEW_REGION, methods=("GET", "POST"))
def duty_roster(request: HttpRequest, code: str) -> HttpResponseBase:
    viewer = request.user
    region = duty.roster_region_get_for(viewer, code)  # 404 outside the viewer's scope
    can_manage = has_perm(viewer, Perm.MANAGE_DUTY, region.code)
    staff = duty.duty_staff(region_code=region.code) if can_manage else []
    now = timezone.now()
    today = timezone.localtime(now, duty.local_zone()).date()
    shift_form = DutyShiftForm(prefix="shift", initial={"day": today})
    current = duty.fallback_get(region_code=region.code)
    fallback_form = DutyFallbackForm(prefix="fallback", initial={"user": current.user_id if current else ""})
    status = 200
    if request.method == "POST":
        guards.require(request, Perm.MANAGE_DUTY, region.code)  # audited 403 for readers
        actor: User = request.user  # type: ignore[assignment]
        op = request.POST.get("op")
        if op == "add":
            shift_form = DutyShiftForm(request.POST, prefix="shift")
            shift_form.limit_to(staff)
            status = _add(request, actor, region, shift_form, staff)
        elif op == "remove":
            status = _remove(request, actor, region, DutyShiftRemoveForm(request.POST))
        elif op == "fallback":
            fallback_form = DutyFallbackForm(request.POST, prefix="fallback")
            fallback_form.limit_to(staff)
            status = _fallback(request, actor, region, fallback_form, staff)
        elif op == "copy":
            this_monday = duty.monday_of(today)
            result = duty.shifts_copy_week(
                actor=actor,
                region_code=region.code,
                from_monday=this_monday - timedelta(days=7),
                to_monday=this_monday,
                request=request,
            )
            messages.success(
                request,
                _(
                    "Copied %(copied)d shifts from last week; skipped %(skipped)d "
                    "(already covered, in the past, or the person left)."
                )
                % {"copied": result.copied, "skipped": result.skipped},
            )
            status = 302
        else:
            messages.error(request, _("Unknown action."))
            status = 400
        if status == 302:
            return redirect("core:duty_roster", code=region.code)
    shift_form.limit_to(staff)
    fallback_form.limit_to(staff)
    answer = duty.duty_now(region_code=region.code, at=now)
    plan = duty.roster(viewer=viewer, region_code=region.code, start=today, days=ROSTER_DAYS)
    context = {
        "region": region,
        "answer": answer,
        "roster": plan,
        "now": now,
        "can_manage": can_manage,
        "shift_form": shift_form,
        "fallback_form": fallback_form,
        "has_staff": bool(staff),
    }
    return render(request, "core/duty/roster.html", context, status=status)


def _staff_member(staff: list[User], pk: int) -> User:
    return next(u for u in staff if u.pk == pk)  # the form's choices are these people


def _add(request: HttpRequest, actor: User, region: Region, form: DutyShiftForm, staff: list[User]) -> int:
    if not form.is_valid():
        return 400
    starts_at, ends_at = form.times()
    user = _staff_member(staff, form.cleaned_data["user"])
    try:
        duty.shift_add(
            actor=actor,
            region_code=region.code,
            user=user,
            starts_at=starts_at,
            ends_at=ends_at,
            note=form.cleaned_data["note"],
            request=request,
        )
    except ValidationError as exc:
        _apply_errors(form, exc)
        return 400
    messages.success(
        request,
        _("%(name)s is on duty from %(start)s to %(end)s.")
        % {"name": user.name, "start": duty.fmt(starts_at), "end": duty.fmt(ends_at)},
    )
    return 302


def _remove(request: HttpRequest, actor: User, region: Region, form: DutyShiftRemoveForm) -> int:
    if not form.is_valid():
        messages.error(request, _("Unknown action."))
        return 400
    shift = duty.shift_get_for(actor, form.cleaned_data["shift"])  # 404 outside the viewer's scope
    if shift.region_code != region.code:
        messages.error(request, _("This shift belongs to another roster."))
        return 400
    try:
        duty.shift_remove(actor=actor, shift=shift, request=request)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return 400
    messages.success(
        request,
        _("The shift of %(name)s from %(start)s was removed.")
        % {"name": shift.user.name, "start": duty.fmt(shift.starts_at)},
    )
    return 302


def _fallback(
    request: HttpRequest, actor: User, region: Region, form: DutyFallbackForm, staff: list[User]
) -> int:
    if not form.is_valid():
        return 400
    user = _staff_member(staff, form.cleaned_data["user"])
    try:
        duty.fallback_set(actor=actor, region_code=region.code, user=user, request=request)
    except ValidationError as exc:
        _apply_errors(form, exc)
        return 400
    messages.success(request, _("%(name)s now answers when nobody is on duty.") % {"name": user.name})
    return 302
