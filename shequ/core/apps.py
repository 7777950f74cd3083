from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "shequ.core"
    label = "core"
    verbose_name = "Shequ core"

    def ready(self) -> None:
        from shequ.core import crypto, handlers  # noqa: F401 - registers the core event handlers

        crypto.self_test()
