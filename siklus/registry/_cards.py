"""Model cards: what a model version is for, what it learned from, how well it does.

A card is created at registration from what siklus knows (the package's metrics, the
datasets in its lineage, the manifest) and edited by people for what it cannot know
(intended use, limitations, anything else). It is stored as a ``model-card`` resource
named ``group:version``; every edit is an event in the package history.

Example:
    >>> update_model_card(ctx, "churn:1", {"intended_use": "Rank renewals"})  # doctest: +SKIP
    >>> print(render_model_card(get_model_card(ctx, "churn:1"), "markdown"))  # doctest: +SKIP
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from siklus.exceptions import AlreadyExists, InvalidParameter, NotFound
from siklus.registry._history import record_event
from siklus.registry._lineage import package_lineage
from siklus.registry._refs import resolve_package
from siklus.store import ModelPackage, WorkspaceContext

CARD_KIND = "model-card"
#: Sections every card has, in display order; any other key is a free field.
SECTIONS = (
    "intended_use",
    "training_data",
    "evaluation",
    "limitations",
    "model_details",
)
_TITLES = {
    "intended_use": "Intended use",
    "training_data": "Training data",
    "evaluation": "Evaluation",
    "limitations": "Limitations",
    "model_details": "Model details",
}
_RESERVED = ("package", "model_id", "created_at", "updated_at", "updated_by")


def build_model_card(ctx: WorkspaceContext, package: ModelPackage) -> dict[str, Any]:
    """The card siklus can write alone, from the package, its manifest and its lineage."""
    model = ctx.store.get_model(package.model_id)
    manifest = model.manifest
    links = package_lineage(ctx, package)
    details = {
        key: manifest[key]
        for key in ("task", "estimator", "target", "classes", "positive_label", "hyperparameters")
        if manifest.get(key) is not None
    }
    signature = manifest.get("input_signature") or []
    details["inputs"] = [f"{c['name']} ({c['type']})" for c in signature]
    now = datetime.now(UTC).isoformat()
    return {
        "package": package.ref,
        "model_id": model.id,
        "intended_use": package.description or "",
        "training_data": [
            {k: d[k] for k in ("channel", "ref", "rows") if d.get(k) is not None}
            for d in links["datasets"]
        ],
        "evaluation": dict(package.metrics),
        "limitations": "",
        "model_details": details,
        "created_at": now,
        "updated_at": now,
        "updated_by": None,
    }


def create_model_card(ctx: WorkspaceContext, package: ModelPackage) -> dict[str, Any]:
    """Write the generated card for a new package (replacing none: create only)."""
    card = build_model_card(ctx, package)
    ctx.store.put_resource(CARD_KIND, package.ref, card, expected_revision=0)
    return card


def get_model_card(ctx: WorkspaceContext, package: ModelPackage | str) -> dict[str, Any]:
    """The package's card; generated (and stored) now for packages older than cards."""
    package = resolve_package(ctx, package)
    try:
        return dict(ctx.store.get_resource(CARD_KIND, package.ref).body)
    except NotFound:
        pass
    try:
        return create_model_card(ctx, package)
    except AlreadyExists:  # someone else wrote it in the meantime: theirs stands
        return dict(ctx.store.get_resource(CARD_KIND, package.ref).body)


def _parse_value(text: str) -> Any:
    """``--set key=value``: JSON when it parses (numbers, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_assignments(pairs: list[str]) -> dict[str, Any]:
    """``["intended_use=Rank renewals", "owner=ana"]`` → a dict of changes.

    Raises:
        InvalidParameter: An item without ``=`` or with an empty key.
    """
    changes: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InvalidParameter(
                f"--set {pair!r} is not KEY=VALUE; e.g. --set intended_use='Rank renewals'."
            )
        changes[key.strip()] = _parse_value(value)
    return changes


def read_card_file(path: str | Path) -> dict[str, Any]:
    """Card fields from a YAML (or JSON) file holding a mapping.

    Raises:
        InvalidParameter: The file is missing, not YAML, or not a mapping.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise InvalidParameter(f"Card file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InvalidParameter(f"Card file {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidParameter(
            f"Card file {path} must hold a mapping of fields (e.g. 'intended_use: ...'), "
            f"got {type(data).__name__}."
        )
    return {str(k): v for k, v in data.items()}


def update_model_card(
    ctx: WorkspaceContext,
    package: ModelPackage | str,
    changes: Mapping[str, Any],
    *,
    by: str | None = None,
) -> dict[str, Any]:
    """Set card fields (sections or free fields); a value of None removes a free field.

    Raises:
        InvalidParameter: No changes, or a field siklus maintains (``package``,
            ``model_id``, timestamps).
        InvalidState: Someone else edited the card at the same moment (retry).
    """
    package = resolve_package(ctx, package)
    if not changes:
        raise InvalidParameter("Nothing to change: pass --set KEY=VALUE or --from-file card.yaml.")
    reserved = sorted(set(changes) & set(_RESERVED))
    if reserved:
        raise InvalidParameter(
            f"Card field(s) {reserved} are maintained by siklus and cannot be set; "
            f"editable sections: {list(SECTIONS)} and any other field name."
        )
    get_model_card(ctx, package)  # make sure it exists
    resource = ctx.store.get_resource(CARD_KIND, package.ref)
    card = dict(resource.body)
    for key, value in changes.items():
        if value is None and key not in SECTIONS:
            card.pop(key, None)
        else:
            card[key] = value
    who = by or getpass.getuser()
    card["updated_at"] = datetime.now(UTC).isoformat()
    card["updated_by"] = who
    ctx.store.put_resource(CARD_KIND, package.ref, card, expected_revision=resource.revision)
    record_event(ctx, package, "card-updated", by=who, fields=sorted(changes))
    return card


def _markdown_value(value: Any) -> str:
    if value in (None, "", [], {}):
        return "_Not documented yet._"
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "\n".join(
            "- "
            + (
                ", ".join(f"{k}: {v}" for k, v in item.items())
                if isinstance(item, dict)
                else str(item)
            )
            for item in value
        )
    if isinstance(value, dict):
        lines = []
        for key, item in value.items():
            if isinstance(item, dict):
                shown = ", ".join(
                    f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in item.items()
                    if not isinstance(v, (dict, list))
                )
                lines.append(f"- **{key}**: {shown}")
            elif isinstance(item, list):
                lines.append(f"- **{key}**: " + ", ".join(str(v) for v in item))
            else:
                lines.append(f"- **{key}**: {item}")
        return "\n".join(lines)
    return str(value)


def render_model_card(card: Mapping[str, Any], fmt: str = "markdown") -> str:
    """The card as Markdown (for people) or JSON (for tools).

    Raises:
        InvalidParameter: ``fmt`` is neither ``markdown`` nor ``json``.
    """
    if fmt == "json":
        return json.dumps(dict(card), indent=2, default=str)
    if fmt != "markdown":
        raise InvalidParameter(f"Card format {fmt!r} is not known; use markdown or json.")
    parts = [f"# Model card: {card.get('package')}", ""]
    parts.append(
        f"Model `{card.get('model_id')}`; last updated {card.get('updated_at')}"
        + (f" by {card['updated_by']}" if card.get("updated_by") else "")
        + "."
    )
    for key in SECTIONS:
        parts += ["", f"## {_TITLES[key]}", "", _markdown_value(card.get(key))]
    extra = [k for k in card if k not in SECTIONS and k not in _RESERVED]
    if extra:
        parts += ["", "## Other information", ""]
        parts += [f"- **{k}**: {_markdown_value(card[k])}" for k in extra]
    return "\n".join(parts) + "\n"
