"""GovChat: settings, shared vocabulary and the tools that run a GovChat homeserver."""
