"""A test disk laid out like Debian's genericcloud image, booted by GRUB 2.

Debian's genericcloud images (and Ubuntu's cloud images, much the same) are GPT disks:
partition 14 is a BIOS boot partition holding GRUB's core.img, partition 15 an EFI
system partition (FAT), and partition 1, at the end of the disk, the ext4 root with the
kernel, the initramfs and /boot/grub (grub.cfg and GRUB's i386-pc modules) inside it.
Under SeaBIOS, GRUB's boot.img in the protective MBR loads core.img from partition 14,
core.img finds the root by its filesystem, reads /boot/grub/grub.cfg from ext4 and
boots the kernel. The nimbus guest image (MBR, syslinux on a FAT partition) proves none
of that, and no real cloud image can be downloaded here (only Debian packages), so the
tests build one: the nimbus guest image's root filesystem, kernel and initramfs, and
GRUB 2 from Debian's own `grub-pc-bin`/`grub-common` packages (unpacked, nothing
installed on the host).

It is written into a plain file with sfdisk (`label: gpt`), `mkfs.fat --offset`,
resize2fs and `debugfs -w` (no loop device, no mount). GRUB is installed without
grub-bios-setup: that tool insists on opening the block device that holds its `-d`
directory (to guess a root device it never uses when embedding in a BIOS boot
partition), which fails wherever the host's disk cannot be opened (EPERM on /dev/vda
here). `_install_grub` does the rest of its work, as GRUB 2.06's util/setup.c does it for
a BIOS boot partition, without the optional Reed-Solomon codes (`--no-rs-codes`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

from nimbus.guest import boot_files, cached_image
from nimbus.guest import packages as debs
from nimbus.guest.build import default_cache_dir
from nimbus.guest.disk import KERNEL_CMDLINE, ROOT_LABEL

#: Where GRUB's core.img (grub-mkimage), boot.img and i386-pc modules (grub-pc-bin) are.
GRUB_PACKAGES = ("grub-common", "grub-pc-bin")
#: What GRUB itself prints, from grub.cfg, before it loads the kernel.
GRUB_LINE = "nimbus-test-grub: loading the kernel from ext4 on GPT"

SECTOR = 512
MIB = 1 << 20
DISK_MIB = 128
#: (number, first sector, sectors or None for the rest, GPT type): Debian's numbering,
#: smaller partitions (Debian's are 3 MiB, 124 MiB and the rest of a 2 GiB disk).
BIOS_BOOT = (14, 2048, 2048, "21686148-6449-6E6F-744E-656564454649")
ESP = (15, 4096, 16384, "C12A7328-F81F-11D2-BA4B-00A0C93EC93B")
ROOT = (1, 20480, None, "0FC63DAF-8483-4772-8E79-3D69D8477DE4")
#: Modules core.img needs to reach /boot/grub (the rest load from there).
CORE_MODULES = ("biosdisk", "part_gpt", "ext2", "search", "search_label")
_MODULES = "usr/lib/grub/i386-pc"
_MKIMAGE = "usr/bin/grub-mkimage"

#: core.img's own configuration: find the root by label, as Debian's finds it by UUID.
_EARLY_CFG = f"""\
search --no-floppy --label --set=root {ROOT_LABEL}
set prefix=($root)/boot/grub
"""
#: As Debian's cloud images: GRUB on the serial console too, no menu delay.
_GRUB_CFG = f"""\
serial --unit=0 --speed=115200
terminal_input serial console
terminal_output serial console
set default=0
set timeout=0
menuentry 'nimbus guest (cloud image layout)' {{
	echo '{GRUB_LINE}'
	linux /boot/vmlinuz {KERNEL_CMDLINE}
	initrd /boot/initrd.img
}}
"""

# Offsets in GRUB's boot.img (include/grub/i386/pc/boot.h).
_BPB = slice(0x03, 0x5A)
_KERNEL_SECTOR = 0x5C
_BOOT_DRIVE = 0x64
_DRIVE_CHECK = 0x66
_PARTITION_TABLE = slice(0x1B8, 0x1FE)  # disk signature, partition table (not 55aa)
#: diskboot.img's block list entry (u64 start, u16 sectors, u16 segment): first sector's end.
_BLOCKLIST = SECTOR - 12


def _run(*args: str | Path) -> str:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, args))} failed: {done.stderr.strip()}")
    return done.stdout


def cached_cloud_layout_image(cache_dir: Path | None = None) -> Path:
    """The cloud-layout image (qcow2) for the current guest image and GRUB packages,
    built only when missing, under the guest image's cache and lock."""
    cache_dir = cache_dir or default_cache_dir()
    guest = cached_image(cache_dir)
    grub = debs.resolve(GRUB_PACKAGES)
    digest = hashlib.sha256(guest.name.encode())
    for package in grub:
        digest.update(f"{package.name}={package.version}\n".encode())
    digest.update(Path(__file__).read_bytes())
    image = cache_dir / f"cloud-layout-{digest.hexdigest()[:16]}.qcow2"
    if not image.is_file():
        with debs.locked(cache_dir / "image.lock"):
            if not image.is_file():
                _build(image, guest, debs.unpacked(grub, cache_dir))
    return image


