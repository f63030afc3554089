"""The content-addressed artifact store, over a local folder and an fsspec ``memory://`` root.

The same tests run over both roots: callers only use :class:`ArtifactStore` methods, so a
non-local root (S3 in production) works without touching them.
"""

from __future__ import annotations

import hashlib
import tempfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pytest
from fsspec.implementations.local import LocalFileSystem

from siklus.exceptions import CorruptArtifact, NotFound
from siklus.store import ArtifactStore, sha256_file


@pytest.fixture(params=["local", "memory"])
def artifacts(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ArtifactStore]:
    """An empty artifact store on a local folder or on fsspec's in-memory filesystem."""
    if request.param == "local":
        yield ArtifactStore(tmp_path / "artifacts")
        return
    root = f"memory://siklus-test-{uuid.uuid4().hex}"
    store = ArtifactStore(root)
    try:
        yield store
    finally:
        store.fs.rm(store.root, recursive=True)


def unique(label: str) -> bytes:
    """Content no other test stores (the remote-root download cache is keyed by hash)."""
    return f"{label} {uuid.uuid4().hex}".encode()


def stored_names(artifacts: ArtifactStore) -> list[str]:
    return [path.rsplit("/", 1)[-1] for path in artifacts.fs.find(artifacts.root)]


def test_roots_are_what_they_claim(artifacts: ArtifactStore) -> None:
    assert artifacts.is_local == isinstance(artifacts.fs, LocalFileSystem)


def test_bytes_round_trip(artifacts: ArtifactStore) -> None:
    data = unique("hello")
    digest = artifacts.put_bytes(data)
    assert digest == hashlib.sha256(data).hexdigest()
    assert artifacts.exists(digest)
    assert artifacts.get_bytes(digest) == data
    with artifacts.open(digest) as handle:
        assert handle.read() == data
    assert artifacts.local_path(digest).read_bytes() == data


def test_file_round_trip(artifacts: ArtifactStore, tmp_path: Path) -> None:
    source = tmp_path / "model.bin"
    source.write_bytes(unique("x") * 300_000)  # several read chunks
    digest = artifacts.put_file(source)
    assert digest == sha256_file(source) == hashlib.sha256(source.read_bytes()).hexdigest()
    assert artifacts.get_bytes(digest) == source.read_bytes()


def test_same_content_same_hash_different_content_different_hash(
    artifacts: ArtifactStore, tmp_path: Path
) -> None:
    data = unique("same")
    (tmp_path / "copy").write_bytes(data)
    assert artifacts.put_bytes(data) == artifacts.put_file(tmp_path / "copy")
    assert artifacts.put_bytes(data) != artifacts.put_bytes(data + b"!")


def test_put_is_idempotent(artifacts: ArtifactStore) -> None:
    data = unique("twice")
    first = artifacts.put_bytes(data)
    second = artifacts.put_bytes(data)
    assert first == second
    assert stored_names(artifacts) == [first]
    assert artifacts.get_bytes(first) == data


def test_puts_leave_no_temporary_files(artifacts: ArtifactStore) -> None:
    digests = {artifacts.put_bytes(unique(str(i))) for i in range(5)}
    assert sorted(stored_names(artifacts)) == sorted(digests)


def test_failed_put_leaves_neither_artifact_nor_temp_file(
    artifacts: ArtifactStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    if artifacts.is_local:
        # Fails after the temp copy is written, before the rename.
        monkeypatch.setattr("siklus.store.artifacts.os.fsync", fail)
    else:
        monkeypatch.setattr(artifacts.fs, "mv", fail)
    data = unique("half")
    with pytest.raises(OSError, match="disk full"):
        artifacts.put_bytes(data)
    monkeypatch.undo()
    assert stored_names(artifacts) == []
    assert not artifacts.exists(hashlib.sha256(data).hexdigest())


def test_concurrent_puts_of_the_same_content(artifacts: ArtifactStore) -> None:
    data = unique("race") * 10_000
    digests: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def put() -> None:
        start.wait()
        try:
            digests.append(artifacts.put_bytes(data))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=put) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert set(digests) == {hashlib.sha256(data).hexdigest()}
    assert stored_names(artifacts) == [digests[0]]
    assert artifacts.get_bytes(digests[0]) == data


