"""Endpoint configs: production variants, an optional shadow, capture and autoscaling.

A config is stored as the resource ``("endpoint-config", <endpoint>)``; its revision
number is what the endpoint's supervisor compares to know it has a new config to roll
out. Every variant names a registered model package version (``group:version``); only
Approved versions are accepted unless ``force`` is set, checked when the config is
resolved (``resolve_config``), before anything is started or written.

Worker processes are shared by the variants: each worker loads every variant and picks
one per request by traffic weight (or the one named in ``X-Siklus-Target-Variant``), so
the weights hold exactly, whatever process accepted the connection. The endpoint's
worker pool therefore runs between the sum of the variants' ``min_workers`` and the sum
of their ``max_workers``, starting at the sum of ``initial_workers``.

Example:
    >>> config = EndpointConfig.from_dict({"variants": [{"model": "bc:1"}]})
    >>> config.variants[0].name, config.variants[0].weight
    ('bc-v1', 1.0)
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from siklus.exceptions import InvalidParameter, InvalidState, NotFound
from siklus.serving._stats import MAX_SLOTS, MAX_VARIANTS
from siklus.store import ApprovalStatus, Model, ModelPackage, WorkspaceContext

CONFIG_KIND = "endpoint-config"
#: The supervisor's record of what runs (resource) and its history (events).
STATE_KIND = "endpoint-state"
EVENT_KIND = "endpoint"
#: "auto" (the default) serves the package's verified ONNX export when it has one and
#: onnxruntime is installed, else scikit-learn; it is pinned to one of the other two when
#: the config is resolved, so a stored config always says which runtime runs.
RUNTIMES = ("auto", "native", "onnx")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}$")


@dataclass(frozen=True)
class VariantSpec:
    """One variant: a model package version and how much traffic and how many workers."""

    model: str  # "group:version" ("group" alone means the newest version when resolved)
    name: str = ""
    weight: float = 1.0
    initial_workers: int = 1
    min_workers: int = 1
    max_workers: int = 1
    runtime: str = "auto"
    # Filled in by resolve_config:
    package_id: str = ""
    model_id: str = ""

    @property
    def group(self) -> str:
        return self.model.partition(":")[0]

    @property
    def version(self) -> int | None:
        _, _, version = self.model.partition(":")
        return int(version) if version else None


@dataclass(frozen=True)
class Autoscaling:
    """Scale workers to keep about ``target_in_flight`` requests in flight per worker.

    The average number of requests in flight over the last ``window_s`` seconds decides;
    a scale-out waits ``scale_out_cooldown_s`` after the previous change, a scale-in (one
    worker at a time) ``scale_in_cooldown_s``.
    """

    target_in_flight: float = 4.0
    window_s: float = 5.0
    scale_out_cooldown_s: float = 5.0
    scale_in_cooldown_s: float = 30.0


@dataclass(frozen=True)
class EndpointConfig:
    """Everything an endpoint runs (see the module docstring)."""

    variants: tuple[VariantSpec, ...]
    shadow: VariantSpec | None = None
    capture_percent: float = 0.0
    capture_max_file_bytes: int = 16 * 1024 * 1024
    autoscaling: Autoscaling = field(default_factory=Autoscaling)
    metrics_interval_s: float = 10.0
    max_batch_rows: int = 512

    @property
    def initial_workers(self) -> int:
        return sum(v.initial_workers for v in self.variants)

    @property
    def min_workers(self) -> int:
        return sum(v.min_workers for v in self.variants)

    @property
    def max_workers(self) -> int:
        return sum(v.max_workers for v in self.variants)

    @property
    def all_variants(self) -> tuple[VariantSpec, ...]:
        """Production variants, then the shadow (the order of the counters' slots)."""
        return self.variants + ((self.shadow,) if self.shadow is not None else ())

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["variants"] = [asdict(v) for v in self.variants]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EndpointConfig:
        """Build and validate a config; raises InvalidParameter naming the bad field."""
        if not isinstance(data, dict):
            raise InvalidParameter(f"An endpoint config is a JSON object, got {data!r}.")
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InvalidParameter(
                f"Unknown endpoint config field(s) {unknown}; known: {sorted(known)}."
            )
        raw_variants = data.get("variants")
        if not isinstance(raw_variants, list | tuple) or not raw_variants:
            raise InvalidParameter(
                "An endpoint config needs at least one production variant: "
                '{"variants": [{"model": "group:version"}]}.'
            )
        variants = tuple(_variant(v, f"variants[{i}]") for i, v in enumerate(raw_variants))
        shadow = data.get("shadow")
        shadow_spec = None
        if shadow is not None:
            shadow_spec = _variant(shadow, "shadow", default_name_suffix="-shadow")
        scaling = data.get("autoscaling") or {}
        if isinstance(scaling, Autoscaling):
            scaling = asdict(scaling)
        if not isinstance(scaling, dict):
            raise InvalidParameter("'autoscaling' must be an object.")
        unknown = sorted(set(scaling) - set(Autoscaling.__dataclass_fields__))
        if unknown:
            raise InvalidParameter(f"Unknown autoscaling field(s) {unknown}.")
        autoscaling = Autoscaling(
            **{k: _positive(v, f"autoscaling.{k}", allow_zero=True) for k, v in scaling.items()}
        )
        if autoscaling.target_in_flight <= 0:
            raise InvalidParameter("autoscaling.target_in_flight must be above 0.")
        config = cls(
            variants=variants,
            shadow=shadow_spec,
            capture_percent=_positive(data.get("capture_percent", 0.0), "capture_percent", True),
            capture_max_file_bytes=int(data.get("capture_max_file_bytes", 16 * 1024 * 1024)),
            autoscaling=autoscaling,
            metrics_interval_s=_positive(
                data.get("metrics_interval_s", 10.0), "metrics_interval_s"
            ),
            max_batch_rows=int(_positive(data.get("max_batch_rows", 512), "max_batch_rows")),
        )
        config.validate()
        return config

    def validate(self) -> None:
        if self.capture_percent > 100:
            raise InvalidParameter(
                f"capture_percent must be between 0 and 100, got {self.capture_percent:g}."
            )
        names = [v.name for v in self.all_variants]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InvalidParameter(
                f"Variant name(s) {dupes} are used twice; give each variant its own name "
                "(name=... in --variant, or the 'name' field)."
            )
        if len(names) > MAX_VARIANTS:
            raise InvalidParameter(f"An endpoint has at most {MAX_VARIANTS} variants.")
        if sum(v.weight for v in self.variants) <= 0:
            raise InvalidParameter("At least one production variant needs a weight above 0.")
        if self.max_workers > MAX_SLOTS // 2:
            raise InvalidParameter(
                f"The variants ask for up to {self.max_workers} workers; an endpoint runs at "
                f"most {MAX_SLOTS // 2} (half of {MAX_SLOTS} slots, the rest for updates)."
            )


def _positive(value: Any, where: str, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{where} must be a number, got {value!r}.") from None
    if number < 0 or (number == 0 and not allow_zero) or number != number:
        raise InvalidParameter(f"{where} must be {'>= 0' if allow_zero else '> 0'}, got {value!r}.")
    return number


def _variant(raw: Any, where: str, default_name_suffix: str = "") -> VariantSpec:
    if isinstance(raw, VariantSpec):
        raw = asdict(raw)
    if isinstance(raw, str):
        raw = {"model": raw}
    if not isinstance(raw, dict):
        raise InvalidParameter(f"{where} must be an object with a 'model' field, got {raw!r}.")
    if "workers" in raw:  # shorthand: a fixed number of workers
        raw = dict(raw)
        workers = raw.pop("workers")
        for key in ("initial_workers", "min_workers", "max_workers"):
            raw.setdefault(key, workers)
    unknown = sorted(set(raw) - set(VariantSpec.__dataclass_fields__) - {"workers"})
    if unknown:
        raise InvalidParameter(
            f"Unknown field(s) {unknown} in {where}; known: "
            f"{sorted(VariantSpec.__dataclass_fields__)}."
        )
    model = raw.get("model")
    if not isinstance(model, str) or not model.partition(":")[0]:
        raise InvalidParameter(f"{where}.model must be 'group:version' (e.g. bc:3), got {model!r}.")
    group, _, version = model.partition(":")
    if version and not version.isdigit():
        raise InvalidParameter(f"{where}.model {model!r}: the version must be a number.")
    name = raw.get("name") or f"{group}-v{version or 'latest'}{default_name_suffix}"
    if not isinstance(name, str) or not _NAME.match(name):
        raise InvalidParameter(
            f"{where}.name {name!r} is not valid: use 1-63 letters, digits, '_', '.' or '-'."
        )
    runtime = raw.get("runtime", "auto")
    if runtime not in RUNTIMES:
        raise InvalidParameter(f"{where}.runtime must be one of {list(RUNTIMES)}, got {runtime!r}.")
    counts = {}
    for key in ("initial_workers", "min_workers", "max_workers"):
        value = raw.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
            raise InvalidParameter(f"{where}.{key} must be a whole number, got {value!r}.")
        counts[key] = int(value)
    initial = counts.get("initial_workers", counts.get("min_workers", 1))
    low = counts.get("min_workers", min(initial, 1) if initial else 0)
    high = counts.get("max_workers", max(initial, low))
    if not 0 <= low <= initial <= high or high < 1:
        raise InvalidParameter(
            f"{where}: workers must satisfy 0 <= min ({low}) <= initial ({initial}) <= max "
            f"({high}) and max >= 1."
        )
    weight = _positive(raw.get("weight", 1.0), f"{where}.weight", allow_zero=True)
    return VariantSpec(
        model=model,
        name=name,
        weight=weight,
        initial_workers=initial,
        min_workers=low,
        max_workers=high,
        runtime=runtime,
        package_id=str(raw.get("package_id") or ""),
        model_id=str(raw.get("model_id") or ""),
    )


def parse_variant_option(text: str) -> dict[str, Any]:
    """``group:version[,name=..,weight=..,workers=..,min=..,max=..,runtime=..]`` → dict.

    ``workers`` sets the initial count (and min/max when they are not given).
    """
    model, *options = [part.strip() for part in text.split(",")]
    out: dict[str, Any] = {"model": model}
    aliases = {
        "name": "name",
        "weight": "weight",
        "workers": "initial_workers",
        "initial": "initial_workers",
        "min": "min_workers",
        "max": "max_workers",
        "runtime": "runtime",
    }
    for option in options:
        key, sep, value = option.partition("=")
        if not sep or key.strip() not in aliases:
            raise InvalidParameter(
                f"Bad variant option {option!r} in {text!r}; use key=value with key one of "
                f"{sorted(aliases)} (e.g. bc:2,weight=0.5,workers=2)."
            )
        field_name = aliases[key.strip()]
        value = value.strip()
        if field_name in ("name", "runtime") or field_name == "weight":
            out[field_name] = value
        else:
            if not value.isdigit():
                raise InvalidParameter(f"{key}= in {text!r} must be a whole number, got {value!r}.")
            out[field_name] = int(value)
    if "initial_workers" in out:
        out.setdefault("min_workers", out["initial_workers"])
        out.setdefault("max_workers", out["initial_workers"])
    return out


def deployable_package(
    ctx: WorkspaceContext,
    group: str,
    version: int | None,
    *,
    force: bool,
    variant: str | None = None,
) -> tuple[ModelPackage, Model]:
    """The package version to deploy and its model, checked the same way for every
    inference type: Approved (unless ``force``) and its model file present.

    Raises:
        NotFound: No such package version, or its model file is missing.
        InvalidState: The package is not Approved and ``force`` is False.
    """
    package = ctx.store.get_model_package(group, version)
    if package.approval_status != ApprovalStatus.APPROVED and not force:
        which = f" (variant {variant!r})" if variant else ""
        raise InvalidState(
            f"Model package {package.ref}{which} is {package.approval_status.value}, not "
            f"Approved; only approved versions are deployed. Approve it with `siklus models "
            f"approve {package.ref} --reason '...'`, or deploy anyway with --force (force=True)."
        )
    model = ctx.store.get_model(package.model_id)
    if not ctx.artifacts.exists(model.sha256):
        raise NotFound(
            f"The model file of {package.ref} (model {model.id}, sha256 {model.sha256}) is "
            f"missing from the artifact store {ctx.artifacts.url}; re-train or restore it."
        )
    return package, model


def auto_runtime(ctx: WorkspaceContext, package: ModelPackage) -> str:
    """What ``runtime="auto"`` serves ``package`` with: "onnx" or "native".

    ONNX when the package has an export that was verified against scikit-learn at
    registration (``siklus models export-onnx``) and onnxruntime is installed: it starts
    without importing scikit-learn (about a second less to the first answer) and predicts
    one row several times faster. Otherwise native. Nothing is exported here: a package
    without an export record, or whose pipeline did not convert, is served natively.
    """
    import importlib.util

    from siklus.registry import ONNX_KIND
    from siklus.serving._loading import onnx_available

    if not onnx_available() or importlib.util.find_spec("onnxruntime") is None:
        return "native"
    try:
        record = ctx.store.get_resource(ONNX_KIND, package.ref).body
    except NotFound:
        return "native"
    return "onnx" if record.get("status") == "exported" else "native"


def pin_runtime(ctx: WorkspaceContext, package: ModelPackage, runtime: str, *, who: str) -> str:
    """The concrete runtime ("native" or "onnx") that ``runtime`` means for ``package``.

    Raises:
        InvalidParameter: An unknown runtime; "onnx" while the ONNX runtime module is not
            available, or for a package that does not convert (the reason is quoted:
            refused now, not by every worker at start-up).
    """
    if runtime not in RUNTIMES:
        raise InvalidParameter(f"{who}: runtime must be one of {list(RUNTIMES)}, got {runtime!r}.")
    if runtime == "auto":
        return auto_runtime(ctx, package)
    if runtime == "onnx":
        from siklus.serving._loading import onnx_available

        if not onnx_available():
            raise InvalidParameter(
                f"{who} asks for runtime 'onnx', but the ONNX runtime module "
                "(siklus.serving._onnx) is not available in this installation; use runtime "
                "'native'."
            )
        from siklus.registry import require_onnx_file

        require_onnx_file(ctx, package)  # exports it if it has no export yet
    return runtime


def resolve_config(ctx: WorkspaceContext, config: EndpointConfig, *, force: bool) -> EndpointConfig:
    """Pin every variant to a package version, checking approval and the model file.

    Raises:
        NotFound: No such package version, or its model file is missing.
        InvalidState: A package is not Approved and ``force`` is False.
        InvalidParameter: ``runtime="onnx"`` while the ONNX runtime module is not available.
    """

    def pin(spec: VariantSpec) -> VariantSpec:
        package, model = deployable_package(
            ctx, spec.group, spec.version, force=force, variant=spec.name
        )
        runtime = pin_runtime(ctx, package, spec.runtime, who=f"Variant {spec.name!r}")
        name = spec.name
        if name.endswith("-vlatest") or name.endswith("-vlatest-shadow"):
            name = name.replace("-vlatest", f"-v{package.version}")
        return replace(
            spec,
            model=package.ref,
            name=name,
            runtime=runtime,
            package_id=package.id,
            model_id=model.id,
        )

    resolved = replace(
        config,
        variants=tuple(pin(v) for v in config.variants),
        shadow=pin(config.shadow) if config.shadow is not None else None,
    )
    resolved.validate()
    return resolved


__all__ = [
    "CONFIG_KIND",
    "EVENT_KIND",
    "RUNTIMES",
    "STATE_KIND",
    "Autoscaling",
    "EndpointConfig",
    "VariantSpec",
    "auto_runtime",
    "parse_variant_option",
    "pin_runtime",
    "resolve_config",
]
