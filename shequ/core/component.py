from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry, Tile
from shequ.core.models import Role
from shequ.core.permissions import Perm, Viewer, all_permission_codes, has_perm


def unread(user: Viewer) -> int:
    from shequ.core.selectors import unread_count

    return unread_count(user=user)


def tile_counts(user: Viewer) -> dict[str, int]:
    from shequ.core import selectors

    counts = {
        "unread": unread(user),
        "to_ack": selectors.message_list(viewer=user)
        .filter(requires_ack=True, acknowledged_at__isnull=True)
        .count(),
    }
    if has_perm(user, Perm.VIEW_AUDIT):
        since = timezone.now() - timedelta(days=1)
        counts["denied"] = selectors.audit_list(
            viewer=user, filters={"result": "denied", "since": since}
        ).count()
    if has_perm(user, Perm.MANAGE_USERS):
        counts["locked"] = selectors.locked_user_count(viewer=user)
    return counts


COMPONENT = Component(
    name="core",
    label=_("Platform"),
    nav=(
        NavEntry(_("Home"), "core:home", order=0, icon="home"),
        NavEntry(_("Inbox"), "core:inbox", order=10, icon="inbox", badge=lambda user: unread(user)),
        NavEntry(_("Regions"), "core:regions", perm=Perm.VIEW_REGION, order=20, icon="map"),
        NavEntry(_("On-duty roster"), "core:duty", perm=Perm.MANAGE_DUTY, order=62, icon="clock"),
        NavEntry(
            _("Accounts"),
            "core:accounts",
            perm=Perm.MANAGE_USERS,
            order=80,
            icon="users",
            tab=_("Accounts"),
            tab_rank=60,
        ),
        NavEntry(
            _("Roles"),
            "core:memberships",
            perm=Perm.MANAGE_MEMBERSHIPS,
            order=81,
            icon="key",
            tab=_("Roles"),
            tab_rank=61,
        ),
        NavEntry(
            _("Audit log"),
            "core:audit",
            perm=Perm.VIEW_AUDIT,
            order=90,
            icon="log",
            tab=_("Audit"),
            tab_rank=62,
        ),
        NavEntry(_("Account security"), "core:security", roles=frozenset(Role.values), order=95, icon="lock"),
    ),
    permissions=tuple(sorted(all_permission_codes())),
    events=("core.delivery_queued", "core.message_acknowledged"),
    tiles=(
        Tile(_("Messages"), "core:inbox", "inbox", order=80, count="unread", hint=_("unread")),
        Tile(
            _("Notices to acknowledge"),
            "core:inbox",
            "bell",
            order=1,
            count="to_ack",
            tone="warn",
            hide_zero=True,
        ),
        Tile(
            _("Audit log"),
            "core:audit",
            "log",
            perm=Perm.VIEW_AUDIT,
            order=50,
            count="denied",
            tone="bad",
            query="?result=denied",
            hint=_("denied in the last 24 hours"),
        ),
        Tile(
            _("Accounts"),
            "core:accounts",
            "users",
            perm=Perm.MANAGE_USERS,
            order=51,
            count="locked",
            tone="warn",
            hint=_("locked"),
        ),
        Tile(_("Roles"), "core:memberships", "key", perm=Perm.MANAGE_MEMBERSHIPS, order=52),
        Tile(_("Regions"), "core:regions", "map", perm=Perm.VIEW_REGION, order=70),
    ),
    tile_counts=tile_counts,
)
