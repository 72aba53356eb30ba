"""What the viewer's prediction panel says about one image, computed without Qt.

From a `{class: probability}` mapping and the bundle card's `groups` it derives the
predicted class, every class ranked, the benign-versus-malignant split (only when every
class carries a group) and whether the top probability falls under the user's threshold.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

DEFAULT_UNCERTAIN_THRESHOLD = 0.6


@dataclass(frozen=True)
class PredictionSummary:
    label: str
    probability: float
    ranked: tuple[tuple[str, float], ...]  # every class, most probable first
    groups: tuple[tuple[str, float], ...] | None  # e.g. (("malignant", 0.8), ("benign", 0.2))
    uncertain: bool
    threshold: float

    @property
    def group_label(self) -> str | None:
        return self.groups[0][0] if self.groups else None


def ranked_probabilities(probabilities: Mapping[str, float]) -> tuple[tuple[str, float], ...]:
    """Classes sorted by probability, highest first; ties keep alphabetical order."""
    items = [(str(name), float(p)) for name, p in probabilities.items()]
    return tuple(sorted(items, key=lambda item: (-item[1], item[0])))


def group_probabilities(
    probabilities: Mapping[str, float], groups: Mapping[str, str | None] | None
) -> tuple[tuple[str, float], ...] | None:
    """Summed probability per group, highest first, or None when the grouping is incomplete.

    A grouping counts only if every class has one and there are at least two groups;
    a half-grouped model would otherwise show a misleading benign/malignant split.
    """
    if not groups or not probabilities:
        return None
    totals: dict[str, float] = {}
    for name, p in probabilities.items():
        group = groups.get(name)
        if not group:
            return None
        totals[str(group)] = totals.get(str(group), 0.0) + float(p)
    if len(totals) < 2:
        return None
    return ranked_probabilities(totals)


def summarize_prediction(
    probabilities: Mapping[str, float],
    groups: Mapping[str, str | None] | None = None,
    threshold: float = DEFAULT_UNCERTAIN_THRESHOLD,
) -> PredictionSummary:
    """The panel's reading of one prediction. Raises ValueError on an empty or NaN result."""
    ranked = ranked_probabilities(probabilities)
    if not ranked:
        raise ValueError("The model returned no class probabilities.")
    label, probability = ranked[0]
    if math.isnan(probability):
        raise ValueError("The model returned NaN probabilities; the model file may be damaged.")
    return PredictionSummary(
        label=label,
        probability=probability,
        ranked=ranked,
        groups=group_probabilities(probabilities, groups),
        uncertain=probability < float(threshold),
        threshold=float(threshold),
    )
