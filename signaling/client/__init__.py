"""Python signaling client on aiortc: tests, benchmarks and the network-test echo peer."""

from signaling.client.channel import ChannelClosed, SignalingChannel, Welcome
from signaling.client.echo import EchoPeer
from signaling.client.mesh import MeshPeer
from signaling.client.peer import VisitPeer

__all__ = ["ChannelClosed", "EchoPeer", "MeshPeer", "SignalingChannel", "VisitPeer", "Welcome"]
