"""Report templates: publishing a version, and seeding the official ones.

A template is never edited in place: each change is a new version of its key, the previous one is
deactivated, and instances keep the exact version they were filled with (a new version does not
touch the old one's instances; the next period is filled with the new one).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.guards import require_actor
from shequ.core.models import LEVEL_ORDER, RegionLevel
from shequ.core.permissions import Viewer, scopes_for
from shequ.core.text import bounded_text
from shequ.reports.definitions import KEY_RE, parse
from shequ.reports.models import Periodicity, ReportTemplate
from shequ.reports.permissions import ReportPerm as P
from shequ.reports.services._common import user_of

NOTE_MAX = 300


def _check(
    *,
    key: str,
    title: str,
    number: str,
    periodicity: str,
    fill_level: str,
    receive_level: str,
    definition: Any,
) -> dict[str, Any]:
    if not isinstance(key, str) or not KEY_RE.match(key):
        raise ValidationError(
            {"key": _("The key must be lower-case letters, digits and _, starting with a letter.")}
        )
    if periodicity not in Periodicity.values:
        raise ValidationError({"periodicity": _("Choose monthly, quarterly or yearly.")})
    if fill_level not in RegionLevel.values or receive_level not in RegionLevel.values:
        raise ValidationError({"fill_level": _("Unknown region level.")})
    if fill_level == RegionLevel.GRID or LEVEL_ORDER.index(receive_level) >= LEVEL_ORDER.index(fill_level):
        raise ValidationError(
            {"receive_level": _("The receiving level must be above the level that fills the report.")}
        )
    try:
        parse(definition)
    except ValidationError as exc:
        raise ValidationError({"definition": exc.messages}) from exc
    return {
        "title": bounded_text(title, "title", 120, required=True, label=_("Title")),
        "number": bounded_text(number, "number", 60, label=_("Form number")),
    }


def _publish(
    *,
    actor: Viewer | None,
    key: str,
    title: str,
    number: str,
    periodicity: str,
    fill_level: str,
    receive_level: str,
    definition: Any,
    note: str,
) -> ReportTemplate:
    with transaction.atomic():
        # Lock the key's versions: two publishers of one key get consecutive versions.
        versions = ReportTemplate.objects.select_for_update().filter(key=key)
        latest = versions.aggregate(n=Max("version"))["n"] or 0
        versions.filter(active=True).update(active=False)
        template = ReportTemplate.objects.create(
            key=key,
            version=latest + 1,
            title=title,
            number=number,
            periodicity=periodicity,
            fill_level=fill_level,
            receive_level=receive_level,
            definition=definition,
            active=True,
            created_by=user_of(actor),
            note=note,
        )
        if actor is None:
            # An official template ships with the code, like the catalogs the migrations seed: the
            # deploy is its record (and a fresh database starts with an empty audit log).
            return template
        audit.record(
            "reports.template_publish",
            actor=actor,
            object_type="reports.template",
            object_id=template.pk,
            detail={"key": key, "version": template.version},
        )
    return template


def template_publish(
    *,
    actor: Viewer,
    key: str,
    title: str,
    number: str,
    periodicity: str,
    fill_level: str,
    receive_level: str,
    definition: Any,
    note: str,
) -> ReportTemplate:
    """A new active version of the template ``key`` (version 1 for a new key)."""
    scopes = scopes_for(actor, P.TEMPLATES)
    require_actor(
        actor,
        P.TEMPLATES,
        scopes[0] if scopes else "",
        action="reports.template_publish",
        object_type="reports.template",
    )
    cleaned = _check(
        key=key,
        title=title,
        number=number,
        periodicity=periodicity,
        fill_level=fill_level,
        receive_level=receive_level,
        definition=definition,
    )
    note = bounded_text(note, "note", NOTE_MAX, label=_("What changed"))
    return _publish(
        actor=actor,
        key=key,
        periodicity=periodicity,
        fill_level=fill_level,
        receive_level=receive_level,
        definition=definition,
        note=note,
        **cleaned,
    )


def seed_templates() -> int:
    """Publish the official templates of ``seeds`` that are missing or whose seeded text changed;
    answers how many versions it wrote (0 when all are current).

    Called after every ``migrate`` (``apps.ReportsConfig``), not from a data migration: a template
    is checked against the statistics the apps declare now (their manifests, the tag catalog), which
    a migration's frozen models cannot offer, and a change to a seed becomes a new version on the
    next deploy without writing a migration. A key whose latest version a person published
    (``created_by`` set) is theirs: seeds never replace it."""
    from shequ.reports.seeds import TEMPLATES

    written = 0
    for seed in TEMPLATES:
        latest = ReportTemplate.objects.filter(key=seed["key"]).order_by("-version").first()
        fields = {
            "title": seed["title"],
            "number": seed.get("number", ""),
            "periodicity": seed["periodicity"],
            "fill_level": seed.get("fill_level", RegionLevel.COMMUNITY),
            "receive_level": seed.get("receive_level", RegionLevel.COUNTY),
            "definition": seed["definition"],
        }
        if latest is not None and (
            latest.created_by_id is not None or all(getattr(latest, k) == v for k, v in fields.items())
        ):
            continue
        _check(key=seed["key"], **fields)
        note = "官方模板" if latest is None else "官方模板更新"
        _publish(actor=None, key=seed["key"], note=note, **fields)
        written += 1
    return written
