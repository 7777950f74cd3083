from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "shequ.registry"
    label = "registry"
    verbose_name = _("Base data")

    def ready(self) -> None:
        from shequ.registry import events, handlers, permissions

        permissions.register_role_permissions()
        del events, handlers  # imported for their @register_event and @periodic side effects
