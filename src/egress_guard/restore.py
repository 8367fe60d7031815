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
with InvalidPermission.Duplicate. Nothing here talks to EC2 except through `aws.Ec2`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from botocore.exceptions import ClientError

from egress_guard.aws import AwsErrors, Ec2, error_code, error_text
from egress_guard.rules import Rule, Tags
from egress_guard.targets import ACCOUNT_ID, GROUP_ID, RULE_ID
from egress_guard.traffic import Traffic

Status = Literal["restored", "would-restore", "already-present", "failed"]
DUPLICATE = "InvalidPermission.Duplicate"
DESTINATION_KEYS = ("CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupId")
RESERVED_TAG_PREFIX = "aws:"


class RestoreInputError(ValueError):
    """The document is not a result that can be restored; the message says what is wrong."""


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


# --- reading the result ---------------------------------------------------------------------


def result_of(document: Any) -> Mapping[str, Any]:
    """The result in a document: a handler result, an SNS notice body, EC2's own
    RevokeSecurityGroupEgress response, or the handler's "result" log line."""
    if not isinstance(document, Mapping):
        raise RestoreInputError(f"expected a JSON object, got {_kind(document)}")
    found: Mapping[str, Any] = document
    inner = found.get("result")  # the handler's log line {"message": "result", ...}
    if "RevokedSecurityGroupRules" not in found and isinstance(inner, Mapping):
        found = inner
    if "RevokedSecurityGroupRules" not in found:
        raise RestoreInputError(
            "not an egress-guard result: it has no RevokedSecurityGroupRules "
            f"(keys: {', '.join(sorted(map(str, found))[:10]) or 'none'})"
        )
    return found


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
        raise RestoreInputError(f"RevokedSecurityGroupRules: expected a list, got {_kind(items)}")
    findings = _findings(result.get("Findings"))
    rules: list[Rule] = []
    unvouched: list[str] = []
    for position, item in enumerate(items):
        where = f"RevokedSecurityGroupRules[{position}]"
        rule = _rule(where, item)
        finding = findings.revoked.get(rule.rule_id)
        problem = _mismatch(rule, finding)
        if problem is not None:
            unvouched.append(f"{where} ({rule.rule_id}): {problem}")
            if not force:
                continue
        found = finding or {}
        rules.append(
            Rule.from_revoked(item, _finding_tags(found), _owner(f"{where}'s finding", found))
        )
    if unvouched and not force:
        raise RestoreInputError(
            f"{'; '.join(unvouched[:5])}; restore puts back only what the result's findings "
            "say was revoked (pass --force to restore such items anyway)"
        )
    if notes is not None:
        notes.extend(f"restored without a finding (--force): {text}" for text in unvouched)
    listed = {rule.rule_id for rule in rules}
    for where, finding in findings.maybe_revoked:
        rule = _rule(f"{where}.Rule", finding.get("Rule"))
        problem = _mismatch(rule, finding)
        if rule.rule_id != finding.get("SecurityGroupRuleId"):
            problem = f"the finding names rule {finding.get('SecurityGroupRuleId')!r}"
        if problem is not None:
            raise RestoreInputError(f"{where}.Rule ({rule.rule_id}): {problem}")
        if rule.rule_id not in listed:
            listed.add(rule.rule_id)
            rules.append(
                Rule.from_revoked(finding["Rule"], _finding_tags(finding), _owner(where, finding))
            )
    return rules


def check_place(
    result: Mapping[str, Any], account: str | None, region: str, *, force: bool = False
) -> None:
    """Refuses a result made in another account or region than `account`/`region`, or one
    that names no account (unless `force`)."""
    theirs_account = result.get("Account")
    theirs_region = result.get("Region")
    if not theirs_account and not force:
        raise RestoreRefused(
            f"the result names no Account, so it cannot be shown to come from account "
            f"{account}; pass --force to restore it there"
        )
    if theirs_account and account and str(theirs_account) != account:
        raise RestoreRefused(
            f"the result is from account {theirs_account}, but these credentials are for "
            f"account {account}; run restore with credentials for {theirs_account}"
        )
    if theirs_region and str(theirs_region) != region:
        raise RestoreRefused(
            f"the result is from region {theirs_region}, but restore runs in {region}; "
            f"pass --region {theirs_region}"
        )


