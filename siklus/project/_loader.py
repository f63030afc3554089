"""Read ``siklus.yaml`` safely and explain every mistake with its field path and line.

PyYAML's safe loader builds only plain data (no arbitrary Python objects). The file is
composed into a node tree first, which keeps each key's position, then constructed into
Python values and validated by :class:`~siklus.project.ProjectSpec`. When validation
fails, each pydantic error location (``("problem", "type")``) is walked through the node
tree to find the line, so the message reads ``problem.type (line 7): ...``.
"""

from __future__ import annotations

import difflib
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from siklus.exceptions import InvalidInput, InvalidParameter, NotFound
from siklus.project._model import ProjectSpec

PROJECT_FILE = "siklus.yaml"

# Error types whose message already quotes the value (ours) or where the input is the
# whole parent mapping rather than the bad value.
_NO_INPUT_ECHO = {"missing", "value_error", "assertion_error", "extra_forbidden"}
_MAX_ECHO = 80


def load_project(path: str | os.PathLike[str]) -> ProjectSpec:
    """Load and validate a project file.

    Args:
        path: The ``siklus.yaml`` file, or the workspace folder that holds it.

    Returns:
        The validated :class:`ProjectSpec`.

    Raises:
        NotFound: There is no such file; the message says how to create one.
        InvalidInput: The file is empty, not UTF-8, not valid YAML (with line and column),
            or not a mapping of fields.
        InvalidParameter: A field is wrong; the message names the file and, for each
            bad field, its dotted path, its line and what is expected.

    Example:
        >>> import tempfile
        >>> from siklus.project import scaffold_project
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     load_project(scaffold_project(folder, "churn")).name
        'churn'
    """
    file = Path(path)
    if file.is_dir():
        file = file / PROJECT_FILE
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(
            f"No project file at {str(file)!r}. Create one with `siklus init <name>` (or "
            "siklus.project.scaffold_project) in the workspace folder, then edit it."
        ) from None
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"Project file {str(file)!r} is not UTF-8 text (byte {exc.start}); save it as UTF-8."
        ) from None
    except OSError as exc:
        raise InvalidInput(f"Cannot read project file {str(file)!r}: {exc.strerror}.") from None
    return parse_project(text, source=str(file))


def parse_project(text: str, *, source: str = "<string>") -> ProjectSpec:
    """Validate project YAML given as text.

    Args:
        text: The YAML document.
        source: What to call it in error messages, usually the file path.

    Returns:
        The validated :class:`ProjectSpec`.

    Raises:
        InvalidInput: The text is empty, not valid YAML, or not a mapping.
        InvalidParameter: A field is wrong (see :func:`load_project`).
    """
    root, data = _read_yaml(text, source)
    return _validate(data, source, root)


def validate_project(data: Any, *, source: str = "<data>") -> ProjectSpec:
    """Validate project data that is already parsed, such as a JSON request body.

    Args:
        data: A mapping with the fields of ``siklus.yaml``.
        source: What to call it in error messages.

    Returns:
        The validated :class:`ProjectSpec`.

    Raises:
        InvalidInput: ``data`` is not a mapping.
        InvalidParameter: A field is wrong; the message names each field's dotted path.
    """
    return _validate(data, source, None)


def _validate(data: Any, source: str, root: yaml.Node | None) -> ProjectSpec:
    if not isinstance(data, Mapping):
        raise InvalidInput(
            f"{source} must be a mapping of fields (name:, problem:, business_goal:, ...), "
            f"but its top level is a {type(data).__name__}. Start from `siklus init`."
        )
    try:
        return ProjectSpec.model_validate(dict(data))
    except ValidationError as exc:
        raise InvalidParameter(_describe(exc, root, source)) from None


def _read_yaml(text: str, source: str) -> tuple[yaml.Node, Any]:
    """Return the node tree (for line numbers) and the plain data built from it."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InvalidInput(
                f"{source} is empty. A project needs at least name, problem, business_goal, "
                "success_criteria and cost_benefit; `siklus init <name>` writes a template."
            )
        _reject_duplicate_keys(root, source)
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        raise _yaml_error(exc, source) from None
    except yaml.YAMLError as exc:
        raise InvalidInput(f"{source} is not valid YAML: {exc}.") from None
    finally:
        loader.dispose()
    return root, data


def _yaml_error(exc: yaml.MarkedYAMLError, source: str) -> InvalidInput:
    mark = exc.problem_mark or exc.context_mark
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    problem = ", ".join(filter(None, [exc.context, exc.problem]))
    if isinstance(exc, yaml.constructor.ConstructorError):
        hint = "The project file holds plain data only; remove the '!!' tag."
    elif isinstance(exc, yaml.composer.ComposerError):
        hint = "Keep one document (no '---' separators) and define every '*alias' first."
    else:
        hint = "Check the indentation and quoting there (values with ': ' or ' #' need quotes)."
    return InvalidInput(f"{source} is not valid YAML{where}: {problem}. {hint}")


def _reject_duplicate_keys(node: yaml.Node, source: str) -> None:
    """Fail on a repeated key: YAML keeps the last one silently, hiding the first."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[Any, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                line = key.start_mark.line + 1
                if key.value in seen:
                    raise InvalidInput(
                        f"{source}: key {key.value!r} appears twice (lines {seen[key.value]} "
                        f"and {line}); keep one."
                    )
                seen[key.value] = line
            _reject_duplicate_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _reject_duplicate_keys(item, source)


