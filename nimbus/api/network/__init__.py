"""The Network API v2.0 (Neutron), on port 9696."""
