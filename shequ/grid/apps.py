from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "shequ.grid"
    label = "grid"
    verbose_name = _("Grid events")

    def ready(self) -> None:
        from shequ.core import inbound, messaging, views_errors
        from shequ.grid import (
            events,
            handlers,
            notices,
            open311,
            permissions,
            replies,
            views_open311,
            views_urgent,
        )

        permissions.register_role_permissions()
        messaging.register_thread_states(notices.THREAD_KIND, notices.thread_states)
        views_errors.register_area("/open311/", views_open311.spec_error)
        inbound.register_reply_router("grid.urgent", replies.route)
        messaging.register_message_panel(handlers.REPORTER_TOPIC, views_urgent.reporter_panel)
        # Imported for their registration side effects (open311: its token scope).
        del events, handlers, open311
