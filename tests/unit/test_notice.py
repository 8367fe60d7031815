"""The SNS notice a person reads (README "Notices"): the subject, the text per rule, the
actor, the commands that put a rule back, and the result's JSON after the text.

Pure: `notices` is judged on the messages it makes. The emulator tests
(tests/integration/test_notice_actor.py) publish them through moto's SNS and run the
commands.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from typing import Any

import pytest
from support import results
from support.fake_aws import client_error

from egress_guard.aws import GroupInfo
from egress_guard.events.actor import Actor
from egress_guard.notice import (
    RESULT_MARKER,
    NoticeContext,
    authorize_command,
    descriptions_of,
    result_in_notice,
)
from egress_guard.result import Finding, Result
from egress_guard.rules import Rule
from egress_guard.sinks.sns_notice import NOTICE_BODY_BUDGET, notices
from egress_guard.sinks.split import utf8_size

GROUP = "sg-0abc1234def567890"
VPC = "vpc-0123456789abcdef0"
ACTOR = Actor(
    arn="arn:aws:sts::111122223333:assumed-role/Developer/alice",
    identity_type="AssumedRole",
    session_issuer="arn:aws:iam::111122223333:role/Developer",
    source_ip="198.51.100.23",
    user_agent="aws-cli/2.22.4",
)
CONTEXT = NoticeContext(
    groups={GROUP: GroupInfo("web", VPC)},
    descriptions={"smtp-out": "Mail goes out through the relay only"},
)


def smtp_rule(rule_id: str = "sgr-0aa11bb22cc33dd44", **changes: Any) -> Rule:
    fields: dict[str, Any] = {
        "rule_id": rule_id,
        "group_id": GROUP,
        "is_egress": True,
        "ip_protocol": "tcp",
        "from_port": 25,
        "to_port": 25,
        "cidr_ipv4": "0.0.0.0/0",
        "description": "mail relay",
        **changes,
    }
    return Rule(**fields)


def result_of(
    *findings: Finding, actor: Actor | None = ACTOR, source: str = "cloudtrail:X"
) -> Result:
    return results.result_of(
        *findings, source=source, account="111122223333", region="eu-west-1", actor=actor
    )


def revoked(rule: Rule | None = None) -> Finding:
    return Finding(rule or smtp_rule(), "smtp-out", "revoked")


GOLDEN_BODY = """\
egress-guard revoked 1 egress rule in account 111122223333, region eu-west-1.
Triggered by cloudtrail:AuthorizeSecurityGroupEgress (event evt-1), mode enforce.

- Group:      sg-0abc1234def567890 (web) in vpc-0123456789abcdef0
  Rule:       sgr-0aa11bb22cc33dd44: tcp/25 -> 0.0.0.0/0 ("mail relay")
  Denylist:   smtp-out: Mail goes out through the relay only
  Changed by: arn:aws:sts::111122223333:assumed-role/Developer/alice \
(role arn:aws:iam::111122223333:role/Developer) from 198.51.100.23, aws-cli/2.22.4
  Action:     revoked
  Put back with:
    aws ec2 authorize-security-group-egress --region eu-west-1 \
--group-id sg-0abc1234def567890 --ip-permissions \
'[{"IpProtocol":"tcp","FromPort":25,"ToPort":25,\
"IpRanges":[{"CidrIp":"0.0.0.0/0","Description":"mail relay"}]}]'

To put back every rule this message revoked, with credentials for account 111122223333:
save this message as it is (or the result below) as notice.txt, then run
  egress-guard restore notice.txt --region eu-west-1
In enforce mode egress-guard revokes a restored rule again unless it is exempt: add
  --tag egress-guard:exempt=true  to the restore, or tag the rule or its group.

