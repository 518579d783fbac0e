"""The MLOps maturity report's entities: per phase, stars, the evidence and the next step.

Kept apart from :mod:`werft.governance.maturity` so that the SDK's HTTP
backend can parse a report without loading the store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Phase = Literal[
    "requirements",
    "exploration",
    "development",
    "continuous_integration",
    "continuous_deployment",
    "operation",
    "data",
]
"""The six lifecycle phases of the MLOps cycle (Beck et al.) and the data that links them."""

PHASES: tuple[Phase, ...] = (
    "requirements",
    "exploration",
    "development",
    "continuous_integration",
    "continuous_deployment",
    "operation",
    "data",
)

PHASE_TITLES: dict[Phase, str] = {
    "requirements": "Requirements & design",
    "exploration": "Exploration",
    "development": "Development",
    "continuous_integration": "Continuous integration",
    "continuous_deployment": "Continuous deployment",
    "operation": "Operation & monitoring",
    "data": "Data",
}

MAX_STARS = 5


class _Entity(BaseModel):
    model_config = ConfigDict(frozen=True)


class Evidence(_Entity):
    """One rung of a phase's ladder and what werft found for it.

    Attributes:
        level: The star this rung is worth (1 to 5); rungs count only in order.
        criterion: What the rung asks for, e.g. "runs log their input datasets".
        count: How many things in the store meet it (runs, versions, reports ...).
        of: Out of how many, where a share matters (``None`` otherwise).
        met: Whether the rung is reached.
    """

    level: int = Field(ge=1, le=MAX_STARS)
    criterion: str
    count: int = Field(ge=0)
    of: int | None = None
    met: bool


class NextStep(_Entity):
    """What to do to earn the next star.

    Attributes:
        action: In words, what is missing.
        command: A command (or, where there is none, a Python call) to run.
    """

    action: str
    command: str


class PhaseRating(_Entity):
    """One phase's rating.

    Attributes:
        phase: The phase's name, e.g. ``continuous_integration``.
        title: Its title for people.
        stars: 0 to 5: the highest rung reached with every rung below it.
        evidence: Every rung, lowest first, with what was found.
        next_step: How to reach the next star; ``None`` at five stars.
    """

    phase: Phase
    title: str
    stars: int = Field(ge=0, le=MAX_STARS)
    evidence: list[Evidence]
    next_step: NextStep | None = None


class MaturityReport(_Entity):
    """The MLOps maturity of one use case (project), from what werft recorded.

    Attributes:
        project: The project key.
        generated_at: When the report was made.
        phases: One rating per phase, in lifecycle order, data last.
        overall: The mean of the phases' stars, rounded to half a star.
    """

    project: str
    generated_at: datetime
    phases: list[PhaseRating]
    overall: float = Field(ge=0, le=MAX_STARS)

    def phase(self, name: Phase) -> PhaseRating:
        """The rating of one phase."""
        for rating in self.phases:
            if rating.phase == name:
                return rating
        raise KeyError(name)


def star_text(stars: float) -> str:
    """Stars as text: ``★★★☆☆``, with ``½`` for a half star."""
    full = int(stars)
    half = stars - full >= 0.5
    return "★" * full + ("½" if half else "") + "☆" * (MAX_STARS - full - (1 if half else 0))
