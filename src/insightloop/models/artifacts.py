"""Save any fitted estimator as plain arrays + JSON: the artifact contract of every family.

:func:`encode` walks an estimator's state (``__dict__``: its parameters and the fitted
attributes ending with ``_``) and returns ``(tree, arrays)``: ``tree`` is JSON, ``arrays``
name -> numpy array (no object dtype, so :func:`numpy.load` reads them with
``allow_pickle=False``). :func:`decode` rebuilds the estimator. One codec per value type,
never per family, so a new family needs no code here:

* ``None``, ``bool``, ``int``, ``float``, ``str``; ``list``, ``tuple``, ``dict`` (any keys);
* numpy arrays and scalars (object arrays of strings are stored as unicode arrays);
* pandas ``DataFrame``, ``Series``, ``Index`` (categorical columns by codes), ``Timestamp``;
* scipy sparse matrices (their ``data``/``indices``/``indptr``);
* LightGBM boosters, by LightGBM's own text model format;
* scikit-learn estimators (``Pipeline``, ``LogisticRegression``, ``KMeans``…) with skops,
  loaded against an explicit list of trusted types (:data:`SKOPS_TRUSTED`);
* objects of insightloop's own classes, by their ``__dict__``: rebuilt with
  ``object.__new__`` (no constructor or other code runs), only for classes defined in the
  ``insightloop`` package. A class can name attributes that are caches or inputs not worth
  keeping (``_artifact_transient``): they are saved as ``None``.

Anything else raises :class:`TypeError` naming the attribute path, so an unsafe or
unsupported value is found when the model is saved, not when it is loaded.
"""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any

import numpy as np
import pandas as pd

#: scikit-learn (and numpy) types a skops artifact may contain; anything else is refused.
SKOPS_TRUSTED: tuple[str, ...] = (
    "sklearn.pipeline.Pipeline",
    "sklearn.compose._column_transformer.ColumnTransformer",
    "sklearn.compose._column_transformer._RemainderColsList",
    "sklearn.impute._base.SimpleImputer",
    "sklearn.impute._base.MissingIndicator",
    "sklearn.linear_model._logistic.LogisticRegression",
    "sklearn.preprocessing._encoders.OneHotEncoder",
    "sklearn.preprocessing._polynomial.SplineTransformer",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.cluster._kmeans.KMeans",
    "sklearn.mixture._gaussian_mixture.GaussianMixture",
    "scipy.interpolate._bsplines.BSpline",
    "numpy.dtype",
    "numpy.float64",
    "numpy.int64",
    "builtins.slice",
    "scipy._lib.array_api_compat.numpy._aliases.asarray",  # a function a BSpline refers to
)
_OWN = "insightloop."


class ArtifactError(TypeError):
    """A value that cannot be saved as arrays + JSON (names the attribute path)."""


def encode(value: Any) -> tuple[Any, dict[str, np.ndarray]]:
    """``(tree, arrays)`` for ``value``; see the module docstring."""
    arrays: dict[str, np.ndarray] = {}
    return _enc(value, "root", arrays), arrays


def decode(tree: Any, arrays: dict[str, np.ndarray]) -> Any:
    """The value :func:`encode` described."""
    return _dec(tree, arrays)


def _put(arrays: dict[str, np.ndarray], path: str, a: np.ndarray) -> dict[str, Any]:
    key = f"a{len(arrays)}"
    if a.dtype == object:
        if not all(isinstance(v, str) for v in a.ravel().tolist()):
            raise ArtifactError(f"{path}: an object array of non-strings cannot be saved safely")
        arrays[key] = a.astype(str) if a.size else np.array([], dtype="U1").reshape(a.shape)
        return {"__array__": key, "object": True}
    arrays[key] = a
    return {"__array__": key}


def _enc(v: Any, path: str, arrays: dict[str, np.ndarray]) -> Any:
    if v is None or (isinstance(v, bool | int | float | str) and not isinstance(v, np.generic)):
        return v
    if isinstance(v, np.generic):
        return {"__scalar__": v.dtype.str, "value": v.item()}
    if isinstance(v, np.ndarray):
        return _put(arrays, path, v)
    if isinstance(v, list | tuple):
        items = [_enc(x, f"{path}[{i}]", arrays) for i, x in enumerate(v)]
        return items if isinstance(v, list) else {"__tuple__": items}
    if isinstance(v, dict) and len(v) > 64 and all(
            type(k) is str and type(x) is int for k, x in v.items()):  # id -> position maps
        return {"__strint__": _put(arrays, path, np.array(list(v), dtype=str)),
                "values": _put(arrays, path, np.fromiter(v.values(), np.int64, len(v)))}
    if isinstance(v, dict):
        return {"__dict__": [[_enc(k, f"{path}.key", arrays), _enc(x, f"{path}[{k!r}]", arrays)]
                             for k, x in v.items()]}
    if isinstance(v, pd.Timestamp):
        return {"__timestamp__": v.isoformat()}
    if isinstance(v, pd.DataFrame):
        return {"__frame__": [_enc(c, f"{path}.columns", arrays) for c in v.columns],
                "index": _enc(v.index, f"{path}.index", arrays),
                "data": [_enc(v.iloc[:, i], f"{path}[{i}]", arrays) for i in range(v.shape[1])]}
    if isinstance(v, pd.Series):
        return {"__series__": _enc(v.name, path, arrays), "index": _enc(v.index, path, arrays),
                "values": _column(v.array, path, arrays)}
    if isinstance(v, pd.Index):
        return {"__index__": _enc(v.name, path, arrays), "values": _column(v.array, path, arrays)}
    # A sparse matrix exists only once scipy.sparse is loaded: no import here, so loading the
    # registry (the server does at start-up) does not load scipy.
    sparse = sys.modules.get("scipy.sparse")
    if sparse is not None and sparse.issparse(v):
        m = sparse.csr_matrix(v)
        return {"__sparse__": v.format, "shape": list(m.shape),
                "data": _put(arrays, path, m.data), "indices": _put(arrays, path, m.indices),
                "indptr": _put(arrays, path, m.indptr)}
    module = type(v).__module__
    if module.startswith("lightgbm"):
        text = v.model_to_string()
        return {"__lightgbm__": _put(arrays, path, np.frombuffer(text.encode(), np.uint8))}
    if module.startswith("sklearn."):
        import skops.io  # lazy: skops, only for scikit-learn parts

        blob = skops.io.dumps(v)
        return {"__skops__": _put(arrays, path, np.frombuffer(blob, np.uint8))}
    if module.startswith(_OWN) and hasattr(v, "__dict__"):
        transient = set(getattr(type(v), "_artifact_transient", ()))
        state = {k: (None if k in transient else x) for k, x in vars(v).items()}
        return {"__object__": f"{module}:{type(v).__qualname__}",
                "state": {k: _enc(x, f"{path}.{k}", arrays) for k, x in state.items()}}
    raise ArtifactError(f"{path}: cannot save a {module}.{type(v).__qualname__} as arrays + JSON")


