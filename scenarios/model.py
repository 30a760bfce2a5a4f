"""The scenario format (`apiVersion: federange/v1`, `kind: Scenario`): the Pydantic models are the source
of truth; `scenarios/schema/scenario.schema.json` is generated from them.

A scenario describes one team instance: network segments, hosts on them (containers), the flows allowed
between segments (everything else is denied), per-instance variables (flags, passwords, choices) that
are generated for every team, and the Ansible playbooks that provision the hosts after deploy.

Structural rules (types, ranges, name shapes) live on the models; rules that relate parts of the document
to each other (a host's segment exists, names are unique, templates name declared variables) are checked
by `scenarios.validation`, which reports every problem with its path in the document.
"""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: DNS-1123 label, at most 40 characters so derived Kubernetes and Docker names stay within limits.
NAME_PATTERN = r"^[a-z]([a-z0-9-]{0,38}[a-z0-9])?$"
VERSION_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+([.+-][0-9A-Za-z.-]+)?$"
ENV_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_]*$"
#: `{{ vars.name }}` in env values, args, commands and file contents: replaced per instance.
TEMPLATE_RE = re.compile(r"\{\{\s*vars\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")

Name = Annotated[str, Field(pattern=NAME_PATTERN, description="lower-case DNS label, at most 40 chars")]
VarName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Difficulty(enum.StrEnum):
    BEGINNER = "beginner"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"
    EXPERT = "expert"


class Metadata(Model):
    name: Name
    version: str = Field(pattern=VERSION_PATTERN, description="semantic version, e.g. 1.2.0")
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    tags: list[str] = Field(default_factory=list)
    difficulty: Difficulty = Difficulty.INTERMEDIATE
    authors: list[str] = Field(default_factory=list)
    licence: str = ""
    annotations: dict[str, str] = Field(
        default_factory=dict,
        description="free-form notes kept with the scenario, e.g. where an imported scenario came from",
    )


class Duration(Model):
    """How long an exercise of this scenario usually runs (trainers may choose within min..max)."""

    default_minutes: int = Field(default=120, ge=5)
    min_minutes: int = Field(default=30, ge=5)
    max_minutes: int = Field(default=480, ge=5)

    @model_validator(mode="after")
    def _ordered(self) -> Duration:
        if not self.min_minutes <= self.default_minutes <= self.max_minutes:
            raise ValueError("durations must satisfy min_minutes <= default_minutes <= max_minutes")
        return self


class VariableKind(enum.StrEnum):
    FLAG = "flag"  # FLAG{...}-style secret the team must find
    PASSWORD = "password"  # noqa: S105 - random password of `length` characters
    TOKEN = "token"  # noqa: S105 - random hex string of `length` characters
    CHOICE = "choice"  # one of `choices`, picked per instance
    INTEGER = "integer"  # an integer in [minimum, maximum], picked per instance
    VALUE = "value"  # the fixed `value` (same for every instance)


class Variable(Model):
    """A per-instance value, generated deterministically from the instance id (KYPO's automatic problem
    generation): redeploying an instance gives it the same values, two teams get different ones."""

    name: VarName
    kind: VariableKind
    description: str = ""
    length: int = Field(default=16, ge=4, le=128)
    prefix: str = Field(default="FLAG", description="flag prefix: FLAG{...}")
    choices: list[str] = Field(default_factory=list)
    minimum: int = 0
    maximum: int = 65535
    value: str = ""
    secret: bool | None = Field(
        default=None, description="stored as a Secret, not a ConfigMap; default: true for flag/password/token"
    )
    access: bool = Field(
        default=False,
        description="handed to the team in its access details (e.g. the entry host's login password); "
        "flags are never handed out",
    )

    @property
    def is_secret(self) -> bool:
        if self.secret is not None:
            return self.secret
        return self.kind in (VariableKind.FLAG, VariableKind.PASSWORD, VariableKind.TOKEN)

    @model_validator(mode="after")
    def _kind_fields(self) -> Variable:
        if self.kind is VariableKind.CHOICE and not self.choices:
            raise ValueError("a choice variable needs a non-empty 'choices' list")
        if self.kind is VariableKind.INTEGER and self.minimum > self.maximum:
            raise ValueError("'minimum' must not exceed 'maximum'")
        if self.kind is VariableKind.FLAG and not re.fullmatch(r"[A-Za-z0-9_]{1,32}", self.prefix):
            raise ValueError("a flag prefix is 1-32 letters, digits or '_'")
        if self.kind is VariableKind.FLAG and self.access:
            raise ValueError("a flag is what the team must find: it cannot be handed out as access")
        return self


