"""Hostile input: property-based fuzzing of every event shape (issue 4).

Every sample in events/ and tests/reference_events/ is mutated by hypothesis: keys
dropped, values of the wrong type, huge lists, unicode, nulls, deep nesting, ids of the
wrong form (``sg-../../x``), JSON-in-a-string fields (Config's ``invokingEvent``)
mutated inside. `parse_event` must answer with EventError or with Targets whose every
id, account and region is well formed -- never another exception. A subset goes end to
end through the Lambda handler against the emulator, behind a proxy that records any EC2
write naming a rule the test did not set up as offending: there must be none.

Case counts come from the hypothesis profile ``safety`` (tests/support/fault_fixtures.py):
derandomized, so CI runs the same cases each time. FIGURES.md has the totals.
"""

from __future__ import annotations

import copy
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.emulator import FakeLambdaContext, create_group
from support.estate import DENYLIST, LEGITIMATE, OFFENDING, WriteGuard, live_rule_ids
from support.figures import record
from support.proxy import Proxy, Response, answer_prefix_list_associations
from support.samples import EVENTS, SAMPLE_GROUP, SAMPLE_RULES

from egress_guard import handler
from egress_guard.events import parse_event
from egress_guard.targets import EventError, Targets

REFERENCE = Path(__file__).resolve().parents[1] / "reference_events"
PROFILE = settings.get_profile("safety")
EXAMPLES = PROFILE.max_examples  # per unit below; the totals are in FIGURES.md

# Strict forms: no trailing newline, ASCII digits only.
GROUP_ID = re.compile(r"sg-[0-9a-f]{8}(?:[0-9a-f]{9})?")
RULE_ID = re.compile(r"sgr-[0-9a-f]{8,17}")
ACCOUNT_ID = re.compile(r"[0-9]{12}")
REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}")

HOSTILE = (
    "sg-../../x",
    "sg-0123456789abcdef0/../../x",
    "sg-0123456789abcdef0\n",
    "sg-01234567\n",
    "sg-0123456789abcdef0\x00",
    " sg-0123456789abcdef0",
    "SG-0123456789ABCDEF0",
    "sg-" + "\uff10" * 8,  # fullwidth digits
    "sgr-../../etc/passwd",
    "sgr-0aa11bb22cc33dd44\n",
    "arn:aws:ec2:us-east-1:123456789012:security-group/sg-../../x",
    "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0123456789abcdef0/../x",
    "123456789012\n",
    "\uff11" * 12,  # a fullwidth 12-digit "account"
    "us-east-1\n",
    "../../us-east-1",
    "sg-" + "0" * 5000,
    "' OR 1=1 --",
    "${jndi:ldap://example.invalid/a}",
    "",
    "\u202esg-0123456789abcdef0",
    "0.0.0.0/0",
    "-1",
    "NaN",
)


def _samples(folder: Path) -> list[tuple[str, Any]]:
    if not folder.is_dir():
        return []
    found = []
    for path in sorted(folder.glob("*.json")):
        found.append((path.name, json.loads(path.read_text())))
    return found


OWN_SAMPLES = _samples(EVENTS)
REFERENCE_SAMPLES = _samples(REFERENCE)

junk = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(HOSTILE),
    st.lists(st.one_of(st.text(max_size=8), st.integers(), st.none()), max_size=4),
    st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.none()), max_size=4),
)
OPERATIONS = ("drop", "junk", "hostile", "huge", "deep", "unicode", "null", "inner-json", "id")
ID_LIKE = re.compile(r"sg-|sgr-|pl-|arn:|[0-9]{12}$|[a-z]{2}-[a-z]+-[0-9]")


def _slots(value: Any, depth: int = 0) -> Iterator[tuple[Any, Any]]:
    """(container, key) for every value inside `value`."""
    if depth > 60:
        return
    if isinstance(value, dict):
        for key in list(value):
            yield value, key
            yield from _slots(value[key], depth + 1)
    elif isinstance(value, list):
        for index in range(min(len(value), 8)):  # a huge list: its first few items
            yield value, index
            yield from _slots(value[index], depth + 1)


