"""Reading a 12345 hotline export's cells: times as the hotline systems write them, and the
category and community columns matched to the catalog and the importer's regions. Used by
``grid/hotline.py`` (the dry run and the commit)."""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from shequ.core import spreadsheets
from shequ.core import validators as v
from shequ.core.models import Region, RegionLevel
from shequ.grid.models import Category

_MOMENT = re.compile(
    r"^(\d{4})\s*[.\-/年]\s*(\d{1,2})\s*[.\-/月]\s*(\d{1,2})\s*日?\s*(?:T\s*)?"
    r"(?:(\d{1,2})\s*[:时点]\s*(\d{1,2})\s*(?:[:分]\s*(\d{1,2})(?:\.\d+)?\s*秒?|分)?)?$"
)
_COMPACT_MOMENT = re.compile(r"^(\d{4})(\d{2})(\d{2})\s*(\d{2})(\d{2})(\d{2})?$")


class CellError(ValueError):
    pass


def parse_moment(value: Any) -> dt.datetime | None:
    """A call time as an aware datetime (local time when the cell has no zone); None when empty."""
    if spreadsheets.is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, float) and not value.is_integer() and 0 < value < 80000:
        # An Excel serial number: days since 1899-12-30, the time as the fraction of a day.
        seconds = round((value - int(value)) * 86400)
        moment = dt.datetime.combine(spreadsheets.EXCEL_EPOCH, dt.time()) + dt.timedelta(
            days=int(value), seconds=seconds
        )
    else:
        text = spreadsheets.cell_text(value)  # half-width, one space between parts
        m = _MOMENT.match(text) or _COMPACT_MOMENT.match(text)
        try:
            if m:
                hour, minute, second = (int(part) if part else 0 for part in m.groups()[3:6])
                moment = dt.datetime(int(m[1]), int(m[2]), int(m[3]), hour, minute, second)
            else:
                day = spreadsheets.parse_date(value)
                if not isinstance(day, dt.date):
                    raise CellError("partial")
                moment = dt.datetime.combine(day, dt.time())
        except ValueError as exc:
            raise CellError(str(exc)) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _category_key(text: str) -> str:
    return re.sub(r"[\s/·、]+", "", v.normalize_text(text))


class CategoryIndex:
    """Active leaf categories by their Chinese name and code."""

    def __init__(self) -> None:
        self.by_key: dict[str, Category] = {}
        for cat in Category.objects.filter(is_active=True, parent__isnull=False).order_by("sort_order"):
            self.by_key.setdefault(_category_key(cat.name_zh), cat)
            self.by_key.setdefault(cat.code.lower(), cat)

    def find(self, text: str) -> Category | None:
        """``噪音扰民``, ``environment.noise`` or the last part that names one in
        ``城乡建设-市容环境-噪音扰民``."""
        if not text:
            return None
        whole = self.by_key.get(_category_key(text)) or self.by_key.get(text.strip().lower())
        if whole is not None:
            return whole
        for part in reversed(re.split(r"[-—>＞/|｜\\、]+", text)):
            found = self.by_key.get(_category_key(part))
            if found is not None:
                return found
        return None


def _region_key(text: str) -> str:
    return re.sub(r"\s+", "", v.normalize_text(text))


class RegionIndex:
    """The communities and grids of the importer's regions, by code and by name."""

    def __init__(self, scopes: Sequence[str]) -> None:
        self.scopes = list(scopes)
        q = Q(pk__in=[])
        for code in self.scopes:
            q |= Q(code__startswith=code)
        levels = (RegionLevel.STREET, RegionLevel.COMMUNITY, RegionLevel.GRID)
        regions = list(Region.objects.filter(q, level__in=levels).order_by("code"))
        # The streets above a community-level importer, to accept "岳麓街道枇杷塘社区".
        tops = {code[:9] for code in self.scopes if len(code) >= 9}
        regions += list(Region.objects.filter(code__in=tops - {r.code for r in regions}))
        self.by_code = {r.code: r for r in regions}
        self.names: dict[str, list[Region]] = defaultdict(list)
        streets = {r.code: r for r in regions if r.level == RegionLevel.STREET}
        communities = {r.code: r for r in regions if r.level == RegionLevel.COMMUNITY}
        for r in regions:
            if r.level == RegionLevel.STREET:
                continue
            names = {r.name}
            if r.level == RegionLevel.COMMUNITY:
                names |= {r.name.removesuffix("社区"), r.name.removesuffix("村")} - {""}
            else:  # a grid by its community's name and its own
                community = communities.get(r.code[:12])
                names = {community.name + r.name} if community else set()
            street = streets.get(r.code[:9])
            for name in list(names):
                if street is not None:
                    names.add(street.name + name)
            for name in names:
                self.names[_region_key(name)].append(r)

    def find(self, community: Any, street: Any = "") -> Region:
        text = spreadsheets.cell_text(community)
        code = v.normalize_code(text)
        if code.isdigit():
            try:
                code = v.clean_region_code(code)
            except ValidationError as exc:
                raise CellError(_("This is not a community code.")) from exc
            region = self.by_code.get(code)
            if region is None or region.level == RegionLevel.STREET:
                raise CellError(_("There is no community or grid with this code in your area."))
            return region
        found = list(dict.fromkeys(self.names.get(_region_key(text), [])))
        street_text = _region_key(spreadsheets.cell_text(street))
        if street_text and len(found) > 1:
            found = [r for r in found if self._street_name(r) in (street_text, street_text + "街道")]
        if not found:
            raise CellError(_("There is no community named “%(name)s” in your area.") % {"name": text[:40]})
        if len(found) > 1:
            raise CellError(
                _("Several communities in your area are named “%(name)s”: give the street or the code.")
                % {"name": text[:40]}
            )
        return found[0]

    def _street_name(self, region: Region) -> str:
        street = self.by_code.get(region.code[:9])
        return _region_key(street.name) if street else ""
