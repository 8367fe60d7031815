"""Putting revoked rules back: `egress-guard restore RESULT.json` (docs/command-line.md).

A result lists each rule it revoked in full (`RevokedSecurityGroupRules`) and the tags the
rule had (`Findings[].Tags`), so the rule can be re-created with
AuthorizeSecurityGroupEgress: same protocol, ports, destination and description, its tags
re-applied through TagSpecifications, a referenced group of another account with its owner
(`Findings[].ReferencedGroupInfo`). EC2 gives the re-created rule a new id.

Only what the findings say was revoked is restored: an item of RevokedSecurityGroupRules
needs a `revoked` finding for the same rule, group and traffic (an edited file cannot
authorize an arbitrary rule), and a `failed` finding marked `MaybeRevoked` (a revoke whose
outcome is unknown) is restored from its `Rule`. `force` restores unmatched items too, and
a result that names no account.

Restoring is idempotent: a rule whose protocol, ports and destination are already in the
group (read live before writing) is reported `already-present`, and so is one EC2 refuses
with InvalidPermission.Duplicate. Nothing here talks to EC2 except through `aws.Ec2Calls`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from egress_guard.aws import AwsCallFailed, Duplicate, Ec2Calls, error_text
from egress_guard.ids import AccountId
from egress_guard.result_document import FindingRecord, read, read_finding
from egress_guard.result_input import DocumentError, kind, revoked_rule
from egress_guard.rules import Rule
from egress_guard.traffic import Traffic

Status = Literal["restored", "would-restore", "already-present", "failed"]
RESERVED_TAG_PREFIX = "aws:"


# The document is not a result that can be restored; the message says what is wrong.
RestoreInputError = DocumentError


class RestoreRefused(ValueError):
    """The result was made in another account or region than the one restore runs in, or
    names no account."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What restore did (or, in a dry run, would do) for one revoked rule."""

    rule: Rule
    status: Status
    new_rule_id: str | None = None
    existing_rule_id: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "GroupId": self.rule.group_id,
            "SecurityGroupRuleId": self.rule.rule_id,
            "Traffic": self.rule.describe(),
        }
        if self.rule.description:
            out["Description"] = self.rule.description
        if self.rule.tags:
            out["Tags"] = [{"Key": k, "Value": v} for k, v in self.rule.tags]
        out["Status"] = self.status
        if self.new_rule_id:
            out["NewSecurityGroupRuleId"] = self.new_rule_id
        if self.existing_rule_id:
            out["ExistingSecurityGroupRuleId"] = self.existing_rule_id
        if self.error:
            out["Error"] = self.error
        return out


@dataclass
class Report:
    """Everything one restore did; `to_dict` is what the command line prints."""

    account: str | None
    region: str
    dry_run: bool
    outcomes: list[Outcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def ok(self) -> bool:
        return self.count("failed") == 0

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "Return": self.ok,
            "DryRun": self.dry_run,
            "Account": self.account,
            "Region": self.region,
            "Restored": self.count("restored"),
            "AlreadyPresent": self.count("already-present"),
            "Failed": self.count("failed"),
            "Rules": [o.to_dict() for o in self.outcomes],
        }
        if self.dry_run:
            out["WouldRestore"] = self.count("would-restore")
        if self.notes:
            out["Notes"] = self.notes
        return out


