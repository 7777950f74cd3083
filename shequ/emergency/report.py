"""A call-out's closing report: the summary, the counts per grid, the full timeline (the call-out's
own steps merged with each person's answer time), those who never answered and those who asked
for help — as a page and as an Excel workbook (``core.excel``).

Names and homes are personal data: the people listed are limited to the viewer's regions, and the
workbook (``report_workbook``) is for holders of ``emergency.mobilize`` (the view checks and
audits); phone numbers are never in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from shequ.core import excel
from shequ.core.permissions import Viewer, scope_q
from shequ.core.selectors import region_names
from shequ.emergency.models import (
    Answer,
    Mobilization,
    MobilizationStatus,
    MobilizationStep,
    Recipient,
    TargetKind,
    Via,
)
from shequ.emergency.permissions import EmergencyPerm as P
from shequ.emergency.selectors import GridCount, roll_call

TIMELINE_ON_PAGE = 300  # the page shows the first steps; the workbook has them all
# The model's "Closed" is shared with other apps' msgids (a registered unit's "deregistered").
STEP_WORDS = {MobilizationStep.CLOSED: pgettext_lazy("call-out", "Closed")}
STATUS_WORDS = {
    MobilizationStatus.OPEN: pgettext_lazy("call-out", "Open"),
    MobilizationStatus.CLOSED: pgettext_lazy("call-out", "Closed"),
}


def status_words(mobilization: Mobilization) -> str:
    return str(STATUS_WORDS[MobilizationStatus(mobilization.status)])


def step_words(step: str) -> str:
    return str(STEP_WORDS.get(MobilizationStep(step), MobilizationStep(step).label))


@dataclass(frozen=True)
class Step:
    at: datetime
    what: str
    who: str
    grid: str
    count: int | None
    note: str


@dataclass
class ClosingReport:
    mobilization: Mobilization
    grids: list[GridCount]
    total: int
    answered: int
    counts: list[tuple[str, str, int]]  # answer, label, people
    timeline: list[Step]
    silent: list[Recipient]
    help_needed: list[Recipient]
    grid_names: dict[str, str]

    @property
    def pending(self) -> int:
        return self.total - self.answered

    @property
    def share(self) -> int:
        return self.answered * 100 // self.total if self.total else 0


def _answer_words(r: Recipient) -> str:
    label = str(Answer(r.answer).label)
    via = str(Via(r.via).label) if r.via else ""
    text = _("%(name)s answered “%(answer)s”") % {"name": r.name, "answer": label}
    return f"{text}（{via}）" if via else text


def closing_report(*, mobilization: Mobilization, viewer: Viewer) -> ClosingReport:
    """The report of a call-out the viewer was given by ``mobilization_get_for``; the people in it
    are those of the viewer's own regions."""
    view = roll_call(mobilization=mobilization, viewer=viewer)
    people = Recipient.objects.filter(mobilization=mobilization).filter(scope_q(viewer, P.VIEW))
    names = region_names(sorted(set(people.values_list("region_code", flat=True))))
    steps: list[Step] = []
    entries = list(mobilization.entries.select_related("actor"))
    # An escalation's note lists the grids' codes: say their names.
    escalated = {c for e in entries if e.step == MobilizationStep.ESCALATED for c in e.note.split(", ") if c}
    names.update(region_names(sorted(escalated - set(names))))
    for e in entries:
        note = e.note
        if e.step == MobilizationStep.ESCALATED:
            note = "、".join(names.get(c, c) for c in e.note.split(", ") if c)
        steps.append(
            Step(
                e.at,
                step_words(e.step),
                e.actor.name if e.actor is not None else _("The platform"),
                "",
                e.count,
                note,
            )
        )
    answered = people.exclude(answer=Answer.PENDING).exclude(answered_at=None).order_by("answered_at", "pk")
    for r in answered.only("name", "answer", "via", "answered_at", "region_code", "location", "note"):
        assert r.answered_at is not None
        note = " ".join(x for x in (r.location, r.note) if x)
        steps.append(Step(r.answered_at, _answer_words(r), r.name, names.get(r.region_code, ""), None, note))
    steps.sort(key=lambda s: s.at)
    silent = list(people.filter(answer=Answer.PENDING).order_by("region_code", "name", "pk"))
    help_needed = list(people.filter(answer=Answer.HELP).order_by("answered_at", "pk"))
    counts = [
        (a, str(Answer(a).label), view.totals.get(a, 0))
        for a in Answer.values
        if view.totals.get(a, 0) or a == Answer.PENDING
    ]
    return ClosingReport(
        mobilization=mobilization,
        grids=view.grids,
        total=view.total,
        answered=view.answered,
        counts=counts,
        timeline=steps,
        silent=silent,
        help_needed=help_needed,
        grid_names=names,
    )


