"""Evidence rules: age at intake, newer than the state it vouches for, alternatives `A|B`."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from factories import HOUR, NOW, make_evidence

from thawgate.domain.decision import EvidenceRequirement
from thawgate.domain.evidence import CLOCK_SKEW, counts, merge, missing

LIVENESS = EvidenceRequirement(("KYC_LIVENESS_PASS",), 72)
SIM_OR_VIDEO = EvidenceRequirement(("SIM_SWAP_CHECK_CLEAR", "VIDEO_VERIFICATION"), 24)


@pytest.mark.parametrize(
    ("observed_at", "not_before", "expected"),
    [
        pytest.param(NOW - HOUR, None, True, id="fresh"),
        pytest.param(NOW - 72 * HOUR, None, True, id="exactly-max-age"),
        pytest.param(NOW - 72 * HOUR - timedelta(seconds=1), None, False, id="past-max-age"),
        pytest.param(NOW + CLOCK_SKEW, None, True, id="within-clock-skew"),
        pytest.param(NOW + CLOCK_SKEW + timedelta(seconds=1), None, False, id="from-the-future"),
        pytest.param(NOW - HOUR, NOW - 2 * HOUR, True, id="after-not-before"),
        pytest.param(NOW - HOUR, NOW - HOUR, False, id="at-not-before"),
        pytest.param(NOW - 2 * HOUR, NOW - HOUR, False, id="before-not-before"),
    ],
)
def test_counts(observed_at: datetime, not_before: datetime | None, expected: bool) -> None:
    item = make_evidence(observed_at=observed_at)
    assert counts(item, LIVENESS, as_of=NOW, not_before=not_before) is expected


def test_age_is_measured_at_intake_not_now() -> None:
    """Evidence 70 h old at intake still counts when the request is re-judged days later."""
    intake = NOW - 5 * 24 * HOUR
    item = make_evidence(observed_at=intake - 70 * HOUR)
    assert counts(item, LIVENESS, as_of=intake, not_before=None)
    assert not counts(item, LIVENESS, as_of=NOW, not_before=None)


def test_wrong_type_never_counts() -> None:
    item = make_evidence(type="ID_DOCUMENT_MATCH")
    assert not counts(item, LIVENESS, as_of=NOW, not_before=None)


@pytest.mark.parametrize("kind", ["SIM_SWAP_CHECK_CLEAR", "VIDEO_VERIFICATION"])
def test_either_alternative_satisfies(kind: str) -> None:
    evidence = [make_evidence(type=kind)]
    assert missing([SIM_OR_VIDEO], evidence, as_of=NOW, not_before=None) == []


def test_missing_lists_labels_with_alternatives() -> None:
    evidence = [make_evidence(type="KYC_LIVENESS_PASS")]
    result = missing([LIVENESS, SIM_OR_VIDEO], evidence, as_of=NOW, not_before=None)
    assert result == ["SIM_SWAP_CHECK_CLEAR|VIDEO_VERIFICATION"]


def test_missing_lists_a_stale_piece() -> None:
    evidence = [make_evidence(observed_at=NOW - 100 * HOUR)]
    assert missing([LIVENESS], evidence, as_of=NOW, not_before=None) == ["KYC_LIVENESS_PASS"]


def test_liveness_from_before_the_takeover_proves_nothing() -> None:
    sim_swap_at = NOW - 2 * HOUR
    before = make_evidence(observed_at=NOW - 3 * HOUR, reference="before")
    after = make_evidence(observed_at=NOW - HOUR, reference="after")
    assert missing([LIVENESS], [before], as_of=NOW, not_before=sim_swap_at) == ["KYC_LIVENESS_PASS"]
    assert missing([LIVENESS], [before, after], as_of=NOW, not_before=sim_swap_at) == []


def test_no_requirements_nothing_missing() -> None:
    assert missing([], [], as_of=NOW, not_before=None) == []


def test_merge_is_a_union() -> None:
    merged = merge([LIVENESS, SIM_OR_VIDEO, LIVENESS])
    assert set(merged) == {LIVENESS, SIM_OR_VIDEO}


def test_merge_keeps_the_stricter_age_for_the_same_alternatives() -> None:
    merged = merge(
        [
            EvidenceRequirement(("VIDEO_VERIFICATION", "SIM_SWAP_CHECK_CLEAR"), 72),
            SIM_OR_VIDEO,
        ]
    )
    assert merged == (SIM_OR_VIDEO,)
    assert merged[0].label == "SIM_SWAP_CHECK_CLEAR|VIDEO_VERIFICATION"


def test_merge_keeps_different_alternatives_apart() -> None:
    video = EvidenceRequirement(("VIDEO_VERIFICATION",), 72)
    assert set(merge([video, SIM_OR_VIDEO])) == {video, SIM_OR_VIDEO}


def test_label_joins_alternatives() -> None:
    assert SIM_OR_VIDEO.label == "SIM_SWAP_CHECK_CLEAR|VIDEO_VERIFICATION"
    assert LIVENESS.label == "KYC_LIVENESS_PASS"
