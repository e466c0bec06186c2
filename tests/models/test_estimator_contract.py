"""One contract for every model family of ``insightloop.models.ESTIMATORS``.

scikit-learn's conventions (``__init__`` stores its parameters and nothing else, ``fit``
returns self, ``get_params``/``set_params`` round-trip, ``clone`` gives an unfitted copy
with equal parameters), and a fitted model saved through the versioned registry loads back
with identical predictions. Data: the bundled Online Retail and review samples.
"""

from __future__ import annotations

import importlib.resources
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from insightloop.features.interactions import Interactions, interactions_from_frame
from insightloop.models import ESTIMATORS, estimator_class
from insightloop.services.registry import load_model, save_model
from insightloop.settings import Settings


def _sample(name: str) -> pd.DataFrame:
    path = Path(str(importlib.resources.files("insightloop.data") / name))
    return pd.read_csv(path)


@cache
def retail() -> pd.DataFrame:
    df = _sample("online_retail_sample.csv.gz").dropna(subset=["CustomerID"])
    df = df[df["Quantity"] > 0].copy()
    df["customer"] = df["CustomerID"].astype(int).astype(str)
    df["time"] = pd.to_datetime(df["InvoiceDate"])
    df["amount"] = df["Quantity"] * df["UnitPrice"]
    return df


@cache
def rfm() -> pd.DataFrame:
    """frequency / recency / T (weeks) / monetary_value at 2011-06-30, and profile columns."""
    df = retail()
    end = pd.Timestamp("2011-06-30")
    cal = df[df["time"] <= end].assign(day=lambda d: d["time"].dt.floor("D"))
    days = cal.groupby(["customer", "day"], as_index=False)["amount"].sum()
    g = days.groupby("customer")
    first, last, n = g["day"].min(), g["day"].max(), g["day"].size()
    repeat_value = (g["amount"].sum() - days.sort_values("day").groupby("customer")["amount"]
                    .first()) / (n - 1).where(n > 1)
    weeks = pd.Timedelta(days=7)
    out = pd.DataFrame({
        "frequency": (n - 1).astype(float), "recency": (last - first) / weeks,
        "T": (end - first) / weeks, "monetary_value": repeat_value.fillna(0.0)})
    out["recency_days"] = (end - last).dt.days.astype(float)
    out["monetary"] = g["amount"].sum()
    out["avg_order_value"] = g["amount"].mean()
    out["tenure_days"] = out["T"]
    out["inter_purchase_days"] = (out["recency"] / out["frequency"]).where(out["frequency"] > 0)
    countries = df.groupby("customer")["Country"].first()
    out["country"] = countries.reindex(out.index)
    later = set(df.loc[df["time"] > end, "customer"])
    out["bought_later"] = out.index.isin(later).astype(int)
    return out


@cache
def interactions() -> Interactions:
    df = retail()
    top = df["StockCode"].value_counts().index[:300]
    frame = df[df["StockCode"].isin(top)].rename(columns={"customer": "user", "StockCode": "item"})
    return interactions_from_frame(frame[["user", "item", "Quantity"]], weight="Quantity")


@cache
def item_vectors() -> pd.DataFrame:
    items = interactions().item_ids
    rng = np.random.default_rng(7)
    return pd.DataFrame(rng.normal(size=(len(items), 16)), index=pd.Index(items).astype(str))


@cache
def reviews() -> pd.DataFrame:
    return _sample("reviews_sample.csv.gz")


@dataclass
class Case:
    make: Callable[[], Any]
    fit: Callable[[Any], Any]
    predict: Callable[[Any], Any]


def _clv(fit_cols: tuple[str, ...], predict: Callable[[Any, pd.DataFrame], Any]) -> Case:
    def data() -> pd.DataFrame:
        d = rfm()
        return d[d["frequency"] > 0] if "monetary_value" in fit_cols else d

    return Case(lambda: None, lambda m: m.fit(*(data()[c] for c in fit_cols)),
                lambda m: predict(m, data()))


