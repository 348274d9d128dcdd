"""The whole-disk image: an MBR with syslinux's boot code, a FAT boot partition holding
syslinux, the kernel and the initramfs, and an ext4 root partition — written into a
plain file with sfdisk, mkfs.fat/mtools/syslinux at an offset and `mkfs.ext4 -d`, so no
loop device, mount or root privilege is needed; then converted to a compressed qcow2.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

SECTOR = 512
MIB = 1024 * 1024
DISK_MIB = 128
BOOT_START = 2048  # sectors: partitions start 1 MiB in, aligned
BOOT_SECTORS = 32 * MIB // SECTOR
ROOT_START = BOOT_START + BOOT_SECTORS
ROOT_LABEL = "nimbus-root"
#: The kernel command line the bootloader passes (and what direct kernel boot needs).
#: `cryptomgr.notests`: the crypto self-tests the kernel runs at boot take ≈ 0.3 s under
#: TCG, an eighth of the boot; the guest's crypto is dropbear's, in user space.
KERNEL_CMDLINE = f"root=LABEL={ROOT_LABEL} console=tty0 console=ttyS0 cryptomgr.notests"

_SYSLINUX_CFG = f"""\
DEFAULT nimbus
PROMPT 0
TIMEOUT 0
LABEL nimbus
  LINUX /vmlinuz
  INITRD /initrd.img
  APPEND {KERNEL_CMDLINE}
"""


def _run(*args: str | Path | int, stdin: str | None = None) -> None:
    done = subprocess.run(
        [str(a) for a in args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MTOOLS_SKIP_CHECK": "1"},
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr.strip()}")


def write_raw_disk(raw: Path, *, kernel: Path, initrd: Path, rootfs: Path, mbr: Path) -> None:
    """The bootable disk at `raw`, root filesystem populated from the `rootfs` tree."""
    with raw.open("wb") as out:
        out.truncate(DISK_MIB * MIB)
    _run(
        "sfdisk",
        "-q",
        raw,
        stdin=(
            "label: dos\n"
            f"start={BOOT_START}, size={BOOT_SECTORS}, type=c, bootable\n"
            f"start={ROOT_START}, type=83\n"
        ),
    )
    with raw.open("r+b") as out:
        out.write(mbr.read_bytes()[:440])  # boot code only: the partition table stays

    boot = f"{raw}@@{BOOT_START * SECTOR}"
    _run("mkfs.fat", f"--offset={BOOT_START}", "-n", "NIMBUSBOOT", raw, BOOT_SECTORS // 2)
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "syslinux.cfg"
        config.write_text(_SYSLINUX_CFG)
        for source, name in ((kernel, "vmlinuz"), (initrd, "initrd.img"), (config, "syslinux.cfg")):
            _run("mcopy", "-i", boot, source, f"::{name}")
    _run("syslinux", "--offset", BOOT_START * SECTOR, "--install", raw)

    root_kib = (DISK_MIB * MIB - ROOT_START * SECTOR) // 1024
    _run(
        "mkfs.ext4",
        "-q",
        "-F",
        "-L",
        ROOT_LABEL,
        "-m",
        "1",
        "-d",
        rootfs,
        "-E",
        f"offset={ROOT_START * SECTOR}",
        raw,
        f"{root_kib}k",
    )


def to_qcow2(raw: Path, dest: Path) -> None:
    """`raw` as a compressed qcow2 at `dest` (unused blocks cost nothing)."""
    _run("qemu-img", "convert", "-c", "-O", "qcow2", raw, dest)
