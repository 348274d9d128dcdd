"""The metadata service: what a guest learns about itself at 169.254.169.254.

The data plane's listeners (nimbus.netdev.metadata) hand each request, with the guest's
source address and the network it came from, to `MetadataService`; `facts` finds the
instance behind that address (network + fixed IP → port → device_id) and `documents`
answers Nova's OpenStack and EC2 paths for it.
"""