def _overwrite(artifacts: ArtifactStore, digest: str, data: bytes) -> None:
    with artifacts.fs.open(artifacts._path(digest), "wb") as handle:
        handle.write(data)


def test_changed_file_is_reported_as_corrupt(artifacts: ArtifactStore) -> None:
    digest = artifacts.put_bytes(unique("original"))
    _overwrite(artifacts, digest, b"tampered")
    with pytest.raises(CorruptArtifact, match=digest) as error:
        artifacts.get_bytes(digest)
    assert hashlib.sha256(b"tampered").hexdigest() in str(error.value)
    with pytest.raises(CorruptArtifact, match=digest):
        artifacts.local_path(digest)
    assert artifacts.local_path(digest, verify=False).read_bytes() == b"tampered"


def test_restored_file_is_readable_again(artifacts: ArtifactStore) -> None:
    """A corrupt read must not poison a cache: restoring the bytes fixes every read."""
    data = unique("restore")
    digest = artifacts.put_bytes(data)
    _overwrite(artifacts, digest, b"tampered")
    with pytest.raises(CorruptArtifact):
        artifacts.local_path(digest)
    _overwrite(artifacts, digest, data)
    assert artifacts.local_path(digest).read_bytes() == data
    assert artifacts.get_bytes(digest) == data


def test_missing_artifact_raises_not_found(artifacts: ArtifactStore) -> None:
    digest = hashlib.sha256(unique("never stored")).hexdigest()
    assert not artifacts.exists(digest)
    for read in (artifacts.get_bytes, artifacts.open, artifacts.local_path):
        with pytest.raises(NotFound, match=digest) as error:
            read(digest)
        assert artifacts.url in str(error.value), "the message should name the store root"


@pytest.mark.parametrize(
    "bad",
    ["", "abc", "A" * 64, "g" * 64, "0" * 63, "0" * 65, "../" + "0" * 61, "sha256:" + "0" * 57],
)
def test_malformed_digest_raises_not_found(artifacts: ArtifactStore, bad: str) -> None:
    for read in (artifacts.get_bytes, artifacts.open, artifacts.local_path):
        with pytest.raises(NotFound, match="not a sha256 digest"):
            read(bad)


def test_memory_root_is_shared_by_handles() -> None:
    """Two stores on the same URL see the same artifacts, as two processes on S3 would."""
    root = f"memory://siklus-test-{uuid.uuid4().hex}"
    try:
        digest = ArtifactStore(root).put_bytes(b"shared")
        other = ArtifactStore(root)
        assert not other.is_local
        assert other.get_bytes(digest) == b"shared"
    finally:
        fsspec.filesystem("memory").rm(root.removeprefix("memory://"), recursive=True)


def test_a_workspace_keeps_remote_copies_and_staging_inside_itself(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a remote root, downloads and put_bytes' staging go under the workspace's
    ``.siklus/artifact-cache``, never the system's temporary folder."""
    from siklus.store import WorkspaceContext

    elsewhere = tmp_path / "system-tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    root = f"memory://siklus-test-{uuid.uuid4().hex}"
    ctx = WorkspaceContext.open(tmp_path / "ws", settings={"artifact_root": root})
    try:
        data = unique("remote")
        digest = ctx.artifacts.put_bytes(data)
        local = ctx.artifacts.local_path(digest)
        assert local.read_bytes() == data
        assert local.parent == ctx.state_dir / "artifact-cache"
        assert list(elsewhere.iterdir()) == []
    finally:
        ctx.artifacts.fs.rm(ctx.artifacts.root, recursive=True)


def test_a_local_root_stages_bytes_under_itself(tmp_path: Path, monkeypatch) -> None:
    elsewhere = tmp_path / "system-tmp"
    elsewhere.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(elsewhere))
    store = ArtifactStore(tmp_path / "artifacts")
    assert store.get_bytes(store.put_bytes(b"staged")) == b"staged"
    assert list(elsewhere.iterdir()) == []