----- egress-guard result (JSON), the input of egress-guard restore -----
"""


def test_one_revoked_rule_makes_the_notice_a_person_reads() -> None:
    result = result_of(revoked(), source="cloudtrail:AuthorizeSecurityGroupEgress")

    [notice] = notices(result, CONTEXT)

    assert notice.subject == (
        "egress-guard revoked tcp/25 -> 0.0.0.0/0 on sg-0abc1234def567890 (web)"
        " in 111122223333/eu-west-1"
    )
    assert notice.body == GOLDEN_BODY + json.dumps(result.to_dict(), indent=2) + "\n"
    assert notice.attributes == {
        "account": "111122223333",
        "region": "eu-west-1",
        "group": GROUP,
        "mode": "enforce",
    }


def test_the_result_in_a_notice_is_the_result() -> None:
    result = result_of(revoked())

    [notice] = notices(result, CONTEXT)

    assert result_in_notice(notice.body) == result.to_dict()
    assert result_in_notice(notice.body)["Actor"] == ACTOR.to_dict()


def test_a_notice_saved_from_an_email_still_yields_its_result() -> None:
    """SNS e-mail adds an unsubscribe footer after the message."""
    result = result_of(revoked())
    [notice] = notices(result, CONTEXT)
    mail = notice.body + "\n--\nIf you wish to stop receiving notifications from this topic..."

    assert result_in_notice(mail) == result.to_dict()


def test_text_without_the_marker_holds_no_notice_result_and_a_broken_one_says_so() -> None:
    assert result_in_notice(json.dumps({"RevokedSecurityGroupRules": []})) is None
    with pytest.raises(ValueError, match="result part is not JSON"):
        result_in_notice(f"text\n{RESULT_MARKER}\n{{not json")


def test_a_schedule_notice_has_no_actor_line() -> None:
    [notice] = notices(result_of(revoked(), actor=None, source="schedule"), CONTEXT)

    assert "Changed by" not in notice.body
    assert "Actor" not in result_in_notice(notice.body)


def test_a_group_whose_name_was_not_read_is_named_by_its_id() -> None:
    [notice] = notices(result_of(revoked()), NoticeContext())

    assert notice.subject == (
        "egress-guard revoked tcp/25 -> 0.0.0.0/0 on sg-0abc1234def567890 in 111122223333/eu-west-1"
    )
    assert f"  Group:      {GROUP}\n" in notice.body.replace("- Group", "  Group")
    assert "  Denylist:   smtp-out\n" in notice.body


def test_several_rules_in_several_groups_are_counted_in_the_subject() -> None:
    other = smtp_rule("sgr-0cc33dd44ee55ff66", group_id="sg-0fedcba9876543210")
    findings = [revoked(), revoked(smtp_rule("sgr-0bb22cc33dd44ee55")), revoked(other)]

    [notice] = notices(result_of(*findings), CONTEXT)

    assert (
        notice.subject
        == "egress-guard revoked 3 egress rules in 2 groups in 111122223333/eu-west-1"
    )
    assert notice.body.count("  Action:     revoked\n") == 3
    assert notice.body.count("aws ec2 authorize-security-group-egress") == 3


def test_several_rules_in_one_group_name_the_group() -> None:
    findings = [revoked(), revoked(smtp_rule("sgr-0bb22cc33dd44ee55"))]

    [notice] = notices(result_of(*findings), CONTEXT)

    assert notice.subject == (
        "egress-guard revoked 2 egress rules on sg-0abc1234def567890 (web)"
        " in 111122223333/eu-west-1"
    )


def test_a_failure_is_in_the_subject_and_its_error_in_the_text() -> None:
    findings = [
        revoked(),
        Finding(smtp_rule("sgr-0bb22cc33dd44ee55"), "smtp-out", "failed", "boom"),
    ]

    [notice] = notices(result_of(*findings), CONTEXT)

    # 103 characters with the group's name: the name goes first.
    assert notice.subject == (
        "egress-guard revoked 1 egress rule, FAILED on 1 on sg-0abc1234def567890"
        " in 111122223333/eu-west-1"
    )
    assert "  Action:     FAILED to revoke: boom.\n" in notice.body


@pytest.mark.parametrize(
    "rule",
    [
        smtp_rule(),
        smtp_rule(cidr_ipv4=None, cidr_ipv6="2001:0db8:85a3:0000:0000:8a2e:0370:7334/128"),
    ],
)
def test_a_long_subject_is_shortened_name_first_within_snss_100_ascii_characters(
    rule: Rule,
) -> None:
    long_name = "payments-production-outbound-" + "x" * 200 + "-ü"
    context = NoticeContext(groups={GROUP: GroupInfo(long_name, VPC)})

    [notice] = notices(result_of(revoked(rule)), context)

    assert len(notice.subject) <= 100
    assert notice.subject.isascii()
    assert notice.subject.isprintable()
    assert notice.subject.startswith(f"egress-guard revoked {rule.describe()[:20]}")
    assert notice.subject.endswith(" in 111122223333/eu-west-1")
    assert GROUP in notice.subject


def test_a_would_revoke_notice_offers_nothing_to_put_back() -> None:
    result = result_of(Finding(smtp_rule(), "smtp-out", "would-revoke"))

    [notice] = notices(result, CONTEXT)

    assert notice.subject.startswith("egress-guard would revoke tcp/25 -> 0.0.0.0/0 on ")
    assert "  Action:     would revoke (report mode or dry run: left in place)\n" in notice.body
    assert "authorize-security-group-egress" not in notice.body
    assert "egress-guard restore" not in notice.body.split(RESULT_MARKER)[0]


def test_a_revoke_that_may_have_happened_offers_its_command_if_the_rule_is_gone() -> None:
    finding = Finding(smtp_rule(), "smtp-out", "failed", "RequestLimitExceeded", True)

    [notice] = notices(result_of(finding), CONTEXT)

    assert "It may have been revoked after all." in notice.body
    assert "  If it is gone, put it back with:\n    aws ec2 authorize" in notice.body
    assert "egress-guard restore notice.txt --region eu-west-1" in notice.body


def test_the_put_back_command_is_one_shell_line_with_the_rules_json() -> None:
    tagged = smtp_rule(description="Bob's relay", tags=(("owner", "team 'mail'"), ("cost", "42")))

    words = shlex.split(authorize_command(tagged, "eu-west-1"))

    assert words[:8] == [
        "aws", "ec2", "authorize-security-group-egress", "--region", "eu-west-1",
        "--group-id", GROUP, "--ip-permissions",
    ]  # fmt: skip
    assert json.loads(words[8]) == [tagged.to_ip_permission()]
    assert words[9] == "--tag-specifications"
    assert json.loads(words[10]) == [
        {
            "ResourceType": "security-group-rule",
            "Tags": [{"Key": "owner", "Value": "team 'mail'"}, {"Key": "cost", "Value": "42"}],
        }
    ]


def test_a_reference_to_another_accounts_group_is_put_back_with_its_owner() -> None:
    rule = smtp_rule(
        cidr_ipv4=None,
        referenced_group_id="sg-0123456789abcdef0",
        referenced_user_id="444455556666",
    )
    [notice] = notices(result_of(revoked(rule)), CONTEXT)

    line = next(x for x in notice.body.splitlines() if "authorize-security-group-egress" in x)
    [permission] = json.loads(shlex.split(line)[8])
    assert permission["UserIdGroupPairs"] == [
        {"GroupId": "sg-0123456789abcdef0", "UserId": "444455556666", "Description": "mail relay"}
    ]


def test_entry_descriptions_come_from_the_denylist_document() -> None:
    document = {
        "deny": [
            {"id": "smtp-out", "description": " Mail via the relay "},
            {"id": "no-words"},
            {"id": "blank", "description": "  "},
        ]
    }

    assert descriptions_of(document) == {"smtp-out": "Mail via the relay"}


def test_each_part_of_a_large_notice_fits_with_its_text_and_names_its_own_revocations() -> None:
    rules = [
        smtp_rule(f"sgr-{n:017x}", group_id=f"sg-{n // 50:017x}", from_port=n, to_port=n)
        for n in range(1500)
    ]
    result = result_of(*(revoked(rule) for rule in rules))

    sent = notices(result, CONTEXT)

    assert len(sent) > 1
    seen: list[str] = []
    for notice in sent:
        assert utf8_size(notice.body) <= NOTICE_BODY_BUDGET
        text = notice.body.split(RESULT_MARKER)[0]
        part = result_in_notice(notice.body)
        ids = [r["SecurityGroupRuleId"] for r in part["RevokedSecurityGroupRules"]]
        assert text.count("aws ec2 authorize-security-group-egress") == len(ids)
        assert all(f"  Rule:       {rule_id}: " in text for rule_id in ids)
        assert f"This is part {part['Part']} of {len(sent)}" in text
        seen.extend(ids)
    assert seen == [rule.rule_id for rule in rules]


def test_a_notice_shortens_free_text_in_its_text_but_keeps_it_whole_in_its_result() -> None:
    result = result_of(revoked())
    result.errors.append("InternalError: " + "x" * 5000)

    [notice] = notices(result, CONTEXT)

    text = notice.body.split(RESULT_MARKER)[0]
    assert "Errors:\n  - InternalError: xxx" in text
    assert max(len(line) for line in text.splitlines()) < 400
    assert result_in_notice(notice.body)["Errors"] == result.errors


class NamesRefused:
    """An Ec2 whose DescribeSecurityGroups is refused."""

    def group_info(self, group_ids: Sequence[str]) -> dict[str, GroupInfo]:
        raise client_error("UnauthorizedOperation", operation="DescribeSecurityGroups")


def test_a_notice_is_never_failed_for_want_of_a_group_name() -> None:
    from egress_guard.sinks.sns_notice import notice_context

    result = result_of(revoked())

    context = notice_context(result, NamesRefused(), None, None)

    assert context == NoticeContext()
    [notice] = notices(result, context)
    assert f"on {GROUP} in 111122223333/eu-west-1" in notice.subject