def _recommender(name: str, **params: Any) -> Case:
    users = interactions().user_ids[:25]

    def predict(m: Any) -> Any:
        ids, scores = m.recommend(users, n=5)
        hist_ids, hist_scores = m.recommend_history(interactions().matrix[:5], n=5)
        return ids, scores, hist_ids, hist_scores, m.similar_items(interactions().item_ids[:3])

    return Case(lambda: estimator_class(f"recommend.{name}")(**params),
                lambda m: m.fit(interactions()), predict)


SEG_FEATURES = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days",
                "inter_purchase_days")
CLASSIFY_FEATURES = ["frequency", "recency_days", "monetary", "avg_order_value", "country"]

CASES: dict[str, Case] = {
    "clv.bgnbd": _clv(("frequency", "recency", "T"),
                      lambda m, d: m.probability_alive(d["frequency"], d["recency"], d["T"])),
    "clv.mbgnbd": _clv(("frequency", "recency", "T"),
                       lambda m, d: (m.probability_alive(d["frequency"], d["recency"], d["T"]),
                                     m.expected_purchases(13, d["frequency"], d["recency"],
                                                          d["T"]))),
    "clv.pareto_nbd": _clv(("frequency", "recency", "T"),
                           lambda m, d: m.expected_purchases(13, d["frequency"], d["recency"],
                                                             d["T"])),
    "clv.gamma_gamma": _clv(("frequency", "monetary_value"),
                            lambda m, d: m.conditional_expected_average_profit(
                                d["frequency"], d["monetary_value"])),
    "segmentation": Case(
        lambda: estimator_class("segmentation")(k=3, n_init=2, features=SEG_FEATURES),
        lambda m: m.fit(rfm()), lambda m: (m.predict(rfm()), m.transform(rfm()))),
    "classify": Case(
        lambda: estimator_class("classify")(model="blend", inner_folds=2),
        lambda m: m.fit(rfm()[CLASSIFY_FEATURES], rfm()["bought_later"]),
        lambda m: (m.predict_proba(rfm()[CLASSIFY_FEATURES]),
                   m.contributions(rfm()[CLASSIFY_FEATURES]))),
    "classify.encoder": Case(
        lambda: estimator_class("classify.encoder")(max_categories=5),
        lambda m: m.fit(rfm()[CLASSIFY_FEATURES]),
        lambda m: m.transform(rfm()[CLASSIFY_FEATURES])),
    "sentiment": Case(
        lambda: estimator_class("sentiment")(kind="baseline", n_features=2 ** 12),
        lambda m: m.fit(reviews()["text"].tolist(), reviews()["label"]),
        lambda m: m.predict_proba(reviews()["text"].tolist()[:50])),
    "recommend.popularity": _recommender("popularity"),
    "recommend.itemknn": _recommender("itemknn", similarity="jaccard", neighbours=50),
    "recommend.rp3beta": _recommender("rp3beta", neighbours=50),
    "recommend.sar": _recommender("sar", similarity="lift"),
    "recommend.ease": _recommender("ease", l2=50.0),
    "recommend.als": _recommender("als", factors=8, iterations=3),
    "recommend.bpr": _recommender("bpr", factors=8, iterations=5),
}
CASES["recommend.content"] = Case(
    lambda: estimator_class("recommend.content")(item_vectors=item_vectors()),
    _recommender("content").fit, _recommender("content").predict)
CASES["recommend.hybrid"] = Case(
    lambda: estimator_class("recommend.hybrid")(base="ease", base_params={"l2": 50.0},
                                                content_weight=0.3,
                                                item_vectors=item_vectors()),
    _recommender("hybrid").fit, _recommender("hybrid").predict)


@cache
def uplift_test() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A randomised test of 600 customers: contact helps those with x0 > 0."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(600, 3)).astype(np.float32)
    t = rng.integers(0, 2, 600)
    return X, (rng.random(600) < 0.3 + 0.2 * t * (X[:, 0] > 0)).astype(float), t