def _mutate(data: st.DataObject, document: Any, rounds: int, nested: bool = False) -> Any:
    root = {"": copy.deepcopy(document)}
    for _ in range(rounds):
        slots = list(_slots(root))
        container, key = data.draw(st.sampled_from(slots), label="where")
        operation = data.draw(st.sampled_from(OPERATIONS), label="operation")
        value = container[key]
        if operation == "drop" and container is not root:
            del container[key]
        elif operation == "junk":
            container[key] = data.draw(junk, label="junk")
        elif operation == "hostile":
            container[key] = data.draw(st.sampled_from(HOSTILE), label="hostile")
        elif operation == "huge":
            size = data.draw(st.integers(1_000, 50_000), label="size")
            container[key] = [value] * size if data.draw(st.booleans()) else "x" * size * 20
        elif operation == "deep":
            depth = data.draw(st.integers(50, 5_000), label="depth")
            for _ in range(depth):
                value = [value] if depth % 2 else {"a": value}
            container[key] = value
        elif operation == "unicode":
            container[key] = data.draw(st.text(min_size=1, max_size=30), label="text")
        elif operation == "null":
            container[key] = None
        elif operation == "inner-json" and isinstance(value, str):
            container[key] = _mutate_json_text(data, value, nested)
        elif operation == "id":  # an id, account or region: given a hostile twin
            ids = [(c, k) for c, k in slots if isinstance(c[k], str) and ID_LIKE.match(c[k])]
            if ids:
                container, key = data.draw(st.sampled_from(ids), label="id")
                container[key] = data.draw(st.sampled_from(_twins(container[key])), label="twin")
    return root[""]


def _twins(value: str) -> list[str]:
    """Near-misses of a well-formed id: what a forger or a broken producer might send."""
    fullwidth = value.translate({ord(d): 0xFF10 + int(d) for d in "0123456789"})
    return [
        value + "\n",
        value + "\x00",
        " " + value,
        value.upper(),
        fullwidth,
        value + "/../../x",
        value.replace("-", "-../../", 1),
        value[:-1],
        value + "0",
        *HOSTILE[:6],
    ]


def _mutate_json_text(data: st.DataObject, text: str, nested: bool) -> str:
    """A JSON document inside a string (invokingEvent, ruleParameters): mutate inside it,
    or make it unparseable, or nest it beyond any parser's recursion limit."""
    choice = data.draw(st.sampled_from(("inside", "truncate", "deep")), label="json")
    if choice == "deep":
        return "[" * 100_000 + "]" * 100_000
    if choice == "truncate":
        return text[: data.draw(st.integers(0, max(len(text) - 1, 0)))]
    try:
        inner = json.loads(text)
    except (ValueError, RecursionError):
        return text + "}"
    if nested:
        return text
    mutated = _mutate(data, inner, data.draw(st.integers(1, 3)), nested=True)
    try:
        return json.dumps(mutated)
    except RecursionError:  # nested too deep for the encoder: as deep as text, then
        return "[" * 100_000 + "]" * 100_000


def check_targets(targets: Targets) -> None:
    """A parse that succeeds must name only well-formed things (or nothing)."""
    assert isinstance(targets, Targets)
    if targets.account is not None:
        assert ACCOUNT_ID.fullmatch(targets.account), targets.account
    if targets.region is not None:
        assert REGION.fullmatch(targets.region), targets.region
    for group in targets.groups:
        assert GROUP_ID.fullmatch(group.group_id), group.group_id
        for rule_id in group.rule_ids:
            assert RULE_ID.fullmatch(rule_id), rule_id
    if targets.is_noop:
        assert targets.reason, "a no-op must say why"


CASES: Counter[str] = Counter()  # what the fuzzing ran into, for FIGURES.md


@pytest.fixture(scope="module", autouse=True)
def _count_cases() -> Iterator[None]:
    yield
    record("test_fuzz_events", {f"fuzz_{k}": v for k, v in CASES.items()})


def parse_or_refuse(event: Any) -> Targets | None:
    CASES["cases"] += 1
    try:
        targets = parse_event(event)
    except EventError as exc:
        message = str(exc)
        targets = None
    else:
        message = ""
        check_targets(targets)
    assert targets is not None or message, "an EventError must say what was wrong"
    CASES["refused" if targets is None else "no_op" if targets.is_noop else "targets"] += 1
    return targets


@pytest.mark.slow
@pytest.mark.skipif(not OWN_SAMPLES, reason="no samples in events/")
@settings(PROFILE, max_examples=EXAMPLES * 2)
@given(data=st.data())
def test_mutated_samples_parse_or_are_refused(data: st.DataObject) -> None:
    _name, sample = data.draw(st.sampled_from(OWN_SAMPLES), label="sample")
    parse_or_refuse(_mutate(data, sample, data.draw(st.integers(1, 4), label="rounds")))


