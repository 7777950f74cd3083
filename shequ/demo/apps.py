from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "shequ.demo"
    label = "demo"
    verbose_name = "Shequ demo data"
