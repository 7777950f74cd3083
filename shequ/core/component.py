from __future__ import annotations

from datetime import timedelta

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, HomeItem, NavEntry
from shequ.core.models import Role
from shequ.core.permissions import Perm, Viewer, all_permission_codes, has_perm


def unread(user: Viewer) -> int:
    from shequ.core.selectors import unread_count

    return unread_count(user=user)


def home_items(user: Viewer) -> list[HomeItem]:
    from shequ.core import selectors

    items = [
        HomeItem(_("Unread messages"), unread(user), reverse("core:inbox")),
        HomeItem(
            _("Notices waiting for your acknowledgement"),
            selectors.message_list(viewer=user)
            .filter(requires_ack=True, acknowledged_at__isnull=True)
            .count(),
            reverse("core:inbox"),
            "warn",
        ),
    ]
    if has_perm(user, Perm.VIEW_AUDIT):
        since = timezone.now() - timedelta(days=1)
        denied = selectors.audit_list(viewer=user, filters={"result": "denied", "since": since}).count()
        items.append(
            HomeItem(
                _("Denied accesses in the last 24 hours"),
                denied,
                reverse("core:audit") + "?result=denied",
                "bad",
            )
        )
    if has_perm(user, Perm.MANAGE_USERS):
        items.append(
            HomeItem(
                _("Locked accounts"),
                selectors.locked_user_count(viewer=user),
                reverse("core:accounts"),
                "warn",
            )
        )
    return items


COMPONENT = Component(
    name="core",
    label=_("Platform"),
    nav=(
        NavEntry(_("Home"), "core:home", order=0, icon="home"),
        NavEntry(_("Inbox"), "core:inbox", order=10, icon="inbox", badge=lambda user: unread(user)),
        NavEntry(_("Regions"), "core:regions", perm=Perm.VIEW_REGION, order=20, icon="map"),
        NavEntry(_("Accounts"), "core:accounts", perm=Perm.MANAGE_USERS, order=80, icon="users"),
        NavEntry(_("Roles"), "core:memberships", perm=Perm.MANAGE_MEMBERSHIPS, order=81, icon="key"),
        NavEntry(_("Audit log"), "core:audit", perm=Perm.VIEW_AUDIT, order=90, icon="log"),
        NavEntry(_("Account security"), "core:security", roles=frozenset(Role.values), order=95, icon="lock"),
    ),
    permissions=tuple(sorted(all_permission_codes())),
    events=("core.delivery_queued", "core.message_acknowledged"),
    home_items=home_items,
)