def _column(values: Any, path: str, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.dtype
        return {"__categorical__": _put(arrays, path, np.asarray(values.codes)),
                "categories": _enc(cat.categories, path, arrays), "ordered": bool(cat.ordered)}
    return {"dtype": str(values.dtype), "values": _put(arrays, path, np.asarray(values))}


def _uncolumn(tree: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    if "__categorical__" in tree:
        dtype = pd.CategoricalDtype(_dec(tree["categories"], arrays), bool(tree["ordered"]))
        return pd.Categorical.from_codes(_dec(tree["__categorical__"], arrays), dtype=dtype)
    values = _dec(tree["values"], arrays)
    return pd.array(values, dtype=tree["dtype"]) if tree["dtype"] != "object" else values


def _dec(t: Any, arrays: dict[str, np.ndarray]) -> Any:
    if isinstance(t, list):
        return [_dec(x, arrays) for x in t]
    if not isinstance(t, dict):
        return t
    if "__array__" in t:
        a = arrays[t["__array__"]]
        return a.astype(object) if t.get("object") else a
    if "__scalar__" in t:
        return np.dtype(t["__scalar__"]).type(t["value"])
    if "__tuple__" in t:
        return tuple(_dec(x, arrays) for x in t["__tuple__"])
    if "__dict__" in t:
        return {_hashable(_dec(k, arrays)): _dec(x, arrays) for k, x in t["__dict__"]}
    if "__strint__" in t:
        keys, values = _dec(t["__strint__"], arrays), _dec(t["values"], arrays)
        return dict(zip(keys.tolist(), values.tolist(), strict=True))
    if "__timestamp__" in t:
        return pd.Timestamp(t["__timestamp__"])
    if "__frame__" in t:
        columns = [_dec(c, arrays) for c in t["__frame__"]]
        data = {i: _dec(c, arrays) for i, c in enumerate(t["data"])}
        frame = pd.DataFrame(data, index=_dec(t["index"], arrays))
        frame.columns = pd.Index(columns) if columns else frame.columns
        return frame
    if "__series__" in t:
        return pd.Series(_uncolumn(t["values"], arrays), index=_dec(t["index"], arrays),
                         name=_dec(t["__series__"], arrays))
    if "__index__" in t:
        return pd.Index(_uncolumn(t["values"], arrays), name=_dec(t["__index__"], arrays))
    if "__sparse__" in t:
        import scipy.sparse as sp  # lazy: scipy.sparse (~0.8 s), only for sparse model parts

        m = sp.csr_matrix((_dec(t["data"], arrays), _dec(t["indices"], arrays),
                           _dec(t["indptr"], arrays)), shape=tuple(t["shape"]))
        return m.asformat(t["__sparse__"])
    if "__lightgbm__" in t:
        import lightgbm as lgb  # lazy: LightGBM, only for models holding a booster

        return lgb.Booster(model_str=_dec(t["__lightgbm__"], arrays).tobytes().decode())
    if "__skops__" in t:
        import skops.io  # lazy: skops, only for scikit-learn parts

        blob = _dec(t["__skops__"], arrays).tobytes()
        untrusted = [u for u in skops.io.get_untrusted_types(data=blob) if u not in SKOPS_TRUSTED]
        if untrusted:
            raise ArtifactError(f"the artifact holds types this release does not trust: "
                                f"{untrusted}")
        return skops.io.loads(blob, trusted=list(SKOPS_TRUSTED))
    if "__object__" in t:
        obj: Any = object.__new__(_own_class(t["__object__"]))
        vars(obj).update({k: _dec(x, arrays) for k, x in t["state"].items()})
        return obj
    raise ArtifactError(f"unknown artifact node {sorted(t)[:3]}")


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _own_class(ref: str) -> type:
    module, _, qualname = ref.partition(":")
    if not module.startswith(_OWN):
        raise ArtifactError(f"artifact names class {ref!r} outside insightloop; refused")
    try:
        obj: Any = importlib.import_module(module)
        for part in qualname.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError):
        raise ArtifactError(f"class {ref} of the artifact no longer exists") from None
    if not isinstance(obj, type):
        raise ArtifactError(f"artifact names {ref!r}, which is not a class; refused")
    return obj


def dumps_tree(tree: Any) -> str:
    """The JSON text of a tree (NaN and infinities kept, as Python's json writes them)."""
    return json.dumps(tree, indent=1)