def rules_to_restore(
    result: Mapping[str, Any], *, force: bool = False, notes: list[str] | None = None
) -> list[Rule]:
    """The rules a result revoked, as its findings tell: each item of
    RevokedSecurityGroupRules that a `revoked` finding vouches for (with the tags and the
    referenced group's owner the finding recorded), then the rule of each `failed` finding
    marked MaybeRevoked.

    Raises RestoreInputError naming the first item and field that cannot be used, or the
    items no finding vouches for (`force`: restored anyway, each named in `notes`).
    """
    items = result.get("RevokedSecurityGroupRules")
    if not isinstance(items, list):
        raise RestoreInputError(f"RevokedSecurityGroupRules: expected a list, got {kind(items)}")
    revoked, maybe_revoked = _findings(result.get("Findings"))
    rules: list[Rule] = []
    unvouched: list[str] = []
    for position, item in enumerate(items):
        where = f"RevokedSecurityGroupRules[{position}]"
        rule = revoked_rule(where, item)
        finding = revoked.get(rule.rule_id)
        problem = _mismatch(rule, finding)
        if problem is not None:
            unvouched.append(f"{where} ({rule.rule_id}): {problem}")
            if not force:
                continue
        rules.append(_restorable(item, finding, f"{where}'s finding"))
    if unvouched and not force:
        raise RestoreInputError(
            f"{'; '.join(unvouched[:5])}; restore puts back only what the result's findings "
            "say was revoked (pass --force to restore such items anyway)"
        )
    if notes is not None:
        notes.extend(f"restored without a finding (--force): {text}" for text in unvouched)
    listed = {rule.rule_id for rule in rules}
    for where, finding in maybe_revoked:
        rule = revoked_rule(f"{where}.Rule", finding.rule)
        problem = _mismatch(rule, finding)
        if rule.rule_id != finding.rule_id:
            problem = f"the finding names rule {finding.rule_id!r}"
        if problem is not None:
            raise RestoreInputError(f"{where}.Rule ({rule.rule_id}): {problem}")
        if rule.rule_id not in listed:
            listed.add(rule.rule_id)
            rules.append(_restorable(finding.rule or {}, finding, where))
    return rules


def check_place(
    result: Mapping[str, Any], account: str | None, region: str, *, force: bool = False
) -> None:
    """Refuses a result made in another account or region than `account`/`region`, or one
    that names no account (unless `force`)."""
    document = read(result)
    theirs_account, theirs_region = document.account, document.region
    if not theirs_account and not force:
        raise RestoreRefused(
            f"the result names no Account, so it cannot be shown to come from account "
            f"{account}; pass --force to restore it there"
        )
    if theirs_account and account and theirs_account != account:
        raise RestoreRefused(
            f"the result is from account {theirs_account}, but these credentials are for "
            f"account {account}; run restore with credentials for {theirs_account}"
        )
    if theirs_region and theirs_region != region:
        raise RestoreRefused(
            f"the result is from region {theirs_region}, but restore runs in {region}; "
            f"pass --region {theirs_region}"
        )


def _findings(
    findings: Any,
) -> tuple[dict[str, FindingRecord], list[tuple[str, FindingRecord]]]:
    """A result's findings that restore uses: the `revoked` ones by rule id (the first of
    each), and the `failed` ones marked MaybeRevoked, with where each is."""
    revoked: dict[str, FindingRecord] = {}
    maybe_revoked: list[tuple[str, FindingRecord]] = []
    for position, item in enumerate(findings if isinstance(findings, list) else ()):
        finding = read_finding(item) if isinstance(item, Mapping) else None
        if finding is None or finding.rule_id is None:
            continue
        if finding.action == "revoked":
            revoked.setdefault(finding.rule_id, finding)
        elif finding.action == "failed" and finding.maybe_revoked:
            maybe_revoked.append((f"Findings[{position}]", finding))
    return revoked, maybe_revoked


def _mismatch(rule: Rule, finding: FindingRecord | None) -> str | None:
    """Why `finding` does not vouch for `rule` (None: it does)."""
    if finding is None:
        return "no revoked finding names this rule"
    if finding.group_id != rule.group_id:
        return f"the finding names group {finding.group_id!r}"
    if finding.traffic is not None and finding.traffic != rule.describe():
        return f"the finding says {finding.traffic!r}, the rule is {rule.describe()!r}"
    return None


def _restorable(item: Mapping[str, Any], finding: FindingRecord | None, where: str) -> Rule:
    """The rule of `item` with the tags and the referenced group's owner `finding`
    recorded (an owner that is not an account id is refused, naming `where`)."""
    if finding is None:
        return Rule.from_revoked(item)
    owner = finding.referenced.owner if finding.referenced is not None else None
    if finding.referenced is not None and (owner is None or not AccountId.PATTERN.fullmatch(owner)):
        raise RestoreInputError(
            f"{where}: ReferencedGroupInfo.UserId: {owner!r} is not a 12-digit account id"
        )
    return Rule.from_revoked(item, finding.tags or (), owner)


