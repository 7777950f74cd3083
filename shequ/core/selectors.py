"""Reads of core data that other apps and pages use. What a person browses is scoped to a viewer
(``region_list``, ``region_get_for``, messages, audit); ``child_regions`` and ``region_names`` take
codes the caller has already checked against the viewer's scopes (pickers and labels)."""

from __future__ import annotations

from typing import Any

from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.functions import Cast, Concat, Length
from django.http import Http404

from shequ.core.forms import significant_code
from shequ.core.models import (
    LEVEL_CODE_LENGTH,
    AuditEntry,
    Membership,
    Message,
    Region,
    RegionLevel,
    Role,
    User,
)
from shequ.core.permissions import (
    ROLE_PERMISSIONS,
    Perm,
    Viewer,
    active_memberships,
    has_perm,
    scope_q,
    scoped,
    scopes_for,
)


def region_list(*, viewer: Viewer, parent_code: str | None = None) -> QuerySet[Region]:
    """Regions visible to ``viewer``: their scope subtrees, and the ancestors of those."""
    qs = Region.objects.all()
    if parent_code is not None:
        qs = qs.filter(parent__code=parent_code)
    return scoped(qs, viewer, Perm.VIEW_REGION, field="code").annotate(child_count=Count("children"))


def region_get_for(viewer: Viewer, code: str) -> Region:
    """One region by code, or 404 outside the viewer's scope."""
    region = Region.objects.filter(code=code).select_related("parent").first()
    if region is None or not has_perm(viewer, Perm.VIEW_REGION, region.code):
        raise Http404
    return region


def viewer_regions(*, viewer: Viewer) -> list[Region]:
    """The top regions of the viewer's scopes (for the region picker and home page)."""
    codes = scopes_for(viewer)
    return list(Region.objects.filter(code__in=codes).select_related("parent").order_by("code"))


def child_regions(codes: list[str], *, limit: int) -> list[Region]:
    """The regions one level below ``codes`` (the caller's own scopes), in code order, at most
    ``limit`` (area pickers: a county has a few dozen streets, a city a few thousand communities)."""
    if not codes:
        return []
    return list(Region.objects.filter(parent__code__in=codes).order_by("code")[:limit])


def region_names(codes: Any) -> dict[str, str]:
    """Region code → name, for labels."""
    return dict(Region.objects.filter(code__in=set(codes)).values_list("code", "name"))


def breadcrumb(region: Region) -> list[Region]:
    codes = [*region.ancestor_codes(), region.code]
    by_code = {r.code: r for r in Region.objects.filter(code__in=codes)}
    return [by_code[c] for c in codes if c in by_code]


REGION_LOOKUP_LIMIT = 20


def region_paths(codes: Any) -> dict[str, list[str]]:
    """Region code → the names from the province down to it ("湖南省", "长沙市", … "第一网格"),
    in one query for all the codes (the region picker's breadcrumbs)."""
    wanted = {c[:n] for c in codes for n in LEVEL_CODE_LENGTH.values() if n <= len(c)}
    names = region_names(wanted)
    return {
        c: [names[c[:n]] for n in LEVEL_CODE_LENGTH.values() if n <= len(c) and c[:n] in names] for c in codes
    }


