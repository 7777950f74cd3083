"""The key-population catalog of shared/DOMAIN.md: care groups (normal) and special groups.

Severe mental disorders are ``secret``: the Mental Health Law (Art. 4) makes the identity of
patients confidential, so a grant of the restricted level alone does not show them.
"""

from django.db import migrations

CATEGORIES = [
    # code, English name, Chinese name, group, sensitivity, min_age
    ("elderly_60", "Elderly (60+)", "60岁以上老年人", "care", "normal", 60),
    ("elderly_80", "Oldest old (80+)", "高龄老人", "care", "normal", 80),
    ("living_alone", "Elderly living alone", "独居老人", "care", "normal", None),
    ("empty_nest", "Empty-nest elderly", "空巢老人", "care", "normal", None),
    ("disabled_elderly", "Elderly unable to care for themselves", "失能老人", "care", "normal", None),
    ("disabled", "Person with a disability", "残疾人", "care", "normal", None),
    ("left_behind_child", "Left-behind child", "留守儿童", "care", "normal", None),
    ("child_in_difficulty", "Child in difficulty", "困境儿童", "care", "normal", None),
    ("orphan", "Orphan", "孤儿", "care", "normal", None),
    ("low_income", "Minimum living allowance (dibao)", "低保对象", "care", "normal", None),
    ("extreme_poverty", "Extreme poverty support (tekun)", "特困人员", "care", "normal", None),
    ("veteran", "Veteran", "退役军人", "care", "normal", None),
    ("unemployed", "Unemployed", "失业人员", "care", "normal", None),
    ("pregnant", "Pregnant or recently delivered woman", "孕产妇", "care", "normal", None),
    ("severe_mental_disorder", "Severe mental disorder", "严重精神障碍患者", "special", "secret", None),
    ("community_correction", "Under community correction", "社区矫正对象", "special", "restricted", None),
    ("released_prisoner", "Released prisoner", "刑满释放人员", "special", "restricted", None),
    ("drug_user", "Drug user", "吸毒人员", "special", "restricted", None),
    ("key_youth", "Key youth", "重点青少年", "special", "restricted", None),
]


def seed(apps, schema_editor):
    TagCategory = apps.get_model("registry", "TagCategory")
    for order, (code, name, name_zh, group, sensitivity, min_age) in enumerate(CATEGORIES, start=1):
        TagCategory.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "name_zh": name_zh,
                "group": group,
                "sensitivity": sensitivity,
                "min_age": min_age,
                "sort_order": order * 10,
            },
        )


def unseed(apps, schema_editor):
    TagCategory = apps.get_model("registry", "TagCategory")
    TagCategory.objects.filter(code__in=[c[0] for c in CATEGORIES]).delete()


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
