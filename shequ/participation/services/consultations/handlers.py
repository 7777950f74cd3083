"""Reactions to the consultation events: notices through ``core.messaging.notify`` (inbox), one per
person per event (keyed by the outbox event id), threaded per topic. The proposer hears whether
their topic was accepted or declined and what was decided; the community's staff hear of new
proposals; authors hear what happened to their comments; moderators of hidden comments and appeals.
"""

from __future__ import annotations

from django.urls import reverse
from django.utils import translation

from shequ.core import outbox
from shequ.core.messaging import Notice, notify, thread_key
from shequ.core.models import User
from shequ.core.outbox import handles
from shequ.core.selectors import region_staff
from shequ.participation.models import Comment, CommentAppeal, Topic
from shequ.participation.permissions import PartPerm as P
from shequ.participation.services.consultations import notices
from shequ.participation.services.consultations._common import COMMUNITY_LENGTH
from shequ.participation.services.consultations.events import CommentModerated, TopicChanged


def _send(topic: Topic, users: list[User], notice: Notice, *, link: str, topic_name: str) -> None:
    users = [u for u in users if u.is_active]
    if not users:
        return
    notify(
        sender=None,
        recipients=users,
        subject=notice.subject,
        body=notice.body,
        link=link,
        region_code=topic.region_code,
        topic=topic_name,
        topic_ref=str(topic.pk),
        dedupe_key=outbox.current_event_id(),
        thread_key=thread_key(notices.THREAD_KIND, topic.pk),
    )


def _staff(code: str, perm: str) -> list[User]:
    """The staff holding ``perm`` at the topic's community or grid (not the whole street above)."""
    found = {u.pk: u for u in region_staff(code[:COMMUNITY_LENGTH], perm)}
    if len(code) > COMMUNITY_LENGTH:
        found.update({u.pk: u for u in region_staff(code, perm)})
    return list(found.values())


@handles(TopicChanged)
def tell_about_topic(event: TopicChanged) -> None:
    if event.action not in ("propose", "accept", "decline", "decide"):
        return  # meetings, minutes, progress … tell nobody: no need to read the topic
    topic = Topic.objects.select_related("proposer_user", "region").filter(pk=event.topic_id).first()
    if topic is None:
        return
    resident_link = reverse("participation:consult_topic", args=[topic.pk])
    with translation.override("zh-hans"):
        if event.action == "propose":
            link = reverse("participation:consult_staff_topic", args=[topic.pk])
            _send(
                topic,
                _staff(topic.region_code, P.CONSULT),
                notices.proposed(topic),
                link=link,
                topic_name="participation.consult.proposed",
            )
            return
        kinds = {"accept": notices.accepted, "decline": notices.declined, "decide": notices.decided}
        make = kinds.get(event.action)
        proposer = topic.proposer_user
        if make is None or proposer is None or not topic.proposed_by_resident:
            return
        _send(
            topic,
            [proposer],
            make(topic),
            link=resident_link,
            topic_name=f"participation.consult.{event.action}",
        )


@handles(CommentModerated)
def tell_about_comment(event: CommentModerated) -> None:
    comment = Comment.objects.select_related("topic", "user").filter(pk=event.comment_id).first()
    if comment is None:
        return
    topic = comment.topic
    author_link = reverse("participation:consult_topic", args=[topic.pk]) + f"#comment-{comment.pk}"
    queue = reverse("participation:consult_moderation")
    name = f"participation.consult.{event.action}"
    with translation.override("zh-hans"):
        if event.action in ("auto_hide", "appeal"):
            moderators = _staff(comment.region_code, P.MODERATE)
            _send(
                topic,
                moderators,
                notices.for_moderators(comment, appeal=event.action == "appeal"),
                link=queue,
                topic_name=name,
            )
        if event.action in ("auto_hide", "hide"):
            _send(
                topic,
                [comment.user],
                notices.hidden_for_author(comment, auto=event.action == "auto_hide"),
                link=author_link,
                topic_name=name,
            )
        elif event.action == "restore":
            _send(
                topic, [comment.user], notices.restored_for_author(comment), link=author_link, topic_name=name
            )
        elif event.action == "appeal_decide":
            appeal = CommentAppeal.objects.filter(comment=comment).first()
            if appeal is not None:
                _send(
                    topic, [comment.user], notices.appeal_decided(appeal), link=author_link, topic_name=name
                )
