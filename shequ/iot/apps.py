from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IotConfig(AppConfig):
    name = "shequ.iot"
    label = "iot"
    verbose_name = _("IoT sensing")

    def ready(self) -> None:
        from shequ.iot import events, feeds, handlers, permissions

        permissions.register_role_permissions()
        # Imported for their registration side effects.
        del events, feeds, handlers
