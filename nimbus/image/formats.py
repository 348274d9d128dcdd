"""Checking that uploaded data is what its disk_format claims, while it streams in.

Glance inspects the data of "bare" images and refuses a mismatch (since 2024.2,
require_image_format_match is on by default): a qcow2 file passed off as another
format, or one with a backing file, could make the hypervisor read files of the host.
We inspect qcow2, the one format our compute driver consumes besides raw:

- data claimed as qcow2 must carry a qcow2 header (magic ``QFI\\xfb``, version 2 or
  3) that passes the same safety checks as oslo.utils' format inspector: no backing
  file, no external data file, no unknown incompatible features;
- data that *is* qcow2 may only be called qcow2 or raw (raw is Glance's "we could not
  tell" format); calling it anything else is a mismatch;
- the virtual size comes from the qcow2 header, or is the data size for raw.

Only the first 512 bytes are needed, so a mismatch is refused as soon as they have
arrived and the rest of a large upload is never written (Glance stores everything
first and refuses afterwards).
"""

from __future__ import annotations

import struct

#: Bytes of the header the inspection needs (oslo's QcowInspector captures 512).
HEADER_BYTES = 512

_QCOW2_MAGIC = b"QFI\xfb"
#: magic, version, backing file offset, backing file size, cluster bits, virtual size.
_QCOW2_HEADER = struct.Struct(">4sIQIIQ")
_INCOMPATIBLE_FEATURES = struct.Struct(">Q")
_INCOMPATIBLE_FEATURES_OFFSET = 0x48
#: Incompatible feature bits qemu defines: dirty, corrupt, external data file, compression.
_KNOWN_FEATURES = 0b1111
_EXTERNAL_DATA_FILE = 0b0100


class InvalidImageData(Exception):
    """The data is not what the image's disk_format says, or is unsafe to use."""


def _qcow2_virtual_size(header: bytes) -> int | None:
    """The virtual size of a qcow2 header; None if it is not qcow2; raises if unsafe."""
    if len(header) < HEADER_BYTES or not header.startswith(_QCOW2_MAGIC):
        return None
    _magic, version, backing_offset, _size, _bits, virtual_size = _QCOW2_HEADER.unpack_from(header)
    if version not in (2, 3):
        raise InvalidImageData(f"Unsupported qcow2 version {version}")
    if backing_offset != 0:
        raise InvalidImageData("Image has a backing file")
    if version == 3:
        (features,) = _INCOMPATIBLE_FEATURES.unpack_from(header, _INCOMPATIBLE_FEATURES_OFFSET)
        if features & _EXTERNAL_DATA_FILE:
            raise InvalidImageData("Image has data_file set")
        if features & ~_KNOWN_FEATURES:
            raise InvalidImageData("Unknown QCOW2 features found")
    return virtual_size


class FormatInspector:
    """Collects the start of an upload and judges it once enough has arrived.

    `feed` runs on the writer thread with every block; `finish` gives the virtual size
    once the whole upload is in (None when the format has no notion of one).
    """

    def __init__(self, disk_format: str | None, container_format: str | None) -> None:
        self.disk_format = disk_format
        #: Glance inspects only "bare" images (a container wraps other formats).
        self.enabled = container_format == "bare"
        self.header = bytearray()
        self.qcow2_size: int | None = None
        self.judged = False

    def feed(self, block: bytes) -> None:
        if not self.enabled or self.judged:
            return
        self.header += block[: HEADER_BYTES - len(self.header)]
        if len(self.header) >= HEADER_BYTES:
            self._judge()

    def _judge(self) -> None:
        self.judged = True
        self.qcow2_size = _qcow2_virtual_size(bytes(self.header))
        detected = "raw" if self.qcow2_size is None else "qcow2"
        if detected == "qcow2" and self.disk_format not in ("qcow2", "raw"):
            raise InvalidImageData(
                f"Image disk_format {self.disk_format} does not match stream data qcow2"
            )
        if detected == "raw" and self.disk_format == "qcow2":
            raise InvalidImageData("Image disk_format qcow2 does not match stream data raw")

    def finish(self, size: int) -> int | None:
        """Judge a short upload too; the virtual size of what was received."""
        if not self.enabled:
            return None
        if not self.judged:
            self._judge()
        if self.disk_format == "qcow2":
            return self.qcow2_size
        if self.disk_format == "raw":
            return size
        return None