def _build(dest: Path, guest: Path, grub: dict[str, Path]) -> None:
    modules = grub["grub-pc-bin"] / _MODULES
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=f".{dest.name}-") as tmp:
        work = Path(tmp)
        raw = work / "disk.raw"
        with raw.open("wb") as out:
            out.truncate(DISK_MIB * MIB)
        _partition(raw)
        root_start, root_sectors = _partition_of(raw, ROOT[0])
        root = work / "root.ext4"
        _guest_root(guest, work / "guest.raw", root)
        _run("resize2fs", "-f", root, f"{root_sectors}s")
        kernel, initrd = boot_files(guest)
        (work / "grub.cfg").write_text(_GRUB_CFG)
        _add_boot_files(root, kernel, initrd, work / "grub.cfg", modules)
        _write_at(raw, root, root_start)
        _run("mkfs.fat", f"--offset={ESP[1]}", "-n", "EFI", raw, ESP[2] * SECTOR // 1024)

        (work / "early.cfg").write_text(_EARLY_CFG)
        core = work / "core.img"
        _run(
            grub["grub-common"] / _MKIMAGE, "-O", "i386-pc", "-d", modules,
            "-c", work / "early.cfg", "-p", "/boot/grub", "-o", core, *CORE_MODULES,
        )  # fmt: skip
        _install_grub(raw, (modules / "boot.img").read_bytes(), core.read_bytes())
        _run("qemu-img", "convert", "-c", "-O", "qcow2", raw, work / "image.qcow2")
        (work / "image.qcow2").replace(dest)


def _partition(raw: Path) -> None:
    lines = ["label: gpt"]
    for number, start, size, kind in (BIOS_BOOT, ESP, ROOT):
        extent = f"start={start}" + (f", size={size}" if size else "")
        lines.append(f"{raw}{number} : {extent}, type={kind}")
    done = subprocess.run(
        ["sfdisk", "-q", str(raw)], input="\n".join(lines) + "\n", capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"sfdisk failed: {done.stderr.strip()}")


def _partition_of(raw: Path, number: int) -> tuple[int, int]:
    """(first sector, sectors) of partition `number` of `raw`, as sfdisk reads it."""
    table = json.loads(_run("sfdisk", "--json", raw))["partitiontable"]
    for entry in table["partitions"]:
        if entry["node"] == f"{raw}{number}":
            return int(entry["start"]), int(entry["size"])
    raise LookupError(f"{raw} has no partition {number}")


def _guest_root(guest: Path, raw: Path, root: Path) -> None:
    """The nimbus guest image's ext4 root filesystem (its Linux partition), byte for
    byte, into the file `root`: the same tree the guest boots, modes and all."""
    _run("qemu-img", "convert", "-O", "raw", guest, raw)
    table = json.loads(_run("sfdisk", "--json", raw))["partitiontable"]
    (entry,) = (p for p in table["partitions"] if p["type"] == "83")
    with raw.open("rb") as source, root.open("wb") as target:
        source.seek(int(entry["start"]) * SECTOR)
        target.write(source.read(int(entry["size"]) * SECTOR))
    _run("e2fsck", "-f", "-p", root)  # resize2fs wants a freshly checked filesystem


def _add_boot_files(root: Path, kernel: Path, initrd: Path, grub_cfg: Path, modules: Path) -> None:
    """/boot/vmlinuz, /boot/initrd.img, /boot/grub/grub.cfg and GRUB's modules (as
    grub-install copies them to /boot/grub/i386-pc) into the ext4 image `root`."""
    grub_files = sorted([*modules.glob("*.mod"), *modules.glob("*.lst")])
    commands = [
        "mkdir /boot",
        "mkdir /boot/grub",
        "mkdir /boot/grub/i386-pc",
        f"write {kernel} /boot/vmlinuz",
        f"write {initrd} /boot/initrd.img",
        f"write {grub_cfg} /boot/grub/grub.cfg",
        *(f"write {path} /boot/grub/i386-pc/{path.name}" for path in grub_files),
    ]
    script = root.with_suffix(".debugfs")
    script.write_text("\n".join(commands) + "\n")
    # debugfs exits 0 whatever its commands did: its complaints are on stderr.
    done = subprocess.run(
        ["debugfs", "-w", "-f", str(script), str(root)], capture_output=True, text=True
    )
    errors = [line for line in done.stderr.splitlines() if not line.startswith("debugfs ")]
    if done.returncode != 0 or errors:
        raise RuntimeError(f"debugfs could not fill /boot: {' '.join(errors)}")


def _write_at(raw: Path, data: Path, sector: int) -> None:
    with raw.open("r+b") as out, data.open("rb") as source:
        out.seek(sector * SECTOR)
        shutil.copyfileobj(source, out, MIB)


def _install_grub(raw: Path, boot_img: bytes, core_img: bytes) -> None:
    """boot.img into the MBR and core.img into the BIOS boot partition, patched to find
    each other, as grub-bios-setup does: boot.img keeps the disk's protective MBR
    partition table and learns core.img's first sector; diskboot.img (core.img's first
    sector) learns where the rest of core.img is."""
    _, first, room, _ = BIOS_BOOT
    sectors = -(-len(core_img) // SECTOR)
    if sectors > room:
        raise RuntimeError(f"core.img is {sectors} sectors; the BIOS boot partition has {room}")
    boot, core = bytearray(boot_img), bytearray(core_img.ljust(sectors * SECTOR, b"\0"))
    with raw.open("r+b") as disk:
        mbr = disk.read(SECTOR)
        boot[_BPB] = mbr[_BPB]
        boot[_PARTITION_TABLE] = mbr[_PARTITION_TABLE]
        boot[_DRIVE_CHECK : _DRIVE_CHECK + 2] = b"\x90\x90"  # trust the BIOS's boot drive
        boot[_BOOT_DRIVE] = 0xFF  # the drive booted from
        struct.pack_into("<Q", boot, _KERNEL_SECTOR, first)
        struct.pack_into("<QH", core, _BLOCKLIST, first + 1, sectors - 1)
        disk.seek(first * SECTOR)
        disk.write(core)
        disk.seek(0)
        disk.write(boot)
