"""Which department a ticket goes to: routing rules and the default department."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _

from shequ.core import audit
from shequ.core.models import Department, Region, User
from shequ.core.permissions import has_perm
from shequ.grid.models import (
    Category,
    RoutingRule,
)
from shequ.grid.permissions import GridPerm as P
from shequ.grid.services._common import _refuse


def routing_rule_set(
    *,
    actor: User | None,
    category: Category,
    region: Region,
    department: Department,
    auto_dispatch: bool = False,
    request: HttpRequest | None = None,
) -> RoutingRule:
    if actor is not None and not has_perm(actor, P.ROUTING, region.code):
        _refuse(
            actor,
            None,
            "routing_set",
            "no grid.routing in this region",
            request=request,
            region_code=region.code,
        )
    if category.parent_id is None and not category.children.exists():
        raise ValidationError({"category": _("Choose a category of the tree.")})
    if not region.code.startswith(department.region_code) and not department.region_code.startswith(
        region.code
    ):
        raise ValidationError({"department": _("The department does not serve this region.")})
    with transaction.atomic():
        rule, _created = RoutingRule.objects.update_or_create(
            category=category,
            region=region,
            defaults={"region_code": region.code, "department": department, "auto_dispatch": auto_dispatch},
        )
        audit.record(
            "grid.routing_set",
            actor=actor,
            request=request,
            region_code=region.code,
            object_type="grid.routingrule",
            object_id=rule.pk,
            detail={"category": category.code, "department": department.code, "auto": auto_dispatch},
        )
    return rule


def routing_rule_delete(*, actor: User | None, rule: RoutingRule, request: HttpRequest | None = None) -> None:
    if actor is not None and not has_perm(actor, P.ROUTING, rule.region_code):
        _refuse(
            actor, None, "routing_delete", "no grid.routing", request=request, region_code=rule.region_code
        )
    with transaction.atomic():
        audit.record(
            "grid.routing_delete",
            actor=actor,
            request=request,
            region_code=rule.region_code,
            object_type="grid.routingrule",
            object_id=rule.pk,
        )
        rule.delete()
