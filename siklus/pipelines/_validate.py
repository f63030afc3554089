"""Check a pipeline as a graph before anything runs: names, references, cycles, parameters.

A step depends on every step it references (``{"from": "train.model_id"}``), on those in
``depends_on``, and, when it sits in a branch of a condition, on that condition. A
definition is rejected with one message listing every problem found.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from pydantic import ValidationError

from siklus.exceptions import InvalidParameter
from siklus.pipelines._model import PipelineDefinition, Step, check_value_type


def ref(path: str) -> dict[str, str]:
    """A reference to an earlier step's output, ``ref("train.model_id")``."""
    return {"from": path}


def param(name: str) -> dict[str, str]:
    """A reference to a pipeline parameter, ``param("min_recall")``."""
    return {"param": name}


def is_ref(value: Any) -> bool:
    return isinstance(value, Mapping) and set(value) == {"from"} and isinstance(value["from"], str)


def is_param(value: Any) -> bool:
    return (
        isinstance(value, Mapping) and set(value) == {"param"} and isinstance(value["param"], str)
    )


def iter_references(value: Any) -> Iterator[dict[str, str]]:
    """Every ``{"from": ...}`` and ``{"param": ...}`` inside ``value`` (nested)."""
    if is_ref(value) or is_param(value):
        yield value
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from iter_references(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from iter_references(item)


def step_references(step: Step) -> list[dict[str, str]]:
    found = list(iter_references(step.args))
    for condition in step.conditions:
        found += list(iter_references([condition.left, condition.right]))
    return found


def branch_owner(definition: PipelineDefinition) -> dict[str, str]:
    """Step name → the condition step whose branch holds it."""
    owner: dict[str, str] = {}
    for step in definition.steps:
        for name in (*step.if_steps, *step.else_steps):
            owner[name] = step.name
    return owner


def dependencies(definition: PipelineDefinition) -> dict[str, set[str]]:
    """Step name → names of the steps it must wait for."""
    owner = branch_owner(definition)
    deps: dict[str, set[str]] = {}
    for step in definition.steps:
        needed = set(step.depends_on)
        for reference in step_references(step):
            if "from" in reference:
                needed.add(reference["from"].split(".", 1)[0])
        if step.name in owner:
            needed.add(owner[step.name])
        deps[step.name] = needed
    return deps


# (required, allowed) arguments of the step types whose handlers take a fixed set
# (``_handlers`` checks the same sets when the step runs); checked here so that a typo in
# the last step's arguments fails before the first step spends an hour training.
STEP_ARGS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ingest": (("path", "name"), ("path", "name", "format")),
    "recipe": (
        ("recipe", "dataset", "output_name"),
        ("recipe", "dataset", "output_name", "fit", "threads", "memory_limit"),
    ),
    "quality": (("dataset", "rules"), ("dataset", "rules", "fail_on_error")),
    "split": (("dataset",), ("dataset", "fractions", "seed", "stratify")),
    "evaluation": (("model", "dataset"), ("model", "dataset", "split", "criteria")),
    "register": (
        ("model", "group"),
        ("model", "group", "description", "approve", "reject", "reason"),
    ),
    "deploy": (("endpoint", "package"), ("endpoint", "package", "port", "force")),
    "fail": ((), ("message",)),
}


def _argument_problems(step: Step) -> list[str]:
    if step.type not in STEP_ARGS:
        return []
    required, allowed = STEP_ARGS[step.type]
    problems = []
    unknown = sorted(set(step.args) - set(allowed))
    if unknown:
        problems.append(
            f"step {step.name!r} ({step.type}) has unknown argument(s) {unknown}; "
            f"allowed: {sorted(allowed)}"
        )
    missing = [name for name in required if name not in step.args]
    if missing:
        problems.append(f"step {step.name!r} ({step.type}) needs argument(s) {missing}")
    return problems


