from django.utils.translation import gettext_lazy as _

from shequ.core.components import Component, NavEntry
from shequ.core.models import Role
from shequ.core.permissions import Perm, all_permission_codes

COMPONENT = Component(
    name="core",
    label=_("Platform"),
    nav=(
        NavEntry(_("Home"), "core:home", order=0, icon="home"),
        NavEntry(_("Inbox"), "core:inbox", order=10, icon="inbox"),
        NavEntry(_("Regions"), "core:regions", perm=Perm.VIEW_REGION, order=20, icon="map"),
        NavEntry(_("Accounts"), "core:accounts", perm=Perm.MANAGE_USERS, order=80, icon="users"),
        NavEntry(_("Roles"), "core:memberships", perm=Perm.MANAGE_MEMBERSHIPS, order=81, icon="key"),
        NavEntry(_("Audit log"), "core:audit", perm=Perm.VIEW_AUDIT, order=90, icon="log"),
        NavEntry(_("Account security"), "core:security", roles=frozenset(Role.values), order=95, icon="lock"),
    ),
    permissions=tuple(sorted(all_permission_codes())),
    events=("core.message_created",),
)
