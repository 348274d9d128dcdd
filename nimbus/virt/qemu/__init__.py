"""The QEMU compute driver: one `qemu-system-x86_64` per guest, driven over QMP
(driver.py); see docs/qemu-driver.md."""
