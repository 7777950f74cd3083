"""``shequ token create|revoke|list``: API tokens for systems, run by the platform operator.

    shequ token create dept_police --name "police sync" --scope regions:read --scope messages:read --days 90
    shequ token revoke 1a2b3c4d --reason "system retired"
    shequ token list [username]

The raw token is printed once by ``create``; only its hash is stored.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from shequ.core.apiauth import TOKEN_MAX_DAYS, known_scopes, token_create, token_revoke
from shequ.core.models import ApiToken, User


class Command(BaseCommand):
    help = "Create, revoke or list API tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Issue a token that acts as <username>.")
        create.add_argument("username")
        create.add_argument("--name", required=True, help="What the token is for (which system).")
        create.add_argument(
            "--scope",
            action="append",
            default=[],
            dest="scopes",
            help="A token scope; repeat for several. Known: " + ", ".join(known_scopes()),
        )
        create.add_argument(
            "--days", type=int, default=90, help=f"Days until it expires (1-{TOKEN_MAX_DAYS})."
        )
        revoke = sub.add_parser("revoke", help="Revoke a token by its prefix.")
        revoke.add_argument("prefix")
        revoke.add_argument("--reason", default="")
        listing = sub.add_parser("list", help="List tokens (never their secrets).")
        listing.add_argument("username", nargs="?")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        except PermissionDenied as exc:
            raise CommandError(str(exc)) from exc

    def _create(self, opts: dict[str, Any]) -> None:
        user = User.objects.filter(username=opts["username"]).first()
        if user is None:
            raise CommandError(f"no user {opts['username']!r}")
        if not 1 <= opts["days"] <= TOKEN_MAX_DAYS:
            raise CommandError(f"--days must be between 1 and {TOKEN_MAX_DAYS}")
        expires_at = timezone.now() + timedelta(days=opts["days"])
        token, raw = token_create(
            actor=None, user=user, name=opts["name"], scopes=opts["scopes"], expires_at=expires_at
        )
        self.stderr.write(
            f"token {token.prefix} for {user.username}, scopes {' '.join(token.scopes)}, "
            f"expires {timezone.localtime(expires_at):%Y-%m-%d %H:%M}; it is shown only now:"
        )
        self.stdout.write(raw)

    def _revoke(self, opts: dict[str, Any]) -> None:
        token = ApiToken.objects.select_related("user").filter(prefix=opts["prefix"]).first()
        if token is None:
            raise CommandError(f"no token with prefix {opts['prefix']!r}")
        if token_revoke(actor=None, token=token, reason=opts["reason"]):
            self.stdout.write(f"revoked {token.prefix}")
        else:
            self.stdout.write(f"{token.prefix} was already revoked")

    def _list(self, opts: dict[str, Any]) -> None:
        qs = ApiToken.objects.select_related("user").order_by("created_at")
        if opts.get("username"):
            qs = qs.filter(user__username=opts["username"])
        now = timezone.now()
        for t in qs:
            if t.revoked_at:
                state = "revoked"
            elif t.expires_at and t.expires_at <= now:
                state = "expired"
            else:
                state = "active"
            last = f"{timezone.localtime(t.last_used_at):%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            expires = f"{timezone.localtime(t.expires_at):%Y-%m-%d}" if t.expires_at else "-"
            self.stdout.write(
                f"{t.prefix}  {t.user.username}  {state}  expires {expires}  last used {last}  "
                f"{' '.join(t.scopes)}  {t.name}"
            )
