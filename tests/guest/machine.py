"""A guest under plain QEMU (TCG) for the image's own tests: no Nimbus in between, so a
failure here is the image's. Serial console to a file, QMP on a unix socket, user-mode
networking with host ports forwarded to the guest's SSH and HTTP servers."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import time
import uuid as uuidlib
from collections.abc import Sequence
from pathlib import Path

#: A TCG boot takes ≈ 4 to 6 s on an idle 2-core machine; other tests may share the cores.
BOOT_TIMEOUT = 120.0
SSH_OPTIONS = (
    "-o",
    "StrictHostKeyChecking=no",
    "-o",
    "UserKnownHostsFile=/dev/null",
    "-o",
    "BatchMode=yes",
    "-o",
    "ConnectTimeout=10",
    "-o",
    "LogLevel=ERROR",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def config_drive(dest: Path, meta_data: dict[str, object], user_data: str | None) -> Path:
    """An OpenStack config drive (ISO 9660 labelled config-2) at `dest`."""
    tree = dest.with_suffix(".d") / "openstack" / "latest"
    tree.mkdir(parents=True)
    (tree / "meta_data.json").write_text(json.dumps(meta_data))
    if user_data is not None:
        (tree / "user_data").write_text(user_data)
    subprocess.run(
        [
            "genisoimage",
            "-quiet",
            "-V",
            "config-2",
            "-r",
            "-J",
            "-o",
            str(dest),
            str(dest.with_suffix(".d")),
        ],
        check=True,
    )
    return dest


class Machine:
    """One QEMU process booting `disk` (used in place: pass an overlay)."""

    def __init__(
        self,
        workdir: Path,
        disk: Path,
        *,
        instance: str | None = None,
        cdrom: Path | None = None,
        nic: str | None = "",
        extra: Sequence[str] = (),
    ) -> None:
        """`nic`: options added to the user-mode NIC's, None for no NIC at all;
        `extra`: more QEMU arguments (e.g. a direct kernel boot)."""
        self.workdir = workdir
        self.instance = instance or str(uuidlib.uuid4())
        self.console_log = workdir / "console.log"
        self.qmp_path = workdir / "qmp.sock"
        self.ssh_port, self.http_port = free_port(), free_port()
        forwards = (
            f"hostfwd=tcp:127.0.0.1:{self.ssh_port}-:22,hostfwd=tcp:127.0.0.1:{self.http_port}-:80"
        )
        args = [
            "qemu-system-x86_64",
            "-accel",
            "tcg",
            "-m",
            "256",
            "-display",
            "none",
            "-uuid",
            self.instance,
            "-drive",
            f"file={disk},if=virtio,format=qcow2",
            "-nic",
            "none" if nic is None else f"user,model=virtio-net-pci,{forwards}{nic}",
            "-serial",
            f"file:{self.console_log}",
            "-monitor",
            "none",
            "-qmp",
            f"unix:{self.qmp_path},server=on,wait=off",
            *extra,
        ]
        if cdrom is not None:
            args += ["-drive", f"file={cdrom},media=cdrom,readonly=on"]
        self.started = time.monotonic()
        with (workdir / "qemu.log").open("w") as log:
            self.process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)

    def console(self) -> str:
        try:
            return self.console_log.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for(self, text: str, *, count: int = 1, timeout: float = BOOT_TIMEOUT) -> float:
        """Seconds since start when `text` had appeared `count` times on the console."""
        deadline = time.monotonic() + timeout
        while self.console().count(text) < count:
            if self.process.poll() is not None:
                raise AssertionError(f"qemu exited before {text!r}:\n{self.console()[-3000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.console()[-3000:]}")
            time.sleep(0.05)
        return time.monotonic() - self.started

    def qmp(self, command: str) -> dict[str, object]:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.connect(str(self.qmp_path))
            stream = sock.makefile("rw")
            stream.readline()  # greeting
            for request in ({"execute": "qmp_capabilities"}, {"execute": command}):
                stream.write(json.dumps(request) + "\n")
                stream.flush()
                while "event" in (reply := json.loads(stream.readline())):
                    pass
            return reply

    def ssh(self, key: Path, command: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                "ssh",
                "-i",
                str(key),
                "-p",
                str(self.ssh_port),
                *SSH_OPTIONS,
                "root@127.0.0.1",
                command,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
