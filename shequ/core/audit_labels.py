"""Words for the audit log page: an action code (``auth.login``), a role code (``community_head``)
and an object (``user 16``) as their labels in the reader's language. The codes stay what the log
stores and what auditors filter by; the page shows them under the words. Apps name their own
actions in their component manifest (``Component.audit_labels``)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any

from django.apps import apps
from django.utils.translation import gettext_lazy as _

from shequ.core.models import Role

CORE_ACTIONS: dict[str, Any] = {
    "auth.login": _("Signed in"),
    "auth.login_failed": _("Sign-in failed"),
    "auth.logout": _("Signed out"),
    "auth.lockout": _("Account locked after failed sign-ins"),
    "auth.throttled": _("Sign-in attempts slowed down"),
    "auth.session_expired": _("Session expired"),
    "auth.second_factor_required": _("Second factor asked for"),
    "auth.totp_enrol": _("Authenticator app set up"),
    "auth.oidc_bind": _("Provincial identity linked"),
    "user.create": _("Account created"),
    "user.disable": _("Account disabled"),
    "user.enable": _("Account enabled"),
    "user.password_change": _("Password changed"),
    "membership.grant": _("Role granted"),
    "membership.revoke": _("Role revoked"),
    "token.create": _("API token issued"),
    "token.revoke": _("API token revoked"),
    "api.token_rejected": _("API token refused"),
    "api.denied": _("API request refused"),
    "access.denied": _("Access refused"),
    "open311.denied": _("Open311 request refused"),
    "audit.view": _("Audit log read"),
    "audit.checkpoint": _("Audit checkpoint signed"),
    "personal.reveal": _("Full personal data shown"),
    "notice.send": _("Notice sent"),
    "backup.restore": _("Backup restored"),
    "region.load": _("Regions loaded"),
    "region.grid_create": _("Grid created"),
    "region.shape_import": _("Region boundaries imported"),
    "core.duty_shift_add": _("Duty shift added"),
    "core.duty_shift_remove": _("Duty shift removed"),
    "core.duty_fallback_set": _("Duty fallback set"),
    "core.duty_copy_week": _("Duty week copied"),
}


@cache
def _actions() -> dict[str, Any]:
    from shequ.core.components import components

    found = dict(CORE_ACTIONS)
    for comp in components():
        if comp.audit_labels is not None:
            found.update(comp.audit_labels())
    return found


def action_label(code: str) -> str:
    """The action in words, or "" when nobody named it (the page then shows the code alone)."""
    label = _actions().get(code)
    return str(label) if label is not None else ""


def role_label(code: str) -> str:
    return str(Role(code).label) if code in Role.values else code


def object_label(object_type: str) -> str:
    """``user`` → 账号, ``grid.ticket`` → 工单: the model's verbose name; else the type as stored."""
    if object_type == "user":
        return str(_("account"))
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return object_type
    return str(model._meta.verbose_name)


def labelled(entries: Iterable[Any]) -> None:
    """Set ``action_label``, ``role_label`` and ``object_label`` on each entry, for the template."""
    for e in entries:
        e.action_label = action_label(e.action)
        e.role_label = role_label(e.role) if e.role else ""
        e.object_label = object_label(e.object_type) if e.object_type else ""
