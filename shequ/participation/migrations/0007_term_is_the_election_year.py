"""An election's term is its election day's year (``services.votes.setup.term_of``), no longer
text each community types: existing elections and their voter lists take that name. A list whose
people are already on another community's list of that year keeps its old name and is reported
(someone is on two lists: staff decide which by an objection)."""

from django.db import IntegrityError, migrations, transaction


def name_terms(apps, schema_editor):
    Vote = apps.get_model("participation", "Vote")
    Voter = apps.get_model("participation", "Voter")
    # A void election holds no one for its term (as closing does now): its list must not keep the
    # community's re-run from taking the year's name.
    void = set()
    for vote in Vote.objects.filter(kind="election", status="decided").exclude(result={}):
        if isinstance(vote.result, dict) and not (vote.result.get("outcome") or {}).get("valid", True):
            Voter.objects.filter(vote=vote).update(term="")
            void.add(vote.pk)
    for vote in Vote.objects.filter(kind="election", election_day__isnull=False).order_by("pk"):
        term = str(vote.election_day.year)
        if vote.term == term:
            continue
        try:
            with transaction.atomic():
                if vote.pk not in void:
                    Voter.objects.filter(vote=vote).update(term=term)
                Vote.objects.filter(pk=vote.pk).update(term=term)
        except IntegrityError:
            print(f"\n  vote {vote.pk}: someone on its list is on another list of {term}; term left as {vote.term!r}")


class Migration(migrations.Migration):
    dependencies = [("participation", "0006_board_append_only")]

    operations = [migrations.RunPython(name_terms, migrations.RunPython.noop)]
