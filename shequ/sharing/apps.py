from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SharingConfig(AppConfig):
    name = "shequ.sharing"
    label = "sharing"
    verbose_name = _("Data sharing")

    def ready(self) -> None:
        from shequ.sharing import handlers, permissions, rights_jobs

        permissions.register_role_permissions()
        # Imported for their registration side effects: webhook delivery handlers; the residents'
        # requests' deadline reminders.
        del handlers, rights_jobs
