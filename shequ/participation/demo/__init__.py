"""Demo participation for 岳麓街道: votes and elections (``votes``); each area adds its generator here."""

from __future__ import annotations

from dataclasses import dataclass, field

from shequ.participation.demo.votes import VoteSummary, generate_votes


@dataclass
class ParticipationSummary:
    votes: VoteSummary = field(default_factory=VoteSummary)

    def lines(self) -> list[str]:
        return [self.votes.line()]

    def login_notes(self) -> list[str]:
        return [note for note in (self.votes.login_note(),) if note]


def generate_participation(*, seed: int = 2026) -> ParticipationSummary:
    return ParticipationSummary(votes=generate_votes(seed=seed))
