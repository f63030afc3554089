"""Completion criteria: when a tuning job stops starting new trials.

Besides running out of trials (``max_jobs``, or the grid's size), a tuning job stops
early when

- **no improvement**: the best objective has not improved by more than ``min_delta``
  in the last ``no_improvement_jobs`` finished trials (failed and pruned trials count
  as trials that did not improve), or
- **target reached**: a trial's objective reached ``target_value`` (``>=`` when
  maximising, ``<=`` when minimising).

Trials are judged in the order they finish. A criterion that is met stops new trials
at once; trials already running are left to finish and are recorded like any other
(their training is paid for, and one of them may still be the best). Only the tuning
job's own trials count: warm-start trials seed the sampler but are not judged here.
"""

from __future__ import annotations

from dataclasses import dataclass

from siklus.tuning._objective import Objective

NO_IMPROVEMENT = "no_improvement"
TARGET_REACHED = "target_reached"


@dataclass
class Completion:
    """Tracks the best objective and says when a criterion is met.

    Example:
        >>> c = Completion(Objective.parse("validation:accuracy"), no_improvement_jobs=2)
        >>> [c.observe(v) for v in (0.8, 0.9, 0.85, None)]
        [None, None, None, 'no_improvement']
    """

    objective: Objective
    no_improvement_jobs: int | None = None
    min_delta: float = 0.0
    target_value: float | None = None
    #: The last value that counted as an improvement (the reference for the next).
    best: float | None = None
    since_improvement: int = 0

    def observe(self, value: float | None) -> str | None:
        """Take one finished trial's objective (None if it has none) into account.

        Returns:
            ``"target_reached"`` or ``"no_improvement"`` when that criterion is now met,
            else None.
        """
        if value is not None and self.objective.better(value, self.best, self.min_delta):
            self.best = value
            self.since_improvement = 0
        else:
            # A gain of min_delta or less neither resets the count nor moves the reference,
            # so a slow creep of tiny gains still ends the search (as in Keras' EarlyStopping).
            self.since_improvement += 1
        if (
            self.target_value is not None
            and value is not None
            and self.objective.reached(value, self.target_value)
        ):
            return TARGET_REACHED
        if (
            self.no_improvement_jobs is not None
            and self.since_improvement >= self.no_improvement_jobs
        ):
            return NO_IMPROVEMENT
        return None


__all__ = ["NO_IMPROVEMENT", "TARGET_REACHED", "Completion"]
