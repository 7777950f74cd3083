"""Bulk device registration from Excel (``iot:device_import``): upload → dry run (every problem by
row, column and reason) → commit of the valid rows → the new devices' tokens, once, as a workbook.

The file is read with the core's tolerant spreadsheet reading (a title above the header, the names
ledgers give the columns, full-width digits). Each row is checked as ``device_register`` checks a
device (``devices.clean_device``), plus: the region (a grid or community code in the importer's
``iot.manage`` regions), the place (a house's or building's standard address in that community),
the owning organization and the key place (by name, among the registry's of that community), the
no-parking flag, and codes and vendor serial numbers unique in the file and on the platform.
Between the dry run and the commit the upload is kept encrypted for its uploader only, like the
12345 import's (``core/uploads.py``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from shequ.core import audit, excel, spreadsheets, uploads
from shequ.core import validators as v
from shequ.core.models import AuditResult, Region, RegionLevel
from shequ.core.permissions import Viewer, has_perm, scopes_for
from shequ.core.spreadsheets import Col, Problem, Report, Row
from shequ.iot.models import Device, DeviceKind
from shequ.iot.permissions import IotPerm as P
from shequ.iot.services import devices

KIND = "iot_devices"
MAX_ROWS = 5000
AUDIT_BATCH = 1000

COLUMNS: tuple[Col, ...] = (
    Col("code", gettext_lazy("Device code"), ("设备编码", "设备编号", "编码"), True, example="door-0001"),
    Col("name", gettext_lazy("Device name"), ("名称", "设备名称"), True, example="3栋2单元门禁"),
    Col("kind", gettext_lazy("Type"), ("类型", "设备类型"), True, example="门禁控制器"),
    Col("vendor", gettext_lazy("Vendor"), ("厂商", "生产厂商", "品牌"), True, example="海康威视"),
    Col("model", gettext_lazy("Model"), ("型号", "设备型号"), example="DS-K1T671"),
    Col(
        "serial", gettext_lazy("Serial number"), ("序列号", "设备序列号", "SN"), True, example="SN2026000123"
    ),
    Col(
        "region",
        gettext_lazy("Grid or community code"),
        ("网格/社区代码", "网格代码", "社区代码", "区划代码"),
        True,
        example="430104002001001",
    ),
    Col("place", gettext_lazy("Building or house"), ("楼栋/门牌", "楼栋", "门牌", "安装地址"), example=""),
    Col("longitude", gettext_lazy("Longitude"), ("经度",), example="112.943"),
    Col("latitude", gettext_lazy("Latitude"), ("纬度",), example="28.178"),
    Col(
        "location_note",
        gettext_lazy("Location description"),
        ("位置说明", "安装位置", "位置"),
        example="3栋2单元入口",
    ),
    Col("no_parking", gettext_lazy("No-parking zone"), ("禁停区", "是否禁停区"), example="否"),
    Col(
        "organization",
        gettext_lazy("Owning organization"),
        ("物业/所属单位", "所属单位", "物业公司", "物业", "产权单位"),
        example="",
    ),
    Col("key_place", gettext_lazy("Key place"), ("重点场所", "所在重点场所"), example=""),
)
YES = frozenset({"是", "y", "yes", "true", "1", "√"})
NO = frozenset({"否", "n", "no", "false", "0", ""})


def _lookup() -> dict[str, str]:
    return spreadsheets.header_lookup(COLUMNS)


def _kinds() -> dict[str, str]:
    """Type names as people write them: the code, the English and the Chinese label."""
    names: dict[str, str] = {}
    for value, label in DeviceKind.choices:
        names[spreadsheets.squash(value)] = value
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                names[spreadsheets.squash(str(label))] = value
    return names


@dataclass
class DeviceRow:
    number: int
    region: Region
    fields: dict[str, Any]
    building: Any = None
    house: Any = None
    key_place: Any = None
    organization: Any = None
    no_parking: bool = False


@dataclass
class Plan:
    report: Report
    rows: list[DeviceRow] = field(default_factory=list)


def import_scopes(actor: Viewer) -> list[str]:
    scopes = scopes_for(actor, P.MANAGE)
    if not scopes:
        raise PermissionDenied(_("You may not register IoT devices."))
    return scopes


def _region(row: Row, scopes: list[str], regions: dict[str, Region]) -> Region | None:
    code = v.normalize_text(row.text("region")).replace(" ", "")
    if not code:
        row.add("region", _("The grid or community code is required."), "required")
        return None
    region = regions.get(code)
    if region is None or region.level not in (RegionLevel.GRID, RegionLevel.COMMUNITY):
        row.add(
            "region", _("No grid or community has the code %(code)s.") % {"code": code[:20]}, "unknown_region"
        )
        return None
    if not any(code.startswith(s) for s in scopes):
        row.add("region", _("%(code)s is outside your regions.") % {"code": code}, "out_of_scope")
        return None
    return region


def _place(row: Row, actor: Viewer, region: Region, out: DeviceRow) -> None:
    from shequ.registry.selectors import building_list, house_list

    text = v.normalize_text(row.text("place"))
    if not text:
        return
    community = region.code[:12]
    house = house_list(viewer=actor, region_code=community).filter(address=text).first()
    if house is not None:
        out.house, out.building = house, house.building
        return
    building = building_list(viewer=actor, region_code=community).filter(address=text).first()
    if building is None:
        row.add(
            "place",
            _("No building or house with this standard address in the community: copy it from the registry."),
            "unknown_place",
        )
    out.building = building


@dataclass
class Names:
    """The registry's organizations and key places by name, per community (read once per file)."""

    actor: Viewer
    organizations: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    key_places: dict[str, dict[str, list[Any]]] = field(default_factory=dict)

    def find(self, key: str, community: str, text: str) -> list[Any]:
        from shequ.registry.selectors import key_place_list, organization_list

        cache = self.organizations if key == "organization" else self.key_places
        if community not in cache:
            rows: Any
            if key == "organization":
                rows = organization_list(viewer=self.actor, region_code=community).exclude(status="closed")
            else:
                rows = key_place_list(viewer=self.actor, region_code=community)
            named: dict[str, list[Any]] = {}
            for obj in rows:
                named.setdefault(v.normalize_text(obj.name), []).append(obj)
                if getattr(obj, "uscc", ""):
                    named.setdefault(obj.uscc.upper(), []).append(obj)
            cache[community] = named
        return cache[community].get(text, []) or cache[community].get(text.upper(), [])

    def elsewhere(self, key: str, community: str, text: str) -> str:
        """The community code of a same-named row the importer sees in another community, if any."""
        from shequ.registry.selectors import key_place_list, organization_list

        rows = (
            organization_list(viewer=self.actor)
            if key == "organization"
            else key_place_list(viewer=self.actor)
        )
        other = rows.filter(name=text).exclude(region_code__startswith=community).first()
        return other.region_code[:12] if other is not None else ""


