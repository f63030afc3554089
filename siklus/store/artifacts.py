"""Content-addressed artifact store: files named by their sha256.

An artifact is written once to a temporary name beside its final place and renamed, so a
reader never sees half a file and a crash leaves at most an orphan temp file. Reads verify
the hash, so a file changed on disk is reported, never silently used. The root is a local
folder or any fsspec URL (``s3://bucket/prefix``, ``memory://``); callers only ever see
:class:`ArtifactStore` methods, so moving the root to object storage touches no caller.

Example:
    >>> store = ArtifactStore("/tmp/siklus-doc-artifacts")
    >>> digest = store.put_bytes(b"hello")
    >>> store.get_bytes(digest)
    b'hello'
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import IO

import fsspec

from siklus.exceptions import CorruptArtifact, NotFound

_CHUNK = 1024 * 1024


def sha256_file(path: str | os.PathLike[str]) -> str:
    """Return the hex sha256 of a local file, read in chunks (any size)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class ArtifactStore:
    """Immutable blobs addressed by sha256 under ``root``.

    Args:
        root: A folder path or an fsspec URL.
        cache_dir: Local folder for copies of remote artifacts and for staging
            :meth:`put_bytes`: the workspace's ``.siklus/artifact-cache`` (what
            :class:`~siklus.store.WorkspaceContext` passes), so nothing is written outside
            the workspace. Without it: under ``root`` when local, else the system's
            temporary folder.

    Thread/process safety: concurrent ``put`` of the same content is safe (both write
    temp files; the renames land the same bytes).
    """

    def __init__(
        self, root: str | os.PathLike[str], *, cache_dir: str | os.PathLike[str] | None = None
    ) -> None:
        root = str(root)
        self.fs, path = fsspec.core.url_to_fs(root)
        self.root = path.rstrip("/")
        self.url = root
        self.is_local = self.fs.protocol in ("file", "local") or "file" in self.fs.protocol
        self.fs.makedirs(self.root, exist_ok=True)
        if cache_dir is not None:
            self.cache_dir = Path(cache_dir)
        elif self.is_local:
            self.cache_dir = Path(self.root) / ".staging"
        else:
            self.cache_dir = Path(tempfile.gettempdir()) / "siklus-artifact-cache"

    def _local_folder(self) -> Path:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        return self.cache_dir

    def _path(self, sha256: str) -> str:
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise NotFound(f"{sha256!r} is not a sha256 digest (64 lowercase hex characters).")
        return f"{self.root}/sha256/{sha256[:2]}/{sha256}"

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.exists(self._path(sha256)))

    def put_file(self, path: str | os.PathLike[str]) -> str:
        """Store a local file's content; return its sha256. Idempotent."""
        digest = sha256_file(path)
        final = self._path(digest)
        if self.fs.exists(final):
            return digest
        parent = final.rsplit("/", 1)[0]
        self.fs.makedirs(parent, exist_ok=True)
        tmp = f"{parent}/.tmp-{uuid.uuid4().hex}"
        try:
            if self.is_local:
                shutil.copyfile(path, tmp)
                with open(tmp, "rb+") as handle:
                    os.fsync(handle.fileno())
                os.replace(tmp, final)
            else:
                self.fs.put_file(str(path), tmp)
                self.fs.mv(tmp, final)
        finally:
            if self.fs.exists(tmp):
                self.fs.rm(tmp)
        return digest

    def put_bytes(self, data: bytes) -> str:
        """Store bytes; return their sha256."""
        with tempfile.NamedTemporaryFile(dir=self._local_folder(), delete=False) as handle:
            handle.write(data)
        try:
            return self.put_file(handle.name)
        finally:
            os.unlink(handle.name)

    def _missing(self, sha256: str) -> NotFound:
        return NotFound(
            f"Artifact sha256:{sha256} is not in the artifact store at {self.url}. It was "
            "deleted or the store root (SIKLUS_ARTIFACT_ROOT) points elsewhere."
        )

    def open(self, sha256: str) -> IO[bytes]:
        """Open for reading without verifying (for streaming); prefer :meth:`local_path`."""
        path = self._path(sha256)
        if not self.fs.exists(path):
            raise self._missing(sha256)
        return self.fs.open(path, "rb")

    def get_bytes(self, sha256: str) -> bytes:
        """Read and verify the whole artifact."""
        with self.open(sha256) as handle:
            data = handle.read()
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            raise self._corrupt(sha256, actual)
        return data

    def _corrupt(self, sha256: str, actual: str) -> CorruptArtifact:
        return CorruptArtifact(
            f"Artifact sha256:{sha256} at {self._path(sha256)} is corrupt: its content "
            f"hashes to {actual}. Restore it from a backup or re-create the resource."
        )

    def local_path(self, sha256: str, *, verify: bool = True) -> Path:
        """A local file holding the artifact (downloaded to a cache for remote roots).

        Raises:
            NotFound: Not stored.
            CorruptArtifact: The bytes no longer match the hash.
        """
        path = self._path(sha256)
        if not self.fs.exists(path):
            raise self._missing(sha256)
        if self.is_local:
            local = Path(path)
        else:
            cache = self._local_folder()
            local = cache / sha256
            if local.exists() and verify and sha256_file(local) != sha256:
                local.unlink(missing_ok=True)  # a damaged cached copy: fetch it again
            if not local.exists():
                tmp = cache / f".tmp-{uuid.uuid4().hex}"
                try:
                    self.fs.get_file(path, str(tmp))
                    actual = sha256_file(tmp)
                    if actual == sha256:
                        # Only verified bytes enter the cache: a corrupt download must
                        # not keep failing reads after the remote copy is restored.
                        os.replace(tmp, local)
                    elif verify:
                        raise self._corrupt(sha256, actual)
                    else:
                        local = cache / f"unverified-{sha256}"
                        os.replace(tmp, local)
                        return local
                finally:
                    tmp.unlink(missing_ok=True)
            return local
        if verify:
            actual = sha256_file(local)
            if actual != sha256:
                raise self._corrupt(sha256, actual)
        return local
