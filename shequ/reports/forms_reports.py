"""Forms of the report pages: they parse input; the services (``shequ.reports.services``) check
values and decide."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from shequ.core.forms import PlatformForm
from shequ.core.models import RegionLevel
from shequ.reports.definitions import Row
from shequ.reports.models import InstanceStatus, Periodicity

REASON_MAX = 500
DEFINITION_MAX_BYTES = 256 * 1024


class IndexFilterForm(PlatformForm):
    """The index's filters; a wrong value is said next to its box and filters nothing (a stale
    bookmark still opens the list)."""

    template = forms.ChoiceField(label=pgettext_lazy("report filter", "Report"), required=False)
    period = forms.ChoiceField(label=pgettext_lazy("report filter", "Period"), required=False)
    # Chosen with the status buttons above the form (a hidden box keeps it while filtering).
    status = forms.ChoiceField(
        required=False, choices=[("", _("All")), *InstanceStatus.choices], widget=forms.HiddenInput
    )

    def __init__(
        self,
        data: Any,
        *,
        templates: Sequence[tuple[str, str]],
        periods: Sequence[tuple[date, str]],
    ) -> None:
        super().__init__(data)
        template_field = self.fields["template"]
        period_field = self.fields["period"]
        assert isinstance(template_field, forms.ChoiceField) and isinstance(period_field, forms.ChoiceField)
        template_field.choices = [("", _("All")), *templates]
        period_field.choices = [("", _("All")), *((d.isoformat(), label) for d, label in periods)]

    def filters(self) -> dict[str, Any]:
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {
            "template_key": data.get("template") or None,
            "period_start": date.fromisoformat(data["period"]) if data.get("period") else None,
            "status": data.get("status") or None,
        }


class ManualForm(PlatformForm):
    """The region's manual fields, one box per manual row of the definition (named by the row key).
    The form only carries text: ``instance_save_manual`` checks types, ranges and required fields
    and says what is wrong in words, so one place knows the rules."""

    def __init__(self, data: Any, *, rows: Sequence[Row], initial: dict[str, Any]) -> None:
        super().__init__(data, initial=initial)
        for row in rows:
            spec = row.manual
            assert spec is not None
            attrs: dict[str, str] = {}
            hint = [gettext("needed to submit")] if spec.required else []
            if row.unit:
                hint.append(gettext("Unit: %(unit)s") % {"unit": row.unit})
            if spec.min is not None and spec.max is not None:
                hint.append(gettext("from %(min)s to %(max)s") % {"min": spec.min, "max": spec.max})
            if spec.type == "int":
                attrs["inputmode"] = "numeric"
            elif spec.type == "decimal":
                attrs["inputmode"] = "decimal"
            if spec.type == "choice":
                choices = [("", "—"), *((o, o) for o in spec.options)]
                widget: forms.Widget = forms.Select(choices=choices)
            elif spec.type == "text" and spec.max_length > 100:
                widget = forms.Textarea(attrs={"rows": 3})
            else:
                widget = forms.TextInput(attrs=attrs)
            self.fields[row.key] = forms.CharField(
                label=row.title,
                required=False,
                max_length=max(spec.max_length, 40),
                help_text="；".join(hint),
                widget=widget,
            )


class ReturnForm(PlatformForm):
    reason = forms.CharField(
        label=_("Why is it returned?"),
        max_length=REASON_MAX,
        help_text=_("The community reads this first: say what to check or fix."),
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Say why the report is returned.")},
    )


class PublishForm(PlatformForm):
    """A new version of a template from an uploaded JSON definition."""

    key = forms.SlugField(
        label=pgettext_lazy("report template", "Key"), max_length=64, help_text=_("e.g. community_basic")
    )
    title = forms.CharField(label=pgettext_lazy("report template", "Title"), max_length=120)
    number = forms.CharField(label=_("Form number (表号)"), max_length=60, required=False)
    periodicity = forms.ChoiceField(label=_("Periodicity"), choices=Periodicity.choices)
    fill_level = forms.ChoiceField(
        label=_("Filled by"),
        choices=[(RegionLevel.COMMUNITY, RegionLevel.COMMUNITY.label)],
        initial=RegionLevel.COMMUNITY,
    )
    receive_level = forms.ChoiceField(
        label=_("Received by"),
        choices=[
            (level, level.label) for level in (RegionLevel.COUNTY, RegionLevel.CITY, RegionLevel.PROVINCE)
        ],
    )
    definition = forms.FileField(
        label=_("Definition (JSON file)"),
        help_text=_("Rows, columns and manual fields; download a published version's file as an example."),
    )
    note = forms.CharField(label=_("What changed"), max_length=300)

    def clean_definition(self) -> dict[str, Any]:
        upload = self.cleaned_data["definition"]
        if upload.size > DEFINITION_MAX_BYTES:
            raise forms.ValidationError(_("The file is larger than 256 KB: it cannot be a definition."))
        try:
            parsed = json.loads(upload.read().decode("utf-8-sig"))
        except UnicodeDecodeError as exc:
            raise forms.ValidationError(_("The file is not UTF-8 text.")) from exc
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(
                _("The file is not valid JSON: line %(line)d, column %(col)d: %(msg)s"),
                params={"line": exc.lineno, "col": exc.colno, "msg": exc.msg},
            ) from exc
        if not isinstance(parsed, dict):
            raise forms.ValidationError(_("The definition must be a JSON object with rows."))
        return parsed