@pytest.mark.slow
@settings(PROFILE, max_examples=EXAMPLES * 2)
@given(data=st.data())
def test_mutated_reference_events_parse_or_are_refused(data: st.DataObject) -> None:
    _name, sample = data.draw(st.sampled_from(REFERENCE_SAMPLES), label="sample")
    parse_or_refuse(_mutate(data, sample, data.draw(st.integers(1, 4), label="rounds")))


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=12), inner, max_size=5)
    ),
    max_leaves=30,
)
envelope_keys = st.sampled_from(
    ["source", "detail-type", "detail", "account", "region", "id", "invokingEvent",
     "resultToken", "eventSource", "eventName", "GroupId", "SecurityGroupRuleIds",
     "IpPermissions", "DryRun", "Type", "Message", "resources", "findings"]
)  # fmt: skip


@pytest.mark.slow
@settings(PROFILE, max_examples=EXAMPLES)
@given(
    event=st.one_of(
        json_values,
        st.dictionaries(st.one_of(envelope_keys, st.text(max_size=10)), json_values, max_size=8),
    )
)
def test_arbitrary_json_parses_or_is_refused(event: Any) -> None:
    parse_or_refuse(event)


@pytest.mark.parametrize("name", [n for n, _ in OWN_SAMPLES + REFERENCE_SAMPLES])
def test_every_sample_as_is_parses_or_is_refused(name: str) -> None:
    sample = dict(OWN_SAMPLES + REFERENCE_SAMPLES)[name]
    parse_or_refuse(sample)


# --------------------------------------------------------------------------- end to end


@pytest.fixture
def guarded(
    proxy: Proxy, ec2: Any, unlimited_container: None, monkeypatch: pytest.MonkeyPatch
) -> tuple[Any, WriteGuard, set[str]]:
    """A group standing in for the samples' placeholder group, with offending and
    legitimate rules, behind a proxy recording any write naming another rule."""
    monkeypatch.setenv("DENYLIST", json.dumps(DENYLIST))
    group = create_group(ec2, [*OFFENDING, *LEGITIMATE], keep_default_egress=False)
    bystander = create_group(ec2, [*OFFENDING, *LEGITIMATE], keep_default_egress=False)
    guard = WriteGuard(allowed=set(group.rule_ids[: len(OFFENDING)]))
    proxy.on("RevokeSecurityGroupEgress", guard)
    # moto takes PutEvaluations only in TestMode; Config's answer is all this needs.
    proxy.on("PutEvaluations", lambda request, forward: CONFIG_ACCEPTS)
    # moto lacks it (an HTML 500 page); EC2 answers it (MOTO_NOTES.md).
    proxy.on("GetManagedPrefixListAssociations", answer_prefix_list_associations())
    protected = set(group.rule_ids[len(OFFENDING) :]) | set(bystander.egress_rule_ids)
    return group, guard, protected


CONFIG_ACCEPTS = Response(
    200, {"content-type": "application/x-amz-json-1.1"}, b'{"FailedEvaluations": []}'
)

E2E_NAMES = [
    n
    for n, sample in OWN_SAMPLES
    # a sweep (a schedule, or the org sweep's sweep-place) may rightly revoke the bystander
    if "Scheduled" not in json.dumps(sample) and "sweep-place" not in json.dumps(sample)
]


@pytest.mark.slow
@pytest.mark.skipif(not E2E_NAMES, reason="no samples in events/")
def test_mutated_samples_end_to_end_never_write_outside_the_offending_rules(
    guarded: tuple[Any, WriteGuard, set[str]], ec2: Any
) -> None:
    group, guard, protected = guarded
    pointed_samples = []
    for name in E2E_NAMES:
        text = (EVENTS / name).read_text().replace(SAMPLE_GROUP, group.group_id)
        for placeholder, live in zip(SAMPLE_RULES, group.rule_ids, strict=False):
            text = text.replace(placeholder, live)
        pointed_samples.append(json.loads(text))
    outcomes: dict[str, int] = {}

    @settings(
        PROFILE,
        max_examples=max(EXAMPLES // 10, 20),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        sample = data.draw(st.sampled_from(pointed_samples), label="sample")
        event = _mutate(data, sample, data.draw(st.integers(1, 3), label="rounds"))
        try:
            result = handler.lambda_handler(event, FakeLambdaContext())
            kind = "result"
            assert {r["SecurityGroupRuleId"] for r in result["RevokedSecurityGroupRules"]} <= (
                guard.allowed
            )
        except EventError:
            kind = "refused"
        outcomes[kind] = outcomes.get(kind, 0) + 1
        CASES["cases"] += 1
        CASES[f"end_to_end_{kind}"] += 1
        assert guard.violations == []

    run()
    assert guard.violations == []
    assert protected <= live_rule_ids(ec2)
    assert outcomes.get("refused"), outcomes
    assert outcomes.get("result"), outcomes
