"""The texts of the emergency app's notices to staff (each returns a ``Notice``, so a test renders
every kind with real data)."""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _
from django.utils.translation import override

from shequ.core.messaging import Notice
from shequ.core.selectors import region_names
from shequ.emergency.models import Mobilization, Recipient

NAMES_IN_NOTICE = 30


def silent_people(mobilization: Mobilization, grid_code: str, people: Sequence[Recipient]) -> Notice:
    """To a grid worker: who of their grid has not answered the call-out, to go and find them."""
    with override("zh-hans"):
        grid = region_names([grid_code]).get(grid_code, grid_code)
        shown = [f"{p.name}（{p.place}）" if p.place else p.name for p in people[:NAMES_IN_NOTICE]]
        more = len(people) - len(shown)
        names = "、".join(shown) + (_(" and %(n)d more") % {"n": more} if more > 0 else "")
        drill = _("[Drill]") if mobilization.is_drill else ""
        fields = {
            "title": mobilization.title,
            "grid": grid,
            "count": str(len(people)),
            "names": names,
        }
        subject = drill + _("%(count)s people of %(grid)s have not answered “%(title)s”") % fields
        body = (
            _(
                "They have not answered after the call-out and its re-sending: %(names)s. Please reach "
                "them by phone or at the door, and record their answer on the roll-call page."
            )
            % fields
        )
    return Notice(subject=subject[:200], body=body, fields=fields)
