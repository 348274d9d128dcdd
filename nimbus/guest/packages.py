"""Debian packages as build inputs: resolve versions with apt-cache, download the .debs
with `apt-get download` into a cache, unpack them with `dpkg-deb -x`.

Nothing is installed on the host: the image is assembled from unpacked trees, and the
only network source is the Debian archive apt is configured for.
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


class PackageError(RuntimeError):
    """apt could not tell about, or fetch, a package the image needs."""


@dataclass(frozen=True)
class Package:
    """One binary package at the version apt would pick."""

    name: str
    version: str
    arch: str

    @property
    def deb_name(self) -> str:
        """The file name `apt-get download` gives it (an epoch's ':' is quoted)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"


def _apt(*args: str, cwd: str | None = None) -> str:
    try:
        done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError as exc:
        raise PackageError(f"{args[0]} is not available: the guest image needs apt") from exc
    if done.returncode != 0:
        raise PackageError(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def dependency_closure(names: Iterable[str]) -> list[str]:
    """`names` and every package they depend on (Depends/Pre-Depends), virtual ones
    left out: what a dynamically linked program may need at run time."""
    out = _apt(
        "apt-cache",
        "depends",
        "--recurse",
        "--no-recommends",
        "--no-suggests",
        "--no-conflicts",
        "--no-breaks",
        "--no-replaces",
        "--no-enhances",
        *names,
    )
    found = {line.strip() for line in out.splitlines() if line and not line[0].isspace()}
    return sorted(name for name in found if not name.startswith("<"))


def depends_of(name: str) -> list[str]:
    """The direct Depends of `name` (to follow a meta package to the real one)."""
    out = _apt("apt-cache", "depends", name)
    return [
        line.split(":", 1)[1].strip()
        for line in out.splitlines()
        if line.strip().startswith("Depends:")
    ]


def resolve(names: Iterable[str]) -> list[Package]:
    """The candidate version and architecture of each package, in one apt-cache call."""
    wanted = sorted(set(names))
    out = _apt("apt-cache", "show", "--no-all-versions", *wanted)
    found: dict[str, Package] = {}
    for stanza in out.split("\n\n"):
        fields = dict(
            line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " "
        )
        if "Package" in fields:
            found.setdefault(
                fields["Package"],
                Package(fields["Package"], fields["Version"], fields["Architecture"]),
            )
    missing = [name for name in wanted if name not in found]
    if missing:
        raise PackageError(f"apt knows no candidate for {', '.join(missing)}")
    return [found[name] for name in wanted]


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """An exclusive lock on `path` (created if missing), so concurrent builders in
    several processes take turns instead of racing on the same cache files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def unpacked(packages: Iterable[Package], cache_dir: Path) -> dict[str, Path]:
    """Each package unpacked under `cache_dir/unpacked/`, downloading the missing debs
    first; returns name → tree. Cached per exact version, so a second build is offline."""
    packages = list(packages)
    debs, trees = cache_dir / "debs", cache_dir / "unpacked"
    with locked(cache_dir / "debs.lock"):
        debs.mkdir(parents=True, exist_ok=True)
        trees.mkdir(parents=True, exist_ok=True)
        missing = [p for p in packages if not (debs / p.deb_name).is_file()]
        if missing:
            _download(missing, debs)
        result = {}
        for package in packages:
            tree = trees / package.deb_name.removesuffix(".deb")
            if not tree.is_dir():
                _unpack(debs / package.deb_name, tree)
            result[package.name] = tree
    return result


def _download(packages: list[Package], debs: Path) -> None:
    # Download into a private directory and move complete files in, so an interrupted
    # download never leaves a truncated .deb under its final name.
    with tempfile.TemporaryDirectory(dir=debs) as tmp:
        Path(tmp).chmod(0o777)  # apt's sandbox user writes there when we run as root
        _apt("apt-get", "download", "-q", *(f"{p.name}={p.version}" for p in packages), cwd=tmp)
        for package in packages:
            fetched = Path(tmp) / package.deb_name
            if not fetched.is_file():
                raise PackageError(f"apt-get download gave no {package.deb_name}")
            fetched.replace(debs / package.deb_name)


def _unpack(deb: Path, tree: Path) -> None:
    tmp = Path(tempfile.mkdtemp(dir=tree.parent, prefix=".unpack-"))
    try:
        subprocess.run(["dpkg-deb", "-x", str(deb), str(tmp)], check=True, capture_output=True)
        tmp.rename(tree)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