NAMED = {
    "organization": (
        gettext_lazy(
            "No organization of this name or credit code in the device's community (%(community)s): "
            "copy it from the registry's organizations of that community."
        ),
        gettext_lazy("Several organizations of the community have this name: write its credit code."),
    ),
    "key_place": (
        gettext_lazy(
            "No key place of this name in the device's community (%(community)s): "
            "copy it from the registry's key places of that community."
        ),
        gettext_lazy("Several key places of the community have this name."),
    ),
}


def _named(row: Row, region: Region, names: Names, out: DeviceRow) -> None:
    """The owning organization and the key place, by name in the device's community only: one of
    another community is not found there, and is refused like an unknown name."""
    community = region.code[:12]
    for key, (missing, several) in NAMED.items():
        text = v.normalize_text(row.text(key))
        if not text:
            continue
        found = names.find(key, community, text)
        other = "" if found else names.elsewhere(key, community, text)
        if other:
            row.add(
                key,
                _("“%(name)s” belongs to another community (%(other)s), not the device's (%(community)s).")
                % {"name": text[:50], "other": other, "community": community},
                "other_community",
            )
        elif not found:
            row.add(key, str(missing) % {"community": community}, "unknown_" + key)
        elif len(found) > 1:
            row.add(key, str(several), "ambiguous_" + key)
        else:
            setattr(out, key, found[0])


