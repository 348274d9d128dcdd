"""Settings shared by every test: a cheap password hash (as Keystone's tests use)."""

import os

pytest_plugins = ["tests.guest_image"]

# bcrypt at cost 12 takes ≈ 0.2 s per hash; the suite hashes hundreds of passwords.
# The benchmarks and `nimbus up` keep the real cost.
os.environ.setdefault("NIMBUS_PASSWORD_ROUNDS", "4")
