"""Uplift on the warehouse: fit on a campaign's sends, score every customer, plan contacts.

``build_uplift`` reads table ``sends`` (one campaign, or all): the first send of each
customer, its ``variant`` the arm (``control`` the control arm, every other value a
treatment). Features are point-in-time, computed in DuckDB from ``orders`` *before* the
send (recency, frequency, monetary value, average order, tenure); the outcome comes from
orders *after* it, within ``window_days``: any order (``conversion``), their net value
(``revenue``), or the predicted lifetime value at the window's end (``clv``, from the
registered CLV model; :mod:`insightloop.services.uplift.sends`). Half of the sends
(seeded) fit the learner, the other half measures it (uplift@30%, Qini, AUUC per arm) and
sets each arm's harm cut-off (the sleeping dogs). The model is registered as ``uplift``;
every customer is scored with features as of the last order in the warehouse into table
``uplift_scores`` (one row per customer and arm).

``plan_uplift`` turns the scores into the targeting plan under a budget and per-contact
costs (:func:`insightloop.models.uplift.plan.targeting_plan`): table ``uplift_plan`` (one
row per customer: arm, expected incremental profit, selected, why) and the exportable
audiences in ``uplift_audiences`` (``uplift_plan``: the selected customers;
``top_<k>pct_uplift``: the top share by predicted uplift, sleeping dogs excluded).
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from insightloop.errors import ConfigError, ModelFitError, WarehouseError
from insightloop.models.uplift.balance import propensity_auc, standardised_mean_differences
from insightloop.models.uplift.learners import make_learner
from insightloop.models.uplift.plan import REASONS, harm_cutoff, targeting_plan
from insightloop.services.context import Context
from insightloop.services.results.uplift import UpliftBalance, UpliftBuilt, UpliftPlanned
from insightloop.services.uplift.evaluate import MODEL_CHOICES, arm_metrics
from insightloop.services.uplift.sends import (
    FEATURES,
    OUTCOMES,
    clv_outcome,
    customers_now,
    sends_frame,
)
from insightloop.storage.warehouse import has_table, write_frame

MODEL_NAME = "uplift"


def build_uplift(ctx: Context, campaign_id: str | None = None, outcome: str = "conversion",
                 window_days: int = 30, model: str = "two_model", control: str = "control",
                 seed: int = 42, horizon_months: int = 12) -> UpliftBuilt:
    """Fit an uplift model on the sends, register it, write table ``uplift_scores``.
    ``horizon_months``: the CLV horizon of outcome ``clv`` (unused otherwise)."""
    if outcome not in OUTCOMES:
        raise ConfigError(f"outcome must be one of {', '.join(OUTCOMES)}, got {outcome!r}")
    if model not in MODEL_CHOICES or model == "auto":
        raise ConfigError(f"model must be one of {', '.join(MODEL_CHOICES[1:])}, got {model!r}")
    if window_days < 1:
        raise ConfigError(f"window_days must be >= 1, got {window_days}")
    if horizon_months < 1:
        raise ConfigError(f"horizon_months must be >= 1, got {horizon_months}")
    with ctx.read() as con:
        for table in ("sends", "orders"):
            if not has_table(con, table):
                raise WarehouseError(f"table {table!r} is empty or missing; load it with "
                                     f"`insightloop ingest {table} FILE`")
        frame = sends_frame(con, campaign_id, window_days, outcome)
        now = customers_now(con)
    if frame.empty:
        raise WarehouseError("no send with a customer" + (
            f" in campaign {campaign_id!r}" if campaign_id else "") + " in table sends")
    missing = frame["variant"].isna().to_numpy()
    if missing.any():
        raise WarehouseError(f"table sends: {int(missing.sum()):,} send(s) have no variant "
                             f"(e.g. customer {frame.loc[missing, 'customer_id'].iloc[0]!r}); "
                             f"set it to {control!r} or the treatment arm and re-ingest")
    arm = frame["variant"].astype(str).to_numpy()
    if not (arm == control).any():
        raise ModelFitError(f"table sends: no send has variant {control!r} (the control); "
                            f"variants are: {sorted(set(arm.tolist()))}")
    X = frame[list(FEATURES)].to_numpy(np.float32)
    y = (clv_outcome(frame, ctx.models, horizon_months) if outcome == "clv"
         else frame["y"].to_numpy(np.float64))
    if np.all(y == y[0]):
        raise ModelFitError(f"the outcome ({outcome}) is {y[0]:g} for every send: no orders "
                            f"in the {window_days} days after the sends")
    fold = np.random.default_rng(seed).random(len(y)) < 0.5
    learner = make_learner(model, control=control, random_state=seed)
    fitted = learner.fit(X[fold], y[fold], arm[fold])
    u = fitted.predict(X[~fold])
    u = u[:, None] if u.ndim == 1 else u
    evaluation, cutoffs = [], {}
    for j, label in enumerate(fitted.treatments_):
        rows = np.isin(arm[~fold], (control, label))
        yt, ut, tt = y[~fold][rows], u[rows, j], arm[~fold][rows] == label
        evaluation.append(arm_metrics(yt, ut, tt, 0.3, str(label)))
        cutoffs[str(label)] = harm_cutoff(yt, ut, tt)
    treated_any = arm != control
    smd = standardised_mean_differences(X, treated_any)
    balance = UpliftBalance(
        smd={f: round(float(v), 6) for f, v in zip(FEATURES, smd, strict=True)},
        max_abs_smd=float(np.abs(smd).max()),
        propensity_auc=propensity_auc(X, treated_any, random_state=seed))
    meta = {"task": "uplift", "model": model, "balance": balance, "features": list(FEATURES),
            "control": control,
            "treated": [str(a) for a in fitted.treatments_], "outcome": outcome,
            "window_days": window_days, "campaign_id": campaign_id,
            "horizon_months": horizon_months if outcome == "clv" else None, "sends": len(y),
            "harm_cutoff": cutoffs, "evaluation": evaluation}
    info = ctx.models.save(MODEL_NAME, fitted, meta)
    scores = fitted.predict(now[list(FEATURES)].to_numpy(np.float32))
    scores = scores[:, None] if scores.ndim == 1 else scores
    arms = [str(a) for a in fitted.treatments_]
    long = pd.DataFrame({
        "customer_id": np.repeat(now["customer_id"].to_numpy(), len(arms)),
        "arm": np.tile(np.array(arms, dtype=object), len(now)),
        "uplift": scores.ravel()})
    long["sleeping_dog"] = long["uplift"].to_numpy() <= long["arm"].map(cutoffs).to_numpy()
    long["model_version"] = int(info["version"])
    long["scored_at"] = pd.Timestamp(datetime.now())
    with ctx.warehouse.transaction() as wcon:
        write_frame(wcon, "uplift_scores", long)
    return UpliftBuilt(
        name=MODEL_NAME, version=int(info["version"]), model=model, campaign_id=campaign_id,
        outcome=outcome, window_days=window_days, sends=len(y), treated=arms, control=control,
        customers_scored=len(now),
        harm_cutoff={a: (c if np.isfinite(c) else None) for a, c in cutoffs.items()},
        balance=balance, evaluation=evaluation)


def plan_uplift(ctx: Context, budget: float | None = None, value: float = 1.0,
                cost: float = 0.0, costs: dict[str, float] | None = None,
                top: float = 0.3) -> UpliftPlanned:
    """The targeting plan from table ``uplift_scores``: tables ``uplift_plan`` and
    ``uplift_audiences`` (see the module docstring). ``costs`` overrides ``cost`` per arm."""
    if not 0 < top < 1:
        raise ConfigError(f"top must be a share in (0, 1), got {top}")
    if value <= 0:
        raise ConfigError(f"value per conversion must be > 0, got {value}")
    with ctx.read() as con:
        if not has_table(con, "uplift_scores"):
            raise WarehouseError("table 'uplift_scores' is missing: run `insightloop uplift "
                                 "build` first")
        scores = con.execute("SELECT customer_id, arm, uplift, sleeping_dog FROM uplift_scores"
                             ).df()
    wide = scores.pivot(index="customer_id", columns="arm", values="uplift").sort_index()
    dogs = scores.pivot(index="customer_id", columns="arm", values="sleeping_dog"
                        ).reindex(index=wide.index, columns=wide.columns)
    arms = [str(a) for a in wide.columns]
    unknown = sorted(set(costs or {}) - set(arms))
    if unknown:
        raise ConfigError(f"costs name arm(s) {unknown} that were not scored; arms: {arms}")
    per_arm = np.array([(costs or {}).get(a, cost) for a in arms], dtype=np.float64)
    u = wide.to_numpy(np.float64)
    dog = dogs.to_numpy(bool)
    # an arm that harms a customer (a sleeping dog of that arm) is never offered to them
    plan = targeting_plan(np.where(dog, -np.inf, u), value=value, cost=per_arm, budget=budget)
    rows = np.arange(len(u))
    reason = np.where(dog.all(axis=1), REASONS.index("sleeping_dog"), plan["reason"])
    chosen = u[rows, plan["arm"]]
    ids = wide.index.to_numpy()
    out = pd.DataFrame({
        "customer_id": ids, "arm": np.array(arms, dtype=object)[plan["arm"]],
        "uplift": chosen, "expected_profit": chosen * value - plan["cost"],
        "cost": plan["cost"], "selected": plan["selected"],
        "reason": np.array(REASONS, dtype=object)[reason], "rank": plan["rank"],
        "planned_at": pd.Timestamp(datetime.now())})
    best = np.where(dog, -np.inf, u).max(axis=1)
    order = np.argsort(-best, kind="stable")[: int(len(best) * top)]
    order = order[np.isfinite(best[order])]
    name = f"top_{round(top * 100):g}pct_uplift"
    audiences = pd.concat([
        pd.DataFrame({"audience": "uplift_plan", "customer_id": ids[plan["selected"]],
                      "arm": out["arm"].to_numpy()[plan["selected"]],
                      "rank": plan["rank"][plan["selected"]]}),
        pd.DataFrame({"audience": name, "customer_id": ids[order],
                      "arm": np.array(arms, dtype=object)[
                          np.argmax(np.where(dog, -np.inf, u), axis=1)[order]],
                      "rank": np.arange(1, len(order) + 1)})], ignore_index=True)
    audiences["created_at"] = pd.Timestamp(datetime.now())
    with ctx.warehouse.transaction() as wcon:
        write_frame(wcon, "uplift_plan", out)
        write_frame(wcon, "uplift_audiences", audiences)
    sel = plan["selected"]
    return UpliftPlanned(
        customers=len(out), selected=int(sel.sum()), budget=budget,
        spent=float(plan["cost"][sel].sum()),
        expected_incremental_profit=float(plan["profit"][sel].sum()),
        by_reason={r: int((reason == i).sum()) for i, r in enumerate(REASONS)},
        by_arm={a: int((plan["arm"][sel] == i).sum()) for i, a in enumerate(arms)},
        audiences={"uplift_plan": int(sel.sum()), name: len(order)})