def _check_row(
    row: Row,
    actor: Viewer,
    scopes: list[str],
    regions: dict[str, Region],
    kinds: dict[str, str],
    names: Names,
) -> DeviceRow | None:
    kind = kinds.get(spreadsheets.squash(row.text("kind")), "")
    try:
        cleaned = devices.clean_device(
            code=row.text("code"),
            name=row.text("name"),
            kind=kind,
            vendor=row.text("vendor"),
            serial=v.normalize_text(spreadsheets.id_text(row.cells.get("serial"))),
            model=row.text("model"),
            location_note=row.text("location_note"),
            latitude=row.text("latitude"),
            longitude=row.text("longitude"),
        )
    except ValidationError as exc:
        cleaned = None
        for key, messages in exc.message_dict.items():
            row.add(key, " ".join(messages), "invalid")
    except spreadsheets.DamagedNumber:
        cleaned = None
        row.add(
            "serial",
            _("Excel turned this number into a rounded number: format the column as text."),
            "damaged_number",
        )
    flag = spreadsheets.squash(row.text("no_parking"))
    if flag not in YES | NO:
        row.add("no_parking", _("Write 是 or 否."), "invalid")
    region = _region(row, scopes, regions)
    out = DeviceRow(row.number, region, cleaned or {}, no_parking=flag in YES) if region is not None else None
    if out is not None:
        _place(row, actor, region, out)  # type: ignore[arg-type]
        _named(row, region, names, out)  # type: ignore[arg-type]
    if cleaned is not None:
        row.key = cleaned["code"]
    return out if cleaned is not None and not row.problems else None


def _digest(rows: list[DeviceRow]) -> str:
    text = ",".join(f"{r.number}:{r.fields['code']}" for r in rows)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check(*, content: bytes, filename: str, actor: Viewer) -> Plan:
    """The dry run: read and check every row. Writes nothing."""
    scopes = import_scopes(actor)
    report = Report(kind=KIND, filename=filename[:200], region_code=", ".join(scopes))
    plan = Plan(report=report)
    opened = spreadsheets.open_table(content, filename, report, lookup=_lookup(), columns=COLUMNS)
    if opened is None:
        return plan
    table, header = opened
    rows = list(spreadsheets.data_rows(table, header, report))
    report.data_rows = len(rows)
    if len(rows) > MAX_ROWS:
        report.problems.append(
            Problem(
                None,
                "",
                None,
                _("At most %(n)d devices per file: split it.") % {"n": MAX_ROWS},
                "too_many_rows",
            )
        )
        return plan
    codes = {v.normalize_text(r.text("region")).replace(" ", "") for r in rows}
    regions = {r.code: r for r in Region.objects.filter(code__in=codes)}
    kinds = _kinds()
    names = Names(actor)
    checked = {row.number: _check_row(row, actor, scopes, regions, kinds, names) for row in rows}
    bad = spreadsheets.duplicates_in_file(
        rows, "code", _("The same device code is also in row %(rows)s."), "duplicate_in_file"
    )
    for row in rows:
        done = checked[row.number]
        row.key = (done.fields["vendor"], done.fields["serial"]) if done is not None else None
    bad |= spreadsheets.duplicates_in_file(
        rows, "serial", _("The same vendor and serial number are also in row %(rows)s."), "duplicate_in_file"
    )
    valid = [r for n, r in sorted(checked.items()) if r is not None and n not in bad]
    known_codes = set(
        Device.objects.filter(code__in=[r.fields["code"] for r in valid]).values_list("code", flat=True)
    )
    serials = {(r.fields["vendor"], r.fields["serial"]) for r in valid}
    known_serials = {
        (vendor, serial)
        for vendor, serial in Device.objects.filter(serial__in=[s for _v, s in serials]).values_list(
            "vendor", "serial"
        )
    }
    by_number = {row.number: row for row in rows}
    for r in list(valid):
        row = by_number[r.number]
        if r.fields["code"] in known_codes:
            row.add("code", _("A device with this code is already registered."), "exists")
        if (r.fields["vendor"], r.fields["serial"]) in known_serials:
            row.add(
                "serial", _("This vendor's device with this serial number is already registered."), "exists"
            )
        if row.problems:
            valid.remove(r)
    for row in rows:
        report.problems.extend(row.problems)
    report.problems.sort(key=lambda p: (p.row or 0, p.col if p.col is not None else -1))
    report.valid_count = len(valid)
    report.valid_digest = _digest(valid)
    report.plan = {"devices": len(valid), "no_parking": sum(1 for r in valid if r.no_parking)}
    plan.rows = valid
    return plan


# --- Kept uploads -------------------------------------------------------------------------------

UPLOADS = uploads.Keeper(folder="iot/device-imports", purpose="iot.device_import", perm=P.MANAGE)
Upload = uploads.KeptUpload  # ``committed``: the device codes its commit registered


def load_upload(*, actor: Viewer, token: str) -> Upload:
    """The caller's own kept upload; 404 for anyone else's or an expired one."""
    return UPLOADS.load(actor=actor, token=token)


