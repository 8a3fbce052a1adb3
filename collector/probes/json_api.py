"""`json_api`: any JSON HTTP API with a key in a header; Lluma AI is the first.

Lluma AI documents no public API, so everything is configured: calls
`{method} {base_url}{path}` (default `GET /v1/status`) with the key in
`auth_header` (default `Authorization: Bearer <key>`), and reads `model_version`
from the dotted `version_field` of the JSON answer (default `model.version`; `""`
reads none, for an API that names no version). Point `path` at a read that costs
nothing (a status or model endpoint, never a generation). At the default interval
(120 s) that is 720 calls a day.

An answer without the version field is a partial answer: `degraded`. Rate limits
are read from `Retry-After`. Without `api_key_env` no credential is sent, for
services that need none.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from collector.probes.base import Deadline, dig
from collector.probes.vendor import Reading, VendorOptions, VendorProbe, api_root

HEADER_NAME = r"^[A-Za-z0-9-]{1,64}$"


class JsonApiOptions(VendorOptions):
    api_key_env: str | None = Field(  # type: ignore[assignment]
        None, description="variable holding the key; None sends no credential"
    )
    base_url: str | None = Field(  # type: ignore[assignment]
        None, description="the API's root; or give base_url_env"
    )
    path: str = Field("/v1/status", description="a free read, starting with /")
    method: Literal["GET", "POST"] = "GET"
    auth_header: str = Field("Authorization", pattern=HEADER_NAME)
    auth_scheme: str | None = Field(
        None,
        description='put before the key; default "Bearer" in Authorization, else none',
    )
    version_field: str | None = Field(
        "model.version", description='dotted path of model_version; "" reads none'
    )

    @field_validator("base_url")
    @classmethod
    def _http_base(cls, url: str | None) -> str | None:  # type: ignore[override]
        # Same name as the parent's validator, so it replaces it: None is allowed here.
        return None if url is None else api_root(url)

    @field_validator("version_field")
    @classmethod
    def _none_when_empty(cls, path: str | None) -> str | None:
        # TOML has no null: an empty string is how a file says "no version field".
        return path or None

    @field_validator("path")
    @classmethod
    def _absolute(cls, path: str) -> str:
        if not path.startswith("/"):
            raise ValueError("must start with /")
        return path

    @model_validator(mode="after")
    def _some_base(self) -> JsonApiOptions:
        if self.base_url is None and self.base_url_env is None:
            raise ValueError("give base_url or base_url_env")
        return self


class JsonApiProbe(VendorProbe):
    kind = "json_api"
    Options = JsonApiOptions

    def credential(self) -> str | None:
        variable = self.options.api_key_env
        return None if variable is None else self.context.secret(variable)

    def measure(self, key: str | None, deadline: Deadline) -> Reading:
        options: JsonApiOptions = self.options
        headers = {} if key is None else {options.auth_header: self.auth_value(key)}
        body: dict[str, Any] | None = {} if options.method == "POST" else None
        answer = self.request(
            options.method,
            f"{self.base_url()}{options.path}",
            deadline,
            headers=headers,
            json_body=body,
        )
        document = self.read_json(answer)

        reading = Reading(answer.latency_ms)
        if options.version_field is not None:
            self.read_version(document, options.version_field, reading)
        return reading

    def read_version(self, document: Any, path: str, reading: Reading) -> None:
        found, version = dig(document, path)
        if not found or version in (None, ""):
            reading.problems.append(f"answer lacks {path}")
        elif isinstance(version, str | int | float) and not isinstance(version, bool):
            reading.values["model_version"] = str(version)
        else:
            reading.problems.append(f"{path} is not a version string")

    def auth_value(self, key: str) -> str:
        scheme = self.options.auth_scheme
        if scheme is None:
            scheme = (
                "Bearer" if self.options.auth_header.lower() == "authorization" else ""
            )
        return f"{scheme} {key}" if scheme else key