# --- writing ---------------------------------------------------------------------------------


def restore(
    ec2: Ec2Calls,
    rules: Sequence[Rule],
    report: Report,
    *,
    extra_tags: Mapping[str, str] | None = None,
) -> Report:
    """Re-authorizes `rules` (a dry run only reads), group by group, into `report`."""
    by_group: dict[str, list[Rule]] = {}
    for rule in rules:
        by_group.setdefault(rule.group_id, []).append(rule)
    for group_id, group_rules in by_group.items():
        _restore_group(ec2, group_id, group_rules, report, dict(extra_tags or {}))
    return report


def _restore_group(
    ec2: Ec2Calls, group_id: str, rules: list[Rule], report: Report, extra_tags: dict[str, str]
) -> None:
    try:
        live = {_key(r): r.rule_id for r in ec2.rules_of_group(group_id) if r.is_egress}
    except AwsCallFailed as exc:
        if report.dry_run:
            for rule in rules:
                report.outcomes.append(
                    Outcome(rule, "failed", error=f"could not read the group: {error_text(exc)}")
                )
            return
        # EC2 itself refuses duplicates; go on without the read.
        report.notes.append(f"{group_id}: rules not read first ({error_text(exc)})")
        live = {}
    for rule in rules:
        key = _key(rule)
        if key in live:
            report.outcomes.append(Outcome(rule, "already-present", existing_rule_id=live[key]))
            continue
        if report.dry_run:
            live[key] = ""
            report.outcomes.append(Outcome(rule, "would-restore"))
            continue
        outcome = _authorize(ec2, rule, _tags(rule, extra_tags, report))
        if outcome.status == "already-present" and outcome.existing_rule_id is None:
            outcome = Outcome(
                rule, "already-present", existing_rule_id=_find(ec2, group_id, key) or None
            )
        if outcome.status != "failed":
            live[key] = outcome.new_rule_id or outcome.existing_rule_id or ""
        report.outcomes.append(outcome)


def _authorize(ec2: Ec2Calls, rule: Rule, tags: dict[str, str]) -> Outcome:
    try:
        new_id = ec2.authorize(rule.group_id, rule.to_ip_permission(), tags)
    except Duplicate:
        return Outcome(rule, "already-present")
    except AwsCallFailed as exc:
        return Outcome(rule, "failed", error=error_text(exc))
    return Outcome(rule, "restored", new_rule_id=new_id or None)


def _find(ec2: Ec2Calls, group_id: str, key: tuple[Any, ...]) -> str:
    """The id of the live rule with these properties, if it can be read (best effort)."""
    try:
        for rule in ec2.rules_of_group(group_id):
            if rule.is_egress and _key(rule) == key:
                return rule.rule_id
    except AwsCallFailed:
        pass
    return ""


def _tags(rule: Rule, extra: dict[str, str], report: Report) -> dict[str, str]:
    tags = {**dict(rule.tags), **extra}
    reserved = sorted(k for k in tags if k.lower().startswith(RESERVED_TAG_PREFIX))
    if reserved:
        report.notes.append(
            f"{rule.rule_id}: tags {', '.join(reserved)} not re-applied (reserved by AWS)"
        )
    return {k: v for k, v in tags.items() if k not in reserved}


def _key(rule: Rule) -> tuple[Traffic, str, str]:
    """What makes two egress rules the same rule to EC2: protocol, ports, destination."""
    if rule.cidr_ipv4 or rule.cidr_ipv6:
        text = rule.cidr_ipv4 or rule.cidr_ipv6 or ""
        try:
            return rule.traffic, "cidr", str(ipaddress.ip_network(text, strict=False))
        except ValueError:
            return rule.traffic, "cidr", text.lower()
    if rule.prefix_list_id:
        return rule.traffic, "prefix-list", rule.prefix_list_id.lower()
    return rule.traffic, "group", (rule.referenced_group_id or "").lower()
