from typing import Any

from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


def _seed_templates(sender: AppConfig, using: str = "default", **kwargs: Any) -> None:
    """The official templates after every migrate (see ``services.templates.seed_templates`` for
    why not a data migration); idempotent."""
    from shequ.reports.services import seed_templates

    # ``flush`` (a transactional test's teardown) sends post_migrate too, without a plan, on a
    # database whose tag catalog it has just emptied: the tests' ``_reseed`` seeds them instead.
    if using == "default" and kwargs.get("plan") is not None:
        seed_templates()


class ReportsConfig(AppConfig):
    name = "shequ.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from shequ.reports import events, handlers, ledger_jobs, permissions

        permissions.register_role_permissions()
        # Imported for their registration side effects.
        del events, handlers, ledger_jobs
        post_migrate.connect(_seed_templates, sender=self, dispatch_uid="reports.seed_templates")
