from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "shequ.participation"
    label = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from shequ.participation import events_votes, handlers_votes, permissions

        permissions.register_role_permissions()
        # Imported for their registration side effects.
        del events_votes, handlers_votes
