"""The files a user sources or points a client at: adminrc and clouds.yaml."""

from __future__ import annotations

import os
import shlex
from pathlib import Path

from nimbus.config import Settings

ADMINRC = "adminrc"
CLOUDS_YAML = "clouds.yaml"


def read_admin_password(data_dir: Path) -> str | None:
    """The password a previous start wrote into adminrc, so a restart can rewrite it."""
    path = data_dir / ADMINRC
    if not path.exists():
        return None
    for line in path.read_text().splitlines():
        if line.startswith("export OS_PASSWORD="):
            (value,) = shlex.split(line.split("=", 1)[1])
            return value
    return None


def _private_write(path: Path, text: str) -> None:
    """Write a file only its owner can read: these files hold the admin password."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def write(settings: Settings, password: str) -> Path:
    """Write adminrc and clouds.yaml for the admin user; returns the adminrc path."""
    auth_url = f"{settings.url('identity')}/v3"
    variables = {
        "OS_AUTH_URL": auth_url,
        "OS_USERNAME": "admin",
        "OS_PASSWORD": password,
        "OS_PROJECT_NAME": "admin",
        "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default",
        "OS_IDENTITY_API_VERSION": "3",
        "OS_REGION_NAME": settings.region,
        "OS_INTERFACE": "public",
    }
    rc = "".join(f"export {k}={shlex.quote(v)}\n" for k, v in variables.items())
    adminrc = settings.data_dir / ADMINRC
    _private_write(adminrc, rc)
    clouds = (
        "clouds:\n"
        "  nimbus:\n"
        "    auth:\n"
        f"      auth_url: {auth_url}\n"
        "      username: admin\n"
        f"      password: {password!r}\n"
        "      project_name: admin\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        f"    region_name: {settings.region}\n"
        "    interface: public\n"
        "    identity_api_version: 3\n"
    )
    _private_write(settings.data_dir / CLOUDS_YAML, clouds)
    return adminrc
