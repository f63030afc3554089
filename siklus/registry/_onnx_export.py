"""ONNX export of a registered model: skl2onnx conversion, checked against scikit-learn.

An endpoint can serve a package through onnxruntime instead of scikit-learn (the fast
path: no Python per pipeline step). The export is stored as a content-addressed artifact
beside the skops model and described by a ``model-onnx`` resource named after the
package (``group:version``) that says how to feed it, or why the pipeline did not convert.

Two details make the ONNX graph answer exactly what the scikit-learn pipeline answers:

- Numbers enter as float64 (``conform`` gives float64, and float32 preprocessing moves
  values across tree thresholds). onnxruntime's ``Imputer`` is float32-only, so numeric
  ``SimpleImputer`` steps are converted to ``IsNaN``/``Where`` in float64 here.
- Text and boolean columns enter as strings; a missing value becomes
  :data:`MISSING_TEXT` (ONNX strings cannot hold NaN), and the converted copy of the
  pipeline imputes that marker instead of NaN. ``None`` (which scikit-learn's imputer
  does not treat as missing in object columns) keeps a marker of its own, so it meets
  the same one-hot category as natively. Booleans travel as ``"True"``/``"False"``.

Every export is then run on the manifest's input example, and on the first
:data:`SAMPLE_ROWS` rows of the model's training dataset when the manifest names one, and
compared with the scikit-learn pipeline; a difference means no export, with the reason
recorded. One more
row with gaps is compared, and the record's ``missing_values`` says where gaps were
verified: ``"any"`` column, or only the ``"nullable"`` ones (:func:`unverified_missing`
refuses the rest). Predicted labels take the type of the model's classes.
"""

from __future__ import annotations

import copy
import tempfile
import warnings
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from siklus.exceptions import InvalidParameter, NotFound
from siklus.registry._history import record_event
from siklus.registry._refs import resolve_package
from siklus.store import ModelPackage, WorkspaceContext
from siklus.training import conform

#: Resource kind of the export records (one per package, named ``group:version``).
ONNX_KIND = "model-onnx"
#: What a missing text value is fed as (ONNX string tensors have no NaN).
MISSING_TEXT = "<siklus:missing>"
#: What a None text value is fed as (scikit-learn does not impute None in object columns).
NONE_TEXT = "<siklus:none>"
#: The one input of a graph fed as a ``[rows, columns]`` float64 matrix.
MATRIX_INPUT = "features"
#: Operator sets of the exported graphs (ai.onnx.ml 3: TreeEnsemble* with float64 input).
TARGET_OPSET = {"": 18, "ai.onnx.ml": 3}
_NUMERIC = ("integer", "number")
_TEXT = ("string", "boolean")


class OnnxUnavailable(Exception):
    """The pipeline does not convert; the message is the reason recorded for the user."""


def _text(value: Any) -> str:
    """A text cell as ONNX sees it. NaN is scikit-learn's missing value (imputed); None is
    not (SimpleImputer leaves it, OneHotEncoder treats it as a category), so it keeps its
    own marker."""
    if value is None:
        return NONE_TEXT
    if isinstance(value, float) and np.isnan(value):
        return MISSING_TEXT
    return str(value)


def _children(estimator: Any) -> Iterator[Any]:
    """The fitted sub-estimators of a Pipeline / ColumnTransformer / FeatureUnion."""
    for attribute in ("steps", "transformers_", "transformer_list"):
        for item in getattr(estimator, attribute, None) or ():
            if isinstance(item[1], str):  # "drop", "passthrough"
                continue
            yield item[1]


def _walk(estimator: Any) -> Iterator[Any]:
    yield estimator
    for child in _children(estimator):
        yield from _walk(child)


