"""The session door web/auth.py asks for, over the console's tables: the unit's sessions code
(Argon2id, throttle, idle timeout, single-use form tokens) with the console's store and log."""

from __future__ import annotations

from datetime import UTC, datetime

from device.workflow import sessions


class ConsoleAuth:
    def __init__(self, db, log, config, clock=None):
        self.db, self.log, self.config = db, log, config
        self.now = clock or (lambda: datetime.now(UTC))

    def today(self):
        return self.now().date()

    def needs_setup(self) -> bool:
        return False  # console accounts are made at the central host's shell (central user add)

    def login(self, username, password, source="local"):
        return sessions.login(self.db, self.log, self.config, username, password, self.now(), source)

    def resume(self, token):
        return sessions.resume(self.db, self.config, token, self.now())

    def logout(self, session, reason="logout"):
        sessions.logout(self.db, self.log, session, reason)

    def issue_form_token(self, session):
        return sessions.issue_form_token(session)

    def consume_form_token(self, session, token):
        sessions.consume_form_token(self.db, session, token, self.now())
