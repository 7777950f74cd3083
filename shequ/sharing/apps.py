from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "shequ.sharing"
    label = "sharing"
    verbose_name = _("Data sharing")

    def ready(self) -> None:
        from shequ.sharing import permissions, rights_jobs

        permissions.register_role_permissions()
        del rights_jobs  # imported for its handlers and periodic job
