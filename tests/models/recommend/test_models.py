"""Every recommender behind the one contract; closed forms checked against direct solutions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics.pairwise import cosine_similarity

from insightloop.errors import ConfigError, NotFittedError, NotFoundError
from insightloop.features.interactions import Interactions, interactions_from_frame
from insightloop.models.recommend import MODELS, make_recommender
from insightloop.models.recommend.linear import EASE
from insightloop.models.recommend.neighbours import SAR
from insightloop.models.recommend.rules import association_rules, diversify, explain

RNG = np.random.default_rng(0)


@pytest.fixture(scope="module")
def small() -> Interactions:
    users = np.repeat(np.arange(40), 6)
    # two communities of items: users < 20 like items 0..9, the others items 10..19
    items = np.where(users < 20, RNG.integers(0, 10, len(users)),
                     RNG.integers(10, 20, len(users)))
    frame = pd.DataFrame({"user": users, "item": [f"i{j:02d}" for j in items]})
    return interactions_from_frame(frame)


def _vectors(inter: Interactions) -> pd.DataFrame:
    ids = inter.item_ids.astype(str)
    group = np.array([int(i[1:]) >= 10 for i in ids], dtype=float)
    return pd.DataFrame(np.c_[group, 1 - group, RNG.random(len(ids)) * 0.1], index=ids)


def _make(name: str, inter: Interactions):  # type: ignore[no-untyped-def]
    params = {"item_vectors": _vectors(inter)} if name in ("content", "hybrid") else {}
    if name == "bpr":
        params = {"factors": 8, "iterations": 300, "learning_rate": 0.05}
    if name == "als":
        params = {"factors": 8}
    return make_recommender(name, **params).fit(inter)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_contract_excludes_seen_and_stays_in_community(name: str, small: Interactions) -> None:
    model = _make(name, small)
    users = small.user_ids[:40]
    ids, scores = model.recommend(users, n=5)
    assert ids.shape == scores.shape == (40, 5)
    seen = small.matrix.tocsr()
    item_pos = small.item_index()
    for row, u in enumerate(users):
        got = [item_pos[i] for i in ids[row] if i is not None]
        assert not set(got) & set(seen[small.user_index()[u]].indices)  # seen: never shown
        assert np.all(np.diff(scores[row][~np.isnan(scores[row])]) <= 0)
    if name != "popularity":  # personalised: the first pick is from the user's community
        first = np.array([int(i[1:]) >= 10 for i in ids[:, 0]])
        assert (first == (users.astype(int) >= 20)).mean() >= 0.9
    sim_ids, _ = model.similar_items(["i03"], n=3)
    assert "i03" not in sim_ids[0].tolist()


def test_unknown_user_gets_popularity_and_full_user_gets_padding(small: Interactions) -> None:
    model = make_recommender("ease", l2=10.0).fit(small)
    ids, scores = model.recommend(["nobody"], n=3)
    pop = np.asarray(small.binary().sum(axis=0)).ravel()
    expected = small.item_ids[np.lexsort((np.arange(len(pop)), -pop))[:3]]
    assert ids[0].tolist() == expected.tolist()
    full = interactions_from_frame(pd.DataFrame({"user": ["u", "u", "v"],
                                                 "item": ["a", "b", "a"]}))
    ids, scores = make_recommender("itemknn").fit(full).recommend(["u", "v"], n=2)
    assert ids[0].tolist() == [None, None] and np.isnan(scores[0]).all()
    assert ids[1].tolist() == ["b", None]


def test_errors(small: Interactions) -> None:
    with pytest.raises(NotFittedError):
        make_recommender("ease").recommend(["0"])
    with pytest.raises(ConfigError, match="unknown recommender"):
        make_recommender("svd")
    with pytest.raises(ConfigError, match="no parameter"):
        make_recommender("ease", alpha=1)
    with pytest.raises(NotFoundError, match="unknown item"):
        make_recommender("popularity").fit(small).similar_items(["zzz"])


def test_ease_solves_the_per_item_ridge_regressions(small: Interactions) -> None:
    lam = 5.0
    model = make_recommender("ease", l2=lam).fit(small)
    x = small.binary().toarray()
    for j in (0, 7, 15):
        others = np.delete(np.arange(x.shape[1]), j)
        a = x[:, others]
        w = np.linalg.solve(a.T @ a + lam * np.eye(len(others)), a.T @ x[:, j])
        np.testing.assert_allclose(model.b_[others, j], w, rtol=1e-3, atol=1e-5)
        assert model.b_[j, j] == 0


def test_ease_size_guard_keeps_popular_items(small: Interactions) -> None:
    model = make_recommender("ease", max_items=5).fit(small)
    assert len(model.kept_) == 5
    ids, _ = model.recommend(small.user_ids[:10], n=3)
    kept = set(small.item_ids[model.kept_])
    assert {i for i in ids.ravel() if i is not None} <= kept


def test_itemknn_cosine_matches_sklearn(small: Interactions) -> None:
    model = make_recommender("itemknn", neighbours=1000).fit(small)
    expected = cosine_similarity(small.binary().T)
    np.fill_diagonal(expected, 0.0)
    np.testing.assert_allclose(model.w_.toarray(), expected, atol=1e-6)


def test_association_rules_by_hand() -> None:
    baskets = np.array([[1, 1, 0], [1, 1, 1], [1, 0, 0], [0, 0, 1]])  # items A B C
    import scipy.sparse as sp

    rules = association_rules(sp.csr_matrix(baskets), np.array(["A", "B", "C"]),
                              min_support=0.25, min_confidence=0.0, min_lift=0.0)
    ab = rules[(rules.antecedent == "A") & (rules.consequent == "B")].iloc[0]
    assert ab["support"] == pytest.approx(2 / 4)
    assert ab["confidence"] == pytest.approx(2 / 3)
    assert ab["lift"] == pytest.approx((2 / 3) / (2 / 4))
    ba = rules[(rules.antecedent == "B") & (rules.consequent == "A")].iloc[0]
    assert ba["confidence"] == pytest.approx(1.0)
    assert len(rules) == 6  # every ordered pair co-occurs once at least
    strong = association_rules(sp.csr_matrix(baskets), np.array(["A", "B", "C"]),
                               min_support=0.5, min_confidence=0.5, min_lift=1.0)
    assert sorted(zip(strong.antecedent, strong.consequent, strict=True)) == [("A", "B"),
                                                                              ("B", "A")]


def test_explain_and_diversify_by_hand() -> None:
    import scipy.sparse as sp

    sim = sp.csr_matrix(np.array([[0, .9, .1, 0], [.9, 0, .5, 0], [.1, .5, 0, 0],
                                  [0, 0, 0, 0]]))
    history = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 0, 0]]))
    best, s = explain(history, np.array([[1, 2], [2, 3]]), sim)
    assert best.tolist() == [[0, 0], [1, -1]]
    assert s.tolist() == [[0.9, 0.1], [0.5, 0.0]]
    cats = np.array([0, 0, 1, -1])
    cand = np.array([[0, 1, 2, 3]])
    new, _ = diversify(cand, np.array([[4.0, 3, 2, 1]]), cats, n=3, max_per_category=1)
    assert new.tolist() == [[0, 2, 3]]


def test_ease_woodbury_path_equals_the_direct_inverse() -> None:
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"user": rng.integers(0, 12, 150), "item": rng.integers(0, 40, 150)})
    inter = interactions_from_frame(frame)
    assert inter.n_users < inter.n_items  # the dual (users x users) path is taken
    lam = 3.0
    model = make_recommender("ease", l2=lam).fit(inter)
    x = inter.binary().toarray().astype(float)
    p = np.linalg.inv(x.T @ x + lam * np.eye(x.shape[1]))
    b = p / -np.diag(p)
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.b_, b, rtol=1e-4, atol=1e-5)


def test_ease_weighted_history_scores_with_the_weights() -> None:
    frame = pd.DataFrame({"user": ["a", "a", "b", "b", "c"], "item": ["x", "y", "x", "z", "y"],
                          "w": [3.0, 1.0, 1.0, 2.0, 1.0]})
    inter = interactions_from_frame(frame, weight="w")
    binary = make_recommender("ease", l2=1.0).fit(inter)
    weighted = make_recommender("ease", l2=1.0, history="weighted").fit(inter)
    np.testing.assert_allclose(weighted.b_, binary.b_)
    np.testing.assert_allclose(weighted.score_users(np.arange(3)),
                               inter.matrix.toarray() @ binary.b_, rtol=1e-6)
    np.testing.assert_allclose(binary.score_users(np.arange(3)),
                               inter.binary().toarray() @ binary.b_, rtol=1e-6)
    with pytest.raises(ConfigError, match="history"):
        make_recommender("ease", history="log")


def test_selection_tries_weighted_ease_only_when_weights_vary(small: Interactions) -> None:
    from insightloop.models.recommend.selection import select_model

    frame = small.to_frame().assign(weight=1.0)
    grid = [("popularity", {}), ("ease", {"l2": 10.0})]
    plain = select_model(frame, grid=grid, k=5)
    assert [t["model"] for t in plain.trials] == ["popularity", "ease"]
    frame["weight"] = np.random.default_rng(0).integers(1, 5, len(frame)).astype(float)
    varied = select_model(frame, grid=grid, k=5)
    assert varied.trials[-1] == {**varied.trials[-1], "model": "ease",
                                 "params": {"l2": 10.0, "history": "weighted"}}


def test_sar_by_hand_jaccard_time_decayed_affinity() -> None:
    day = 86_400
    frame = pd.DataFrame({"user": ["a", "a", "b", "b", "c", "c"],
                          "item": ["x", "y", "x", "z", "y", "z"],
                          "rating": [4.0, 2.0, 1.0, 1.0, 1.0, 1.0],
                          "t": [100 * day, 70 * day, 100 * day, 100 * day, 90 * day, 90 * day]})
    # Microsoft SAR affinity: rating * 2^(-(t_max - t) / 30 days) -> a: x 4, y 2 * 0.5 = 1
    inter = interactions_from_frame(frame, weight="rating", time="t", half_life_days=30)
    model = SAR().fit(inter)
    x, y, z = (inter.item_index()[i] for i in "xyz")
    # every item is seen by 2 users and every pair co-occurs once: jaccard 1 / (2 + 2 - 1)
    sim = model.w_.toarray()
    assert sim[x, x] == pytest.approx(1.0) and sim[x, z] == pytest.approx(1 / 3)
    a = inter.user_index()["a"]
    scores = model.score_users(np.array([a]))[0]
    np.testing.assert_allclose(scores[[x, y, z]], [4 + 1 / 3, 4 / 3 + 1, 4 / 3 + 1 / 3],
                               rtol=1e-6)
    ids, _ = model.recommend(["a"], n=1)
    assert ids.tolist() == [["z"]]  # seen x, y removed
    lift = SAR(similarity="lift").fit(inter).w_.toarray()
    assert lift[x, z] == pytest.approx(1 / 4)
    strict = SAR(threshold=2).fit(inter)  # pairs seen once are dropped
    assert strict.score_users(np.array([a]))[0][z] == 0.0
    with pytest.raises(ConfigError, match="similarity"):
        make_recommender("sar", similarity="pearson")


@pytest.mark.parametrize("n_users", [12, 60])
def test_edlae_dropout_penalty_matches_the_direct_solution(n_users: int) -> None:
    rng = np.random.default_rng(4)
    frame = pd.DataFrame({"user": rng.integers(0, n_users, 300),
                          "item": rng.integers(0, 40, 300)})
    inter = interactions_from_frame(frame)
    lam, p = 3.0, 0.25
    model = EASE(l2=lam, dropout=p).fit(inter)
    x = inter.binary().toarray().astype(float)
    g = x.T @ x
    inv = np.linalg.inv(g + np.diag(lam + p / (1 - p) * np.diag(g)))
    b = inv / -np.diag(inv)
    np.fill_diagonal(b, 0.0)
    np.testing.assert_allclose(model.b_, b, rtol=1e-4, atol=1e-5)
