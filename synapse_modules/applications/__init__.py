"""Applications (forms A4, A5, A6): external users, account cancellation and public channels,
from submission through endorsement and review to carrying out and notifying the applicant."""

from synapse_modules.applications.module import Applications

__all__ = ["Applications"]