def upload_check(*, actor: Viewer, filename: str, content: bytes, request: HttpRequest | None = None) -> str:
    """The dry run of an upload, kept for its commit; returns the upload's token."""
    try:
        plan = check(content=content, filename=filename, actor=actor)
    except PermissionDenied:
        audit.record("iot.device_import_check", actor=actor, request=request, result=AuditResult.DENIED)
        raise
    upload = UPLOADS.keep(actor=actor, filename=filename, content=content, report=plan.report)
    audit.record(
        "iot.device_import_check",
        actor=actor,
        request=request,
        region_code=plan.report.region_code.split(", ")[0],
        object_type="iot.device_import",
        object_id=upload.token,
        detail={"file": upload.filename, "rows": plan.report.data_rows, "valid": plan.report.valid_count},
    )
    return upload.token


@dataclass
class CommitResult:
    status: str  # committed | changed | invalid
    message: str = ""
    tokens: list[tuple[str, str, str]] = field(default_factory=list)  # (code, name, token)


def upload_commit(
    *, actor: Viewer, upload: Upload, expect_count: int, request: HttpRequest | None = None
) -> CommitResult:
    """Register every valid row of a kept upload in one transaction (all or nothing), after checking
    the file again; the user confirmed ``expect_count`` rows. Answers the tokens (never stored)."""
    if upload.committed is not None:
        return CommitResult("invalid", _("This file was imported already."))
    if expect_count != upload.report.valid_count:
        return CommitResult("changed", _("Confirm the number of rows shown on the report."))
    if not has_perm(actor, P.MANAGE):
        raise PermissionDenied(_("You may not register IoT devices."))
    plan = check(content=upload.content, filename=upload.filename, actor=actor)
    if not plan.report.ok or not plan.rows:
        return CommitResult("invalid", _("The file has no rows that can be imported."))
    if (plan.report.valid_count, plan.report.valid_digest) != (
        upload.report.valid_count,
        upload.report.valid_digest,
    ):
        return CommitResult(
            "changed", _("The rows that can be imported changed since the check: look at the report again.")
        )
    tokens: list[tuple[str, str, str]] = []
    try:
        with (
            transaction.atomic(),
            audit.batch(
                "iot.device_import",
                actor=actor,
                request=request,
                object_type="iot.device",
                detail={"file": upload.filename},
                size=AUDIT_BATCH,
            ),
        ):
            for row in plan.rows:
                device, token = devices.device_register(
                    actor=actor,
                    region=row.region,
                    building=row.building,
                    house=row.house,
                    key_place=row.key_place,
                    organization=row.organization,
                    no_parking=row.no_parking,
                    request=request,
                    **row.fields,
                )
                tokens.append((device.code, device.name, token))
    except ValidationError as exc:  # registered by someone else between the check and the write
        return CommitResult(
            "changed", _("Nothing was imported: %(reason)s") % {"reason": " ".join(exc.messages)}
        )
    upload.content, upload.committed, upload.report = b"", [t[0] for t in tokens], plan.report
    UPLOADS.save(upload, actor)
    return CommitResult("committed", tokens=tokens)


def tokens_workbook(tokens: list[tuple[str, str, str]], *, actor: Viewer) -> bytes:
    """The new devices' tokens, the only copy: the platform keeps only their hashes."""
    when = timezone.localtime().strftime("%Y-%m-%d %H:%M")
    return excel.workbook_bytes(
        [
            excel.Sheet(
                name=str(_("Device tokens")),
                title=str(_("Device tokens")),
                info=_("Issued %(when)s to %(who)s · keep this file safe: the tokens cannot be shown again")
                % {"when": when, "who": getattr(actor, "username", "")},
                columns=[
                    excel.Column(str(_("Device code")), 20),
                    excel.Column(str(_("Device name")), 24),
                    excel.Column(str(_("Token")), 44),
                ],
                rows=tokens,
            )
        ]
    )


def template_workbook() -> bytes:
    columns = [excel.Column(str(_("No.")), 8)] + [
        excel.Column(str(c.synonyms[0]) + ("*" if c.required else ""), 18) for c in COLUMNS
    ]
    kinds = "、".join(str(label) for _v, label in DeviceKind.choices)
    return excel.workbook_bytes(
        [
            excel.Sheet(
                name=str(_("Devices")),
                title=str(_("IoT device registration")),
                info=_(
                    "One device per row; the example row is not imported. Columns marked * are required. "
                    "Types: %(kinds)s."
                )
                % {"kinds": kinds},
                columns=columns,
                rows=[[str(_("Example")), *(c.example for c in COLUMNS)]],
            )
        ]
    )


def error_workbook(*, upload: Upload, actor: Viewer) -> bytes:
    return spreadsheets.error_workbook(content=upload.content, report=upload.report, actor=actor)
