"""A journey's definition (YAML or JSON), validated by pydantic.

::

    name: welcome
    channel: email            # email, webhook or outbox
    purpose: marketing
    trigger: {kind: first_purchase}   # or cart_abandoned (within_hours), churn_risk
                                      # (threshold), clv_tier (to), event (event_type)
    exit_on_conversion: true  # an order after entering ends the journey ("converted")
    steps:
      - {id: hello, send: {subject: "Welcome {{ name }}", text: "..."}}
      - {id: pause, wait: {days: 3}}
      - {id: vip, branch: {where: "monetary > 100", then: thanks, else: nudge}}
      - {id: nudge, split: {arms: {offer: 0.5, reminder: 0.5}, seed: 7}}
      - ...

Steps run in the order listed unless one names ``next`` (``end`` finishes); a branch or
split names where each customer goes. Every target must be a step id or ``end``, and the
steps may not loop (each step happens at most once per customer: the idempotency key is
(journey, step, customer)).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from insightloop.errors import ConfigError, InputFileError

END = "end"
_ID = re.compile(r"^[a-z0-9_][a-z0-9_.-]{0,99}$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Trigger(_Strict):
    kind: Literal["first_purchase", "cart_abandoned", "churn_risk", "clv_tier", "event"]
    within_hours: float = Field(default=24.0, gt=0)     # cart_abandoned: no order this long after
    threshold: float = Field(default=0.5, ge=0, le=1)  # churn_risk: churn_score at least this
    to: str = "high"                            # clv_tier: the tier entered
    event_type: str = "cart"                    # event: the event that enters


class Wait(_Strict):
    days: float = Field(default=0.0, ge=0)
    hours: float = Field(default=0.0, ge=0)

    @property
    def seconds(self) -> float:
        return self.days * 86400 + self.hours * 3600


class Send(_Strict):
    text: str
    subject: str = ""
    html: str | None = None


class Branch(_Strict):
    where: str
    then: str
    else_: str = Field(alias="else")


class Split(_Strict):
    arms: dict[str, float]
    seed: int = 0

    @model_validator(mode="after")
    def _weights(self) -> Split:
        if not self.arms or any(w <= 0 for w in self.arms.values()):
            raise ValueError("a split needs arms with positive weights")
        return self


class Step(_Strict):
    id: str
    next: str | None = None
    wait: Wait | None = None
    send: Send | None = None
    branch: Branch | None = None
    split: Split | None = None

    @property
    def kind(self) -> str:
        kinds = [k for k in ("wait", "send", "branch", "split") if getattr(self, k)]
        return kinds[0] if kinds else "end"

    @model_validator(mode="after")
    def _one_kind(self) -> Step:
        if not _ID.match(self.id) or self.id == END:
            raise ValueError(f"step id {self.id!r}: lower-case letters, digits, _ . - "
                             f"(and not {END!r})")
        if sum(bool(getattr(self, k)) for k in ("wait", "send", "branch", "split")) != 1:
            raise ValueError(f"step {self.id!r} must be exactly one of wait, send, branch, "
                             "split")
        return self


class JourneySpec(_Strict):
    name: str
    trigger: Trigger
    steps: tuple[Step, ...] = Field(min_length=1)
    channel: Literal["email", "webhook", "outbox"] = "email"
    purpose: str = "marketing"
    exit_on_conversion: bool = True

    @model_validator(mode="after")
    def _graph(self) -> JourneySpec:
        if not _ID.match(self.name):
            raise ValueError(f"journey name {self.name!r}: lower-case letters, digits, _ . -")
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"step ids repeat: {ids}")
        for target in (t for s in self.steps for t in self.targets(s)):
            if target != END and target not in ids:
                raise ValueError(f"no step {target!r} to go to; steps are: {', '.join(ids)}")
        self._no_loops()
        return self

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def targets(self, step: Step) -> list[str]:
        """Where a customer may go after ``step``."""
        if step.branch:
            return [step.branch.then, step.branch.else_]
        if step.split:
            return list(step.split.arms)
        if step.next:
            return [step.next]
        at = [s.id for s in self.steps].index(step.id)
        return [self.steps[at + 1].id if at + 1 < len(self.steps) else END]

    def _no_loops(self) -> None:
        state: dict[str, int] = {}

        def visit(node: str, path: tuple[str, ...]) -> None:
            if node == END or state.get(node) == 2:
                return
            if state.get(node) == 1:
                raise ValueError(f"steps loop: {' -> '.join((*path, node))}")
            state[node] = 1
            for t in self.targets(self.step(node)):
                visit(t, (*path, node))
            state[node] = 2

        visit(self.steps[0].id, ())


def parse_journey(data: Any, source: str = "journey") -> JourneySpec:
    """A validated journey; :class:`ConfigError` naming the first problem."""
    try:
        return JourneySpec.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise ConfigError(f"{source}: {where}: {first['msg']}") from None


def load_journey(path: Path | str) -> JourneySpec:
    """Read a journey from a YAML or JSON file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{p}: cannot read the journey ({exc})") from None
    try:
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise InputFileError(f"{p}: not valid {'JSON' if p.suffix == '.json' else 'YAML'}: "
                             f"{str(exc).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InputFileError(f"{p}: a journey is a mapping (name, trigger, steps)")
    return parse_journey(data, str(p))
