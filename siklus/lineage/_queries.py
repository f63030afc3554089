"""The two audit questions, answered from the lineage graph.

* :func:`model_provenance` — which dataset versions and which code trained the model
  behind endpoint X (or behind a package or a model);
* :func:`endpoints_from_dataset` — which endpoints serve models trained from dataset
  version Y (directly, or from a split, recipe output or other version derived from it).
"""

from __future__ import annotations

from typing import Any

from siklus.exceptions import InvalidParameter, NotFound
from siklus.lineage._graph import NodeKey, describe_node, resolve_node, walk
from siklus.store import BaseStore

#: Job parameters that make up "the code" of a training job (not the data it read).
_CODE_KEYS = ("estimator", "hyperparameters", "seed", "stopping", "script", "target")


def _model_of(store: BaseStore, key: NodeKey) -> tuple[str, dict[str, Any]]:
    """The model id behind an endpoint/package/model node, and the path to it."""
    path: dict[str, Any] = {}
    kind, ident = key
    if kind == "endpoint":
        endpoint = store.get_endpoint(ident)
        path["endpoint"] = {"name": endpoint.name, "status": endpoint.status.value}
        kind, ident = "model_package", endpoint.model_package_id
    if kind == "model_package":
        package = store.get_model_package_by_id(ident)
        path["model_package"] = {"id": package.id, "ref": f"{package.group}:{package.version}",
                                 "approval": package.approval_status.value}  # fmt: skip
        kind, ident = "model", package.model_id
    if kind != "model":
        raise InvalidParameter(
            f"{kind} {ident!r} is not an endpoint, model package or model; ask about one of "
            "those (e.g. an endpoint name)."
        )
    return ident, path


def model_provenance(store: BaseStore, what: str | NodeKey) -> dict[str, Any]:
    """Which dataset versions and which code trained the model behind ``what``.

    Args:
        what: An endpoint name, a model package (``group:version``) or a model id.

    Returns:
        ``endpoint``/``model_package`` (when given), ``model`` (id, sha256),
        ``training_job`` (id, entrypoint), ``code`` (estimator or script snapshot,
        hyperparameters, seed, library versions incl. siklus), ``training_datasets``
        (the channels the job read: ref, id, sha256) and ``upstream_datasets`` (every
        dataset version those were derived from, e.g. the raw ingest and the recipe
        input), and ``recipes`` (recipe versions on the way).

    Raises:
        NotFound: ``what`` names nothing.
    """
    key = what if isinstance(what, tuple) else resolve_node(store, what)
    model_id, answer = _model_of(store, key)
    model = store.get_model(model_id)
    answer["model"] = {"id": model.id, "name": model.name, "sha256": model.sha256}
    code: dict[str, Any] = {"library_versions": model.manifest.get("library_versions", {})}
    channels: list[dict[str, Any]] = []
    if model.training_job_id:
        job = store.get_job(model.training_job_id)
        answer["training_job"] = {"id": job.id, "entrypoint": job.entrypoint, "name": job.name}
        code.update({k: job.parameters[k] for k in _CODE_KEYS if k in job.parameters})
        code["entrypoint"] = job.entrypoint
        for channel, version_id in sorted(job.inputs.items()):
            if not isinstance(version_id, str):
                continue
            try:
                v = store.get_dataset_version_by_id(version_id)
            except NotFound:
                continue
            channels.append({"channel": channel, "ref": v.ref, "id": v.id, "sha256": v.sha256})
    answer["code"] = code
    answer["training_datasets"] = channels
    graph = walk(store, ("model", model.id), "up")
    direct = {c["id"] for c in channels}
    upstream = []
    for kind, ident in sorted(graph.upstream_of(("model", model.id))):
        if kind == "dataset" and ident not in direct:
            attrs = graph.nodes.get((kind, ident)) or describe_node(store, (kind, ident))
            upstream.append({"id": ident, "ref": attrs.get("label"), "sha256": attrs.get("sha256")})
    answer["upstream_datasets"] = upstream
    answer["recipes"] = sorted(
        ident for kind, ident in graph.upstream_of(("model", model.id)) if kind == "recipe"
    )
    return answer


def endpoints_from_dataset(store: BaseStore, dataset: str) -> list[dict[str, Any]]:
    """Endpoints (not deleted) serving a model trained from ``dataset`` or data derived from it.

    Args:
        dataset: A dataset version id or ``name:version`` (``name`` = newest version).

    Returns:
        One dict per endpoint: ``endpoint``, ``status``, ``model_package``, ``model_id``.
    """
    key = resolve_node(store, dataset)
    if key[0] != "dataset":
        raise InvalidParameter(f"{dataset!r} is a {key[0]}, not a dataset version.")
    graph = walk(store, key, "down")
    downstream = graph.downstream_of(key)
    models = {ident for kind, ident in downstream if kind == "model"}
    found = []
    for endpoint in store.list_endpoints():
        if endpoint.status.value == "Deleted":
            continue
        package = store.get_model_package_by_id(endpoint.model_package_id)
        if package.model_id in models:
            found.append({
                "endpoint": endpoint.name, "status": endpoint.status.value,
                "model_package": f"{package.group}:{package.version}",
                "model_id": package.model_id,
            })  # fmt: skip
    return found


__all__ = ["endpoints_from_dataset", "model_provenance"]
