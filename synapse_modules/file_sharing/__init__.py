"""The per-file size limit for shared files (R4.2), answered with M_TOO_LARGE."""

from synapse_modules.file_sharing.module import FileSharingLimits

__all__ = ["FileSharingLimits"]
