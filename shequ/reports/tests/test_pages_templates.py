"""The templates pages (province officers, ``reports.templates``): the list with versions, one
version previewed as its table and its JSON, publishing a new version from an uploaded file with
clear errors for a bad file or definition (nothing published); everybody else is refused."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from shequ.reports.models import ReportTemplate
from shequ.reports.tests.fixtures_pages import DEFINITION, Rep

pytestmark = pytest.mark.django_db

COVERED = {"reports:templates", "reports:template", "reports:template_publish"}


def main(response: Any) -> str:
    body = response.content.decode().split('<main id="main"', 1)[1].split("</main>", 1)[0]
    return re.sub(r"\s+", "", re.sub(r"<[^>]+>", " ", body))


def upload(definition: Any, **fields: str) -> dict[str, Any]:
    raw = definition if isinstance(definition, bytes) else json.dumps(definition, ensure_ascii=False).encode()
    return {
        "key": "test_population",
        "title": "人口基本情况统计表",
        "number": "测社统1表",
        "periodicity": "monthly",
        "fill_level": "community",
        "receive_level": "county",
        "note": "增加女性老年人口",
        "definition": SimpleUploadedFile("def.json", raw, content_type="application/json"),
        **fields,
    }


def test_templates_are_for_province_officers(rep: Rep) -> None:
    for who in ("worker_a", "street", "outsider", "auditor", "resident"):
        client = rep.client(who)
        assert client.get("/reports/templates/").status_code == 403, who
        assert client.get("/reports/templates/test_population/v1/").status_code == 403, who
        assert client.post("/reports/templates/publish/", upload(DEFINITION)).status_code == 403, who
    assert ReportTemplate.objects.filter(key="test_population").count() == 1


def test_list_preview_and_json(rep: Rep) -> None:
    client = rep.client(rep.province)
    page = main(client.get("/reports/templates/"))
    assert "人口基本情况统计表" in page and "测社统1表" in page and "第1版" in page
    preview = main(client.get("/reports/templates/test_population/v1/"))
    assert (
        "常住人口" in preview
        and "二、社区工作力量" in preview
        and "合计" in preview
        and "社区工作者人数" in preview
    )
    body = client.get("/reports/templates/test_population/v1/?format=json")
    assert json.loads(body.content) == DEFINITION
    assert client.get("/reports/templates/test_population/v7/").status_code == 404


def test_publish_a_new_version_from_a_file(rep: Rep) -> None:
    client = rep.client(rep.province)
    changed = {
        **DEFINITION,
        "rows": [*DEFINITION["rows"], {"key": "houses_note", "title": "备注", "manual": {"type": "text"}}],
    }
    response = client.post("/reports/templates/publish/", upload(changed))
    assert response.status_code == 302 and response["Location"] == "/reports/templates/test_population/v2/"
    versions = list(ReportTemplate.objects.filter(key="test_population").order_by("version"))
    assert [(t.version, t.active) for t in versions] == [(1, False), (2, True)]
    assert versions[1].note == "增加女性老年人口" and versions[1].created_by == rep.province
    assert "备注" in main(client.get(response["Location"]))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"{not json", "不是有效的JSON"),
        (b"[1, 2]", "JSON对象"),
        ({"rows": [{"key": "x", "title": "未知", "stat": "registry.nothing"}]}, "registry.nothing"),
        (
            {
                "rows": [
                    {
                        "key": "x",
                        "title": "人口",
                        "stat": "registry.residents",
                        "filters": {"gender": "other"},
                    }
                ]
            },
            "other",
        ),
    ],
)
def test_bad_definitions_are_refused_in_words(rep: Rep, content: Any, words: str) -> None:
    response = rep.client(rep.province).post("/reports/templates/publish/", upload(content))
    assert response.status_code == 400
    assert words in main(response)
    assert ReportTemplate.objects.filter(key="test_population").count() == 1
