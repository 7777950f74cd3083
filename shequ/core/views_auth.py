"""Sign-in, second factor, password change, sign-out. (Being completed: lockout, throttle, TOTP.)"""

from __future__ import annotations

from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST


def login_view(request: HttpRequest) -> HttpResponse:
    form = AuthenticationForm(request, data=request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.get_user())
        return redirect("core:home")
    return render(request, "core/login.html", {"form": form})


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("core:login")


@login_required
def second_factor(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@login_required
def security(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@login_required
def password_change(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")


@login_required
def totp_setup(request: HttpRequest) -> HttpResponse:
    return redirect("core:home")