class Segment(Model):
    """A network segment: hosts on the same segment reach each other; crossing segments needs a flow."""

    name: Name
    description: str = ""


class Protocol(enum.StrEnum):
    TCP = "TCP"
    UDP = "UDP"


class Port(Model):
    port: int = Field(ge=1, le=65535)
    protocol: Protocol = Protocol.TCP
    name: str | None = Field(default=None, pattern=r"^[a-z]([a-z0-9-]{0,13}[a-z0-9])?$")


class CpuMemory(Model):
    cpu_millicores: int = Field(ge=1, le=256_000, description="1000 = one core")
    memory_mib: int = Field(ge=4, le=1_048_576)


class HostResources(Model):
    """What a host asks for. The booking reserves the limits (requests when no limits are given), so a
    booked range never runs out under load."""

    requests: CpuMemory
    limits: CpuMemory | None = None
    gpus: int = Field(default=0, ge=0, le=16)

    @property
    def reserved(self) -> CpuMemory:
        return self.limits or self.requests

    @model_validator(mode="after")
    def _limits_cover_requests(self) -> HostResources:
        if self.limits is not None and (
            self.limits.cpu_millicores < self.requests.cpu_millicores
            or self.limits.memory_mib < self.requests.memory_mib
        ):
            raise ValueError("limits must be at least the requests in every dimension")
        return self


class HttpGet(Model):
    path: str = "/"
    port: int = Field(ge=1, le=65535)


class Readiness(Model):
    """Exactly one of tcp_port, http or exec; the host counts as ready once it succeeds."""

    tcp_port: int | None = Field(default=None, ge=1, le=65535)
    http: HttpGet | None = None
    exec: list[str] | None = None
    initial_delay_seconds: int = Field(default=0, ge=0, le=600)
    period_seconds: int = Field(default=5, ge=1, le=300)
    timeout_seconds: int = Field(default=2, ge=1, le=60)
    failure_threshold: int = Field(default=60, ge=1, le=1000)

    @model_validator(mode="after")
    def _exactly_one(self) -> Readiness:
        given = [k for k in ("tcp_port", "http", "exec") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a readiness probe needs exactly one of tcp_port, http, exec (got {given or 'none'})"
            )
        if self.exec is not None and not self.exec:
            raise ValueError("exec needs a command")
        return self


def _mode_schema(schema: dict[str, Any]) -> None:
    """In the JSON Schema a mode is an integer 0..0o7777 or an octal string, as the loader accepts."""
    low, high = schema.pop("minimum", 0), schema.pop("maximum", 0o7777)
    schema.pop("type", None)
    schema["anyOf"] = [
        {"type": "integer", "minimum": low, "maximum": high},
        {"type": "string", "pattern": "^(0o?)?[0-7]{1,4}$"},
    ]


class File(Model):
    """A file injected into the host; `content` may use `{{ vars.NAME }}` templates."""

    path: str = Field(pattern=r"^/.*[^/]$", description="absolute path of the file in the host")
    content: str
    mode: int = Field(
        default=0o644,
        ge=0,
        le=0o7777,
        description='permission bits; write them as a quoted octal string such as "0755" (a bare 0755 '
        "is octal in YAML 1.1 but decimal in YAML 1.2)",
        json_schema_extra=_mode_schema,
    )
    secret: bool = Field(default=False, description="carried as a Secret (not a ConfigMap)")

    @field_validator("mode", mode="before")
    @classmethod
    def _octal_text(cls, value: object) -> object:
        """'0755', '0o755' and '755' are octal; integers pass through unchanged; other text is refused
        (pydantic would otherwise read '0999' as the decimal 999)."""
        if isinstance(value, str):
            if not re.fullmatch(r"(0o?)?[0-7]{1,4}", value.strip()):
                raise ValueError(f"a file mode is octal text such as '0644' or '0755', not {value!r}")
            return int(value.strip().removeprefix("0o"), 8)
        return value