for _learner in ("two_model", "class_transformation", "x", "r", "dr"):
    CASES[f"uplift.{_learner}"] = Case(
        (lambda f: lambda: estimator_class(f)(n_estimators=10, min_child_samples=20,
                                              n_jobs=1))(f"uplift.{_learner}"),
        lambda m: m.fit(*uplift_test()), lambda m: m.predict(uplift_test()[0]))
CASES["uplift.linear"] = Case(lambda: estimator_class("uplift.linear")(C=2.0, categorical=()),
                              lambda m: m.fit(*uplift_test()),
                              lambda m: m.predict(uplift_test()[0]))
# the penalties these 255 customers need (without one BG/NBD's parameters run off)
for _family, _penalizer in (("clv.bgnbd", 0.01), ("clv.pareto_nbd", 0.0),
                            ("clv.gamma_gamma", 0.0)):
    CASES[_family].make = (lambda f, p: lambda: estimator_class(f)(penalizer=p))(_family,
                                                                                   _penalizer)
# MBG/NBD with a prior on its dropout parameters (a MAP fit), as `clv build` fits it
CASES["clv.mbgnbd"].make = lambda: estimator_class("clv.mbgnbd")(dropout_prior=0.01)


def _same(a: Any, b: Any) -> None:
    """Identical values (arrays bit for bit, frames with dtypes)."""
    if isinstance(a, tuple):
        assert isinstance(b, tuple) and len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a, b, check_exact=True)
    else:
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _params_equal(p: dict[str, Any], q: dict[str, Any]) -> None:
    assert p.keys() == q.keys()
    for key, value in p.items():
        if isinstance(value, pd.DataFrame):
            pd.testing.assert_frame_equal(value, q[key])
        else:
            assert value == q[key], key


def test_every_family_has_a_contract_case() -> None:
    assert set(CASES) == set(ESTIMATORS)


@pytest.mark.parametrize("family", sorted(ESTIMATORS))
def test_init_only_stores_parameters(family: str) -> None:
    cls = estimator_class(family)
    est = cls()
    names = cls._get_param_names()  # type: ignore[attr-defined]
    assert sorted(vars(est)) == sorted(names), "__init__ must store its parameters only"
    assert sorted(est.get_params(deep=False)) == sorted(names)
    init = vars(cls).get("__init__") or next(
        (vars(k)["__init__"] for k in cls.__mro__ if "__init__" in vars(k)), None)
    if init is not None and init is not object.__init__:
        for name, param in inspect.signature(init).parameters.items():
            assert not isinstance(param.default, list | dict | set), f"mutable default {name}"


@pytest.mark.parametrize("family", sorted(ESTIMATORS))
def test_contract_and_registry_round_trip(family: str, tmp_path: Path) -> None:
    case = CASES[family]
    est = case.make()
    params = est.get_params(deep=False)
    unfitted = clone(est)
    assert type(unfitted) is type(est)
    _params_equal(unfitted.get_params(deep=False), params)
    again = type(est)().set_params(**params)
    _params_equal(again.get_params(deep=False), params)

    assert case.fit(est) is est
    fitted_attrs = [k for k in vars(est) if k.endswith("_") and not k.startswith("__")]
    assert fitted_attrs, "fitted state lives in attributes ending with '_'"
    _params_equal(est.get_params(deep=False), params)  # fit does not change parameters
    copy = clone(est)
    assert not [k for k in vars(copy) if k.endswith("_") and not k.startswith("__")]
    _params_equal(copy.get_params(deep=False), params)

    before = case.predict(est)
    settings = Settings.load(warehouse=tmp_path / "wh.duckdb", env={})
    save_model(settings, "contract", est, {"task": family})
    loaded, meta = load_model(settings, "contract")
    assert type(loaded) is type(est) and meta["format"] == "arrays+json"
    _same(case.predict(loaded), before)
    assert not list((settings.models_dir / "contract" / "v1").glob("*.pkl"))
