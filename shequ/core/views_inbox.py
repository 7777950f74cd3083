from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from shequ.core import selectors


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    return render(request, "core/inbox.html", {"messages_list": selectors.message_list(viewer=request.user)[:50]})


@login_required
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    return redirect("core:inbox")


@login_required
def acknowledge(request: HttpRequest, message_id: int) -> HttpResponse:
    return redirect("core:inbox")