class Volume(Model):
    """Scratch space, or (only on ranges that allow it) a path of the node."""

    name: Name
    mount_path: str = Field(pattern=r"^/")
    size_mib: int = Field(default=256, ge=1, le=1_048_576)
    host_path: str | None = Field(default=None, description="refused unless the range allows hostPath")


class Egress(Model):
    """Controlled internet egress for one host: only these destinations and ports leave the instance."""

    cidrs: list[str] = Field(default_factory=lambda: ["0.0.0.0/0"])
    ports: list[Port] = Field(default_factory=lambda: [Port(port=80), Port(port=443)])


class Security(Model):
    """Dangerous requests; every one is refused at render time unless the target range allows it."""

    privileged: bool = False
    capabilities: list[str] = Field(default_factory=list, description="Linux capabilities to add")
    host_network: bool = False
    host_pid: bool = False
    run_as_root: bool = Field(
        default=True,
        description="true: the container runtime's default capabilities (Pod Security baseline); false: "
        "a numeric non-root user, every capability dropped (restricted)",
    )
    run_as_user: int | None = Field(
        default=None,
        ge=1,
        le=2_147_483_647,
        description="the numeric user of a run_as_root: false host (default 1000)",
    )
    run_as_group: int | None = Field(
        default=None, ge=0, le=2_147_483_647, description="its numeric group (default: run_as_user's number)"
    )
    allow_privilege_escalation: bool | None = Field(
        default=None,
        description="whether setuid programs (sudo, su) may raise privileges; default: yes for run_as_root "
        "hosts, no otherwise; refused where the range's security allowance does not admit it",
    )
    drop_capabilities: list[str] = Field(
        default_factory=list, description="capabilities to drop from a run_as_root host's default set"
    )

    @model_validator(mode="after")
    def _user_needs_non_root(self) -> Security:
        if self.run_as_root and (self.run_as_user is not None or self.run_as_group is not None):
            raise ValueError("run_as_user and run_as_group apply to run_as_root: false hosts only")
        return self


#: An image repository without tag or digest (`registry.example/team/web`), for a built host's `image`.
REPOSITORY_PATTERN = r"^[a-z0-9]+([._-]+[a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-]+[a-z0-9]+)*)*$"


#: Hex digits of a built image's content tag (`scenarios.images`).
CONTENT_TAG_LENGTH = 20


def _built_reference(image: str) -> bool:
    """A repository, or a repository pinned to a content tag (what `scenarios.images.pin` writes)."""
    repository, _, tag = image.rpartition(":")
    if tag and "/" not in tag and re.fullmatch(rf"[0-9a-f]{{{CONTENT_TAG_LENGTH}}}", tag):
        image = repository
    return re.fullmatch(REPOSITORY_PATTERN, image) is not None


class Build(Model):
    """How the scenario builds a host's image itself: a context directory inside the scenario bundle,
    holding a Containerfile. The image is tagged by its content (`scenarios.images`), so a changed context
    gives a new tag and an unchanged one is never rebuilt. Base images come from the `BASE` build
    argument (`ARG BASE` / `FROM ${BASE}`), so a machine without a registry can build on a base it made."""

    context: str = Field(
        pattern=r"^[^/].*$", description="directory of the build context, relative to the scenario file"
    )
    containerfile: str = Field(
        default="Containerfile", pattern=r"^[^/].*$", description="file name inside the context"
    )
    args: dict[str, str] = Field(
        default_factory=dict,
        description="build arguments (the same for every team: images are shared by instances, so no "
        "`{{ vars.NAME }}` templates); BASE is set by whoever builds",
    )

    @field_validator("args")
    @classmethod
    def _plain_args(cls, value: dict[str, str]) -> dict[str, str]:
        for key, text in value.items():
            if not re.fullmatch(ENV_NAME_PATTERN, key):
                raise ValueError(f"'{key}' is not a build argument name")
            if TEMPLATE_RE.search(text):
                raise ValueError(
                    f"build argument '{key}' uses a per-team template: an image is shared by every team"
                )
        return value


