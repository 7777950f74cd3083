"""Numbers the government services offer to report templates (统一制表): applications of the
period and how they were handled, and the 好差评 ratings, with their drill-down.

They are the statistics page's figures (``govservice.stats``): applications **submitted in the
period** (``stats.applications_in``) meeting one of ``stats.application_flags`` (closed, closed on
time, open, overdue now, on the resident's behalf), and ratings **given in the period**
(``stats.evaluations_in``) meeting one of ``stats.rating_flags`` (satisfied, bad). ``compute``
groups a whole city by community in one statement; ``records`` lists the same rows among those the
viewer may see (``selectors.application_list``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from shequ.core.components import Dimension, LedgerColumn, Stat, StatQuery, choice_values
from shequ.core.permissions import Viewer
from shequ.govservice import stats
from shequ.govservice.models import Application, Channel, Domain, Evaluation, Mode, Stars, Status
from shequ.govservice.permissions import GovPerm as P
from shequ.govservice.selectors import application_list

MODE = Dimension("mode", _("Handling in the community"), choice_values(Mode.choices))
CHANNEL = Dimension("channel", _("Channel"), choice_values(Channel.choices))
DOMAIN = Dimension("domain", _("Domain"), choice_values(Domain.choices))
STATUS = Dimension("status", _("Status"), choice_values(Status.choices))
STARS = Dimension("stars", _("Rating"), choice_values(Stars.choices))


def _narrow_applications(apps: QuerySet[Application], flag: str, query: StatQuery) -> QuerySet[Application]:
    low, high = query.bounds
    apps = apps.filter(submitted_at__gte=low, submitted_at__lt=high)
    condition = stats.application_flags(timezone.now())[flag]
    if condition is not None:
        apps = apps.filter(condition)
    f = query.filters
    if f.get("mode"):
        apps = apps.filter(item__mode=f["mode"])
    if f.get("channel"):
        apps = apps.filter(channel=f["channel"])
    if f.get("domain"):
        apps = apps.filter(item__domain=f["domain"])
    if f.get("status"):
        apps = apps.filter(status=f["status"])
    return apps


def _narrow_ratings(ratings: QuerySet[Evaluation], flag: str, query: StatQuery) -> QuerySet[Evaluation]:
    low, high = query.bounds
    ratings = ratings.filter(at__gte=low, at__lt=high)
    condition = stats.rating_flags()[flag]
    if condition is not None:
        ratings = ratings.filter(condition)
    f = query.filters
    if f.get("stars"):
        ratings = ratings.filter(stars=int(f["stars"]))
    if f.get("channel"):
        ratings = ratings.filter(channel=f["channel"])
    if f.get("mode"):
        ratings = ratings.filter(item__mode=f["mode"])
    return ratings


def _application_row(a: Application) -> Mapping[str, Any]:
    return {
        "number": a.number,
        "item": a.item.name_zh,
        "channel": a.get_channel_display(),
        "status": a.get_status_display(),
        "submitted_at": timezone.localtime(a.submitted_at).strftime("%Y-%m-%d %H:%M"),
        "on_behalf": _("Yes") if a.on_behalf else "",
    }


APPLICATION_COLUMNS = (
    LedgerColumn("number", _("Application number"), 16),
    LedgerColumn("item", _("Service item"), 24),
    LedgerColumn("channel", _("Channel"), 10),
    LedgerColumn("status", _("Status"), 12),
    LedgerColumn("submitted_at", _("Submitted"), 16),
    LedgerColumn("on_behalf", _("On the resident's behalf"), 8),
)


def _rating_row(e: Evaluation) -> Mapping[str, Any]:
    return {
        "number": e.application.number,
        "item": e.item.name_zh,
        "stars": e.get_stars_display(),
        "at": timezone.localtime(e.at).strftime("%Y-%m-%d %H:%M"),
    }


RATING_COLUMNS = (
    LedgerColumn("number", _("Application number"), 16),
    LedgerColumn("item", _("Service item"), 24),
    LedgerColumn("stars", _("Rating"), 12),
    LedgerColumn("at", _("Rated"), 16),
)


def _application_stat(flag: str, key: str, title: Any, description: Any) -> Stat:
    def compute(query: StatQuery) -> dict[str, Any]:
        return query.grouped(_narrow_applications(Application.objects.all(), flag, query))

    def records(viewer: Viewer, region_code: str, query: StatQuery) -> QuerySet[Application]:
        rows = application_list(viewer=viewer, region_code=region_code)
        return _narrow_applications(rows, flag, query)

    return Stat(
        key=key,
        title=title,
        unit=pgettext_lazy("unit", "applications"),
        kind="flow",
        compute=compute,
        records=records,
        columns=APPLICATION_COLUMNS,
        row=_application_row,
        dimensions=(MODE, CHANNEL, DOMAIN, STATUS),
        description=description,
        perm=P.VIEW,
    )


def _rating_stat(flag: str, key: str, title: Any, description: Any) -> Stat:
    def compute(query: StatQuery) -> dict[str, Any]:
        return query.grouped(_narrow_ratings(Evaluation.objects.all(), flag, query))

    def records(viewer: Viewer, region_code: str, query: StatQuery) -> QuerySet[Evaluation]:
        # The ratings of the applications the viewer may see.
        visible = application_list(viewer=viewer, region_code=region_code).values("pk")
        rows = Evaluation.objects.filter(application_id__in=visible, region_code__startswith=region_code)
        return _narrow_ratings(rows.select_related("application", "item"), flag, query).order_by("at", "pk")

    return Stat(
        key=key,
        title=title,
        unit=pgettext_lazy("unit", "ratings"),
        kind="flow",
        compute=compute,
        records=records,
        columns=RATING_COLUMNS,
        row=_rating_row,
        dimensions=(STARS, CHANNEL, MODE),
        description=description,
        perm=P.VIEW,
    )


STATS: tuple[Stat, ...] = (
    _application_stat(
        "applications", "govservice.applications", _("Applications received"), _("Submitted in the period.")
    ),
    _application_stat(
        "closed", "govservice.applications_closed", _("Applications finished"), _("Delivered and closed.")
    ),
    _application_stat(
        "on_time",
        "govservice.applications_on_time",
        _("Applications finished on time"),
        _("Closed without the deadline having passed while open."),
    ),
    _application_stat("open", "govservice.applications_open", _("Applications in progress"), ""),
    _application_stat(
        "overdue", "govservice.applications_overdue", _("Applications overdue"), _("Open past the deadline.")
    ),
    _application_stat(
        "on_behalf",
        "govservice.applications_on_behalf",
        _("Applications made on the resident's behalf"),
        _("帮办代办: applied for by staff on the resident's behalf."),
    ),
    _rating_stat("rated", "govservice.ratings", _("Ratings received"), _("Ratings given in the period.")),
    _rating_stat("good", "govservice.ratings_good", _("Good ratings"), _("4 or 5 stars (好评).")),
    _rating_stat("bad", "govservice.ratings_bad", _("Bad ratings"), _("1 or 2 stars (差评).")),
)
