"""The demo data dir gets the documented demo accounts, once."""

from device.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, create_demo_accounts
from device.workflow import users
from tests.workflow.conftest import workflow_config


def test_demo_accounts_are_made_once_and_log_in(store):
    config = workflow_config()
    assert create_demo_accounts(store, config) == [a[0] for a in DEMO_ACCOUNTS]
    assert create_demo_accounts(store, config) == []
    with store.connection() as conn:
        made = {u.username: u.roles for u in users.list_users(conn)}
    assert made == {"supervisor": {"supervisor"}, "examiner": {"examiner"}, "peer": {"reviewer", "examiner"},
                    "auditor": {"auditor"}}  # fmt: skip
    from device.audit import AuditLog
    from device.workflow.sessions import login
    from device.workflow.users import system_now

    _, session = login(store, AuditLog(store), config, "peer", DEMO_PASSWORD, system_now())
    assert session.user.username == "peer"
