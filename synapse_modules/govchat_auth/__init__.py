"""Who may register (official e-mail only), and which agency each user belongs to."""

from synapse_modules.govchat_auth.module import GovChatAuth

__all__ = ["GovChatAuth"]