def region_lookup(
    *,
    viewer: Viewer,
    perm: str = Perm.VIEW_REGION,
    parent: str = "",
    q: str = "",
    limit: int = REGION_LOOKUP_LIMIT,
) -> list[dict[str, Any]]:
    """Regions inside the viewer's scopes for ``perm``, for the region picker: the children of
    ``parent`` (404 when the parent lies outside the scopes), or those whose name contains ``q`` or
    whose code starts with it, widest level first; with neither, the scope roots themselves."""
    codes = scopes_for(viewer, perm)
    if parent and not any(parent.startswith(c) for c in codes):
        raise Http404  # outside the scopes looks the same as a missing region
    if not codes:
        return []
    in_scope = Q()
    for code in codes:
        in_scope |= Q(code__startswith=code)
    qs = Region.objects.filter(in_scope)
    text = " ".join(q.split())
    if parent:
        if not Region.objects.filter(code=parent).exists():
            raise Http404
        qs = qs.filter(parent__code=parent)
    if text:
        digits = "".join(text.split())
        match = Q(name__contains=text)
        if digits.isdigit():
            match |= Q(code__startswith=significant_code(digits)) | Q(code__startswith=digits)
        qs = qs.filter(match)
    elif not parent:
        qs = qs.filter(code__in=codes)
    found = list(
        qs.annotate(child_count=Count("children"), code_length=Length("code")).order_by(
            "code_length", "code"
        )[:limit]
    )
    paths = region_paths([r.code for r in found])
    levels = dict(RegionLevel.choices)
    return [
        {
            "code": r.code,
            "name": r.name,
            "level": r.level,
            "level_label": str(levels.get(r.level, r.level)),
            "path": paths.get(r.code, [r.name]),
            "has_children": bool(r.child_count),
        }
        for r in found
    ]


def _thread() -> Case:
    """A message's thread: its thread key, or the message alone when it has none."""
    return Case(
        When(thread_key="", then=Concat(Value("message:"), Cast("pk", CharField()))),
        default=F("thread_key"),
        output_field=CharField(),
    )


def unread_count(*, user: Viewer) -> int:
    """Threads with something unread: the badge counts what the inbox list shows as unread rows."""
    return (
        Message.objects.filter(recipient_id=user.pk, read_at__isnull=True)
        .annotate(thread=_thread())
        .values("thread")
        .distinct()
        .count()
    )


INBOX_STATES = ("all", "unread", "read")


def message_list(*, viewer: Viewer, state: str = "all") -> QuerySet[Message]:
    """The viewer's own messages, unread first, newest first (``state``: all, unread or read)."""
    if not getattr(viewer, "is_authenticated", False):
        return Message.objects.none()
    qs = Message.objects.filter(recipient_id=viewer.pk)
    if state == "unread":
        qs = qs.filter(read_at__isnull=True)
    elif state == "read":
        qs = qs.filter(read_at__isnull=False)
    unread = ExpressionWrapper(Q(read_at__isnull=True), output_field=BooleanField())
    return qs.select_related("sender").annotate(unread=unread).order_by("-unread", "-created_at", "-pk")


def thread_list(*, viewer: Viewer, state: str = "all") -> QuerySet[Any]:
    """The viewer's inbox as threads, those with something unread first, then newest first: one
    row per thread (messages about one ticket, or a message without a thread) with ``latest_id``,
    ``count`` and ``unread`` (its unread messages). ``state``: all, unread (threads with something
    unread) or read (nothing unread)."""
    if not getattr(viewer, "is_authenticated", False):
        return Message.objects.none().values("pk")
    qs = (
        Message.objects.filter(recipient_id=viewer.pk)
        .annotate(thread=_thread())
        .values("thread")
        .annotate(
            latest_id=Max("pk"),
            latest_at=Max("created_at"),
            count=Count("pk"),
            unread=Count("pk", filter=Q(read_at__isnull=True)),
            has_unread=Max(Case(When(read_at__isnull=True, then=Value(1)), default=Value(0))),
        )
    )
    if state == "unread":
        qs = qs.filter(unread__gt=0)
    elif state == "read":
        qs = qs.filter(unread=0)
    return qs.order_by("-has_unread", "-latest_at", "-latest_id")


def thread_messages(*, viewer: Viewer, message: Message) -> list[Message]:
    """Every message of ``message``'s thread (the viewer's own), newest first."""
    if not message.thread_key:
        return [message]
    return list(
        Message.objects.filter(recipient_id=viewer.pk, thread_key=message.thread_key)
        .select_related("sender")
        .order_by("-created_at", "-pk")
    )


def message_get_for(viewer: Viewer, message_id: int) -> Message:
    """One of the viewer's own messages, or 404 (other people's messages do not exist for them)."""
    message = message_list(viewer=viewer).filter(pk=message_id).first()
    if message is None:
        raise Http404
    return message


