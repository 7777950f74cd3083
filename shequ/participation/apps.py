from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "shequ.participation"
    label = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from shequ.participation import events_votes, handlers_votes, permissions
        from shequ.participation.services.consultations import handlers as consult_handlers
        from shequ.participation.services.disclosure import handlers as disclosure_handlers

        permissions.register_role_permissions()
        # Imported for their registration side effects (events, handlers, periodic jobs).
        del events_votes, handlers_votes, consult_handlers, disclosure_handlers
