"""Evaluate uplift learners on any file: ``insightloop evaluate uplift``.

The protocol is scikit-uplift's (and the Hillstrom anchor's): one random split of the
rows into train and test (:func:`sklearn.model_selection.train_test_split` with
``test_size`` and ``random_state=seed``, not stratified), a learner fitted on train,
metrics on test (:mod:`insightloop.models.uplift.metrics`).

``model="auto"`` scores each candidate (the LightGBM meta-learners and the linear
S-learner) by its mean Qini AUC over a 3-fold cross-validation of the *training* rows
(the test rows are never seen before the final score) and refits the best on all of them.
With ``bootstrap`` draws, uplift@k and the Qini AUC come with 95% percentile-bootstrap
intervals over the test rows (:mod:`insightloop.models.uplift.intervals`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, cast

import numpy as np
from sklearn.model_selection import KFold, train_test_split

from insightloop.errors import ConfigError, ModelFitError
from insightloop.models.uplift.balance import propensity_auc, standardised_mean_differences
from insightloop.models.uplift.intervals import bootstrap_qini_auc, bootstrap_uplift_at_k
from insightloop.models.uplift.learners import LEARNERS, UpliftLearner, make_learner
from insightloop.models.uplift.metrics import (
    qini_auc_score,
    qini_curve,
    uplift_at_k,
    uplift_auc_score,
    uplift_by_decile,
)
from insightloop.services.context import Context
from insightloop.services.results.uplift import (
    UpliftArmEvaluation,
    UpliftBalance,
    UpliftDecile,
    UpliftEvaluation,
)
from insightloop.services.uplift.data import encode_features, read_uplift_file

#: ``--model`` choices: "auto" or a learner of :data:`LEARNERS`.
MODEL_CHOICES = ("auto", *LEARNERS)
#: learners "auto" chooses among
AUTO_CANDIDATES = ("two_model", "class_transformation", "x", "r", "dr", "linear")
#: folds of the cross-validation on the training rows that "auto" chooses by
SELECTION_FOLDS = 3
_CURVE_POINTS = 101


def _split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's ``train_test_split`` of the row numbers (the anchor's protocol)."""
    if not 0 < test_size < 1:
        raise ConfigError(f"--test-size must be a share in (0, 1), got {test_size}")
    train, test = train_test_split(np.arange(n), test_size=test_size, random_state=seed)
    return np.asarray(train), np.asarray(test)


def _finite(x: float) -> float | None:
    return float(x) if np.isfinite(x) else None


def _interval(lo_hi: tuple[float, float]) -> list[float | None]:
    return [_finite(lo_hi[0]), _finite(lo_hi[1])]


def arm_metrics(y: np.ndarray, uplift: np.ndarray, treated: np.ndarray, k: float,
                name: str, draws: int = 0, seed: int = 0) -> UpliftArmEvaluation:
    """Held-out metrics of one arm: ``y``, predicted ``uplift``, ``treated`` (bool); with
    ``draws`` > 0, 95% bootstrap intervals of uplift@k and the Qini AUC."""
    table = uplift_by_decile(y, uplift, treated, bins=min(10, len(y)))
    deciles = [UpliftDecile(bin=int(table["bin"][i]), n_treated=int(table["n_treated"][i]),
                            n_control=int(table["n_control"][i]),
                            mean_treated=_finite(table["mean_treated"][i]),
                            mean_control=_finite(table["mean_control"][i]),
                            uplift=_finite(table["uplift"][i]),
                            std_error=_finite(table["std_error"][i]),
                            predicted=float(table["predicted"][i]))
               for i in range(len(table["bin"]))]
    x, q = qini_curve(y, uplift, treated)
    pick = np.unique(np.linspace(0, len(x) - 1, _CURVE_POINTS).round().astype(int))
    return UpliftArmEvaluation(
        treated=name, test_rows=len(y), uplift_at_k=_finite(uplift_at_k(y, uplift, treated, k)),
        uplift_at_k_by_group=_finite(uplift_at_k(y, uplift, treated, k, strategy="by_group")),
        qini_auc=_finite(qini_auc_score(y, uplift, treated)),
        auuc=_finite(uplift_auc_score(y, uplift, treated)),
        ate=float(y[treated].mean() - y[~treated].mean()), deciles=deciles,
        qini_curve={"customers": x[pick].tolist(), "incremental": q[pick].tolist()},
        uplift_at_k_ci=_interval(bootstrap_uplift_at_k(y, uplift, treated, k, draws, seed=seed))
        if draws else None,
        qini_auc_ci=_interval(bootstrap_qini_auc(y, uplift, treated, draws, seed=seed))
        if draws else None)


def _scores(model: UpliftLearner, X: np.ndarray) -> np.ndarray:
    u = model.predict(X)
    return u[:, None] if u.ndim == 1 else u


