"""The guest's two file trees: the root filesystem (busybox userland, dropbear and the
shared libraries it needs, resize2fs, the kernel modules, the boot scripts) and the
initramfs (busybox, the root disk's modules, an /init that mounts the root).

Both are plain directories on the host; disk.py and cpio.py turn them into images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from nimbus.guest import kmod

FILES = Path(__file__).parent / "files"

#: Dynamically linked programs taken from their packages: (package, path in it).
PROGRAMS = (
    ("dropbear-bin", "usr/sbin/dropbear"),
    ("dropbear-bin", "usr/bin/dropbearkey"),
    ("dropbear-bin", "usr/bin/dbclient"),
    ("e2fsprogs", "sbin/resize2fs"),
)
LOADER = "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
#: The ELF interpreter path every program names.
INTERPRETER = "lib64/ld-linux-x86-64.so.2"
_SECRET = {"etc/shadow"}


def _copy_files(source: Path, tree: Path) -> None:
    """The builder's data files into `tree`: scripts executable, /etc/shadow private,
    the rest world-readable, whatever modes the files happen to have here."""
    for path in sorted(source.rglob("*")):
        target = tree / path.relative_to(source)
        if path.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            continue
        shutil.copyfile(path, target)
        relative = path.relative_to(source).as_posix()
        executable = path.read_bytes()[:2] == b"#!"
        target.chmod(0o600 if relative in _SECRET else 0o755 if executable else 0o644)


def _install_busybox(tree: Path, busybox: Path) -> None:
    """busybox at /bin/busybox and a symlink for every applet it has (`--list-full`)."""
    (tree / "bin").mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, tree / "bin/busybox")
    applets = subprocess.run(
        [str(busybox), "--list-full"], capture_output=True, text=True, check=True
    ).stdout.split()
    for applet in applets:
        link = tree / applet
        if applet != "bin/busybox" and not link.exists():
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to("/bin/busybox")


def _libraries(programs: Iterable[Path], libc: Path, trees: Iterable[Path]) -> set[Path]:
    """The shared libraries `programs` load, found among the unpacked packages by asking
    their own dynamic loader to list them (`ld.so --list`)."""
    search = ":".join(
        str(tree / sub)
        for tree in trees
        for sub in ("lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu")
        if (tree / sub).is_dir()
    )
    found: set[Path] = set()
    for program in programs:
        listing = subprocess.run(
            [str(libc / LOADER), "--library-path", search, "--list", str(program)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for line in listing.splitlines():
            name, arrow, rest = line.strip().partition(" => ")
            if not arrow:
                continue
            path = rest.rsplit(" (", 1)[0]
            if path == "not found":
                raise FileNotFoundError(f"{program.name} needs {name}, in no unpacked package")
            found.add(Path(path))
    return found


def _install_from_package(tree: Path, path: Path, trees: Iterable[Path]) -> None:
    """`path` (inside one unpacked package) at the same place in `tree`, symlinks
    followed (a library is installed under its soname, as the loader looks it up)."""
    for package_tree in trees:
        if path.is_relative_to(package_tree):
            target = tree / path.relative_to(package_tree)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path.resolve(), target)
            return
    raise ValueError(f"{path} is in no unpacked package")


def _install_modules(directory: Path, kernel: Path, lists: dict[str, Iterable[str]]) -> None:
    """The modules of each list (and their dependencies) from the unpacked `kernel` into
    `directory`, and per list a file naming them in load order, for the boot scripts."""
    modules_dir = next((kernel / "lib/modules").iterdir())
    directory.mkdir(parents=True, exist_ok=True)
    for list_name, wanted in lists.items():
        order = kmod.load_order(modules_dir, wanted)
        for module in order:
            shutil.copyfile(module, directory / module.name)
        (directory / list_name).write_text("".join(f"{m.name}\n" for m in order))


def build_rootfs(tree: Path, packages: dict[str, Path], kernel: Path) -> None:
    """The root filesystem's tree at `tree` from the unpacked `packages` (name → dir)
    and the unpacked `kernel` package."""
    for directory in (
        "dev",
        "proc",
        "sys",
        "run",
        "tmp",
        "mnt",
        "root",
        "var/log",
        "var/lib/nimbus-guest",
        "etc/dropbear",
        "lib64",
    ):
        (tree / directory).mkdir(parents=True, exist_ok=True)
    (tree / "tmp").chmod(0o1777)
    (tree / "root").chmod(0o700)
    _install_busybox(tree, packages["busybox-static"] / "bin/busybox")

    libc = packages["libc6"]
    programs = [packages[name] / path for name, path in PROGRAMS]
    trees = list(packages.values())
    for path in [*programs, *_libraries(programs, libc, trees), libc / LOADER]:
        _install_from_package(tree, path, trees)
    os.symlink("/" + LOADER, tree / INTERPRETER)
    _install_modules(tree / "lib/modules", kernel, {"load-order": kmod.ALL})
    _copy_files(FILES / "rootfs", tree)


def build_initramfs_tree(tree: Path, busybox: Path, kernel: Path) -> None:
    """The initramfs's tree: busybox, /init, and the modules a root disk needs."""
    for directory in ("proc", "sys", "newroot"):
        (tree / directory).mkdir(parents=True, exist_ok=True)
    _install_busybox(tree, busybox)
    _install_modules(
        tree / "lib/modules", kernel, {"root-disk": kmod.ROOT_DISK, "ide-disk": kmod.IDE_DISK}
    )
    _copy_files(FILES / "initramfs", tree)
