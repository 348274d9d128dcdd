"""Running the real `openstack` CLI from tests, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

OPENSTACK = str(Path(sys.executable).parent / "openstack")


def openstack(env: dict[str, str], *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    result = subprocess.run(
        [OPENSTACK, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )
    if ok:
        assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr}"
    return result


def as_json(env: dict[str, str], *args: str) -> Any:
    return json.loads(openstack(env, *args, "-f", "json").stdout)
