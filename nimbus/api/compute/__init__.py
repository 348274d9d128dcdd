"""The Compute API (Nova v2.1 with microversions): HTTP only; domain logic lives in
nimbus.compute."""
