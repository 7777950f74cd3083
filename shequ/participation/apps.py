from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ParticipationConfig(AppConfig):
    name = "shequ.participation"
    label = "participation"
    verbose_name = _("Participation")

    def ready(self) -> None:
        from shequ.core import dbtriggers
        from shequ.participation import events_votes, handlers_votes, permissions
        from shequ.participation.models import BoardEntry
        from shequ.participation.services.consultations import handlers as consult_handlers
        from shequ.participation.services.disclosure import handlers as disclosure_handlers

        permissions.register_role_permissions()
        # The bulletin board is append-only in the database (migration 0005; the test suite lifts
        # the triggers with the audit log's to empty the database between transactional tests).
        board = BoardEntry._meta
        dbtriggers.register_append_only(board.db_table, [str(f.column) for f in board.concrete_fields])
        # Imported for their registration side effects (events, handlers, periodic jobs).
        del events_votes, handlers_votes, consult_handlers, disclosure_handlers
