"""``shequ demo_totp <username>``: print the current TOTP code of a demo account (demo mode only).

Demo accounts that need a second factor could not sign in without an authenticator app; this
command stands in for the app. If the account has no authenticator yet it enrols one first.
Refused unless SHEQU_DEMO=1, so that it can never hand out codes on a real installation.
"""

from __future__ import annotations

import time
from typing import Any

import pyotp
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from shequ.core import auth
from shequ.core.models import User


class Command(BaseCommand):
    help = "Print the current second-factor code of a demo account (only when SHEQU_DEMO=1)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **opts: Any) -> None:
        if not settings.DEMO:
            raise CommandError("demo_totp only works in demo mode (SHEQU_DEMO=1).")
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No account named {opts['username']!r}.")
        secret = user.totp_secret if user.totp_confirmed_at else ""
        if not secret:
            secret = auth.totp_enrol_directly(user)
            self.stderr.write(f"Enrolled an authenticator for {user.username}.")
        totp = pyotp.TOTP(secret)
        left = totp.interval - int(time.time()) % totp.interval
        self.stderr.write(f"Valid for about {left} more seconds; each code works once.")
        self.stdout.write(totp.now())
