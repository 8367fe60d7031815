"""A crowd of offending rules: enough that one result is larger than one SNS message or
one CloudWatch Logs event (the first enforcing sweep of a large estate).

`build_crowd(ec2, rules)` makes groups of `PER_GROUP` egress rules (one VPC; moto, like
EC2, allows 60 rules a group), each tcp to 0.0.0.0/0 on its own port with a description
of EC2's maximum length, and returns every rule id. `DENY_TCP_OUT` makes them all
offending, and `CROWD_ENV` lifts the blast-radius limits so that a sweep revokes them all.
"""

from __future__ import annotations

import uuid
from typing import Any

from support.emulator import create_group, create_vpc

PER_GROUP = 50
# EC2 caps a rule's description at 255 characters, of a-z A-Z 0-9 spaces ._-:/()#,@[]+=&;{}!$*
LONGEST_DESCRIPTION = ("egress {relay} #42: a-z/A-Z [0-9] (+=&;!$*) @ops, " * 6)[:255]
DENY_TCP_OUT: dict[str, Any] = {
    "version": 1,
    "deny": [{"id": "tcp-to-internet", "protocol": "tcp", "cidr": ["0.0.0.0/0"]}],
}
# Blast-radius limits off (MAX_REVOCATIONS 0 = none; every rule of the place may go).
CROWD_ENV = {"MAX_REVOCATIONS": "0", "MAX_REVOCATIONS_PERCENT": "100"}


def build_crowd(ec2: Any, rules: int) -> set[str]:
    """`rules` offending egress rules (under DENY_TCP_OUT) in as many groups as needed."""
    assert len(LONGEST_DESCRIPTION) == 255
    vpc_id = create_vpc(ec2)
    made: set[str] = set()
    for start in range(0, rules, PER_GROUP):
        ports = range(1000 + start, 1000 + min(start + PER_GROUP, rules))
        group = create_group(
            ec2, keep_default_egress=False, vpc_id=vpc_id, name=f"crowd-{uuid.uuid4().hex[:8]}"
        )
        # One call for the whole group: the ids are read back below.
        ec2.authorize_security_group_egress(
            GroupId=group.group_id,
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": port,
                    "ToPort": port,
                    "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": LONGEST_DESCRIPTION}],
                }
                for port in ports
            ],
        )
        listed = ec2.describe_security_group_rules(
            Filters=[{"Name": "group-id", "Values": [group.group_id]}]
        )["SecurityGroupRules"]
        made.update(r["SecurityGroupRuleId"] for r in listed if r["IsEgress"])
    assert len(made) == rules
    return made
