"""Settings of one Nimbus process, from command-line flags and NIMBUS_* variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from nimbus.compute.options import ComputeOptions
from nimbus.network.options import NetworkOptions

#: The standard port of every service (DESIGN §1); `--port-offset` moves them all.
SERVICE_PORTS: dict[str, int] = {
    "identity": 5000,
    "image": 9292,
    "placement": 8778,
    "compute": 8774,
    "network": 9696,
}


@dataclass
class Settings:
    """Everything a process needs to know to join a cloud.

    The all-in-one default puts SQLite and the in-process bus under `data_dir`; the
    scale-out mode points several processes at one `database_url` and `transport_url`.
    """

    data_dir: Path = field(default_factory=lambda: Path(".nimbus"))
    bind: str = "127.0.0.1"
    port_offset: int = 0
    database_url: str = ""
    transport_url: str = "inprocess://"
    public_host: str = ""
    region: str = "RegionOne"
    token_expiration: int = 3600
    admin_password: str | None = None
    max_body_bytes: int = 114688
    #: The largest image upload accepted, in bytes (Glance's image_size_cap: 1 TiB).
    image_size_cap: int = 1 << 40
    #: Seconds without a heartbeat after which a compute service shows as "down"
    #: (Nova's service_down_time).
    service_down_time: int = 60
    #: Tunables of the compute agent, conductor and scheduler roles.
    compute: ComputeOptions = field(default_factory=ComputeOptions)
    #: Tunables of the network service (segment ranges, MAC base, quotas).
    network: NetworkOptions = field(default_factory=NetworkOptions)
    password_rounds: int = field(
        default_factory=lambda: int(os.environ.get("NIMBUS_PASSWORD_ROUNDS", "12"))
    )

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir).resolve()
        if not self.database_url:
            self.database_url = os.environ.get("NIMBUS_DATABASE_URL") or (
                f"sqlite:///{self.data_dir / 'nimbus.db'}"
            )
        if self.transport_url == "inprocess://":
            self.transport_url = os.environ.get("NIMBUS_TRANSPORT_URL", self.transport_url)
        if self.compute.instances_path is None:
            self.compute.instances_path = self.data_dir / "instances"
        if not self.public_host:
            self.public_host = "127.0.0.1" if self.bind in ("0.0.0.0", "::") else self.bind

    def port(self, service: str) -> int:
        """The port `service` listens on in this process."""
        return SERVICE_PORTS[service] + self.port_offset

    def url(self, service: str) -> str:
        """The base URL clients use to reach `service` (goes into the catalog)."""
        return f"http://{self.public_host}:{self.port(service)}"

    @property
    def policy_file(self) -> Path:
        """An optional policy.yaml that overrides the defaults in code."""
        return self.data_dir / "policy.yaml"