def _prepare_copy(estimator: Any) -> Any:
    """A copy of the fitted pipeline whose text steps work on strings with a missing marker."""
    from sklearn.impute import SimpleImputer

    patched = copy.deepcopy(estimator)
    for step in _walk(patched):
        if isinstance(step, SimpleImputer):
            if getattr(step, "add_indicator", False):
                raise OnnxUnavailable("a SimpleImputer with add_indicator=True does not convert")
            stats = np.asarray(step.statistics_)
            if stats.dtype == object:
                step.missing_values = MISSING_TEXT
                step.statistics_ = np.array([_text(v) for v in stats], dtype=object)
            elif np.isnan(stats.astype(np.float64)).any():
                raise OnnxUnavailable(
                    "a numeric SimpleImputer has a column that was empty in training "
                    "(scikit-learn drops it; the ONNX graph cannot)"
                )
        categories = getattr(step, "categories_", None)
        if categories is not None:
            step.categories_ = [
                np.array([_text(v) for v in c], dtype=object) if c.dtype == object else c
                for c in categories
            ]
    return patched


def _imputer_converter(scope: Any, operator: Any, container: Any) -> None:
    """SimpleImputer: float64 input as IsNaN/Where (ai.onnx.ml Imputer is float32-only)."""
    from onnx import TensorProto
    from skl2onnx.common.data_types import DoubleTensorType
    from skl2onnx.operator_converters.common import concatenate_variables
    from skl2onnx.operator_converters.imputer_op import convert_sklearn_imputer

    if not isinstance(operator.inputs[0].type, DoubleTensorType):
        convert_sklearn_imputer(scope, operator, container)
        return
    imputer = operator.raw_operator
    if not (isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values)):
        raise OnnxUnavailable(f"SimpleImputer(missing_values={imputer.missing_values!r})")
    stats = np.asarray(imputer.statistics_, dtype=np.float64)
    values = concatenate_variables(scope, operator.inputs, container)
    missing = scope.get_unique_variable_name("missing")
    fill = scope.get_unique_variable_name("fill")
    container.add_initializer(fill, TensorProto.DOUBLE, [1, stats.size], stats.tolist())
    container.add_node("IsNaN", [values], [missing], name=scope.get_unique_operator_name("IsNaN"))
    container.add_node(
        "Where",
        [missing, fill, values],
        [operator.outputs[0].full_name],
        name=scope.get_unique_operator_name("Where"),
    )


def _is_tree_model(estimator: Any) -> bool:
    """scikit-learn trees and tree ensembles compare float32 inputs with their thresholds."""
    module = type(estimator).__module__
    return module.startswith(("sklearn.tree", "sklearn.ensemble"))


def _convert(
    estimator: Any, signature: list[dict[str, Any]], *, cast_float32: bool, matrix: bool = False
) -> tuple[bytes, dict[str, Any]]:
    """Convert; return the serialized model and how to feed/read it.

    Args:
        cast_float32: Cast the features to float32 right before the final estimator, as
            scikit-learn's trees do internally (so ONNX takes the same branches).
        matrix: Feed every (numeric) column through one ``[rows, columns]`` float64 input
            named :data:`MATRIX_INPUT`, as a pipeline without a ColumnTransformer expects
            (it converts with one input only). Otherwise one ``[rows, 1]`` input per column.
    """
    try:
        from skl2onnx import convert_sklearn
        from skl2onnx.common.data_types import DoubleTensorType, StringTensorType
        from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes
        from skl2onnx.sklapi import CastTransformer
        from sklearn.base import is_classifier
        from sklearn.impute import SimpleImputer
        from sklearn.pipeline import Pipeline
    except ImportError as exc:
        raise OnnxUnavailable(
            f"{exc.name} is not installed; install the extra: pip install 'siklus[onnx]'"
        ) from None
    unsupported = [c["name"] for c in signature if c["type"] not in (*_NUMERIC, *_TEXT)]
    if unsupported:
        raise OnnxUnavailable(f"column(s) {unsupported} are date/time, which ONNX export skips")
    patched = _prepare_copy(estimator)
    final = patched.steps[-1][1] if isinstance(patched, Pipeline) else patched
    if cast_float32:
        if not isinstance(patched, Pipeline):
            raise OnnxUnavailable("a float32 cast needs a pipeline")
        cast = CastTransformer(dtype=np.float32).fit(np.zeros((1, 1)))
        patched.steps.insert(len(patched.steps) - 1, ("siklus_cast_float32", cast))
    if matrix:
        inputs = [(MATRIX_INPUT, DoubleTensorType([None, len(signature)]))]
    else:
        inputs = [
            (
                c["name"],
                DoubleTensorType([None, 1])
                if c["type"] in _NUMERIC
                else StringTensorType([None, 1]),
            )
            for c in signature
        ]
    classifier = is_classifier(final)
    # Probabilities only where scikit-learn has them (not decision scores of an SVM).
    has_proba = classifier and hasattr(final, "predict_proba")
    options = {id(final): {"zipmap": False}} if has_proba else None
    try:
        with warnings.catch_warnings():  # deprecations skl2onnx triggers are not the user's
            warnings.simplefilter("ignore")
            onx = convert_sklearn(
                patched,
                initial_types=inputs,
                options=options,
                target_opset=TARGET_OPSET,
                custom_conversion_functions={SimpleImputer: _imputer_converter},
                custom_shape_calculators={SimpleImputer: calculate_sklearn_imputer_output_shapes},
            )
    except OnnxUnavailable:
        raise
    except Exception as exc:  # skl2onnx raises many types for what it cannot convert
        raise OnnxUnavailable(f"skl2onnx cannot convert it ({_short(exc)})") from None
    graph_inputs = [i.name for i in onx.graph.input]
    outputs = [o.name for o in onx.graph.output]
    # With a matrix, every column goes into the one input.
    names = graph_inputs * len(signature) if matrix else graph_inputs
    layout = {
        "inputs": [
            {
                "column": c["name"],
                "onnx_name": name,
                "kind": "double" if c["type"] in _NUMERIC else "string",
            }
            for c, name in zip(signature, names, strict=True)
        ],
        "matrix": matrix,
        "label_output": outputs[0],
        "probability_output": outputs[1] if has_proba and len(outputs) > 1 else None,
        "task": "classification" if classifier else "regression",
        "cast_float32": cast_float32,
    }
    return onx.SerializeToString(), layout


