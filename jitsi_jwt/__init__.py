"""GCMeet: Jitsi Meet tokens only for people joined to the conversation (R6)."""

from jitsi_jwt.module import GCMeet

__all__ = ["GCMeet"]
