"""Content reports (R9.3, R1.6): what users report with Element's "Report" reaches the
administrators (and a room's moderators or a channel's owners) at once, and waits in a
queue where an administrator removes the message, warns the sender or starts an account
cancellation for a breach."""

from synapse_modules.content_reports.module import ContentReports

__all__ = ["ContentReports"]
