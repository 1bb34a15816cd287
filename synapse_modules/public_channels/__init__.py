"""Public channels: INFO for everyone, owner-only posting, channels created by administrators."""

from synapse_modules.public_channels.module import PublicChannels

__all__ = ["PublicChannels"]
