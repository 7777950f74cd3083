from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmergencyConfig(AppConfig):
    name = "shequ.emergency"
    label = "emergency"
    verbose_name = _("Emergency response")

    def ready(self) -> None:
        from shequ.core import inbound
        from shequ.emergency import events, handlers, permissions, replies

        permissions.register_role_permissions()
        inbound.register_reply_router("emergency", replies.route)
        # Imported for their registration side effects.
        del events, handlers
