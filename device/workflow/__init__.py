"""The five-step investigative workflow and its users: every rule lives here, once.

Entry point: ``Workflow(store, audit, gallery, config)`` (device/workflow/service.py). The web UI
and the CLI are doors that call it; neither decides who may do what.
"""

from device.workflow.service import Workflow
from device.workflow.users import ROLES, User

__all__ = ["ROLES", "User", "Workflow"]
