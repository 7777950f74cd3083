from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "shequ.participation"
    label = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from shequ.participation import permissions

        permissions.register_role_permissions()
        # Imported for their registration side effects (events, handlers, periodic jobs).
        from shequ.participation.services.disclosure import handlers as disclosure_handlers

        del disclosure_handlers
