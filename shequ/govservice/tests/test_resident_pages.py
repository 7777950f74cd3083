"""The resident pages through the browser's requests: the catalog (public; "filled for you" for a
linked resident), an item, applying online with prefilled materials and uploads, my applications,
sending missing materials, withdrawing, rating (好差评) and the rectification it opens, the rating
page of the SMS link (forged tokens 404) and public tracking (wrong pair: one "not found"; a
session limit). Another resident, staff and sibling-region users never see or rate someone
else's application; bad input changes nothing."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from shequ.conftest import PASSWORD
from shequ.core import accounts
from shequ.core.messaging import Contact, message_token, notify
from shequ.core.models import Channel as MessageChannel
from shequ.core.models import Role, User
from shequ.govservice.handlers import CONTACT_KIND, RATE_TOPIC
from shequ.govservice.models import (
    Application,
    Channel,
    Delivery,
    Evaluation,
    Outcome,
    Rectification,
    RectStatus,
    Status,
)
from shequ.govservice.services import applications as apps
from shequ.govservice.services import evaluations
from shequ.govservice.tests.conftest import GRID_A, Gov
from shequ.grid.tests.conftest import png
from shequ.registry import prefill

pytestmark = pytest.mark.django_db

COVERED = {
    "govservice:catalog",
    "govservice:item",
    "govservice:apply",
    "govservice:mine",
    "govservice:mine_detail",
    "govservice:mine_resubmit",
    "govservice:mine_withdraw",
    "govservice:mine_rate",
    "govservice:rate_token",
    "govservice:track",
}


def as_user(gov: Gov, persona: str | User) -> Client:
    client = Client()
    client.force_login(gov[persona] if isinstance(persona, str) else persona)
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def upload(name: str = "card.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png(), content_type="image/png")


def online(gov: Gov, code: str = "elderly_allowance") -> Application:
    return apps.application_submit(
        actor=gov["resident"],
        item=gov.item(code),
        channel=Channel.ONLINE,
        region=gov.world.regions[GRID_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.elder), user=gov["resident"]),
        files={"bank_card": [upload()]},
    )


def closed(gov: Gov, application: Application) -> Application:
    """Accepted, forwarded to the civil-affairs bureau, approved and delivered."""
    worker = gov["worker_a"]
    if application.status == Status.SUBMITTED:
        application = apps.application_accept(actor=worker, application=application)
    application = apps.application_forward(actor=worker, application=application, department=gov.civil)
    application = apps.application_decide(actor=gov.clerk, application=application, outcome=Outcome.APPROVED)
    return apps.application_deliver(actor=worker, application=application, delivery=Delivery.PICKUP)


def unlinked_resident(gov: Gov) -> User:
    """A resident account whose number is in no registry record."""
    user = accounts.user_create(
        actor=None,
        username="newcomer",
        display_name="新住户",
        password=PASSWORD,
        phone="13977770000",
        email="newcomer@example.test",
    )
    accounts.membership_grant(actor=None, user=user, role=Role.RESIDENT, region=gov.world.regions[GRID_A])
    return user


# --- The catalog and an item -----------------------------------------------------------------------


def test_catalog_is_public_grouped_and_searchable(gov: Gov) -> None:
    page = text(Client().get(reverse("govservice:catalog")))
    assert "高龄津贴申领" in page and "居住证明" in page and "养老服务" in page
    assert "委托受理" in page and "免费" in page and "即收即办" in page
    assert "在线申请" not in page and "为您自动填好" not in page  # no account: nothing to apply with
    found = text(Client().get(reverse("govservice:catalog"), {"q": "高龄"}))
    assert "高龄津贴申领" in found and ">居住证明</a>" not in found
    domain = text(Client().get(reverse("govservice:catalog"), {"domain": "certificates"}))
    assert ">居住证明</a>" in domain and "高龄津贴申领" not in domain


def test_catalog_tells_a_linked_resident_what_is_filled_for_them(gov: Gov) -> None:
    page = text(as_user(gov, "resident").get(reverse("govservice:catalog")))
    # 高龄津贴: ID card, hukou, birth, residence from the registry; the bank card is theirs to add.
    assert re.search(r"5项材料中已为您自动填好4项", page), page
    assert reverse("govservice:apply", args=["elderly_allowance"]) in page
    unlinked = text(as_user(gov, unlinked_resident(gov)).get(reverse("govservice:catalog")))
    assert "社区窗口" in unlinked and reverse("govservice:apply", args=["elderly_allowance"]) not in unlinked


def test_item_page_shows_materials_limits_department_and_mode(gov: Gov) -> None:
    page = text(Client().get(reverse("govservice:item", args=["elderly_allowance"])))
    assert "高龄津贴申领" in page and "县（市、区）民政局" in page and "委托受理" in page
    assert "无需提交，平台自动调取" in page and "需上传或到窗口携带" in page
    assert "10 个工作日" in page and "20 个工作日" in page and "登录后在线申请" in page
    linked = text(as_user(gov, "resident").get(reverse("govservice:item", args=["elderly_allowance"])))
    assert "在线申请" in linked and gov.elder.id_number not in linked and "刘奶奶" in linked
    assert Client().get(reverse("govservice:item", args=["no-such-item"])).status_code == 404


def test_an_item_not_online_sends_the_resident_to_the_counter(gov: Gov) -> None:
    item = gov.item("elderly_allowance")
    item.online = False
    item.save(update_fields=["online"])
    client = as_user(gov, "resident")
    assert "请到社区窗口办理" in text(client.get(reverse("govservice:item", args=[item.code])))
    page = text(client.get(reverse("govservice:apply", args=[item.code])))
    assert "不能在线办理" in page and 'enctype="multipart/form-data"' not in page
    response = client.post(reverse("govservice:apply", args=[item.code]), {"files_bank_card": upload()})
    assert response.status_code == 200 and not Application.objects.exists()


# --- Applying ------------------------------------------------------------------------------------------


def test_apply_shows_prefilled_masked_materials_and_uploads(gov: Gov) -> None:
    url = reverse("govservice:apply", args=["elderly_allowance"])
    assert Client().get(url).status_code == 302  # sign in first
    page = text(as_user(gov, "resident").get(url))
    assert "已从人口库为您填好4项材料" in page and "刘奶奶" in page
    assert gov.elder.id_number not in page and "********" in page
    assert 'name="files_bank_card"' in page and "本人银行卡或社保卡" in page
    assert 'name="files_id_card"' not in page  # filled: nothing to upload


def test_apply_online_writes_the_application_and_confirms(gov: Gov) -> None:
    client = as_user(gov, "resident")
    url = reverse("govservice:apply", args=["elderly_allowance"])
    response = client.post(url, {"files_bank_card": [upload("front.png"), upload("back.png")]})
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("govservice:mine_detail", args=[application.pk])
    assert (application.channel, application.status, application.applicant_user) == (
        Channel.ONLINE,
        Status.SUBMITTED,
        gov["resident"],
    )
    assert application.files.count() == 2
    page = text(client.get(response["Location"]))
    assert application.number in page and "一个工作日" in page
    assert "已提交" in page and "从人口库调取" in page and "2个文件" in page


def test_apply_without_the_upload_changes_nothing_and_names_the_material(gov: Gov) -> None:
    client = as_user(gov, "resident")
    response = client.post(reverse("govservice:apply", args=["elderly_allowance"]), {})
    assert response.status_code == 400
    assert "本人银行卡或社保卡" in text(response) and "未做任何更改" in text(response)
    # Not an image: refused too.
    bad = SimpleUploadedFile("x.png", b"not an image", content_type="image/png")
    response = client.post(reverse("govservice:apply", args=["elderly_allowance"]), {"files_bank_card": bad})
    assert response.status_code == 400
    assert not Application.objects.exists()


def test_apply_with_the_items_online_form(gov: Gov) -> None:
    client = as_user(gov, "resident")
    url = reverse("govservice:apply", args=["home_care_service"])
    page = text(client.get(url))
    assert 'name="answer_service"' in page and 'name="answer_times"' in page
    response = client.post(url, {"answer_service": "不存在", "answer_times": "0"})
    assert response.status_code == 400 and not Application.objects.exists()
    response = client.post(url, {"answer_service": "助餐", "answer_times": "3"})
    assert response.status_code == 302
    assert Application.objects.get().answers == {"service": "助餐", "times": "3"}


def test_a_resident_without_a_registry_record_is_sent_to_the_counter(gov: Gov) -> None:
    client = as_user(gov, unlinked_resident(gov))
    url = reverse("govservice:apply", args=["elderly_allowance"])
    page = text(client.get(url))
    assert "不能在线申请" in page and "社区窗口" in page
    assert client.post(url, {"files_bank_card": upload()}).status_code == 200
    # Staff have no registry person of their own here either.
    assert "社区窗口" in text(as_user(gov, "worker_a").get(url))
    assert not Application.objects.exists()


# --- My applications ---------------------------------------------------------------------------------


def test_my_applications_list_only_mine(gov: Gov) -> None:
    application = online(gov)
    page = text(as_user(gov, "resident").get(reverse("govservice:mine")))
    assert application.number in page and "高龄津贴申领" in page and "已提交" in page
    other = text(as_user(gov, unlinked_resident(gov)).get(reverse("govservice:mine")))
    assert application.number not in other and "您还没有申请过" in other
    assert Client().get(reverse("govservice:mine")).status_code == 302


@pytest.mark.parametrize(
    "persona", ["worker_a", "head_a", "head_b", "outsider", "grid_a", "street", "nobody"]
)
def test_nobody_else_sees_or_acts_on_my_application(gov: Gov, persona: str) -> None:
    application = closed(gov, online(gov))
    client = as_user(gov, persona)
    assert client.get(reverse("govservice:mine_detail", args=[application.pk])).status_code == 404
    rate = {"stars": "1", "reasons": ["slow"]}
    assert client.post(reverse("govservice:mine_rate", args=[application.pk]), rate).status_code == 404
    assert client.post(reverse("govservice:mine_withdraw", args=[application.pk]), {}).status_code == 404
    assert client.post(reverse("govservice:mine_resubmit", args=[application.pk]), {}).status_code == 404
    assert not Evaluation.objects.exists()


def test_another_resident_cannot_see_or_rate_my_application(gov: Gov) -> None:
    application = closed(gov, online(gov))
    client = as_user(gov, unlinked_resident(gov))
    assert client.get(reverse("govservice:mine_detail", args=[application.pk])).status_code == 404
    response = client.post(reverse("govservice:mine_rate", args=[application.pk]), {"stars": "5"})
    assert response.status_code == 404 and not Evaluation.objects.exists()
    assert Client().get(reverse("govservice:mine_detail", args=[application.pk])).status_code == 302


def test_detail_shows_progress_timeline_and_materials(gov: Gov) -> None:
    application = online(gov)
    application = apps.application_accept(actor=gov["worker_a"], application=application)
    application = apps.application_forward(
        actor=gov["worker_a"], application=application, department=gov.civil, note="已转区民政局"
    )
    page = text(as_user(gov, "resident").get(reverse("govservice:mine_detail", args=[application.pk])))
    assert "已转部门" in page and "岳麓区民政局" in page and "已转区民政局" in page
    assert 'aria-current="step"' in page and "从人口库调取" in page and "已上传" in page
    assert gov.elder.id_number not in page
    assert "撤回申请" not in page  # forwarded: too late to withdraw


def test_returned_application_lists_what_is_missing_and_takes_it(gov: Gov) -> None:
    application = apps.application_return(
        actor=gov["worker_a"], application=online(gov), missing=["bank_card"], note="卡号看不清"
    )
    client = as_user(gov, "resident")
    url = reverse("govservice:mine_detail", args=[application.pk])
    page = text(client.get(url))
    assert "请补正以下材料" in page and "本人银行卡或社保卡" in page and "卡号看不清" in page
    resubmit = reverse("govservice:mine_resubmit", args=[application.pk])
    response = client.post(resubmit, {})
    assert response.status_code == 400 and "本人银行卡或社保卡" in text(response)
    application.refresh_from_db()
    assert application.status == Status.RETURNED
    response = client.post(resubmit, {"files_bank_card": upload()})
    assert response.status_code == 302
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED and application.missing == []


def test_withdraw_with_a_reason(gov: Gov) -> None:
    application = online(gov)
    client = as_user(gov, "resident")
    url = reverse("govservice:mine_withdraw", args=[application.pk])
    response = client.post(url, {"reason": "x" * 600})
    assert response.status_code == 400
    application.refresh_from_db()
    assert application.status == Status.SUBMITTED
    assert client.post(url, {"reason": "不需要了"}).status_code == 302
    application.refresh_from_db()
    assert application.status == Status.WITHDRAWN
    # Again: refused with a clear error, nothing changes.
    response = client.post(url, {"reason": ""})
    assert response.status_code == 400 and "不能" in text(response)


# --- Rating (好差评) ----------------------------------------------------------------------------------


def test_rating_form_appears_when_closed_and_a_good_rating_is_kept(gov: Gov) -> None:
    application = online(gov)
    client = as_user(gov, "resident")
    url = reverse("govservice:mine_detail", args=[application.pk])
    assert 'name="stars"' not in text(client.get(url))
    rate = reverse("govservice:mine_rate", args=[application.pk])
    assert client.post(rate, {"stars": "5"}).status_code == 400  # not closed yet
    closed(gov, application)
    page = text(client.get(url))
    assert 'name="stars"' in page and "非常满意" in page and "非常不满意" in page
    assert "办理快捷" in page and "办理时间过长" in page  # both groups without JavaScript
    assert client.post(rate, {"stars": "9"}).status_code == 400
    assert client.post(rate, {"stars": "5", "reasons": ["bogus"]}).status_code == 400
    assert not Evaluation.objects.exists()
    response = client.post(rate, {"stars": "5", "reasons": ["fast", "polite"], "comment": "很方便"})
    assert response.status_code == 302
    evaluation = Evaluation.objects.get()
    assert (evaluation.stars, evaluation.reasons, evaluation.channel) == (
        5,
        ["fast", "polite"],
        Channel.ONLINE,
    )
    page = text(client.get(url))
    assert "您的评价" in page and "很方便" in page and 'name="stars"' not in page
    assert not Rectification.objects.exists()
    assert client.post(rate, {"stars": "1", "reasons": ["slow"]}).status_code == 400  # once only
    assert Evaluation.objects.count() == 1


def test_a_bad_rating_needs_a_reason_and_opens_a_rectification(gov: Gov) -> None:
    application = closed(gov, online(gov))
    client = as_user(gov, "resident")
    rate = reverse("govservice:mine_rate", args=[application.pk])
    response = client.post(rate, {"stars": "2"})
    assert response.status_code == 400 and "请说明" in text(response) and not Evaluation.objects.exists()
    response = client.post(rate, {"stars": "2", "reasons": ["fast"]})  # a good reason with 2 stars
    assert response.status_code == 400 and not Evaluation.objects.exists()
    response = client.post(rate, {"stars": "2", "reasons": ["slow"]}, follow=True)
    assert "整改" in text(response)
    rect = Rectification.objects.get()
    assert rect.status == RectStatus.OPEN and rect.department == gov.civil
    page = text(client.get(reverse("govservice:mine_detail", args=[application.pk])))
    assert "待整改" in page and "办理时间过长" in page
    # Fed back: the applicant reads the answer.
    evaluations.rectification_feedback(
        actor=gov.clerk,
        rect=rect,
        finding="审核积压",
        measures="增加人手",
        feedback="已改进审核流程，感谢监督",
    )
    page = text(client.get(reverse("govservice:mine_detail", args=[application.pk])))
    assert "已改进审核流程，感谢监督" in page


# --- The rating page of the SMS link -------------------------------------------------------------------


def counter_application(gov: Gov) -> Application:
    """Taken at the counter for the elder, who has no account linked to it."""
    return apps.application_submit(
        actor=gov["worker_a"],
        item=gov.item("elderly_allowance"),
        channel=Channel.COUNTER,
        region=gov.world.regions[GRID_A],
        applicant=apps.Applicant(facts=prefill.facts_of(gov.elder)),
        paper=["bank_card"],
    )


def rating_link(application: Application, topic: str = RATE_TOPIC) -> str:
    [message] = notify(
        sender=None,
        recipients=[],
        contacts=[Contact(ref=f"{CONTACT_KIND}:{application.pk}", name=application.applicant_name)],
        subject="请评价",
        body="请评价",
        channels=(MessageChannel.SMS,),
        topic=topic,
        topic_ref=str(application.pk),
    )
    return reverse("govservice:rate_token", args=[message_token(message.pk)])


def test_rating_by_the_sms_link_without_an_account(gov: Gov) -> None:
    application = closed(gov, counter_application(gov))
    url = rating_link(application)
    page = text(Client().get(url))
    assert application.number in page and "高龄津贴申领" in page and 'name="stars"' in page
    assert "刘奶奶" not in page and gov.elder.phone not in page and gov.elder.id_number not in page
    assert Client().post(url, {"stars": "1"}).status_code == 400 and not Evaluation.objects.exists()
    response = Client().post(url, {"stars": "1", "comment": "排队太久"})
    assert response.status_code == 302
    evaluation = Evaluation.objects.get()
    assert (evaluation.stars, evaluation.channel) == (1, Channel.COUNTER)
    assert Rectification.objects.filter(evaluation=evaluation).exists()
    page = text(Client().get(url))
    assert "排队太久" in page and 'name="stars"' not in page
    assert Client().post(url, {"stars": "5"}).status_code == 400 and Evaluation.objects.count() == 1


def test_forged_or_other_tokens_are_404(gov: Gov) -> None:
    application = closed(gov, counter_application(gov))
    good = rating_link(application)
    token = good.rstrip("/").rsplit("/", 1)[1]
    forged = reverse(
        "govservice:rate_token", args=[token[:-2] + ("AA" if not token.endswith("AA") else "BB")]
    )
    assert Client().get(forged).status_code == 404
    assert Client().post(forged, {"stars": "5"}).status_code == 404
    assert Client().get(reverse("govservice:rate_token", args=["12-nonsense"])).status_code == 404
    other_topic = rating_link(application, topic="govservice.progress")
    assert Client().get(other_topic).status_code == 404
    assert not Evaluation.objects.exists()


# --- Public tracking ---------------------------------------------------------------------------------


def test_tracking_by_number_and_mobile(gov: Gov) -> None:
    application = counter_application(gov)
    url = reverse("govservice:track")
    assert Client().get(url).status_code == 200
    response = Client().post(url, {"number": application.number, "phone": gov.elder.phone})
    page = text(response)
    assert response.status_code == 200 and application.number in page and "已受理" in page
    assert "刘奶奶" not in page and gov.elder.phone not in page
    wrong = Client().post(url, {"number": application.number, "phone": "13900000000"})
    assert wrong.status_code == 404 and "未找到" in text(wrong) and "高龄津贴申领" not in text(wrong)
    nonsense = Client().post(url, {"number": "GS1", "phone": gov.elder.phone})
    assert nonsense.status_code == 404 and "未找到" in text(nonsense)
    assert Client().post(url, {"number": "", "phone": ""}).status_code == 400


def test_tracking_is_limited_per_session(gov: Gov) -> None:
    application = counter_application(gov)
    client = Client()
    url = reverse("govservice:track")
    for _ in range(10):
        assert client.post(url, {"number": application.number, "phone": "13900000000"}).status_code == 404
    response = client.post(url, {"number": application.number, "phone": gov.elder.phone})
    assert response.status_code == 429 and "十分钟" in text(response)
    assert "已受理" not in text(response)


def test_pages_follow_the_chosen_language(gov: Gov) -> None:
    client = as_user(gov, "resident")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = text(client.get(reverse("govservice:catalog")))
    assert "Government services" in page and "4 of 5 materials filled for you" in page
    assert "Old-age allowance (80+)" in page and "Entrusted acceptance" in page
