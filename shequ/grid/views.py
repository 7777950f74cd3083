"""Grid pages for staff and departments (the ticket page also serves its reporter)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from shequ.grid import selectors


@login_required
def ticket(request: HttpRequest, pk: int) -> HttpResponse:
    item = selectors.get_ticket_for(request.user, pk)
    return render(
        request,
        "grid/ticket.html",
        {"ticket": item, "timeline": selectors.timeline(item), "can": selectors.can(request.user, item)},
    )