def _problems(definition: PipelineDefinition) -> list[str]:
    problems: list[str] = []
    for step in definition.steps:
        problems.extend(_argument_problems(step))
    names = [s.name for s in definition.steps]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            problems.append(f"step name {name!r} is used twice; give each step a unique name")
        seen.add(name)
    owners: dict[str, str] = {}
    for step in definition.steps:
        if step.type != "condition" and (step.conditions or step.if_steps or step.else_steps):
            problems.append(
                f"step {step.name!r}: conditions/if_steps/else_steps belong to condition steps"
            )
        if step.type == "condition" and not step.conditions:
            problems.append(f"condition step {step.name!r} needs at least one condition")
        for name in (*step.if_steps, *step.else_steps):
            if name not in seen:
                problems.append(f"condition step {step.name!r} names unknown step {name!r}")
            elif name in owners:
                problems.append(
                    f"step {name!r} is in the branches of both {owners[name]!r} and {step.name!r}"
                )
            owners[name] = step.name
        for dep in step.depends_on:
            if dep not in seen:
                problems.append(
                    f"step {step.name!r} depends_on unknown step {dep!r}; steps: {names}"
                )
        for reference in step_references(step):
            if "param" in reference:
                if reference["param"] not in definition.parameters:
                    problems.append(
                        f"step {step.name!r} uses parameter {reference['param']!r}, which is "
                        f"not declared; parameters: {sorted(definition.parameters)}"
                    )
                continue
            path = reference["from"]
            target, _, output = path.partition(".")
            if not output:
                problems.append(
                    f"step {step.name!r}: reference {path!r} must be 'step.output', "
                    "e.g. 'train.model_id'"
                )
            elif target not in seen:
                problems.append(
                    f"step {step.name!r} references {path!r}, but there is no step "
                    f"{target!r}; steps: {names}"
                )
            elif target == step.name:
                problems.append(f"step {step.name!r} references its own output {path!r}")
    if not problems:
        cycle = find_cycle(dependencies(definition))
        if cycle:
            problems.append("the steps form a cycle: " + " -> ".join(cycle))
    return problems


def find_cycle(deps: Mapping[str, set[str]]) -> list[str] | None:
    """A cycle in the dependency graph as a list of names (first == last), else None."""
    state: dict[str, int] = {}  # 1 visiting, 2 done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(deps.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if state.get(dep) is None:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(deps):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def validate(definition: PipelineDefinition) -> PipelineDefinition:
    """Return ``definition`` if its graph is sound.

    Raises:
        InvalidParameter: Duplicate step names, a reference to a missing step or an
            undeclared parameter, a cycle (the message shows it), misplaced branches.
    """
    problems = _problems(definition)
    if problems:
        raise InvalidParameter(
            f"Pipeline {definition.name!r} is not valid:\n  - " + "\n  - ".join(problems)
        )
    return definition


def parse_definition(data: Any, *, source: str = "pipeline definition") -> PipelineDefinition:
    """Validate a definition given as plain data (parsed YAML or JSON).

    Raises:
        InvalidParameter: A field is wrong (with its dotted path) or the graph is not sound.
    """
    if isinstance(data, PipelineDefinition):
        return validate(data)
    if not isinstance(data, Mapping):
        raise InvalidParameter(
            f"The {source} must be a mapping with name:, parameters: and steps:, got "
            f"{type(data).__name__}."
        )
    try:
        definition = PipelineDefinition.model_validate(dict(data))
    except ValidationError as exc:
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"]) or "(top level)"
            lines.append(f"{where}: {error['msg']}")
        raise InvalidParameter(f"The {source} is not valid:\n  - " + "\n  - ".join(lines)) from None
    return validate(definition)


def resolve_parameters(
    definition: PipelineDefinition, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The execution's parameter values: defaults overridden by ``overrides``.

    Raises:
        InvalidParameter: An unknown parameter, a value of the wrong type, or a required
            parameter (no default) left out.
    """
    values: dict[str, Any] = {}
    given = dict(overrides or {})
    unknown = sorted(set(given) - set(definition.parameters))
    if unknown:
        raise InvalidParameter(
            f"Pipeline {definition.name!r} has no parameter(s) {unknown}; its parameters: "
            f"{sorted(definition.parameters)}."
        )
    for name, spec in definition.parameters.items():
        value = given.get(name, spec.default)
        if value is None:
            raise InvalidParameter(
                f"Pipeline {definition.name!r} needs parameter {name!r} ({spec.type}); give "
                f"it with --param {name}=VALUE."
            )
        if not check_value_type(spec.type, value):
            raise InvalidParameter(
                f"Parameter {name!r} of pipeline {definition.name!r} is a {spec.type}, got "
                f"{value!r} ({type(value).__name__})."
            )
        values[name] = float(value) if spec.type == "float" else value
    return values


def parse_parameter_text(definition: PipelineDefinition, text: str) -> tuple[str, Any]:
    """``"name=value"`` from the command line, converted to the parameter's type."""
    name, sep, raw = text.partition("=")
    if not sep or name not in definition.parameters:
        raise InvalidParameter(
            f"--param {text!r}: expected NAME=VALUE with NAME one of "
            f"{sorted(definition.parameters)}."
        )
    type_ = definition.parameters[name].type
    try:
        if type_ == "integer":
            return name, int(raw)
        if type_ == "float":
            return name, float(raw)
        if type_ == "boolean":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return name, raw.lower() in ("true", "1", "yes")
    except ValueError:
        raise InvalidParameter(f"--param {text!r}: {name} is a {type_}, got {raw!r}.") from None
    return name, raw


__all__ = [
    "dependencies",
    "find_cycle",
    "is_param",
    "is_ref",
    "param",
    "parse_definition",
    "parse_parameter_text",
    "ref",
    "resolve_parameters",
    "validate",
]