def audit_list(*, viewer: Viewer, filters: dict[str, Any] | None = None) -> QuerySet[AuditEntry]:
    """Audit rows for auditors, limited to their region (rows without a region are system-wide
    and shown to province-level auditors only)."""
    codes = scopes_for(viewer, Perm.VIEW_AUDIT)
    if not codes:
        return AuditEntry.objects.none()
    in_scope = scope_q(viewer, Perm.VIEW_AUDIT)
    if any(len(c) <= 2 for c in codes):
        in_scope |= Q(region_code="")
    qs = AuditEntry.objects.filter(in_scope)
    f = filters or {}
    if f.get("action"):
        qs = qs.filter(action__startswith=f["action"])
    if f.get("actor"):
        qs = qs.filter(actor_name=f["actor"])
    if f.get("result"):
        qs = qs.filter(result=f["result"])
    if f.get("region"):
        qs = qs.filter(region_code__startswith=f["region"])
    if f.get("since"):
        qs = qs.filter(at__gte=f["since"])
    if f.get("until"):
        qs = qs.filter(at__lt=f["until"])
    return qs.order_by("-id")  # insertion order: entries not sealed yet are shown too


LEVEL_LABELS = dict(RegionLevel.choices)


def locked_user_count(*, viewer: Viewer) -> int:
    """Accounts in the viewer's user-management scope that are locked out right now."""
    from django.utils import timezone

    in_scope = Membership.objects.filter(scope_q(viewer, Perm.MANAGE_USERS), revoked_at__isnull=True)
    return User.objects.filter(pk__in=in_scope.values("user_id"), locked_until__gt=timezone.now()).count()


def active_user_named(username: str) -> User | None:
    """The active account with this sign-in name (staff naming a trustee or a representative)."""
    return User.objects.filter(username=username.strip(), is_active=True).first()


def region_staff(code: str, perm: str, *, exact: bool = True) -> list[User]:
    """Active users holding ``perm`` through a membership at ``code`` (exactly, or above it): whom a
    platform notice about the region reaches."""
    roles = [role for role, perms in ROLE_PERMISSIONS.items() if perm in perms]
    memberships = Membership.objects.filter(revoked_at__isnull=True, role__in=roles, user__is_active=True)
    if exact:
        memberships = memberships.filter(region_code=code)
    else:
        prefixes = [code[:n] for n in range(2, len(code) + 1)]
        memberships = memberships.filter(region_code__in=prefixes)
    return list(User.objects.filter(pk__in=memberships.values("user_id")))


def resident_regions(user: Viewer) -> list[Region]:
    """The grids and communities where the account is a resident (its resident memberships): where
    it reports problems and applies for services as itself."""
    codes = {m.region_code for m in active_memberships(user) if m.role == Role.RESIDENT}
    levels = (RegionLevel.GRID, RegionLevel.COMMUNITY)
    return list(Region.objects.filter(code__in=codes, level__in=levels).order_by("code"))


def department_staff(department_id: int) -> list[User]:
    """Active staff of a department (or a property company): whom work pushed to it reaches."""
    return list(
        User.objects.filter(
            is_active=True,
            memberships__department_id=department_id,
            memberships__revoked_at__isnull=True,
            memberships__role__in=[Role.DEPARTMENT_STAFF, Role.PROPERTY_MANAGER],
        ).distinct()
    )


def members_under(code: str, roles: list[str]) -> list[tuple[User, str]]:
    """(account, region code of its lowest such membership) of active accounts holding one of
    ``roles`` at ``code`` or below: e.g. all staff or all volunteers of a community for a call-out."""
    lowest: dict[int, str] = {}
    rows = Membership.objects.filter(
        revoked_at__isnull=True, role__in=roles, user__is_active=True, region_code__startswith=code
    ).values_list("user_id", "region_code")
    for user_id, region_code in rows:
        if len(region_code) > len(lowest.get(user_id, "")):
            lowest[user_id] = region_code
    users = User.objects.filter(pk__in=list(lowest)).order_by("pk")
    return [(user, lowest[user.pk]) for user in users]
