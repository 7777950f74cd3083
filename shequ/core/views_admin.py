from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@login_required
def memberships(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")
