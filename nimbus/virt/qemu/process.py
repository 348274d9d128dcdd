"""One `qemu-system-x86_64` process per guest: its command line, starting it, finding
it again, stopping it.

QEMU daemonizes (`-daemonize -pidfile`), so a guest outlives the agent that started it
and is found again from its pidfile after a restart; the pid is trusted only while
`/proc/<pid>/cmdline` still names the guest's uuid (pids are reused). The launch spec is
saved as JSON in the instance directory, so a guest can be started again (power on,
reboot, resume) by an agent that did not create it. Sockets are given to QEMU relative
to the instance directory (its working directory) because unix socket paths are
limited to 107 bytes and data directories can be deeper than that.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from nimbus.virt.driver import DriverError
from nimbus.virt.qemu.accel import QEMU
from nimbus.virt.qemu.layout import InstanceDir

#: Seconds QEMU may take to initialise (it daemonizes once it listens).
LAUNCH_TIMEOUT = 30.0
#: How often a stopping process is looked at.
_POLL = 0.05


@dataclass(frozen=True)
class LaunchSpec:
    """What a guest is started with; its disks are the files present in its directory."""

    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    #: MAC addresses of its NICs, and the tap each one opens ("": QEMU user-mode
    #: networking, for a server without a port on a cloud without a data plane).
    macs: tuple[str, ...] = ()
    taps: tuple[str, ...] = ()
    #: A kernel, ramdisk and command line booted directly ("": the disk's bootloader).
    kernel: str = ""
    initrd: str = ""
    append: str = ""

    @property
    def nics(self) -> list[tuple[str, str]]:
        taps = self.taps + ("",) * (len(self.macs) - len(self.taps))
        return list(zip(self.macs, taps, strict=True))

    def save(self, directory: InstanceDir) -> None:
        directory.spec.write_text(json.dumps(asdict(self)))

    @classmethod
    def load(cls, directory: InstanceDir) -> LaunchSpec:
        try:
            fields = json.loads(directory.spec.read_text())
        except FileNotFoundError:
            raise DriverError(f"guest {directory.uuid} has no launch spec") from None
        nics = {key: tuple(fields.get(key, ())) for key in ("macs", "taps")}
        return cls(**{**fields, **nics})


def value(text: object) -> str:
    """`text` as the value of a QEMU option (commas are doubled; a server name or a data
    directory may contain them)."""
    return str(text).replace(",", ",,")


def _drive(
    path: Path, disk_format: str, *, read_only: bool = False, bus: str = "virtio"
) -> list[str]:
    options = f"file={value(path)},if={bus},format={disk_format},cache=writeback,discard=unmap"
    return ["-drive", options + (",readonly=on" if read_only else "")]


def command(
    directory: InstanceDir, spec: LaunchSpec, accel: list[str], *, incoming: bool = False
) -> list[str]:
    """The QEMU command line of the guest in `directory`."""
    argv = [
        *(QEMU, "-name", f"guest={value(spec.name)},debug-threads=on", "-uuid", spec.uuid),
        *("-nodefaults", "-no-user-config", "-display", "none", *accel),
        *("-machine", "pc", "-smp", str(spec.vcpus), "-m", str(spec.memory_mb)),
        *("-daemonize", "-pidfile", str(directory.pidfile)),
        *("-qmp", f"unix:{directory.qmp.name},server=on,wait=off"),
        "-chardev",
        f"socket,id=serial0,path={directory.serial.name},server=on,wait=off,"
        f"logfile={value(directory.console_log)},logappend=on",
        *("-serial", "chardev:serial0"),
        *("-object", "rng-random,id=rng0,filename=/dev/urandom"),
        *("-device", "virtio-rng-pci,rng=rng0"),
    ]
    if directory.rescue_disk.exists():
        # Rescued: the rescue disk first; the own disk second, on the IDE bus, so that a
        # guest looking for its root by label among the virtio disks (as the nimbus guest
        # image does: both disks carry the same label) finds the rescue one.
        argv += _drive(directory.rescue_disk, "qcow2")
        argv += _drive(directory.disk, "qcow2", bus="ide")
    else:
        argv += _drive(directory.disk, "qcow2")
    if spec.kernel:
        argv += ["-kernel", spec.kernel]
        argv += ["-initrd", spec.initrd] if spec.initrd else []
        argv += ["-append", spec.append] if spec.append else []
    for extra in (directory.ephemeral, directory.swap):
        if extra.exists():
            argv += _drive(extra, "raw")
    if directory.config_drive.exists():
        argv += _drive(directory.config_drive, "raw", read_only=True)
    for mac, tap in spec.nics:
        netdev = netdev_options(mac, tap)
        backend = [netdev.pop("type"), *(f"{k}={value(v)}" for k, v in netdev.items())]
        argv += ["-netdev", ",".join(backend)]
        argv += ["-device", f"virtio-net-pci,id={nic_id(mac)},netdev={netdev['id']},mac={mac}"]
    if incoming:
        argv += ["-incoming", f"exec:cat {shlex.quote(str(directory.saved_state))}"]
    return argv


def nic_id(mac: str) -> str:
    """The QEMU device id of the NIC of that MAC (hot-unplug finds it by this)."""
    return "nic" + mac.replace(":", "")


def netdev_options(mac: str, tap: str) -> dict[str, str]:
    """The NIC's backend, as `-netdev` options and as QMP's netdev_add arguments: the
    data plane's tap (no scripts: the network agent plugs it; no vhost-net here), or
    user-mode networking without one."""
    netdev = "net" + mac.replace(":", "")
    if not tap:
        return {"type": "user", "id": netdev}
    return {
        "type": "tap",
        "id": netdev,
        "ifname": tap,
        "script": "no",
        "downscript": "no",
        "vhost": "off",
    }


async def launch(argv: list[str], directory: InstanceDir) -> int:
    """Start QEMU; returns its pid once it is initialised (listening on its sockets).

    QEMU's complaints go to `qemu.log` in the instance directory rather than a pipe: the
    daemonized QEMU may keep a copy of the pipe open, and the start would never end.
    """
    with directory.qemu_log.open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            *argv,
            cwd=directory.path,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=log,
        )
    try:
        status = await asyncio.wait_for(process.wait(), LAUNCH_TIMEOUT)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await kill(directory)
        raise DriverError(f"QEMU did not start within {LAUNCH_TIMEOUT:.0f} s") from None
    if status != 0:
        complaint = directory.qemu_log.read_text(errors="replace").strip().splitlines()
        raise DriverError(f"QEMU did not start: {complaint[-1] if complaint else status}")
    pid = pid_of(directory)
    if pid is None:
        raise DriverError("QEMU started but its process is gone (see its console log)")
    return pid


def _alive(pid: int, uuid: str) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and uuid.encode() in cmdline.split(b"\0")


def pid_of(directory: InstanceDir) -> int | None:
    """The pid of the guest's running QEMU, or None."""
    try:
        pid = int(directory.pidfile.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    return pid if _alive(pid, directory.uuid) else None


async def wait_gone(pid: int, uuid: str, timeout: float) -> bool:
    """Whether the process exited within `timeout` seconds (it is not our child)."""
    deadline = time.monotonic() + timeout
    while _alive(pid, uuid):
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(_POLL)
    return True


async def kill(directory: InstanceDir, grace: float = 2.0) -> None:
    """Stop the guest's QEMU now: SIGTERM, then SIGKILL after `grace` seconds."""
    pid = pid_of(directory)
    if pid is None:
        return
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        if await wait_gone(pid, directory.uuid, wait):
            return
    raise DriverError(f"QEMU of {directory.uuid} (pid {pid}) does not die")
