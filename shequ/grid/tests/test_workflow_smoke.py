from __future__ import annotations

from shequ.conftest import World
from shequ.grid import selectors, services
from shequ.grid.models import Status
from shequ.grid.tests.conftest import new_ticket


def test_full_life(world: World) -> None:
    resident = world["resident"]
    t = services.ticket_submit(
        actor=resident,
        source="resident",
        region=world.regions["430104002001001"],
        title="路灯坏了",
        description="3栋旁边的路灯不亮一个星期了",
    )
    assert t.status == Status.SUBMITTED and t.due_at is not None
    t = services.ticket_accept(actor=world["worker_a"], ticket=t, category="security.public_order")
    t = services.ticket_dispatch(actor=world["worker_a"], ticket=t)
    assert t.department == world.department
    t = services.ticket_department_accept(actor=world["dept"], ticket=t)
    t = services.ticket_respond(actor=world["dept"], ticket=t, comment="已安排民警")
    t = services.ticket_resolve(actor=world["dept"], ticket=t, result="已处理")
    t = services.ticket_verify(actor=world["grid_a"], ticket=t, passed=True)
    assert t.status == Status.VERIFIED
    t = services.ticket_rate(actor=resident, ticket=t, rating=5)
    assert t.status == Status.CLOSED
    assert [a.action for a in selectors.timeline(t)] == [
        "submit",
        "accept",
        "dispatch",
        "dept_accept",
        "respond",
        "resolve",
        "verify",
        "rate",
    ]
    assert selectors.get_ticket_for(resident, t.pk) == t
    assert selectors.get_ticket_for(world["dept"], t.pk) == t


def test_hotline(world: World) -> None:
    t = new_ticket(world)
    assert t.status == Status.SUBMITTED
