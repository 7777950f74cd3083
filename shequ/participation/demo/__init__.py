"""Demo participation for 岳麓街道, one module per area (``votes``, ``disclosure``, ``consult``); the
demo builder ``shequ.demo.generator`` calls ``generate_participation``."""

from __future__ import annotations

from dataclasses import dataclass, field

from shequ.participation.demo.consult import ConsultSummary, generate_consultations
from shequ.participation.demo.disclosure import DisclosureSummary, generate_disclosure
from shequ.participation.demo.votes import VoteSummary, generate_votes


@dataclass
class ParticipationSummary:
    votes: VoteSummary = field(default_factory=VoteSummary)
    disclosure: DisclosureSummary | None = None
    consult: ConsultSummary | None = None

    def lines(self) -> list[str]:
        lines = [self.votes.line()]
        if self.disclosure is not None:
            lines.append(self.disclosure.line())
        if self.consult is not None:
            lines.append(self.consult.line())
        return lines

    def login_notes(self) -> list[str]:
        return [note for note in (self.votes.login_note(),) if note]


def generate_participation(*, seed: int = 2026) -> ParticipationSummary:
    return ParticipationSummary(
        votes=generate_votes(seed=seed),
        disclosure=generate_disclosure(seed=seed),
        consult=generate_consultations(seed=seed),
    )
