from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GovserviceConfig(AppConfig):
    name = "shequ.govservice"
    label = "govservice"
    verbose_name = _("Government services")

    def ready(self) -> None:
        from shequ.govservice import events, handlers, permissions

        permissions.register_role_permissions()
        # Imported for their registration side effects.
        del events, handlers