def _rule(where: str, item: Any) -> Rule:
    if not isinstance(item, Mapping):
        raise RestoreInputError(f"{where}: expected an object, got {_kind(item)}")
    for key, pattern, what in (
        ("SecurityGroupRuleId", RULE_ID, "a security group rule id (sgr-...)"),
        ("GroupId", GROUP_ID, "a security group id (sg-...)"),
    ):
        value = item.get(key)
        if not isinstance(value, str) or not pattern.match(value):
            raise RestoreInputError(f"{where}: {key}: {value!r} is not {what}")
    if item.get("IsEgress") is False:
        raise RestoreInputError(f"{where}: IsEgress is false; restore puts back egress rules only")
    if not isinstance(item.get("IpProtocol"), str | int) or isinstance(item["IpProtocol"], bool):
        raise RestoreInputError(f"{where}: IpProtocol: missing or not a protocol")
    for key in ("FromPort", "ToPort"):
        value = item.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise RestoreInputError(f"{where}: {key}: {value!r} is not an integer")
    present = [key for key in DESTINATION_KEYS if item.get(key) is not None]
    if len(present) != 1:
        raise RestoreInputError(
            f"{where}: expected exactly one of {', '.join(DESTINATION_KEYS)}, "
            f"got {', '.join(present) or 'none'}"
        )
    if not isinstance(item[present[0]], str):
        raise RestoreInputError(f"{where}: {present[0]}: {item[present[0]]!r} is not a string")
    description = item.get("Description")
    if description is not None and not isinstance(description, str):
        raise RestoreInputError(f"{where}: Description: {description!r} is not a string")
    try:
        return Rule.from_revoked(item)
    except ValueError as exc:
        raise RestoreInputError(f"{where}: {exc}") from None


@dataclass
class _Findings:
    """A result's findings that restore uses: `revoked` by rule id (the first of each), and
    the `failed` ones marked MaybeRevoked, with where each is."""

    revoked: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    maybe_revoked: list[tuple[str, Mapping[str, Any]]] = field(default_factory=list)


def _findings(findings: Any) -> _Findings:
    out = _Findings()
    for position, finding in enumerate(findings if isinstance(findings, list) else ()):
        if not isinstance(finding, Mapping) or not isinstance(
            finding.get("SecurityGroupRuleId"), str
        ):
            continue
        if finding.get("Action") == "revoked":
            out.revoked.setdefault(finding["SecurityGroupRuleId"], finding)
        elif finding.get("Action") == "failed" and finding.get("MaybeRevoked") is True:
            out.maybe_revoked.append((f"Findings[{position}]", finding))
    return out


def _mismatch(rule: Rule, finding: Mapping[str, Any] | None) -> str | None:
    """Why `finding` does not vouch for `rule` (None: it does)."""
    if finding is None:
        return "no revoked finding names this rule"
    if finding.get("GroupId") != rule.group_id:
        return f"the finding names group {finding.get('GroupId')!r}"
    traffic = finding.get("Traffic")
    if traffic is not None and traffic != rule.describe():
        return f"the finding says {traffic!r}, the rule is {rule.describe()!r}"
    return None


def _finding_tags(finding: Mapping[str, Any]) -> Tags:
    """The tags a `revoked` finding recorded."""
    tags = finding.get("Tags")
    if not isinstance(tags, list):
        return ()
    return tuple(
        (str(tag["Key"]), str(tag.get("Value", "")))
        for tag in tags
        if isinstance(tag, Mapping) and isinstance(tag.get("Key"), str)
    )


def _owner(where: str, finding: Mapping[str, Any]) -> str | None:
    """The referenced group's owner account a finding recorded, if it did."""
    info = finding.get("ReferencedGroupInfo")
    if info is None:
        return None
    owner = info.get("UserId") if isinstance(info, Mapping) else None
    if not isinstance(owner, str) or not ACCOUNT_ID.fullmatch(owner):
        raise RestoreInputError(
            f"{where}: ReferencedGroupInfo.UserId: {owner!r} is not a 12-digit account id"
        )
    return owner


# --- writing ---------------------------------------------------------------------------------


def restore(
    ec2: Ec2,
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
    ec2: Ec2, group_id: str, rules: list[Rule], report: Report, extra_tags: dict[str, str]
) -> None:
    try:
        live = {_key(r): r.rule_id for r in ec2.rules_of_group(group_id) if r.is_egress}
    except AwsErrors as exc:
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


def _authorize(ec2: Ec2, rule: Rule, tags: dict[str, str]) -> Outcome:
    try:
        new_id = ec2.authorize(rule.group_id, rule.to_ip_permission(), tags)
    except ClientError as exc:
        if error_code(exc) == DUPLICATE:
            return Outcome(rule, "already-present")
        return Outcome(rule, "failed", error=error_text(exc))
    except AwsErrors as exc:
        return Outcome(rule, "failed", error=error_text(exc))
    return Outcome(rule, "restored", new_rule_id=new_id or None)


def _find(ec2: Ec2, group_id: str, key: tuple[Any, ...]) -> str:
    """The id of the live rule with these properties, if it can be read (best effort)."""
    try:
        for rule in ec2.rules_of_group(group_id):
            if rule.is_egress and _key(rule) == key:
                return rule.rule_id
    except AwsErrors:
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


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__
