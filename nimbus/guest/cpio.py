"""A gzip'd cpio "newc" archive, the format the kernel unpacks as an initramfs.

Written here rather than with cpio(1) so that the archive can hold a device node
(/dev/console, which the kernel opens before running /init) without root privileges,
and so that every entry is owned by root whoever builds it.
"""

from __future__ import annotations

import gzip
import stat
from pathlib import Path

_TRAILER = "TRAILER!!!"


def _entry(name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)) -> bytes:
    encoded = name.encode() + b"\0"
    fields = (1, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(encoded), 0)
    header = b"070701" + b"".join(b"%08X" % value for value in fields)
    padding = b"\0" * (-(len(header) + len(encoded)) % 4)
    return header + encoded + padding + data + b"\0" * (-len(data) % 4)


def write_initramfs(tree: Path, dest: Path) -> None:
    """Archive every file, directory and symlink under `tree` (modes kept, owner root),
    plus the /dev/console node, into `dest` (gzip)."""
    entries = [_entry("dev", stat.S_IFDIR | 0o755)]
    entries.append(_entry("dev/console", stat.S_IFCHR | 0o600, rdev=(5, 1)))
    for path in sorted(tree.rglob("*")):
        name = path.relative_to(tree).as_posix()
        info = path.lstat()
        if path.is_symlink():
            entries.append(_entry(name, info.st_mode, str(path.readlink()).encode()))
        elif path.is_dir():
            if name != "dev":
                entries.append(_entry(name, info.st_mode))
        else:
            entries.append(_entry(name, info.st_mode, path.read_bytes()))
    entries.append(_entry(_TRAILER, 0))
    with dest.open("wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out:
        for entry in entries:
            out.write(entry)
