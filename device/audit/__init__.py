"""The audit log: append-only, hash-chained, signed by the device; verify and export.

Other packages call ``AuditLog(store).record(action, actor=..., role=..., ...)``.
"""

from device.audit.entry import Clock, Draft, Entry, SystemClock
from device.audit.log import AuditLog, Checkpoint
from device.audit.verify import Problem, Report, verify_store

__all__ = [
    "AuditLog",
    "Checkpoint",
    "Clock",
    "Draft",
    "Entry",
    "Problem",
    "Report",
    "SystemClock",
    "verify_store",
]
