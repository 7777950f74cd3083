from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "shequ.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from shequ.reports import ledger_jobs, permissions

        permissions.register_role_permissions()
        del ledger_jobs  # imported for its periodic job and handler