def _short(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}"


def onnx_feed(layout: dict[str, Any], data: pd.DataFrame) -> dict[str, np.ndarray]:
    """The onnxruntime input dict for rows already checked by ``conform``.

    Args:
        layout: The export record (its ``inputs``).
        data: Rows in signature order and types (``LoadedModel.conform`` output).
    """
    inputs = layout["inputs"]
    columns = [str(c) for c in data.columns]
    feed: dict[str, np.ndarray] = {}
    if layout.get("matrix"):
        # One float64 block, columns in signature order.
        wanted = [item["column"] for item in inputs]
        block = data if columns == wanted else data[wanted]
        return {inputs[0]["onnx_name"]: block.to_numpy(dtype=np.float64)}
    if all(item["kind"] == "double" for item in inputs) and columns == [
        item["column"] for item in inputs
    ]:
        # All numeric, in order: one float64 copy (selecting columns in pandas costs
        # more than the ONNX run for a single row); each input is a column view.
        block = data.to_numpy(dtype=np.float64)
        for i, item in enumerate(inputs):
            feed[item["onnx_name"]] = block[:, i : i + 1]
        return feed
    values = data.to_numpy(dtype=object)
    position = {name: i for i, name in enumerate(columns)}
    for item in inputs:
        column = values[:, position[item["column"]]]
        if item["kind"] == "double":
            feed[item["onnx_name"]] = column.astype(np.float64).reshape(-1, 1)
        else:
            feed[item["onnx_name"]] = np.array([_text(v) for v in column], dtype=object).reshape(
                -1, 1
            )
    return feed


def _labels_as_classes(labels: np.ndarray, classes: Sequence[Any] | None) -> np.ndarray:
    """ONNX labels in the type of the model's classes.

    skl2onnx gives int64 labels for boolean classes (0/1) and for float classes that are
    whole numbers (0, 1): scikit-learn predicts ``False``/``True`` and ``0.0``/``1.0``,
    which a caller (JSON ``false`` vs ``0``, a batch output column's type) tells apart.
    """
    if classes is None or not len(classes):
        return labels
    kind = np.asarray(list(classes)).dtype.kind
    if kind == "b" and labels.dtype.kind != "b":
        return labels.astype(bool)
    if kind == "f" and labels.dtype.kind != "f":
        return labels.astype(np.float64)
    return labels


