"""The catalogs of POLICY.md: teams, roles, scopes, reasons, bindings and evidence types."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Team(StrEnum):
    CUSTOMER_SUPPORT = "customer_support"
    VIP_DESK = "vip_desk"
    RISK_OPS = "risk_ops"
    FRAUD_RISK = "fraud_risk"
    COMPLIANCE = "compliance"
    LEGAL = "legal"
    SECURITY = "security"
    SYSTEM = "system"


class Role(StrEnum):
    REQUESTER = "requester"
    RESTRICTION_PLACER = "restriction_placer"
    FRAUD_REVIEWER = "fraud_reviewer"
    SENIOR_FRAUD_REVIEWER = "senior_fraud_reviewer"
    LEGAL_REVIEWER = "legal_reviewer"
    COMPLIANCE_REVIEWER = "compliance_reviewer"
    POLICY_ADMIN = "policy_admin"
    ACCESS_ADMIN = "access_admin"
    AUDITOR = "auditor"
    SYSTEM = "system"
    SELF_SERVICE = "self_service"
    EVENT_INGESTOR = "event_ingestor"


REVIEWER_ROLES = frozenset(
    {
        Role.FRAUD_REVIEWER,
        Role.SENIOR_FRAUD_REVIEWER,
        Role.LEGAL_REVIEWER,
        Role.COMPLIANCE_REVIEWER,
    }
)

# Which roles may fill a clause naming a role: a senior also fits a fraud_reviewer clause.
CLAUSE_FITS: dict[str, frozenset[str]] = {
    Role.FRAUD_REVIEWER: frozenset({Role.FRAUD_REVIEWER, Role.SENIOR_FRAUD_REVIEWER}),
    Role.SENIOR_FRAUD_REVIEWER: frozenset({Role.SENIOR_FRAUD_REVIEWER}),
    Role.LEGAL_REVIEWER: frozenset({Role.LEGAL_REVIEWER}),
    Role.COMPLIANCE_REVIEWER: frozenset({Role.COMPLIANCE_REVIEWER}),
}

# The most specific clause first: an approval fills the first open clause it fits.
CLAUSE_SPECIFICITY: tuple[str, ...] = (
    Role.LEGAL_REVIEWER,
    Role.COMPLIANCE_REVIEWER,
    Role.SENIOR_FRAUD_REVIEWER,
    Role.FRAUD_REVIEWER,
)


class Scope(StrEnum):
    LOGIN = "login"
    TRADE = "trade"
    WITHDRAW = "withdraw"
    DEPOSIT = "deposit"
    TRANSFER = "transfer"
    P2P = "p2p"
    API = "api"
    FULL = "full"


class ReasonClass(IntEnum):
    """Lowest to highest. An amendment may only keep or raise the class."""

    STANDARD = 0
    REGULATORY = 1
    LEGAL_HOLD = 2
    NON_LIFTABLE = 3


class Reason(StrEnum):
    ATO_SUSPECTED = "ATO_SUSPECTED"
    RISK_RULE_HIT = "RISK_RULE_HIT"
    P2P_DISPUTE = "P2P_DISPUTE"
    KYC_INCOMPLETE = "KYC_INCOMPLETE"
    USER_SELF_FREEZE = "USER_SELF_FREEZE"
    AML_REVIEW = "AML_REVIEW"
    LAW_ENFORCEMENT = "LAW_ENFORCEMENT"
    COURT_ORDER = "COURT_ORDER"
    SANCTIONS_HIT = "SANCTIONS_HIT"
    SECURITY_COOLDOWN = "SECURITY_COOLDOWN"


@dataclass(frozen=True, slots=True)
class ReasonInfo:
    owning_team: Team
    reason_class: ReasonClass


REASONS: dict[Reason, ReasonInfo] = {
    Reason.ATO_SUSPECTED: ReasonInfo(Team.SECURITY, ReasonClass.STANDARD),
    Reason.RISK_RULE_HIT: ReasonInfo(Team.RISK_OPS, ReasonClass.STANDARD),
    Reason.P2P_DISPUTE: ReasonInfo(Team.RISK_OPS, ReasonClass.STANDARD),
    Reason.KYC_INCOMPLETE: ReasonInfo(Team.COMPLIANCE, ReasonClass.REGULATORY),
    Reason.USER_SELF_FREEZE: ReasonInfo(Team.CUSTOMER_SUPPORT, ReasonClass.STANDARD),
    Reason.AML_REVIEW: ReasonInfo(Team.COMPLIANCE, ReasonClass.REGULATORY),
    Reason.LAW_ENFORCEMENT: ReasonInfo(Team.LEGAL, ReasonClass.LEGAL_HOLD),
    Reason.COURT_ORDER: ReasonInfo(Team.LEGAL, ReasonClass.LEGAL_HOLD),
    Reason.SANCTIONS_HIT: ReasonInfo(Team.COMPLIANCE, ReasonClass.NON_LIFTABLE),
    Reason.SECURITY_COOLDOWN: ReasonInfo(Team.SYSTEM, ReasonClass.NON_LIFTABLE),
}


NON_LIFTABLE_REASONS = frozenset(
    r for r, info in REASONS.items() if info.reason_class is ReasonClass.NON_LIFTABLE
)


def reason_class(reason: str) -> ReasonClass:
    return REASONS[Reason(reason)].reason_class


# Scopes ordered by width for amendments: `full` is wider than every other scope.
def scope_widens_or_keeps(old: str, new: str) -> bool:
    return new in (old, Scope.FULL)


class BindingType(StrEnum):
    TOTP = "TOTP"
    SMS_PHONE = "SMS_PHONE"
    EMAIL = "EMAIL"
    PASSKEY = "PASSKEY"
    DEVICE = "DEVICE"
    WITHDRAWAL_ADDRESS = "WITHDRAWAL_ADDRESS"
    API_KEY = "API_KEY"


CREDENTIAL_BINDINGS = frozenset(
    {BindingType.TOTP, BindingType.SMS_PHONE, BindingType.EMAIL, BindingType.PASSKEY}
)
PROTECTIVE_BINDINGS = frozenset(
    {BindingType.DEVICE, BindingType.WITHDRAWAL_ADDRESS, BindingType.API_KEY}
)


class EvidenceType(StrEnum):
    KYC_LIVENESS_PASS = "KYC_LIVENESS_PASS"  # noqa: S105  # an evidence type, not a secret
    ID_DOCUMENT_MATCH = "ID_DOCUMENT_MATCH"
    VIDEO_VERIFICATION = "VIDEO_VERIFICATION"
    OUT_OF_BAND_CALLBACK = "OUT_OF_BAND_CALLBACK"
    USER_IDENTITY_VERIFIED = "USER_IDENTITY_VERIFIED"
    SIM_SWAP_CHECK_CLEAR = "SIM_SWAP_CHECK_CLEAR"
    LE_RELEASE_ORDER = "LE_RELEASE_ORDER"
    COURT_RELEASE_ORDER = "COURT_RELEASE_ORDER"
    AML_CASE_CLOSED = "AML_CASE_CLOSED"
    DISPUTE_RESOLVED = "DISPUTE_RESOLVED"


class EventType(StrEnum):
    LOGIN = "login"
    PASSWORD_CHANGE = "password_change"  # noqa: S105  # an event type, not a secret
    BINDING_ADDED = "binding_added"
    BINDING_REMOVED = "binding_removed"
    PHONE_CHANGE = "phone_change"
    SIM_SWAP = "sim_swap"
    WITHDRAWAL_ADDRESS_ADDED = "withdrawal_address_added"
    WITHDRAWAL = "withdrawal"
    DEPOSIT = "deposit"


# Evidence must be newer than the latest of these events on the account.
SECURITY_CHANGE_EVENTS = frozenset(
    {
        EventType.SIM_SWAP,
        EventType.PHONE_CHANGE,
        EventType.PASSWORD_CHANGE,
        EventType.BINDING_ADDED,
    }
)


class RequestKind(StrEnum):
    THAW = "thaw"
    UNBIND = "unbind"
