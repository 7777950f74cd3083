"""``shequ demo_totp <username>``: print the current TOTP code of a demo account.

Demo accounts that need a second factor could not sign in without an authenticator app; this
command stands in for the app. If the account has no authenticator yet it enrols one first.
It serves only accounts the demo generator made (``auth.is_demo_account``: its reserved mail
domain), and never on a production installation (SHEQU_ENV=production), whatever SHEQU_DEMO says:
so it runs as the README shows, yet can never hand out codes for a real account.
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
    help = "Print the current second-factor code of a demo account (never in production)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **opts: Any) -> None:
        if settings.PRODUCTION:
            raise CommandError("demo_totp never works on a production installation (SHEQU_ENV=production).")
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"No account named {opts['username']!r}.")
        if not auth.is_demo_account(user):
            raise CommandError(
                f"{user.username} is not a demo account (made by `shequ demo`); "
                "demo_totp serves demo accounts only."
            )
        secret = user.totp_secret if user.totp_confirmed_at else ""
        if not secret:
            secret = auth.totp_enrol_directly(user)
            self.stderr.write(f"Enrolled an authenticator for {user.username}.")
        totp = pyotp.TOTP(secret)
        left = totp.interval - int(time.time()) % totp.interval
        self.stderr.write(f"Valid for about {left} more seconds; each code works once.")
        self.stdout.write(totp.now())