def _describe(exc: ValidationError, root: yaml.Node | None, source: str) -> str:
    # Union members report one error each under the same field; show the field once.
    by_path: dict[str, tuple[int | None, list[str]]] = {}
    for error in exc.errors(include_url=False):
        steps, parent_model = _walk_types(error["loc"])
        path = _format_path(steps) or "(top level)"
        line = _line_of(root, steps) if root is not None else None
        message = _message(error, steps, parent_model)
        _, messages = by_path.setdefault(path, (line, []))
        if message not in messages:
            messages.append(message)
    count = len(by_path)
    lines = [f"{source} is not a valid project file ({count} error{'s' * (count != 1)}):"]
    for path, (line, messages) in by_path.items():
        where = f" (line {line})" if line is not None else ""
        lines.append(f"  - {path}{where}: {'; or '.join(messages)}")
    lines.append("Fix the fields above and load the project again.")
    return "\n".join(lines)


def _message(
    error: ErrorDetails, steps: list[tuple[str, Any]], parent: type[BaseModel] | None
) -> str:
    kind = error["type"]
    message = error["msg"].removeprefix("Value error, ")
    if kind == "extra_forbidden" and parent is not None:
        unknown = str(steps[-1][1]) if steps else ""
        allowed = list(parent.model_fields)
        message = f"unknown field {unknown!r}; allowed fields: {', '.join(allowed)}"
        close = difflib.get_close_matches(unknown, allowed, n=1)
        if close:
            message += f". Did you mean {close[0]!r}?"
        return message
    if kind == "missing" and steps:
        return f"{message}; add `{steps[-1][1]}:`"
    if kind not in _NO_INPUT_ECHO and "input" in error:
        value = error["input"]
        shown = repr(value)
        if len(shown) > _MAX_ECHO:
            shown = shown[: _MAX_ECHO - 3] + "..."
        message += f" (got {shown})"
        if kind == "string_type" and isinstance(value, int | float):
            message += f"; quote it in YAML: '{value}'"
    return message


def _walk_types(loc: tuple[int | str, ...]) -> tuple[list[tuple[str, Any]], type[BaseModel] | None]:
    """Map a pydantic ``loc`` onto the model's fields.

    Returns the meaningful steps (``("field", name)``, ``("index", i)``, ``("key", k)``)
    and the model that owns the last step. Entries pydantic adds for itself, such as
    union member names (``"str"``) or ``"[key]"``, end the walk.
    """
    steps: list[tuple[str, Any]] = []
    annotation: Any = ProjectSpec
    owner: type[BaseModel] | None = None
    for item in loc:
        annotation = _unwrap(annotation)
        origin = get_origin(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if not isinstance(item, str):
                break
            owner = annotation
            steps.append(("field", item))
            field = annotation.model_fields.get(item)
            annotation = field.annotation if field is not None else None
        elif origin is list and isinstance(item, int):
            steps.append(("index", item))
            annotation = get_args(annotation)[0]
        elif origin is dict and isinstance(item, str):
            steps.append(("key", item))
            annotation = get_args(annotation)[1]
        else:
            break
    return steps, owner


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated[...]`` and ``X | None`` down to the type that has the fields."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        if len(members) == 1:
            return _unwrap(members[0])
    return annotation


def _format_path(steps: list[tuple[str, Any]]) -> str:
    text = ""
    for kind, item in steps:
        if kind == "index":
            text += f"[{item}]"
        elif kind == "key" and not str(item).isidentifier():
            text += f"[{item!r}]"
        else:
            text += f".{item}" if text else str(item)
    return text


def _line_of(root: yaml.Node, steps: list[tuple[str, Any]]) -> int:
    """The 1-based line of the deepest node on ``steps``; parents stand in for missing ones."""
    node: yaml.Node | None = root
    line = root.start_mark.line + 1
    for kind, item in steps:
        if isinstance(node, yaml.MappingNode) and kind in ("field", "key"):
            match = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == item
                ),
                None,
            )
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and kind == "index" and item < len(node.value):
            node = node.value[item]
            line = node.start_mark.line + 1
        else:
            break
    return line
