"""Redaction writes a new version: PII masked, hashed or dropped; the source untouched."""

from __future__ import annotations

import pandas as pd
import pytest

from siklus.data import read_frame
from siklus.data.pii import hash_value, mask_value, plan_actions, redact_pii, scan_pii
from siklus.exceptions import InvalidParameter


def values(series: pd.Series) -> list:
    """The values with every kind of missing (None, NaN, NA) as None."""
    return [None if pd.isna(v) else v for v in series.astype(object)]


def test_mask_everything_flagged(ctx, customers, customers_frame):
    redacted = redact_pii(ctx, "customers")
    assert redacted.name == "customers.redacted" and redacted.parent_id == customers.id
    assert redacted.tags.get("pii") == "redacted"
    assert "email=mask" in redacted.source and "salt" not in redacted.source
    edges = ctx.store.list_lineage(customers.id, direction="downstream")
    assert [(e.target_id, e.relation) for e in edges] == [(redacted.id, "pii-redact")]
    _, out = read_frame(ctx, redacted)
    original = customers_frame
    assert out["card"].tolist() == [mask_value(v, "credit_card") for v in original["card"]]
    assert out["full_name"].tolist() == [
        mask_value(v, "person_name") for v in original["full_name"]
    ]
    assert out["nik"].tolist() == [mask_value(str(v), "id_nik") for v in original["nik"]]
    assert out["email"].isna().tolist() == original["email"].isna().tolist()
    for untouched in ("order_id", "bad_card", "note", "app_version", "amount"):
        assert values(out[untouched]) == values(original[untouched])
    _, source = read_frame(ctx, "customers:1")
    assert all(values(source[c]) == values(original[c]) for c in original.columns)


def test_actions_per_kind_and_per_column(ctx, customers, customers_frame):
    action = {"email": "hash", "id_nik": "drop", "phone": "keep", "note": "mask", "default": "mask"}
    first = redact_pii(ctx, customers, action=action, salt="pepper", output_name="customers.safe")
    _, out = read_frame(ctx, first)
    assert "nik" not in out.columns and out["phone"].tolist() == customers_frame["phone"].tolist()
    emails = customers_frame["email"]
    assert values(out["email"]) == [None if v is None else hash_value(v, "pepper") for v in emails]
    assert out["note"].str.contains(r"^[a-z]\**", regex=True).all()  # named column: whole value
    assert out["ssn"].str.fullmatch(r"\*\*\*-\*\*-\d{4}").all()
    again = redact_pii(ctx, "customers", action=action, salt="pepper", output_name="customers.safe")
    assert again.id == first.id  # same input + salt → same hashes → same content
    other = redact_pii(
        ctx, "customers", action=action, salt="paprika", output_name="customers.safe"
    )
    assert other.version == 2 and other.sha256 != first.sha256


def test_bad_actions(ctx, customers):
    report = scan_pii(ctx, "customers")
    with pytest.raises(InvalidParameter, match="needs a secret salt"):
        redact_pii(ctx, "customers", action="hash", report=report)
    with pytest.raises(InvalidParameter, match=r"\['emial'\] are neither columns"):
        redact_pii(ctx, "customers", action={"emial": "hash"}, report=report)
    with pytest.raises(InvalidParameter, match="'shred'"):
        redact_pii(ctx, "customers", action="shred", report=report)
    columns = [c["name"] for c in customers.schema]
    assert plan_actions(report, columns, {"default": "keep", "card": "drop"}) == {
        "card": ("drop", "credit_card", False)
    }
    assert ctx.store.list_dataset_versions("customers.redacted") == []
