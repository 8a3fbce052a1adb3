"""The `json_api` probe (Lluma AI): path, auth header and version field as configured."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from vendor_kit import Rig

from shared.config import ConfigError
from shared.model import Status
from statusd.imitations import Mode

RigOf = Callable[[str], Rig]


@pytest.fixture
def lluma(rig_of: RigOf) -> Rig:
    return rig_of("lluma")


def test_the_version_comes_from_the_configured_field(lluma: Rig):
    lluma.imitation.model_version = "v9.0.0-rc1"

    default = lluma.check()
    name = lluma.check(version_field="model.name")

    assert default.values == {"model_version": "v9.0.0-rc1"}
    assert name.values == {"model_version": "lluma-large"}


def test_an_answer_without_the_version_field_is_partial(lluma: Rig):
    result = lluma.check(version_field="model.build")

    assert result.status is Status.DEGRADED
    assert result.reason == "answer lacks model.build"
    assert result.values == {}


def test_a_null_version_is_partial_too(lluma: Rig):
    lluma.imitation.model_version = None

    result = lluma.check()

    assert result.status is Status.DEGRADED
    assert result.reason == "answer lacks model.version"


def test_a_version_that_is_an_object_is_not_shown(lluma: Rig):
    result = lluma.check(version_field="model")

    assert result.status is Status.DEGRADED
    assert result.reason == "model is not a version string"


# TOML has no null: `version_field = ""` is how a configuration file says "none".
@pytest.mark.parametrize("field", ["", None])
def test_without_a_version_field_only_the_call_counts(lluma: Rig, field: str | None):
    lluma.imitation.model_version = None

    result = lluma.check(version_field=field)

    assert result.status is Status.OPERATIONAL
    assert result.values == {}


def test_the_key_goes_bare_in_a_header_of_its_own(lluma: Rig):
    lluma.imitation.auth_header = "X-Api-Token"

    result = lluma.check(auth_header="X-Api-Token")

    assert result.status is Status.OPERATIONAL
    assert lluma.imitation.requests[0].header("x-api-token") == lluma.vendor.secret


def test_in_authorization_the_key_is_a_bearer_token_unless_told_otherwise(
    lluma: Rig,
):
    lluma.imitation.auth_header = "Authorization"

    bearer = lluma.check(auth_header="Authorization")
    bare = lluma.check(auth_header="Authorization", auth_scheme="")

    first, second = lluma.imitation.requests
    assert first.header("authorization") == f"Bearer {lluma.vendor.secret}"
    assert bearer.status is Status.DOWN  # this imitation wants the bare key
    assert second.header("authorization") == lluma.vendor.secret
    assert bare.status is Status.OPERATIONAL


def test_the_path_is_configurable(lluma: Rig):
    lluma.imitation.status_path = "/api/health"

    result = lluma.check(path="/api/health")

    assert result.status is Status.OPERATIONAL
    assert lluma.imitation.requests[0].path == "/api/health"


def test_the_base_url_can_come_from_the_environment(lluma: Rig):
    environ = {**lluma.environ, "LLUMA_BASE_URL": lluma.imitation.url + "/"}

    result = lluma.check(
        lluma.probe(environ=environ, base_url=None, base_url_env="LLUMA_BASE_URL")
    )

    assert result.status is Status.OPERATIONAL


def test_an_unset_base_url_variable_reads_unknown(lluma: Rig):
    probe = lluma.probe(base_url=None, base_url_env="LLUMA_BASE_URL")

    result = lluma.check(probe)

    assert result.status is Status.UNKNOWN
    assert result.reason == "not configured: LLUMA_BASE_URL is not set"
    assert lluma.calls() == 0


def test_without_a_key_variable_no_credential_is_sent(lluma: Rig):
    result = lluma.check(api_key_env=None)

    assert result.status is Status.DOWN
    assert result.reason == "credential rejected (HTTP 401)"
    assert lluma.imitation.requests[0].header("x-lluma-key") is None


def test_a_rate_limit_obeys_retry_after(lluma: Rig):
    lluma.imitation.retry_after = 7
    lluma.imitation.mode = Mode.RATE_LIMITED
    probe = lluma.probe()

    lluma.check(probe)

    hold = probe.backoff.current(probe.clock())
    assert hold is not None
    assert 5 <= (hold[0] - probe.clock()).total_seconds() <= 7


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"base_url": None}, "give base_url or base_url_env"),
        ({"path": "v1/status"}, "must start with /"),
        ({"auth_header": "X Key"}, "should match pattern"),
        ({"base_url": "ftp://x"}, "must start with http:// or https://"),
    ],
)
def test_bad_options_are_refused_naming_the_problem(
    lluma: Rig, options: dict[str, object], problem: str
):
    with pytest.raises(ConfigError) as raised:
        lluma.service(**options)

    assert problem in str(raised.value)
