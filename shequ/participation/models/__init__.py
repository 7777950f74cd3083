"""Participation tables, one module per area: consultations (议事协商), disclosure (居务公开) and
votes (polls, owners' votes, committee elections with encrypted ballots)."""

from shequ.participation.models.consultations import *  # noqa: F403
from shequ.participation.models.disclosure import *  # noqa: F403
from shequ.participation.models.votes import *  # noqa: F403
