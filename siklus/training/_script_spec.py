"""Script mode, before the job: check the script and snapshot its source.

The source (the script alone, or its whole ``source_dir``) is archived into the artifact
store when the job is *submitted*, and the job runs that snapshot: a job that waits in
the queue runs the code as it was when submitted, not as it is after later edits, and
the model's manifest names the exact source by hash. See ``docs/script-mode.md``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from siklus.exceptions import InvalidParameter
from siklus.store import WorkspaceContext
from siklus.training._archive import pack_directory

#: The job entrypoint that runs a script.
SCRIPT_ENTRYPOINT = "siklus.training._script_job:run"
#: Largest source snapshot; data belongs in dataset channels, not next to the code.
MAX_SOURCE_BYTES = 100 * 2**20
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_CHANNEL = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def check_hyperparameter_names(hyperparameters: dict[str, Any]) -> None:
    """Script hyperparameters become ``--name value`` arguments: names must be identifiers.

    Raises:
        InvalidParameter: A name is not a Python identifier (letters, digits, ``_``).
    """
    bad = [name for name in hyperparameters if not _IDENTIFIER.match(str(name))]
    if bad:
        raise InvalidParameter(
            f"Hyperparameter name(s) {bad} are not simple identifiers. Script hyperparameters "
            "are passed as --NAME VALUE arguments, so use letters, digits and '_' "
            "(e.g. learning_rate, not learning-rate)."
        )


def check_channel_name(name: str) -> str:
    """Channel names become ``SIKLUS_CHANNEL_<NAME>`` variables: lowercase identifiers."""
    if not isinstance(name, str) or not _CHANNEL.match(name):
        raise InvalidParameter(
            f"Channel name {name!r} is not valid: use lowercase letters, digits and '_', "
            "starting with a letter (it becomes the variable SIKLUS_CHANNEL_<NAME>)."
        )
    return name


def hyperparameter_args(hyperparameters: dict[str, Any]) -> list[str]:
    """``{"epochs": 10, "lr": 0.01, "arch": "mlp"}`` → ``["--epochs", "10", "--lr", "0.01", …]``.

    Strings are passed as they are; every other value as JSON (``true``, ``null``,
    ``[1, 2]``), which ``argparse`` with ``type=int``/``float`` or ``json.loads`` reads back.
    """
    args: list[str] = []
    for name, value in hyperparameters.items():
        text = value if isinstance(value, str) else json.dumps(value)
        args += [f"--{name}", text]
    return args


def _resolve(
    script: str | os.PathLike[str], source_dir: str | os.PathLike[str] | None
) -> tuple[Path, Path | None]:
    """The script file and the source folder (None: the script alone), both absolute."""
    if source_dir is not None:
        folder = Path(source_dir).expanduser().resolve()
        if not folder.is_dir():
            raise InvalidParameter(
                f"Source folder {str(source_dir)!r} does not exist or is not a folder "
                f"(resolved to {folder}). Pass the folder holding your training code."
            )
        path = Path(script).expanduser()
        path = (path if path.is_absolute() else folder / path).resolve()
        if not path.is_relative_to(folder):
            raise InvalidParameter(
                f"Script {str(script)!r} is outside the source folder {folder}; give its path "
                "relative to the source folder (e.g. --script train.py --source-dir src)."
            )
    else:
        folder = None
        path = Path(script).expanduser().resolve()
    if not path.is_file():
        where = f" in source folder {folder}" if folder else ""
        raise InvalidParameter(
            f"Training script {str(script)!r} does not exist{where} (looked for {path}). "
            "Check the path; with --source-dir it is relative to that folder."
        )
    return path, folder


def snapshot_source(
    ctx: WorkspaceContext,
    script: str | os.PathLike[str],
    source_dir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Archive the script (or its source folder) into the artifact store.

    Returns:
        ``{"sha256", "entry_point", "origin", "files", "bytes"}``: the snapshot's hash,
        the script's path inside it, where it was taken from, and its size.

    Raises:
        InvalidParameter: The script or folder does not exist, the script is outside
            the folder or hidden in it, or the folder is larger than 100 MiB.
    """
    path, folder = _resolve(script, source_dir)
    with tempfile.TemporaryDirectory(dir=ctx.state_dir) as tmp:
        if folder is None:
            folder = Path(tmp) / "source"
            folder.mkdir()
            shutil.copy2(path, folder / path.name)
            entry, origin = path.name, str(path)
        else:
            entry, origin = path.relative_to(folder).as_posix(), str(folder)
        archive = Path(tmp) / "source.tar.gz"
        info = pack_directory(folder, archive, skip_hidden=True, max_bytes=MAX_SOURCE_BYTES)
        if entry not in {f["path"] for f in info.files}:
            raise InvalidParameter(
                f"Training script {entry!r} is in a hidden or cache folder of {origin}, which "
                "source snapshots leave out; move it to a regular folder."
            )
        digest = ctx.artifacts.put_file(archive)
    return {
        "sha256": digest,
        "entry_point": entry,
        "origin": origin,
        "files": len(info.files),
        "bytes": info.total_bytes,
    }


__all__ = [
    "MAX_SOURCE_BYTES",
    "SCRIPT_ENTRYPOINT",
    "check_channel_name",
    "check_hyperparameter_names",
    "hyperparameter_args",
    "snapshot_source",
]