class Host(Model):
    name: Name
    description: str = ""
    image: str | None = Field(
        default=None,
        min_length=1,
        pattern=r"^[^\s]+$",
        description="the image to run; with `build`, the repository the built image is tagged in (no tag: "
        "the tag is the content digest; default federange/<scenario>/<host>)",
    )
    build: Build | None = Field(default=None, description="build the image from the scenario bundle")
    command: list[str] | None = None
    args: list[str] | None = None
    env: dict[str, str] = Field(default_factory=dict)
    ports: list[Port] = Field(default_factory=list)
    resources: HostResources
    segments: list[Name] = Field(min_length=1)
    entry: bool = Field(default=False, description="an entry point: its ports are exposed to the team")
    readiness: Readiness | None = None
    files: list[File] = Field(default_factory=list)
    volumes: list[Volume] = Field(default_factory=list)
    egress: Egress | None = None
    security: Security = Field(default_factory=Security)
    termination_grace_seconds: int = Field(
        default=2,
        ge=0,
        le=300,
        description="seconds a host gets to stop before it is killed (Kubernetes "
        "terminationGracePeriodSeconds, Docker stop timeout)",
    )
    needs_vm: bool = Field(default=False, description="needs a VM-capable range (imported VM guests)")

    @model_validator(mode="after")
    def _image_or_build(self) -> Host:
        if self.image is None and self.build is None:
            raise ValueError("a host needs an 'image', a 'build', or both")
        if self.build is not None and self.image is not None and not _built_reference(self.image):
            raise ValueError(
                "beside 'build', 'image' names the repository of the built image, without a tag or digest "
                f"(the tag is the content digest), not {self.image!r}"
            )
        return self


class FlowEndpoint(Model):
    segment: Name
    hosts: list[Name] = Field(default_factory=list, description="narrow to these hosts of the segment")


class Flow(Model):
    """Traffic allowed from one segment (or some of its hosts) to another; replies are implied."""

    from_: FlowEndpoint = Field(alias="from")
    to: FlowEndpoint
    ports: list[Port] = Field(default_factory=list, description="empty: every port")
    description: str = ""


class Playbook(Model):
    """An Ansible playbook run after deploy against some hosts (path relative to the scenario file)."""

    name: str = Field(min_length=1, max_length=80)
    playbook: str = Field(pattern=r"^[^/].*\.ya?ml$")
    hosts: list[Name] = Field(min_length=1)
    vars: dict[str, str] = Field(default_factory=dict)


class Group(Model):
    """A named set of hosts (KYPO and CyRIS groups survive an import as groups). Provisioning sees each
    group as an Ansible inventory group of the same name."""

    name: Name
    hosts: list[Name] = Field(default_factory=list)
    description: str = ""


class Spec(Model):
    requires: list[str] = Field(default_factory=list, description="range capabilities the scenario needs")
    duration: Duration = Field(default_factory=Duration)
    variables: list[Variable] = Field(default_factory=list)
    segments: list[Segment] = Field(min_length=1)
    hosts: list[Host] = Field(min_length=1)
    flows: list[Flow] = Field(default_factory=list)
    provisioning: list[Playbook] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list, description="named host groups (inventory groups)")


class Scenario(Model):
    api_version: Literal["federange/v1"] = Field(alias="apiVersion")
    kind: Literal["Scenario"]
    metadata: Metadata
    spec: Spec

    @property
    def ref(self) -> str:
        return f"{self.metadata.name}@{self.metadata.version}"

    def host(self, name: str) -> Host:
        for host in self.spec.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    def group(self, name: str) -> Group:
        for group in self.spec.groups:
            if group.name == name:
                return group
        raise KeyError(name)

    def variable(self, name: str) -> Variable:
        for variable in self.spec.variables:
            if variable.name == name:
                return variable
        raise KeyError(name)
