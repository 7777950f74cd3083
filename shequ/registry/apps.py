from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "shequ.registry"
    label = "registry"
    verbose_name = _("Base data")

    def ready(self) -> None:
        from shequ.core import messaging
        from shequ.registry import events, handlers, outreach, permissions

        permissions.register_role_permissions()
        messaging.register_contacts(outreach.CONTACT_KIND, outreach.person_phones)
        del events, handlers  # imported for their @register_event and @periodic side effects
