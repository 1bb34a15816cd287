"""The circulars library behind Bot-GovChat and the portal: metadata, status and full text, kept by administrators."""

from synapse_modules.circulars.module import CircularLibrary

__all__ = ["CircularLibrary"]