def _select(X: np.ndarray, y: np.ndarray, arm: np.ndarray, control: str,
            treated: Sequence[str], params: dict[str, Any], seed: int
            ) -> tuple[str, dict[str, float]]:
    """The candidate with the best Qini AUC (mean over the arms and the folds of a
    cross-validation of the training rows)."""
    folds = KFold(SELECTION_FOLDS, shuffle=True, random_state=seed).split(y)
    per_fold: dict[str, list[float]] = {name: [] for name in AUTO_CANDIDATES}
    for fit, val in folds:
        for name in AUTO_CANDIDATES:
            model = make_learner(name, **params).fit(X[fit], y[fit], arm[fit])
            u = _scores(model, X[val])
            for j, label in enumerate(model.treatments_):
                rows = np.isin(arm[val], (control, label))
                tv = arm[val][rows] == label
                if tv.any() and not tv.all():
                    per_fold[name].append(qini_auc_score(y[val][rows], u[rows, j], tv))
    scores = {n: float(np.mean(v)) if v else float("-inf") for n, v in per_fold.items()}
    return max(scores, key=lambda n: scores[n]), scores


def evaluate_uplift_file(ctx: Context, path: Path | str, treatment: str,
                         treated: Sequence[str], control: str, outcome: str, *,
                         test_size: float = 0.5, seed: int = 42, model: str = "auto",
                         k: float = 0.3, drop: Sequence[str] = (), positive: str | None = None,
                         drop_other: bool = False, n_jobs: int = 0,
                         bootstrap: int = 1000) -> UpliftEvaluation:
    """Fit an uplift learner on a random share of a file's rows and score it on the rest.

    Parameters
    ----------
    path : Path or str
        One row per customer: the arm column, the outcome, pre-treatment features.
    treatment, treated, control : str
        The arm column, its treated value(s) (several: one model per arm), its control.
    outcome : str
        Binary (conversion) or numeric (revenue, CLV) outcome column.
    test_size, seed : float, int
        The split (scikit-uplift's protocol: ``train_test_split(test_size, random_state)``).
    model : str
        ``auto`` or a learner of :data:`~insightloop.models.uplift.learners.LEARNERS`.
    k : float
        Share of customers for uplift@k.
    drop : sequence of str
        Columns that are not features (other outcomes, identifiers).
    positive : str, optional
        Outcome value meaning success for a yes/no text column.
    drop_other : bool
        Leave out rows whose arm is neither treated nor control (else refused).
    bootstrap : int
        Draws of the 95% bootstrap intervals of uplift@k and the Qini AUC over the test
        rows (0: none; otherwise at least 10).
    """
    del ctx  # evaluation reads only the file; the context is every service's first argument
    if model not in MODEL_CHOICES:
        raise ConfigError(f"--model {model!r} is not a learner; use one of: "
                          f"{', '.join(MODEL_CHOICES)}")
    if not 0 < k < 1:
        raise ConfigError(f"--k must be a share in (0, 1), got {k}")
    if bootstrap != 0 and bootstrap < 10:
        raise ConfigError(f"--bootstrap must be 0 (no intervals) or at least 10 draws, got "
                          f"{bootstrap}")
    data = read_uplift_file(path, treatment, treated, control, outcome, drop=drop,
                            positive=positive, drop_other=drop_other)
    train, test = _split(len(data.y), test_size, seed)
    (X_train, X_test, X_all), names, cats, _ = encode_features(
        data.features.iloc[train], data.features.iloc[test], data.features)
    y, arm = data.y, data.arm
    for part, rows in (("training", train), ("test", test)):
        for label in (control, *data.treated):
            if not (arm[rows] == label).any():
                raise ModelFitError(f"the {part} rows hold no {treatment}={label!r} row; "
                                    "use more data or another --test-size")
    params: dict[str, Any] = {"control": control, "categorical": tuple(cats),
                              "random_state": seed, "n_jobs": n_jobs}
    selection: dict[str, float] = {}
    chosen = model
    if model == "auto":
        chosen, selection = _select(X_train, y[train], arm[train], control, data.treated,
                                    params, seed)
    fitted = make_learner(chosen, **params).fit(X_train, y[train], arm[train])
    u = _scores(fitted, X_test)
    arms: list[UpliftArmEvaluation] = []
    for j, label in enumerate(fitted.treatments_):
        rows = np.isin(arm[test], (control, label))
        arms.append(arm_metrics(y[test][rows], u[rows, j], arm[test][rows] == label, k,
                                str(label), draws=bootstrap, seed=seed))
    arms.sort(key=lambda a: data.treated.index(a["treated"]))
    head = arms[0]
    is_treated = arm != control
    smd = standardised_mean_differences(X_all, is_treated)
    balance = UpliftBalance(smd={n: round(float(s), 6) for n, s in zip(names, smd, strict=True)},
                            max_abs_smd=float(np.abs(smd).max()),
                            propensity_auc=propensity_auc(X_all, is_treated, cats, seed, n_jobs))
    result: dict[str, Any] = {
        f"uplift@{round(k * 100):g}": head["uplift_at_k"],
        f"uplift@{round(k * 100):g}_ci": head["uplift_at_k_ci"], "qini_auc": head["qini_auc"],
        "qini_auc_ci": head["qini_auc_ci"], "bootstrap_draws": bootstrap,
        "auuc": head["auuc"], "model": chosen, "rows": len(y), "train_rows": len(train),
        "test_rows": len(test), "treatment": treatment, "control": control,
        "treated": list(data.treated), "outcome": outcome,
        "outcome_type": "binary" if data.binary else "continuous", "k": k,
        "features": names, "excluded": data.excluded, "selection": selection,
        "balance": balance, "arms": arms}
    return cast(UpliftEvaluation, result)
