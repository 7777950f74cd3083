"""The seeded service item catalog (``govservice.catalog_seed``): only items not yet there."""

from django.db import migrations


def seed(apps, schema_editor):
    from shequ.govservice.catalog_seed import SEEDS, item_fields

    ServiceItem = apps.get_model("govservice", "ServiceItem")
    for order, s in enumerate(SEEDS, start=1):
        ServiceItem.objects.get_or_create(code=s.code, defaults={**item_fields(s), "sort_order": order * 10})


def unseed(apps, schema_editor):
    from shequ.govservice.catalog_seed import SEEDS

    apps.get_model("govservice", "ServiceItem").objects.filter(code__in=[s.code for s in SEEDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("govservice", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