def onnx_arrays(
    layout: dict[str, Any],
    session: Any,
    data: pd.DataFrame,
    *,
    probabilities: bool = True,
    classes: Sequence[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Run ``session`` on conformed rows: (predictions, probabilities or None) as arrays.

    For many rows (batch transform): no Python object per value. ``probabilities=False``
    skips computing them when the graph has them. ``classes`` (the manifest's) gives the
    predicted labels the classes' type, as scikit-learn does (booleans, floats).
    """
    wanted = [layout["label_output"]]
    if probabilities and layout.get("probability_output"):
        wanted.append(layout["probability_output"])
    results = session.run(wanted, onnx_feed(layout, data))
    labels = np.asarray(results[0]).reshape(-1)
    if layout["task"] == "regression":
        labels = labels.astype(np.float64)
    else:
        labels = _labels_as_classes(labels, classes)
    proba = np.asarray(results[1], dtype=np.float64) if len(results) > 1 else None
    return labels, proba


def onnx_outputs(
    layout: dict[str, Any],
    session: Any,
    data: pd.DataFrame,
    *,
    classes: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Run ``session`` on conformed rows: ``{"predictions": [...], "probabilities": [...]}``.

    ``classes``: as for :func:`onnx_arrays`.
    """
    labels, proba = onnx_arrays(layout, session, data, classes=classes)
    out: dict[str, Any] = {"predictions": labels.tolist()}
    if proba is not None:
        out["probabilities"] = proba.tolist()
    return out


def _session(model_bytes: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initializers are not for users
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


#: Rows of the training dataset the export is also compared on (its first ones).
SAMPLE_ROWS = 256


def _training_sample(ctx: WorkspaceContext, loaded: Any) -> pd.DataFrame | None:
    """The first :data:`SAMPLE_ROWS` rows of the model's training dataset (or of the
    example rows ``log_model`` kept, ``verification_sample``), in signature form; None
    when the manifest names neither, it is gone, or its rows do not conform.

    Three example rows say little about a graph's answers; a few hundred real rows are a
    check worth the name, and reading them costs a few milliseconds.
    """
    import pyarrow.parquet as pq

    from siklus.data import resolve
    from siklus.exceptions import InvalidInput

    manifest = loaded.manifest
    try:
        if manifest.get("training_dataset"):
            sha = resolve(ctx, str(manifest["training_dataset"])).sha256
        elif manifest.get("verification_sample"):  # kept by log_model: no dataset on record
            sha = str(manifest["verification_sample"])
        else:
            return None
        with ctx.artifacts.open(sha) as handle:
            first = next(pq.ParquetFile(handle).iter_batches(batch_size=SAMPLE_ROWS), None)
        if first is None:
            return None
        return conform(first.to_pandas(), loaded.signature, allow_extra=True)
    except (NotFound, InvalidInput, InvalidParameter, OSError):
        return None


def _check_rows(
    loaded: Any, gaps: str, sample: pd.DataFrame | None = None
) -> tuple[pd.DataFrame | None, bool]:
    """The manifest's input example and ``sample`` (training rows), plus one row with
    missing values when scikit-learn predicts it (the missing-value translation is where
    a conversion is most likely to go wrong): every column missing (``gaps="all"``) or
    only the nullable ones (``gaps="nullable"``; none when no column is nullable).

    Returns:
        The rows (None without an example) and whether the row with gaps is among them:
        it is not when scikit-learn refuses it (a pipeline that does not impute), and
        then nothing says how the graph answers such a row.
    """
    example = loaded.manifest.get("input_example") or []
    if not example:
        return None, False
    data = conform(pd.DataFrame(example), loaded.signature)
    if sample is not None and len(sample):
        data = pd.concat([data, sample], ignore_index=True)
    emptied = [c["name"] for c in loaded.signature if gaps == "all" or c.get("nullable", True)]
    if not emptied:
        return data, False
    row = {c["name"]: example[0].get(c["name"]) for c in loaded.signature}
    row.update(dict.fromkeys(emptied))
    empty = conform(pd.DataFrame([row]), loaded.signature)
    try:
        loaded.predict(empty)
    except Exception:  # the pipeline does not impute: nothing to compare on that row
        return data, False
    return pd.concat([data, empty], ignore_index=True), True


def unverified_missing(
    layout: dict[str, Any], signature: list[dict[str, Any]], data: pd.DataFrame
) -> str | None:
    """Why ``data`` must not go through the ONNX graph of ``layout``, or None when it may.

    An export that agreed with scikit-learn only when missing values were limited to the
    nullable columns (``layout["missing_values"] == "nullable"``: typically a forest
    without an imputer, which routes NaN down branches ONNX does not copy) must not see a
    missing value anywhere else. A record without ``missing_values`` (exported before
    siklus recorded it) is treated the same way: nothing says its gaps were compared.
    Real-time endpoints refuse those rows for every runtime anyway; serverless endpoints
    and batch transforms reach this check.
    """
    verified = layout.get("missing_values")
    if verified == "any":
        return None
    for column in signature:
        name = column["name"]
        if column.get("nullable", True) or name not in data.columns:
            continue
        missing = np.flatnonzero(data[name].isna().to_numpy())
        if missing.size:
            return (
                f"Column {name!r} has missing values at rows {missing[:5].tolist()}; the "
                "model's signature does not allow them there (the training data had none), "
                "and its ONNX export answers like scikit-learn only without them. Fill "
                "them, or use runtime 'native'."
                + (
                    ""
                    if verified
                    else " (The export predates that check; `siklus models export-onnx "
                    f"{layout.get('package', 'GROUP:VERSION')}` re-verifies it.)"
                )
            )
    return None


def _agrees(layout: dict[str, Any], session: Any, loaded: Any, data: pd.DataFrame) -> bool:
    try:
        onnx = onnx_outputs(layout, session, data, classes=loaded.classes)
    except Exception as exc:  # onnxruntime refuses graphs it has no kernel for
        raise OnnxUnavailable(
            f"onnxruntime cannot run the converted graph ({_short(exc)})"
        ) from None
    native = loaded.predict(data)
    if layout["task"] == "regression":
        return bool(np.allclose(onnx["predictions"], native["predictions"], rtol=1e-5, atol=1e-6))
    # Equal labels of the same type: 0 == False in Python, but not in the JSON answer.
    same = onnx["predictions"] == native["predictions"] and [
        type(v) for v in onnx["predictions"]
    ] == [type(v) for v in native["predictions"]]
    if same and "probabilities" in native:
        same = np.allclose(onnx["probabilities"], native["probabilities"], atol=1e-5)
    return bool(same)


def _verify(
    layout: dict[str, Any], model_bytes: bytes, loaded: Any, sample: pd.DataFrame | None = None
) -> int:
    """Compare ONNX and scikit-learn on the check rows; return how many were compared.

    Sets ``layout["missing_values"]``: ``"any"`` when a row with every column missing
    agreed too, ``"nullable"`` otherwise (only a row with the nullable columns missing
    agreed, scikit-learn refused the all-missing row, or there is no input example).
    """
    try:
        session = _session(model_bytes)
    except Exception as exc:
        raise OnnxUnavailable(
            f"onnxruntime cannot load the converted graph ({_short(exc)})"
        ) from None
    for gaps in ("all", "nullable"):
        data, with_gaps = _check_rows(loaded, gaps, sample)
        if data is None:  # no input example: nothing compared, gaps least of all
            layout["missing_values"] = "nullable"
            return 0
        if gaps == "all" and not with_gaps:
            # scikit-learn refuses a row with every column missing (no imputer): "any"
            # would let the graph answer gaps natively refused (LinearClassifier turns
            # NaN into NaN probabilities and some label).
            continue
        if _agrees(layout, session, loaded, data):
            layout["missing_values"] = "any" if gaps == "all" else "nullable"
            return len(data)
    raise OnnxUnavailable(
        "the converted graph answers differently from scikit-learn on the input example"
    )


def _best_conversion(
    loaded: Any, sample: pd.DataFrame | None = None
) -> tuple[bytes, dict[str, Any], int]:
    """Try float64 features first (float32 first for trees); keep the first that verifies.

    An all-numeric signature is tried first as one matrix input (what a pipeline without
    a ColumnTransformer converts with, and one copy per request instead of one per column).
    """
    estimator = loaded.estimator
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    order = (True, False) if _is_tree_model(final) else (False, True)
    layouts = (True, False) if all(c["type"] in _NUMERIC for c in loaded.signature) else (False,)
    reasons = []
    for matrix, cast in ((m, c) for m in layouts for c in order):
        try:
            model_bytes, layout = _convert(
                estimator, loaded.signature, cast_float32=cast, matrix=matrix
            )
            return model_bytes, layout, _verify(layout, model_bytes, loaded, sample)
        except OnnxUnavailable as exc:
            if str(exc) not in reasons:
                reasons.append(str(exc))
    raise OnnxUnavailable("; ".join(reasons))


def _versions() -> dict[str, str]:
    found = {}
    for name in ("skl2onnx", "onnxruntime", "onnx"):
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def export_onnx(ctx: WorkspaceContext, package: ModelPackage | str) -> dict[str, Any]:
    """Convert ``package``'s model to ONNX, store it, and record the outcome.

    Best effort: a pipeline that does not convert is not an error; the record says
    ``"status": "unavailable"`` and why. Exporting again replaces the record.

    Returns:
        The ``model-onnx`` record: ``status`` (``"exported"`` or ``"unavailable"``),
        ``sha256`` of the ``.onnx`` artifact, ``reason``, the input layout, versions.

    Raises:
        InvalidParameter: The model is not a siklus skops model (script-mode folder).
        UntrustedModel: The model file holds a type outside the allow-list.
    """
    # Imported here: serving an export (``require_onnx_file``, ``onnx_outputs``) must not
    # import scikit-learn and skops, which take about a second.
    from siklus.training import load_model

    package = resolve_package(ctx, package)
    model = ctx.store.get_model(package.model_id)
    loaded = load_model(ctx, model)
    record: dict[str, Any] = {
        "package": package.ref,
        "model_id": model.id,
        "created_at": datetime.now(UTC).isoformat(),
        "versions": _versions(),
        "opset": TARGET_OPSET,
        "missing_text": MISSING_TEXT,
    }
    try:
        model_bytes, layout, record["verified_rows"] = _best_conversion(
            loaded, _training_sample(ctx, loaded)
        )
    except OnnxUnavailable as exc:
        record.update(status="unavailable", sha256=None, reason=str(exc))
    else:
        with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
            path = Path(tmp) / "model.onnx"
            path.write_bytes(model_bytes)
            sha = ctx.artifacts.put_file(path)
        record.update(status="exported", sha256=sha, reason=None, size_bytes=len(model_bytes))
        record.update(layout)
        ctx.store.add_lineage(("model_package", package.id), ("artifact", sha), "onnx")
    ctx.store.put_resource(ONNX_KIND, package.ref, record)
    record_event(
        ctx, package, "onnx-export", by=None, status=record["status"], reason=record["reason"]
    )
    return record


def get_onnx_export(ctx: WorkspaceContext, package: ModelPackage | str) -> dict[str, Any]:
    """The ``model-onnx`` record of ``package``.

    Raises:
        NotFound: The package was never exported (``siklus models export-onnx REF``).
    """
    package = resolve_package(ctx, package)
    try:
        return dict(ctx.store.get_resource(ONNX_KIND, package.ref).body)
    except NotFound:
        raise NotFound(
            f"Model package {package.ref} has no ONNX export; create it with "
            f"`siklus models export-onnx {package.ref}`."
        ) from None


def require_onnx_file(
    ctx: WorkspaceContext, package: ModelPackage | str
) -> tuple[dict[str, Any], Path]:
    """The export record and local path of the ``.onnx`` file, exporting it first if needed.

    Raises:
        InvalidParameter: The pipeline does not convert (the recorded reason is quoted).
    """
    package = resolve_package(ctx, package)
    try:
        record = get_onnx_export(ctx, package)
    except NotFound:
        record = export_onnx(ctx, package)
    if record.get("status") != "exported":
        raise InvalidParameter(
            f"Model package {package.ref} cannot be served with ONNX: {record.get('reason')}. "
            "Serve it with the native runtime instead."
        )
    return record, ctx.artifacts.local_path(record["sha256"])
