"""Which accelerator QEMU guests use on this host: KVM where a KVM guest really runs,
else TCG.

`/dev/kvm` existing is not enough: some hosts expose a paravirtual KVM on which ordinary
guests hang (see docs/qemu-driver.md). So the probe boots a 512-byte boot sector under
the options guests get (`-accel kvm -cpu host`) that does what a kernel's start does
(long mode, upper-half addresses, some work) and reports through QEMU's isa-debug-exit
device; it must do so within `PROBE_TIMEOUT` seconds. The answer is cached in a file
next to the instances (keyed by the QEMU binary and the kernel), so a restart does not
probe again, and it is taken in the background when the driver starts, so that neither
`nimbus up` nor (usually) the first boot waits for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

QEMU = "qemu-system-x86_64"
PROBE_TIMEOUT = 3.0
#: isa-debug-exit turns the byte 0x31 written to port 0xf4 into exit status 0x31*2+1.
_PROBE_EXIT = 99

#: The probe sector, assembled from probe.S (beside this file): long mode, a jump to the
#: upper half where Linux runs, a spin long enough to meet the host's scheduler (a few
#: dozen ms under KVM, 0.3 s under TCG), then exit through isa-debug-exit. Shorter
#: probes (protected mode only) pass on hosts where real kernels hang.
_PROBE_CODE = bytes.fromhex(
    "fa31c08ed88ec066bf0010000066b9000c00006631c0fc6766f3ab66c706001003200000"
    "66c70600200330000066c70600308300000066c706f81f0320000066c706f02f03300000"
    "66c7064030830000000f20e06683c8200f22e066b8001000000f22d866b9800000c00f32"
    "660d000100000f30660f0116c07c0f20c0660d010000800f22c066ea8e7c0000080048b8"
    "9a7c0081ffffffffffe0b900e1f505ffc975fcb031e6f4f40000000000000000ffff0000"
    "009aaf00ffff00000092cf001700a87c"
)
PROBE_SECTOR = _PROBE_CODE.ljust(510, b"\0") + b"\x55\xaa"


def _cache_key() -> str:
    binary = shutil.which(QEMU) or QEMU
    try:
        stamp = os.stat(binary).st_mtime_ns
    except OSError:
        stamp = 0
    return f"{binary}:{stamp}:{os.uname().release}"


async def kvm_works(timeout: float = PROBE_TIMEOUT) -> bool:
    """True if a KVM guest gets to protected mode within `timeout` seconds."""
    return os.access("/dev/kvm", os.R_OK | os.W_OK) and await probe("kvm", timeout)


async def probe(accel: str, timeout: float) -> bool:
    """True if the probe sector reaches protected mode under `accel` in time."""
    with tempfile.TemporaryDirectory(prefix="nimbus-accel-") as directory:
        sector = Path(directory) / "probe.img"
        sector.write_bytes(PROBE_SECTOR)
        cpu = ["-cpu", "host"] if accel == "kvm" else []
        process = await asyncio.create_subprocess_exec(
            *(QEMU, "-accel", accel, *cpu, "-nodefaults", "-display", "none", "-no-reboot"),
            *("-m", "16", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"),
            *("-drive", f"file={sector},format=raw,if=floppy"),
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.DEVNULL,
        )
        try:
            return await asyncio.wait_for(process.wait(), timeout) == _PROBE_EXIT
        except TimeoutError:
            return False
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()


class Accelerator:
    """The `-accel` option of this host's guests, probed once and remembered."""

    def __init__(self, cache: Path, tcg_tb_size_mb: int) -> None:
        self.cache = cache
        self.tcg_tb_size_mb = tcg_tb_size_mb
        self._lock = asyncio.Lock()
        self._kvm: bool | None = None

    async def kvm(self) -> bool:
        async with self._lock:
            if self._kvm is None:
                self._kvm = self._cached()
            if self._kvm is None:
                self._kvm = await kvm_works()
                self._remember(self._kvm)
            return self._kvm

    async def options(self) -> list[str]:
        """QEMU arguments choosing the accelerator (and the CPU model it allows)."""
        if await self.kvm():
            return ["-accel", "kvm", "-cpu", "host"]
        return ["-accel", f"tcg,tb-size={self.tcg_tb_size_mb}"]

    def _cached(self) -> bool | None:
        with contextlib.suppress(OSError, ValueError, KeyError):
            recorded = json.loads(self.cache.read_text())
            if recorded["key"] == _cache_key():
                return bool(recorded["kvm"])
        return None

    def _remember(self, kvm: bool) -> None:
        self.cache.parent.mkdir(parents=True, exist_ok=True)
        self.cache.write_text(json.dumps({"key": _cache_key(), "kvm": kvm}))
