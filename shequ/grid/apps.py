from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GridConfig(AppConfig):
    name = "shequ.grid"
    label = "grid"
    verbose_name = _("Grid events")

    def ready(self) -> None:
        from shequ.grid import events, handlers, open311, permissions

        permissions.register_role_permissions()
        # Imported for their registration side effects (open311: its token scope).
        del events, handlers, open311
