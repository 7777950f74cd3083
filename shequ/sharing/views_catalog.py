"""The public resource catalog (政务信息资源目录): what the platform offers for sharing — resources,
their owner, update frequency, sharing type, fields with their sensitivity, row filters and events
— and no data. No sign-in: anyone may read what could be shared and how it is protected."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from shequ.sharing import selectors_access as selectors
from shequ.sharing.forms_access import SENSITIVITY_WORDS, SHARING_WORDS


def _labelled(entry: dict[str, Any]) -> dict[str, Any]:
    entry["sharing_label"] = SHARING_WORDS.get(entry["sharing"], entry["sharing"])
    for field in entry["fields"]:
        field["sensitivity_label"] = SENSITIVITY_WORDS.get(field["sensitivity"], field["sensitivity"])
    return entry


@require_GET
def catalog(request: HttpRequest) -> HttpResponse:
    resources = [_labelled(entry) for entry in selectors.catalog()]
    return render(request, "sharing/catalog/list.html", {"resources": resources})


@require_GET
def catalog_resource(request: HttpRequest, key: str) -> HttpResponse:
    entry = next((r for r in selectors.catalog() if r["key"] == key), None)
    if entry is None:
        raise selectors.UnknownResource(key)
    return render(request, "sharing/catalog/resource.html", {"resource": _labelled(entry)})
