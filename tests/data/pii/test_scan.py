"""Column-level detection on a dataset with known PII and tricky look-alikes."""

from __future__ import annotations

import pytest

from siklus.data.pii import PiiReport, scan_pii, scan_values
from siklus.exceptions import InvalidParameter

#: Column → the kind scan_pii must report; every other column must not be flagged.
EXPECTED = {
    "full_name": "person_name",
    "email": "email",
    "phone": "phone",
    "card": "credit_card",
    "nik": "id_nik",
    "ssn": "id_ssn",
    "ip": "ipv4",
}
#: Look-alikes in which not a single value may match any kind.
CLEAN = [
    "customer_id",
    "bad_card",
    "order_id",
    "invoice_no",
    "event_date",
    "app_version",
    "product_name",
]


@pytest.fixture
def report(ctx, customers) -> PiiReport:
    return scan_pii(ctx, "customers")


def test_flags_exactly_the_pii_columns(report, customers_frame):
    assert {c.column: c.kind for c in report.flagged} == EXPECTED
    assert report.rows == report.scanned_rows == len(customers_frame)
    for name in EXPECTED:
        finding = report.column(name)
        present = customers_frame[name].notna().sum()
        assert finding.scanned_rows == present
        assert finding.match_fraction == finding.matched_rows / present
    assert report.column("email").match_fraction == 1.0
    assert report.column("ip").kinds == pytest.approx({"ipv4": 0.7, "ipv6": 0.3})


def test_no_false_positives_on_look_alikes(report):
    found = {c.column for c in report.columns}
    assert not found & set(CLEAN), [report.column(c) for c in found & set(CLEAN)]


def test_free_text_is_reported_but_flagged_only_above_the_threshold(ctx, customers, report):
    note = report.column("note")
    assert note.kind is None and note.kinds == {"email": 0.1}
    assert note.samples[0] == "reach me at u***@e***.com"
    lower = scan_pii(ctx, "customers", min_fraction=0.05, columns=["note", "amount"])
    assert [(c.column, c.kind) for c in lower.columns] == [("note", "email")]


def test_samples_are_masked(report, customers_frame):
    for name in EXPECTED:
        finding = report.column(name)
        raw = {str(v) for v in customers_frame[name].dropna()}
        assert finding.samples, name  # every finding shows what it found
        assert len(set(finding.samples)) == len(finding.samples) <= 5, finding.samples
        assert not set(finding.samples) & raw, (name, finding.samples)
        assert all("*" in sample for sample in finding.samples)


def test_sampling_is_deterministic(ctx, customers):
    first = scan_pii(ctx, "customers", max_rows=60, seed=1)
    again = scan_pii(ctx, "customers", max_rows=60, seed=1)
    assert first == again and 20 < first.scanned_rows < 120 and first.rows == 200
    assert {c.column for c in first.flagged} == set(EXPECTED)
    assert PiiReport.from_dict(first.to_dict()) == first


def test_scan_values_on_plain_values():
    assert scan_values("contact", ["a@b.com", "c@d.org", None, " "]).kind == "email"
    assert scan_values("name", ["John Smith", "Dewi Lestari", "Budi"]).kind == "person_name"
    assert scan_values("product_name", ["Blue Widget", "Red Box"]) is None
    assert scan_values("build_version", ["1.2.3.4", "1.2.3.5"]) is None
    assert scan_values("server", ["1.2.3.4", "10.0.0.1"]).kind == "ipv4"
    counted = scan_values("card", [("4111111111111111", 3), ("order 7", 7)])
    assert counted.kind == "credit_card" and counted.match_fraction == 0.3


def test_bad_arguments(ctx, customers):
    with pytest.raises(InvalidParameter, match=r"no column\(s\) \['nope'\]"):
        scan_pii(ctx, "customers", columns=["nope"])
    with pytest.raises(InvalidParameter, match="min_fraction"):
        scan_pii(ctx, "customers", min_fraction=0)
