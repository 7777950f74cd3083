"""Inbox pages: a person's own messages (other people's answer 404), read and acknowledge."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from shequ.core import messaging, selectors
from shequ.core.models import Message

PAGE_SIZE = 30
FILTERS = (("all", gettext_lazy("All")), ("unread", gettext_lazy("Unread")), ("read", gettext_lazy("Read")))


@dataclass(frozen=True)
class ThreadRow:
    """One inbox row: the newest message of a thread, how many it holds, and what became of its object."""

    msg: Message
    count: int
    unread: int
    state: messaging.ThreadState | None


@login_required
@require_GET
def inbox(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("show", "all")
    if state not in selectors.INBOX_STATES:
        state = "all"
    page = Paginator(selectors.thread_list(viewer=request.user, state=state), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    groups = list(page.object_list)
    latest = Message.objects.select_related("sender").in_bulk([g["latest_id"] for g in groups])
    states = messaging.thread_states(m.thread_key for m in latest.values() if m.thread_key)
    rows = [
        ThreadRow(
            msg=latest[g["latest_id"]],
            count=g["count"],
            unread=g["unread"],
            state=states.get(latest[g["latest_id"]].thread_key),
        )
        for g in groups
    ]
    return render(
        request, "core/inbox.html", {"page": page, "rows": rows, "state": state, "filters": FILTERS}
    )


@login_required
@require_GET
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get_for(request.user, message_id)
    messaging.mark_read(user=request.user, message=message)  # type: ignore[arg-type]
    thread = selectors.thread_messages(viewer=request.user, message=message)
    states = messaging.thread_states([message.thread_key]) if message.thread_key else {}
    return render(
        request,
        "core/message.html",
        {
            "msg": message,
            "thread": thread if len(thread) > 1 else [],
            "thread_state": states.get(message.thread_key),
            "panel": messaging.message_panel(message),
        },
    )


@login_required
@require_POST
def acknowledge(request: HttpRequest, message_id: int) -> HttpResponse:
    message = selectors.message_get_for(request.user, message_id)
    try:
        messaging.acknowledge(user=request.user, message=message)  # type: ignore[arg-type]
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Thank you, your acknowledgement is recorded."))
    return redirect("core:message", message_id=message.pk)