def _local(at: datetime | None) -> Any:
    return timezone.localtime(at) if at is not None else ""


def report_workbook(report: ClosingReport, *, exported_by: str, now: datetime | None = None) -> bytes:
    """The workbook: summary, grids, timeline, non-responders, help requests (never phone numbers)."""
    m = report.mobilization
    now = now or timezone.now()
    drill = "【演练】" if m.is_drill else ""
    title = f"{drill}{m.title}"
    info = _("%(region)s · exported by %(who)s · %(at)s") % {
        "region": m.region.name,
        "who": exported_by,
        "at": timezone.localtime(now).strftime("%Y-%m-%d %H:%M"),
    }
    yes, no = _("Yes"), _("No")
    summary_rows: list[list[Any]] = [
        [_("Call-out"), title],
        [_("Drill"), yes if m.is_drill else no],
        [_("Region"), m.region.name],
        [_("Sent by"), m.created_by.name if m.created_by else _("The platform")],
        [_("Sent at"), _local(m.created_at)],
        [_("Closed at"), _local(m.closed_at)],
        [_("Message"), m.body],
        [_("People called out"), report.total],
        [_("Answered"), report.answered],
        [_("Share answered (%)"), report.share],
        *[[label, n] for _a, label, n in report.counts],
    ]
    grid_rows = [
        [
            g.name,
            g.region_code,
            g.total,
            g.answered,
            g.counts.get(Answer.SAFE, 0) + g.counts.get(Answer.ACK, 0),
            g.help,
            g.pending,
            g.share,
        ]
        for g in report.grids
    ]
    timeline_rows = [[_local(s.at), s.what, s.who, s.grid, s.count, s.note] for s in report.timeline]
    silent_rows = [
        [
            report.grid_names.get(r.region_code, r.region_code),
            r.name,
            r.place,
            str(TargetKind(r.target).label),
            r.sends,
            _local(r.escalated_at),
        ]
        for r in report.silent
    ]
    help_rows = [
        [
            _local(r.answered_at),
            report.grid_names.get(r.region_code, r.region_code),
            r.name,
            r.place,
            r.location,
            r.note,
            r.ticket_ref,
        ]
        for r in report.help_needed
    ]
    C = excel.Column
    sheets = [
        excel.Sheet(_("Summary"), title, [C(_("Item"), 20), C(_("Value"), 60)], summary_rows, info),
        excel.Sheet(
            _("Grids"),
            _("%(title)s: answers per grid") % {"title": title},
            [
                C(_("Grid"), 24),
                C(_("Grid code"), 18),
                C(_("Called out"), 10, text=False),
                C(_("Answered"), 10, text=False),
                C(_("Safe or received"), 12, text=False),
                C(_("Need help"), 10, text=False),
                C(_("Not answered"), 10, text=False),
                C(_("Share answered (%)"), 12, text=False),
            ],
            grid_rows,
            info,
        ),
        excel.Sheet(
            _("Timeline"),
            _("%(title)s: timeline") % {"title": title},
            [
                C(_("Time"), 20),
                C(_("What"), 40),
                C(_("Who"), 14),
                C(_("Grid"), 20),
                C(_("People"), 8),
                C(_("Note"), 30),
            ],
            timeline_rows,
            info,
        ),
        excel.Sheet(
            _("Not answered"),
            _("%(title)s: people who did not answer") % {"title": title},
            [
                C(_("Grid"), 20),
                C(_("Name"), 12),
                C(_("Home address"), 36),
                C(_("Called out as"), 14),
                C(_("Times sent"), 10, text=False),
                C(_("Passed to grid worker"), 20),
            ],
            silent_rows,
            info,
        ),
        excel.Sheet(
            _("Help asked"),
            _("%(title)s: people who asked for help") % {"title": title},
            [
                C(_("Time"), 20),
                C(_("Grid"), 20),
                C(_("Name"), 12),
                C(_("Home address"), 36),
                C(_("Where they are"), 24),
                C(_("Note"), 24),
                C(_("Ticket"), 10),
            ],
            help_rows,
            info,
        ),
    ]
    return excel.workbook_bytes(sheets)
