"""Messages can be edited or deleted only for a short while after they are sent (R4.3)."""

from synapse_modules.edit_window.module import EditWindow

__all__ = ["EditWindow"]
