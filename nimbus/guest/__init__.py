"""The nimbus guest image: a small cloud-style whole-disk image (MBR, syslinux, ext4
root) built here from Debian packages — the distribution's cloud kernel, a busybox
userland and dropbear — that boots in seconds under TCG and does what cloud guests do
at boot (DHCP, metadata, SSH keys, user_data). docs/guest-image.md tells the details.
"""

from nimbus.guest.build import IMAGE_NAME, boot_files, build_image, cached_image
from nimbus.guest.disk import KERNEL_CMDLINE

#: What the guest prints on its serial console once its userland is up (followed by
#: the instance id when it knows it).
BOOT_LINE = "nimbus-guest: booted"
#: Printed once SSH/HTTP run and user_data (if any) has finished.
READY_LINE = "nimbus-guest: ready"
#: Glance properties worth registering the image with.
IMAGE_PROPERTIES = {
    "os_type": "linux",
    "os_admin_user": "root",
    "hw_disk_bus": "virtio",
    "hw_vif_model": "virtio",
}

__all__ = [
    "BOOT_LINE",
    "IMAGE_NAME",
    "IMAGE_PROPERTIES",
    "KERNEL_CMDLINE",
    "READY_LINE",
    "boot_files",
    "build_image",
    "cached_image",
]
