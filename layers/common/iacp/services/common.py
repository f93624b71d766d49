"""What the wiring modules share."""

from iacp.outbound import Outbound


def outbound(private_addresses: str) -> Outbound:
    return Outbound(private_addresses=private_addresses == "allow")
