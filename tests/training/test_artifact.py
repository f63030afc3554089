from __future__ import annotations

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from siklus.exceptions import InvalidInput, UntrustedModel
from siklus.training import load_estimator, save_estimator


def _double(x):
    return x * 2


def _fitted(*steps):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), np.arange(40) % 2
    return make_pipeline(*steps, LogisticRegression()).fit(x, y), x


def test_sklearn_pipeline_round_trip(ctx):
    model, x = _fitted()
    digest = save_estimator(ctx, model)
    loaded = load_estimator(ctx.artifacts.local_path(digest))
    np.testing.assert_array_equal(loaded.predict(x), model.predict(x))


def test_type_outside_allow_list_is_refused(tmp_path):
    model, _ = _fitted(FunctionTransformer(_double))
    path = tmp_path / "custom.skops"
    sio.dump(model, path)
    with pytest.raises(UntrustedModel, match="_double"):
        load_estimator(path)
    qualified = [t for t in sio.get_untrusted_types(file=path) if t.endswith("_double")]
    assert load_estimator(path, extra_trusted=qualified) is not None


def test_not_a_skops_file(tmp_path):
    path = tmp_path / "model.skops"
    path.write_bytes(b"\x80\x04 definitely a pickle")
    with pytest.raises(InvalidInput, match="not a readable skops model file"):
        load_estimator(path)
