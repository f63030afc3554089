"""WorkspaceContext: resolution of locations and what child processes inherit."""

from __future__ import annotations

from siklus import config
from siklus.store import WorkspaceContext


def test_defaults_live_under_the_workspace(tmp_path, monkeypatch):
    for name in ("SIKLUS_WORKSPACE", "SIKLUS_DATABASE_URL", "SIKLUS_ARTIFACT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    ctx = WorkspaceContext.open(tmp_path)
    assert ctx.database_url == f"sqlite:///{tmp_path / '.siklus' / 'siklus.db'}"
    assert ctx.artifact_root == str(tmp_path / ".siklus" / "artifacts")


def test_child_environment_carries_effective_settings(tmp_path, monkeypatch):
    monkeypatch.delenv("SIKLUS_MAX_PAYLOAD_BYTES", raising=False)
    monkeypatch.delenv("SIKLUS_PROGRESS", raising=False)
    ctx = WorkspaceContext.open(tmp_path, settings={"max_payload_bytes": 2048, "progress": False})
    env = ctx.to_env()
    assert env["SIKLUS_MAX_PAYLOAD_BYTES"] == "2048" and env["SIKLUS_PROGRESS"] == "false"
    assert "SIKLUS_ENDPOINT_HOST" not in env  # defaults are not repeated
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    child = WorkspaceContext.open()
    assert child.root == ctx.root and child.setting("max_payload_bytes") == 2048
    assert child.setting("progress") is False
    with config.config_context(max_payload_bytes=10):
        assert ctx.to_env()["SIKLUS_MAX_PAYLOAD_BYTES"] == "10"
