"""Post-thaw monitoring rules: the `monitoring` section of the policy pack, type-checked at load.

```yaml
monitoring:
  window_hours: 72            # how long after an execution the account is watched
  rules:
    - id: withdrawal-to-fresh-address
      when: 'event_type == "withdrawal" && address_age_minutes >= 0 && address_age_minutes < 1440'
      message: a withdrawal to an address added less than 24 h ago
      severity: critical      # info | warning | critical (default critical)
      refreeze: true          # place a full ATO_SUSPECTED restriction (default true)
```

Conditions are CEL over `MonitoringFacts` (domain/monitoring.py). Every problem is a PolicyError
naming the rule, so a policy upload with a bad monitoring rule is refused with the rule id.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from cel_expr_python import cel

from thawgate.domain.errors import PolicyError
from thawgate.domain.monitoring import MonitoringFacts

FACT_TYPES: dict[str, Any] = {
    "kind": cel.Type.STRING,
    "event_type": cel.Type.STRING,
    "minutes_since_execution": cel.Type.INT,
    "amount_usd": cel.Type.INT,
    "address_age_minutes": cel.Type.INT,
    "country_is_new": cel.Type.BOOL,
    "new_country_login_before": cel.Type.BOOL,
    "credential_change": cel.Type.BOOL,
    "earlier_credential_changes": cel.Type.INT,
    "earlier_bindings_added": cel.Type.INT,
}
_ENV = cel.NewEnv(variables=FACT_TYPES)
_RULE_KEYS = frozenset({"id", "when", "message", "severity", "refreeze"})
_SECTION_KEYS = frozenset({"window_hours", "rules"})
SEVERITIES = ("info", "warning", "critical")
DEFAULT_WINDOW_HOURS = 72


@dataclass(frozen=True, slots=True)
class MonitoringRule:
    id: str
    when: str
    message: str
    severity: str
    refreeze: bool
    expr: Any  # the compiled CEL program

    def fires(self, facts: MonitoringFacts) -> bool:
        return bool(self.expr.eval(_ENV.Activation(facts.cel_data())).value())


@dataclass(frozen=True, slots=True)
class MonitoringPolicy:
    window_hours: int
    rules: tuple[MonitoringRule, ...]

    def hits(self, facts: MonitoringFacts) -> list[MonitoringRule]:
        return [r for r in self.rules if r.fires(facts)]


def parse(raw: object) -> MonitoringPolicy:
    """The `monitoring` section. Absent: a 72 h window and no rules (nothing is watched)."""
    if raw is None:
        return MonitoringPolicy(DEFAULT_WINDOW_HOURS, ())
    if not isinstance(raw, dict):
        raise PolicyError("monitoring: expected a mapping with `window_hours` and `rules`")
    unknown = set(raw) - _SECTION_KEYS
    if unknown:
        raise PolicyError(f"monitoring: unknown keys {sorted(unknown)}")
    hours = raw.get("window_hours", DEFAULT_WINDOW_HOURS)
    if isinstance(hours, bool) or not isinstance(hours, int) or hours < 1:
        raise PolicyError(f"monitoring.window_hours must be a whole number >= 1, not {hours!r}")
    rules_raw = raw.get("rules") or []
    if not isinstance(rules_raw, list):
        raise PolicyError("monitoring.rules: expected a list")
    rules = tuple(_rule(r, i) for i, r in enumerate(rules_raw))
    ids = [r.id for r in rules]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise PolicyError(f"monitoring rule ids must be unique: {', '.join(dupes)}")
    return MonitoringPolicy(hours, rules)


def _rule(raw: object, index: int) -> MonitoringRule:
    if not isinstance(raw, dict):
        raise PolicyError(f"monitoring.rules[{index}]: a rule must be a mapping")
    rid = str(raw.get("id") or f"monitoring.rules[{index}]")
    where = f"monitoring rule {rid}"
    unknown = set(raw) - _RULE_KEYS
    if unknown:
        raise PolicyError(f"{where}: unknown keys {sorted(unknown)}")
    for key in ("id", "when", "message"):
        if not raw.get(key):
            raise PolicyError(f"{where}: `{key}` is required")
    severity = raw.get("severity", "critical")
    if severity not in SEVERITIES:
        raise PolicyError(f"{where}: severity must be one of {', '.join(SEVERITIES)}")
    refreeze = raw.get("refreeze", True)
    if not isinstance(refreeze, bool):
        raise PolicyError(f"{where}: refreeze must be true or false, not {refreeze!r}")
    source = str(raw["when"])
    try:
        expr = _ENV.compile(source)
    except RuntimeError as exc:
        raise PolicyError(f"{where}: condition {source!r} does not compile: {exc}") from None
    if expr.return_type().name().lower() != "bool":
        raise PolicyError(f"{where}: condition {source!r} is not a boolean")
    return MonitoringRule(
        id=rid,
        when=source,
        message=str(raw["message"]).strip(),
        severity=str(severity),
        refreeze=refreeze,
        expr=expr,
    )
