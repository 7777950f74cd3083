"""Every write of polls, owners' votes and elections, one module per stage."""

from shequ.participation.services.votes._common import VoteError
from shequ.participation.services.votes.casting import Receipt, ballot_cast, credential_for, voters_for_person
from shequ.participation.services.votes.counting import (
    by_election_create,
    close_due,
    trustee_decrypt_submit,
    vacuum_vote_tables,
    vote_close,
)
from shequ.participation.services.votes.rolls import (
    RollSummary,
    objection_decide,
    objection_file,
    objection_person,
    proxy_record,
    representative_record,
    roll_compute,
    roll_publish,
    voter_add,
    voter_remove,
)
from shequ.participation.services.votes.setup import (
    candidates_finalize,
    option_add,
    option_withdraw,
    readiness,
    trustee_add,
    trustee_key_submit,
    vote_create,
    vote_open,
    vote_schedule,
)

__all__ = [
    "Receipt",
    "RollSummary",
    "VoteError",
    "ballot_cast",
    "by_election_create",
    "candidates_finalize",
    "close_due",
    "credential_for",
    "objection_decide",
    "objection_file",
    "objection_person",
    "option_add",
    "option_withdraw",
    "proxy_record",
    "readiness",
    "representative_record",
    "roll_compute",
    "roll_publish",
    "trustee_add",
    "trustee_decrypt_submit",
    "trustee_key_submit",
    "vacuum_vote_tables",
    "vote_close",
    "vote_create",
    "vote_open",
    "vote_schedule",
    "voter_add",
    "voter_remove",
    "voters_for_person",
]
