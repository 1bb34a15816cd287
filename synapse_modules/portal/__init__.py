"""The information portal (R8.5): static pages on registering, apps, passwords, the guide, FAQ and helpdesk."""

from synapse_modules.portal.module import Portal

__all__ = ["Portal"]
