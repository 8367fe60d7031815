"""The local EC2 emulator for integration tests and the demo: moto's server and test data.

Nothing here imports egress_guard or pytest (``make demo`` has neither): the code under
test reaches the emulator only through boto3's own ``AWS_ENDPOINT_URL``, exactly as it
would reach a custom endpoint in AWS.

Pieces:

- `MotoServer` starts ``python -m moto.server`` as a subprocess on a free port of 127.0.0.1,
  waits until it answers, and stops it. ``reset()`` wipes every backend (``POST
  /moto-api/reset``). One server per pytest session (per xdist worker).
- `emulator_environment` is the environment of a Lambda whose AWS is the emulator.
- `create_group` builds a VPC security group with given egress rules and returns the ids.
- `run_aws_cli` runs the real AWS CLI against an endpoint and parses its JSON output.
- `FakeLambdaContext` is the context object Lambda passes to a handler.

What moto 5.2.5 does and does not do is written down in MOTO_NOTES.md beside this file
and pinned by tests in tests/integration/test_emulator_harness.py. The proxy that
hooks into its answers is `support.proxy`.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT_ID = "123456789012"  # moto's default account: the credentials "testing" map to it
REGION = "us-east-1"
EC2_API_VERSION = "2016-11-15"
EC2_NS = f"http://ec2.amazonaws.com/doc/{EC2_API_VERSION}/"

__all__ = [
    "ACCOUNT_ID",
    "EC2_API_VERSION",
    "EC2_NS",
    "REGION",
    "AwsCliError",
    "FakeLambdaContext",
    "Group",
    "MotoServer",
    "aws_executable",
    "create_group",
    "create_vpc",
    "free_port",
    "ip_permission",
    "run_aws_cli",
    "running_moto",
]


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (the caller retries if it is taken since)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


# --------------------------------------------------------------------------- moto server


# ``python -m moto.server``, except that on Linux it first asks for SIGTERM when its parent
# dies (PR_SET_PDEATHSIG), so that a test run killed without cleaning up leaves no server.
_MOTO_MAIN = """
import signal, sys
if sys.platform.startswith("linux"):
    import ctypes
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)
from moto.server import main
main()
"""


class MotoServer:
    """moto's server mode in a subprocess, as ``python -m moto.server -H 127.0.0.1 -p PORT``.

    Use as a context manager, or call `start` and `stop`. ``url`` is the endpoint to give
    boto3 (``AWS_ENDPOINT_URL``) or the AWS CLI (``--endpoint-url``). The server's own log
    goes to a temporary file (``log_path``), whose tail is shown if it fails to start.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int | None = None,
        python: str = sys.executable,
        start_timeout: float = 60.0,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.port = 0
        self.python = python
        self.start_timeout = start_timeout
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path: Path | None = None

    @property
    def url(self) -> str:
        if not self.port:
            raise RuntimeError("the moto server is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> MotoServer:
        if self.process is not None:
            return self
        attempts = 1 if self._requested_port else 3  # a free port can be taken meanwhile
        error: RuntimeError | None = None
        for _ in range(attempts):
            try:
                self._start_once(self._requested_port or free_port(self.host))
                return self
            except RuntimeError as exc:
                error = exc
        assert error is not None
        raise error

    def _start_once(self, port: int) -> None:
        fd, log_name = tempfile.mkstemp(prefix="moto-server-", suffix=".log")
        os.close(fd)
        self.log_path = Path(log_name)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [self.python, "-c", _MOTO_MAIN, "-H", self.host, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                # Its own session: a Ctrl-C in the terminal reaches our process, which then
                # stops the server itself, rather than both at once ...
                start_new_session=True,
            )
        self.port = port
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.reset(timeout=2.0)
                return
            except OSError:
                time.sleep(0.1)
        tail = self.log_tail()
        self.stop()
        raise RuntimeError(f"moto server on port {port} did not start; its log ends:\n{tail}")

    def reset(self, timeout: float = 10.0) -> None:
        """Forget every resource in every account and region (``POST /moto-api/reset``)."""
        req = urllib.request.Request(f"{self.url}/moto-api/reset", data=b"", method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            body = json.loads(resp.read() or b"{}")
        if body.get("status") != "ok":
            raise RuntimeError(f"moto reset answered {body!r}")

    def log_tail(self, lines: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        if self.log_path is not None:
            with contextlib.suppress(OSError):
                self.log_path.unlink()
            self.log_path = None
        self.port = 0

    def __enter__(self) -> MotoServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# --------------------------------------------------------------------------- environment

# Variables that could send a client somewhere other than the emulator, or make it use
# other credentials than the fake ones.
AWS_VARIABLES_TO_CLEAR = frozenset(
    {
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
        "AWS_CA_BUNDLE",
    }
)


def emulator_environment(url: str, base: Mapping[str, str]) -> dict[str, str]:
    """`base` as the environment of a Lambda whose AWS is the emulator at `url`.

    The code under test then reaches the emulator only through boto3's own
    AWS_ENDPOINT_URL, with fake credentials and no profile or config files.
    """
    env = {
        k: v
        for k, v in base.items()
        if not k.startswith("AWS_ENDPOINT_URL") and k not in AWS_VARIABLES_TO_CLEAR
    }
    env.update(
        AWS_ENDPOINT_URL=url,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )
    return env


# --------------------------------------------------------------------------- test data


@dataclass(frozen=True)
class Group:
    """A security group made by `create_group`.

    ``rule_ids[i]`` is the id of the i-th egress rule asked for; ``default_rule_id`` is the
    all-traffic egress rule EC2 gives every new group (None when it was removed).
    """

    group_id: str
    vpc_id: str
    rule_ids: tuple[str, ...]
    default_rule_id: str | None
    ingress_rule_ids: tuple[str, ...] = ()

    @property
    def egress_rule_ids(self) -> tuple[str, ...]:
        """Every egress rule id of the group: the default rule (if kept), then the others."""
        head = (self.default_rule_id,) if self.default_rule_id else ()
        return head + self.rule_ids


def ip_permission(rule: Mapping[str, Any]) -> dict[str, Any]:
    """One rule in the flat SecurityGroupRule shape -> one IpPermission naming one target.

    ``rule``: ``IpProtocol`` (default ``"-1"``), ``FromPort``/``ToPort`` (default: from
    ``Port`` if given), exactly one of ``CidrIpv4``, ``CidrIpv6``, ``PrefixListId``,
    ``ReferencedGroupId``, and optionally ``Description``. (``Tags`` is read by
    `create_group`.)
    """
    known = {"IpProtocol", "FromPort", "ToPort", "Port", "Description", "Tags"} | set(_TARGETS)
    unknown = set(rule) - known
    if unknown:
        raise ValueError(f"unknown rule keys {sorted(unknown)}")
    permission: dict[str, Any] = {"IpProtocol": str(rule.get("IpProtocol", "-1"))}
    port = rule.get("Port")
    from_port, to_port = rule.get("FromPort", port), rule.get("ToPort", port)
    if from_port is not None:
        permission["FromPort"] = int(from_port)
    if to_port is not None:
        permission["ToPort"] = int(to_port)
    targets = [key for key in _TARGETS if key in rule]
    if len(targets) != 1:
        raise ValueError(f"a rule needs exactly one of {list(_TARGETS)}, got {targets}")
    (key,) = targets
    list_key, item_key = _TARGETS[key]
    item: dict[str, Any] = {item_key: rule[key]}
    if "Description" in rule:
        item["Description"] = rule["Description"]
    permission[list_key] = [item]
    return permission


_TARGETS = {
    "CidrIpv4": ("IpRanges", "CidrIp"),
    "CidrIpv6": ("Ipv6Ranges", "CidrIpv6"),
    "PrefixListId": ("PrefixListIds", "PrefixListId"),
    "ReferencedGroupId": ("UserIdGroupPairs", "GroupId"),
}


def create_vpc(ec2: Any, cidr: str = "10.0.0.0/16") -> str:
    """A new VPC; returns its id."""
    vpc_id: str = ec2.create_vpc(CidrBlock=cidr)["Vpc"]["VpcId"]
    return vpc_id


def create_group(
    ec2: Any,
    egress: Sequence[Mapping[str, Any]] = (),
    *,
    ingress: Sequence[Mapping[str, Any]] = (),
    keep_default_egress: bool = True,
    vpc_id: str | None = None,
    name: str | None = None,
    description: str = "egress-guard test group",
    tags: Mapping[str, str] | None = None,
) -> Group:
    """Create a security group (in a new VPC unless `vpc_id`) with these rules.

    Each rule of `egress`/`ingress` is one rule in the flat shape of `ip_permission` (e.g.
    ``{"IpProtocol": "tcp", "Port": 25, "CidrIpv4": "0.0.0.0/0"}``), optionally with
    ``"Tags": {"key": "value"}`` for that rule. Rules are authorized one call each, so each
    id is known for certain; the ids are then checked against DescribeSecurityGroupRules.
    `keep_default_egress=False` revokes the all-traffic egress rule EC2 adds to new groups.
    """
    vpc_id = vpc_id or create_vpc(ec2)
    kwargs: dict[str, Any] = {}
    if tags:
        kwargs["TagSpecifications"] = [{"ResourceType": "security-group", "Tags": _tag_list(tags)}]
    group_id: str = ec2.create_security_group(
        GroupName=name or f"eg-test-{uuid.uuid4().hex[:10]}",
        Description=description,
        VpcId=vpc_id,
        **kwargs,
    )["GroupId"]
    initial = _group_rules(ec2, group_id)
    default_ids = [r["SecurityGroupRuleId"] for r in initial if r["IsEgress"]]
    default_rule_id = default_ids[0] if default_ids else None
    if default_rule_id and not keep_default_egress:
        ec2.revoke_security_group_egress(GroupId=group_id, SecurityGroupRuleIds=[default_rule_id])
        default_rule_id = None

    def authorize(call: Callable[..., Any], rule: Mapping[str, Any]) -> str:
        extra: dict[str, Any] = {}
        if rule.get("Tags"):
            extra["TagSpecifications"] = [
                {"ResourceType": "security-group-rule", "Tags": _tag_list(rule["Tags"])}
            ]
        answer = call(GroupId=group_id, IpPermissions=[ip_permission(rule)], **extra)
        rules = answer.get("SecurityGroupRules", [])
        if len(rules) != 1:
            raise RuntimeError(f"expected one new rule for {dict(rule)}, got {rules}")
        rule_id: str = rules[0]["SecurityGroupRuleId"]
        return rule_id

    rule_ids = tuple(authorize(ec2.authorize_security_group_egress, r) for r in egress)
    ingress_ids = tuple(authorize(ec2.authorize_security_group_ingress, r) for r in ingress)

    live = {r["SecurityGroupRuleId"] for r in _group_rules(ec2, group_id)}
    expected = set(rule_ids) | set(ingress_ids)
    if default_rule_id:
        expected.add(default_rule_id)
    if live != expected:
        raise RuntimeError(f"group {group_id}: rules {sorted(live)} != {sorted(expected)}")
    return Group(group_id, vpc_id, rule_ids, default_rule_id, ingress_ids)


def _group_rules(ec2: Any, group_id: str) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for page in ec2.get_paginator("describe_security_group_rules").paginate(
        Filters=[{"Name": "group-id", "Values": [group_id]}]
    ):
        rules.extend(page["SecurityGroupRules"])
    return rules


def _tag_list(tags: Mapping[str, str]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


# --------------------------------------------------------------------------- AWS CLI


class AwsCliError(RuntimeError):
    """The AWS CLI exited non-zero; ``stderr`` holds its message."""

    def __init__(self, argv: Sequence[str], returncode: int, stderr: str) -> None:
        super().__init__(f"{' '.join(argv)} exited {returncode}:\n{stderr.strip()}")
        self.argv = list(argv)
        self.returncode = returncode
        self.stderr = stderr


def aws_executable() -> str:
    """The AWS CLI installed beside this Python (the dev pins' awscli), else the PATH's."""
    beside = Path(sys.executable).parent / "aws"
    if beside.exists():
        return str(beside)
    found = shutil.which("aws")
    if not found:
        raise RuntimeError("no AWS CLI: install the dev extras (`make .venv`)")
    return found


def run_aws_cli(
    *args: str,
    endpoint_url: str,
    env: Mapping[str, str] | None = None,
    timeout: float = 120,
) -> Any:
    """Run ``aws ARGS --endpoint-url URL --output json``; return its parsed JSON (or None).

    `env`: the CLI's environment (default: this process's). Raises `AwsCliError`.
    """
    argv = [aws_executable(), *args, "--endpoint-url", endpoint_url, "--output", "json"]
    done = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
        env={**(os.environ if env is None else env), "AWS_PAGER": ""},
        check=False,
    )
    if done.returncode != 0:
        raise AwsCliError(argv, done.returncode, done.stderr)
    return json.loads(done.stdout) if done.stdout.strip() else None


# --------------------------------------------------------------------------- Lambda


@dataclass
class FakeLambdaContext:
    """The attributes and method of Lambda's context object that a handler may use."""

    function_name: str = "egress-guard"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    account_id: str = ACCOUNT_ID
    region: str = REGION
    timeout_seconds: float = 60.0
    log_group_name: str = "/aws/lambda/egress-guard"
    log_stream_name: str = "2024/01/01/[$LATEST]00000000000000000000000000000000"
    _started: float = field(default_factory=time.monotonic, repr=False)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:{self.region}:{self.account_id}:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        left = self.timeout_seconds - (time.monotonic() - self._started)
        return max(0, int(left * 1000))


@contextlib.contextmanager
def running_moto(**kwargs: Any) -> Iterator[MotoServer]:
    """``with running_moto() as moto:`` — a started MotoServer, stopped on leaving."""
    server = MotoServer(**kwargs)
    try:
        yield server.start()
    finally:
        server.stop()
