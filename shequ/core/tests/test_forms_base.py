"""Every form of the platform stands on ``core.forms.PlatformForm``, so its select boxes start with
请选择 (English msgid "Choose…") rather than Django's "---------"."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator

import pytest
from django import forms
from django.utils import translation

import shequ
from shequ.conftest import World
from shequ.core.forms import PlatformForm
from shequ.grid.forms import FilterForm, RoutingRuleForm
from shequ.registry.forms import BuildingForm

pytestmark = pytest.mark.django_db


def _subclasses(cls: type) -> Iterator[type]:
    sub: type
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_platform_form_stands_on_the_base_form() -> None:
    for module in pkgutil.walk_packages(shequ.__path__, "shequ."):
        if ".tests" not in module.name and ".migrations" not in module.name:
            importlib.import_module(module.name)
    ours = {c for c in _subclasses(forms.Form) if c.__module__.startswith("shequ.")}
    assert len(ours) > 40  # the import above found the platform's forms
    assert {f"{c.__module__}.{c.__name__}" for c in ours if not issubclass(c, PlatformForm)} == set()


def _options(form: forms.Form, name: str) -> str:
    return str(form[name])


def test_select_boxes_say_choose_not_dashes(world: World) -> None:
    with translation.override("zh-hans"):
        # A ModelChoiceField with Django's default empty label, and choices set in the form's __init__.
        rule = RoutingRuleForm(viewer=world["street"], scopes=["430104002001"])
        department = _options(rule, "department")
        assert "请选择" in department and "---------" not in department
        category = _options(rule, "category")  # required: its bare dash is a prompt
        assert '<option value="" selected>请选择</option>' in category
        road = _options(BuildingForm(), "road")  # optional model choice
        assert "请选择" in road and "---------" not in road
        # An optional filter's dash means "any" and stays.
        filters = FilterForm(statuses=[("submitted", "x")], regions=[])
        assert '<option value="" selected>—</option>' in _options(filters, "status")
