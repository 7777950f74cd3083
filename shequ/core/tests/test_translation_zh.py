"""The zh-Hans translation: Chinese by default, English on request, domain terms from the glossary,
and no entry that loses or invents a placeholder (a wrong one raises at run time)."""

from __future__ import annotations

import re
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from shequ.core.models import DepartmentKind, RegionKind, RegionLevel, Role

PO = Path(settings.BASE_DIR) / "shequ/locale/zh_Hans/LC_MESSAGES/django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.django_db
def test_pages_are_chinese_by_default_and_english_on_request() -> None:
    page = Client().get("/login/").content.decode()
    assert 'lang="zh-Hans"' in page
    assert "<h1>登录</h1>" in page and "用户名" in page and "长辈模式" in page
    english = Client(headers={"Accept-Language": "en"}).get("/login/").content.decode()
    assert 'lang="en"' in english and "<h1>Sign in</h1>" in english and "Elderly mode" in english


@pytest.mark.django_db
def test_api_errors_follow_the_language() -> None:
    assert Client().get("/api/v1/me").json()["message"] == "需要身份认证。"
    english = Client(headers={"Accept-Language": "en"}).get("/api/v1/me").json()
    assert english["message"] == "Authentication is required."


def test_roles_regions_and_departments_use_the_glossary_terms() -> None:
    with translation.override("zh-hans"):
        for choices in (Role, RegionLevel, RegionKind, DepartmentKind):
            for member in choices:
                assert CJK.search(str(member.label)), (choices.__name__, member.value, member.label)
        assert str(Role.GRID_WORKER.label) == "网格员"
        assert str(Role.COMMUNITY_WORKER.label) == "社区工作者"
        assert str(Role.SYSTEM_ADMIN.label) == "系统管理员"
        assert str(Role.SECURITY_ADMIN.label) == "安全管理员"
        assert str(Role.AUDITOR.label) == "审计员"
        assert str(RegionLevel.STREET.label) == "街道（乡镇）"
        assert str(DepartmentKind.POLICE.label) == "派出所"


def test_every_entry_is_translated_with_the_same_placeholders() -> None:
    po = polib.pofile(str(PO))
    assert po.metadata["Language"] == "zh_Hans"
    assert po.metadata["Plural-Forms"].replace(" ", "") == "nplurals=1;plural=0;"
    assert "charset=UTF-8" in po.metadata["Content-Type"]
    assert not po.fuzzy_entries() and not po.untranslated_entries()
    for entry in po:
        expected = sorted(set(PLACEHOLDER.findall(entry.msgid)))
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        for text in translations:
            assert sorted(set(PLACEHOLDER.findall(text))) == expected, (entry.msgid, text)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_date_pickers_hold_iso_dates_in_every_language(language: str) -> None:
    # A browser's date input accepts only yyyy-mm-dd: the zh-Hans format (2026/11/01) left the
    # pickers empty, and an edit form posted back unchanged lost its date.
    from datetime import date

    from shequ.core.forms import DateInput

    with translation.override(language):
        html = DateInput().render("day", date(2026, 11, 1))
    assert 'type="date"' in html and 'value="2026-11-01"' in html
