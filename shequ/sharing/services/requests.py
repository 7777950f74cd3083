"""Data requests (供需对接): a department's staff asks for a catalog resource; the data's owner
(``sharing.own`` over every requested region) and a security administrator (``sharing.grant``)
decide, in either order. A refusal (with its reason) ends the request; the second approval creates
the grant (``grant_create``) in the same transaction. Nobody decides their own request, and one
person decides only one of the two steps. The requester, the owners and the security
administrators concerned get a notice at each step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from shequ.core import audit, messaging
from shequ.core.components import resources_all
from shequ.core.guards import require_actor
from shequ.core.models import AuditResult, Department, User, common_region_code
from shequ.core.permissions import ROLE_PERMISSIONS, Viewer, active_memberships, has_perm
from shequ.core.text import bounded_text
from shequ.sharing.models import DataRequest, Decision, RequestStatus
from shequ.sharing.permissions import SharePerm as P
from shequ.sharing.selectors_access import client_accounts
from shequ.sharing.services.access import GRANT_MAX_DAYS, grant_create, grant_validate

__all__ = [
    "OWNER",
    "SECURITY",
    "deciders",
    "request_create",
    "request_decide",
    "request_departments",
]

TEXT_MAX = 300
OWNER = "owner"
SECURITY = "security"
STEP_PERMS = {OWNER: P.OWN, SECURITY: P.GRANT}
NOTICE_TOPIC = "sharing.request"
NOTICE_LANGUAGE = "zh-hans"


def request_departments(user: Viewer) -> list[Department]:
    """The departments ``user`` may ask for data for (their department-staff memberships)."""
    found: dict[int, Department] = {}
    for m in active_memberships(user):
        if m.department_id and P.REQUEST in ROLE_PERMISSIONS.get(m.role, frozenset()):
            assert m.department is not None
            found[m.department_id] = m.department
    return list(found.values())


def department_accounts(department: Department) -> list[User]:
    """Active department-staff accounts of ``department`` (the grant's possible clients)."""
    return list(client_accounts(department))


def deciders(step: str, region_code: str) -> list[User]:
    """Active users who hold the step's permission over ``region_code`` (and so over every region
    of a request scoped by it)."""
    perm = STEP_PERMS[step]
    roles = [role for role, codes in ROLE_PERMISSIONS.items() if perm in codes]
    covering = [region_code[:n] for n in range(2, len(region_code) + 1)]
    return list(
        User.objects.filter(
            is_active=True,
            memberships__role__in=roles,
            memberships__region_code__in=covering,
            memberships__revoked_at__isnull=True,
        )
        .distinct()
        .order_by("pk")
    )


def _link(req: DataRequest) -> str:
    return reverse("sharing:request_detail", args=[req.pk])


def _title(req: DataRequest) -> str:
    res = resources_all().get(req.resource)
    return str(res.title) if res else req.resource


def _notify(req: DataRequest, recipients: Sequence[User], subject: str, body: str) -> None:
    if recipients:
        messaging.notify(
            sender=None,
            recipients=recipients,
            subject=subject,
            body=body,
            link=_link(req),
            region_code=req.region_code,
            topic=NOTICE_TOPIC,
            topic_ref=str(req.pk),
            thread_key=f"sharing.request:{req.pk}",
        )


def request_create(
    *,
    actor: Viewer,
    resource: str,
    fields: Sequence[str],
    unmasked: Sequence[str],
    region_codes: Sequence[str],
    row_filters: Mapping[str, str],
    purpose: str,
    legal_basis: str,
    duration_days: Any,
    client: User | None = None,
    department: Department | None = None,
    request: HttpRequest | None = None,
) -> DataRequest:
    """File a request as department staff (``sharing.request``) for regions inside their scope.

    The terms are checked like a grant's (``grant_validate``, with the expiry the duration would
    give); ``client`` (default: the requester) must be an account of the department. Invalid
    input raises ``ValidationError`` keyed by argument, and nothing is written."""
    if not isinstance(actor, User):
        raise PermissionDenied(_("Sign in first."))
    mine = request_departments(actor)
    if department is None and len(mine) == 1:
        department = mine[0]
    if department is None or department.pk not in {d.pk for d in mine}:
        audit.record(
            "sharing.request_create",
            actor=actor,
            request=request,
            object_type="sharing.request",
            result=AuditResult.DENIED,
            detail={"why": "not staff of the department"},
        )
        raise PermissionDenied(_("Only a department's staff may ask for data for it."))
    errors: dict[str, str] = {}
    days = duration_days
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= GRANT_MAX_DAYS:
        errors["duration_days"] = _("Ask for between 1 and %(n)d days.") % {"n": GRANT_MAX_DAYS}
        days = 1
    texts: dict[str, str] = {}
    for name, value, label in (
        ("purpose", purpose, _("Purpose of use")),
        ("legal_basis", legal_basis, _("Legal basis")),
    ):
        try:
            texts[name] = bounded_text(value, name, TEXT_MAX, required=True, label=label)
        except ValidationError as exc:
            errors[name] = exc.message_dict[name][0]
    try:
        grant_validate(
            resource=resource,
            fields=fields,
            unmasked=unmasked,
            region_codes=region_codes,
            row_filters=row_filters,
            legal_basis=texts.get("legal_basis", "-"),
            expires_at=timezone.now() + timedelta(days=days),
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, messages[0])
    codes = sorted({str(c).strip() for c in region_codes if str(c).strip()})
    outside = [c for c in codes if not has_perm(actor, P.REQUEST, c)]
    if outside and "region_codes" not in errors:
        errors["region_codes"] = _("Your department may ask only for data of its own area: %(codes)s.") % {
            "codes": ", ".join(outside)
        }
    account = client or actor
    if account.pk not in {u.pk for u in department_accounts(department)}:
        errors["client"] = _("The client must be an active account of the department.")
    if errors:
        raise ValidationError(errors)
    # Kept in the catalog's order, like the grant will be.
    order = [f.key for f in resources_all()[resource].fields]
    chosen = sorted({str(f).strip() for f in fields if str(f).strip()}, key=order.index)
    clear = sorted({str(f).strip() for f in unmasked if str(f).strip()}, key=order.index)
    codes = [c for c in codes if not any(c != o and c.startswith(o) for o in codes)]
    filters = {k: str(v).strip() for k, v in row_filters.items() if str(v).strip()}
    with transaction.atomic():
        req = DataRequest.objects.create(
            department=department,
            requester=actor,
            client=account,
            resource=resource,
            fields=chosen,
            unmasked=clear,
            region_codes=codes,
            row_filters=filters,
            purpose=texts["purpose"],
            legal_basis=texts["legal_basis"],
            duration_days=days,
            region_code=common_region_code(codes),
        )
        audit.record(
            "sharing.request_create",
            actor=actor,
            request=request,
            region_code=req.region_code,
            object_type="sharing.request",
            object_id=req.pk,
            fields=chosen,
            reason=req.purpose,
            detail={"department": department.pk, "resource": resource, "regions": codes, "unmasked": clear},
        )
        with translation.override(NOTICE_LANGUAGE):
            fields_ = {"department": department.name, "title": _title(req), "no": str(req.pk)}
            others = {u.pk: u for u in deciders(OWNER, req.region_code) + deciders(SECURITY, req.region_code)}
            others.pop(actor.pk, None)
            _notify(
                req,
                list(others.values()),
                _("Data request No. %(no)s from %(department)s: %(title)s") % fields_,
                _(
                    "%(department)s asks for %(title)s. Check the purpose, the legal basis, the fields and "
                    "the regions, then approve or refuse it with a reason."
                )
                % fields_,
            )
            _notify(
                req,
                [actor],
                _("Data request No. %(no)s filed: %(title)s") % fields_,
                _("The data's owner and a security administrator each decide; you hear of each step."),
            )
    return req


def _step_fields(step: str) -> tuple[str, str, str, str]:
    prefix = "owner" if step == OWNER else "security"
    return f"{prefix}_decision", f"{prefix}_by", f"{prefix}_at", f"{prefix}_reason"


def request_decide(
    *,
    actor: Viewer,
    data_request: DataRequest,
    step: str,
    approve: bool,
    reason: str = "",
    request: HttpRequest | None = None,
) -> DataRequest:
    """Decide one step (``OWNER`` or ``SECURITY``) of a pending request.

    The actor needs the step's permission over every requested region (else ``PermissionDenied``,
    audited), may not be the requester and may not have decided the other step. A refusal needs a
    reason and ends the request; the second approval creates the grant in this transaction."""
    if step not in STEP_PERMS:
        raise ValueError(f"unknown step {step!r}")
    if not isinstance(actor, User):
        raise PermissionDenied(_("Sign in first."))
    action = "sharing.request_decide"
    require_actor(
        actor,
        STEP_PERMS[step],
        data_request.region_code,
        action=action,
        object_type="sharing.request",
        object_id=data_request.pk,
        request=request,
        message=_("You may not decide this request."),
    )
    why = bounded_text(reason, "reason", TEXT_MAX, required=not approve, label=_("Reason"))
    decision_f, by_f, at_f, reason_f = _step_fields(step)
    other = SECURITY if step == OWNER else OWNER
    other_by = f"{_step_fields(other)[1]}_id"

    def refusal(row: DataRequest) -> str:
        if row.requester_id == actor.pk or row.client_id == actor.pk:
            return "own request"
        return "decided the other step" if getattr(row, other_by) == actor.pk else ""

    # Checked before the transaction, so that the refusal's audit entry is not rolled back with it;
    # checked again under the lock (another decision may have come in between).
    why_not = refusal(DataRequest.objects.get(pk=data_request.pk))
    if why_not:
        audit.record(
            action,
            actor=actor,
            request=request,
            region_code=data_request.region_code,
            object_type="sharing.request",
            object_id=data_request.pk,
            result=AuditResult.DENIED,
            detail={"why": why_not, "step": step},
        )
    with transaction.atomic():
        req = (
            DataRequest.objects.select_for_update(of=("self",))
            .select_related("department", "client")
            .get(pk=data_request.pk)
        )
        if why_not or refusal(req):
            raise PermissionDenied(
                _("Nobody decides their own request, and one person decides only one of its two steps.")
            )
        if req.status != RequestStatus.PENDING or getattr(req, decision_f):
            raise ValidationError({"decision": _("This step of the request has already been decided.")})
        now = timezone.now()
        setattr(req, decision_f, Decision.APPROVE if approve else Decision.REFUSE)
        setattr(req, by_f, actor)
        setattr(req, at_f, now)
        setattr(req, reason_f, why)
        changed = [decision_f, by_f, at_f, reason_f]
        if not approve:
            req.status = RequestStatus.REFUSED
            req.decided_at = now
            changed += ["status", "decided_at"]
        elif getattr(req, _step_fields(other)[0]) == Decision.APPROVE:
            security_user = actor if step == SECURITY else req.security_by
            req.grant = grant_create(
                actor=security_user,
                department=req.department,
                client=req.client,
                resource=req.resource,
                fields=req.fields,
                unmasked=req.unmasked,
                region_codes=req.region_codes,
                row_filters=req.row_filters,
                purpose=req.purpose,
                legal_basis=req.legal_basis,
                expires_at=now + timedelta(days=req.duration_days),
                request_id=req.pk,
                request=request,
            )
            req.status = RequestStatus.APPROVED
            req.decided_at = now
            changed += ["grant", "status", "decided_at"]
        req.save(update_fields=changed)
        audit.record(
            action,
            actor=actor,
            request=request,
            region_code=req.region_code,
            object_type="sharing.request",
            object_id=req.pk,
            reason=why,
            detail={
                "step": step,
                "decision": getattr(req, decision_f),
                "status": req.status,
                **({"grant": req.grant_id} if req.grant_id else {}),
            },
        )
        _notify_decision(req, step, actor)
    return req


def _notify_decision(req: DataRequest, step: str, actor: User) -> None:
    # Notices are in the platform's language, whatever the decider's page was in.
    with translation.override(NOTICE_LANGUAGE):
        _tell_decision(req, step, actor)


def _tell_decision(req: DataRequest, step: str, actor: User) -> None:
    fields = {
        "no": str(req.pk),
        "title": _title(req),
        "department": req.department.name,
        "who": _("the data's owner") if step == OWNER else _("the security administrator"),
        "reason": req.owner_reason if step == OWNER else req.security_reason,
    }
    requester: dict[int, User] = {req.requester_id: req.requester}
    if req.status == RequestStatus.PENDING:
        subject = _("Data request No. %(no)s: approved by %(who)s") % fields
        others = {u.pk: u for u in deciders(SECURITY if step == OWNER else OWNER, req.region_code)}
        for pk in (actor.pk, req.requester_id):
            others.pop(pk, None)
        # The other step's deciders are told what to do; the requester only how it stands.
        _notify(
            req,
            list(others.values()),
            subject,
            _(
                "%(title)s for %(department)s now waits for your decision. Check the purpose, the legal "
                "basis, the fields and the regions, then approve or refuse it with a reason."
            )
            % fields,
        )
        requester.pop(actor.pk, None)
        _notify(
            req,
            list(requester.values()),
            subject,
            _("%(title)s for %(department)s now waits for the other decision.") % fields,
        )
        return
    if req.status == RequestStatus.REFUSED:
        subject = _("Data request No. %(no)s refused: %(title)s") % fields
        body = _("Refused by %(who)s. Reason: %(reason)s") % fields
    else:
        subject = _("Data request No. %(no)s approved: %(title)s") % fields
        body = _(
            "Both decisions are made and the grant is in force. The department's system reads the data "
            "through the sharing API with the client account's token."
        )
    recipients = dict(requester)
    recipients.update({u.pk: u for u in (req.owner_by, req.security_by) if u is not None})
    recipients.pop(actor.pk, None)
    _notify(req, list(recipients.values()), subject, body)
