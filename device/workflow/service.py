"""``Workflow``: the doors' one entry point into users, sessions and the five steps.

Each capability lives in its own module (users, sessions, cases, enhance, analysis, review,
report, retention); these methods only pass the collaborators along, so the web and the CLI call
the same rules. ``clock`` returns an aware UTC datetime, so lockout, timeouts, training and
retention are testable; ``today()`` is the UTC date (local time is for display only).

The workflow owns the cache of analyses (device/workflow/probe.py): one per app or command, so
a lock empties it with ``forget_analyses()`` and nothing else in the process holds case photos.
``runtime_dir`` (config ``hooks.runtime_dir``) receives the "searching" marker the LED shows;
None writes no marker (tests, one-off tools).
"""

from __future__ import annotations

from device.workflow import analysis, casefile, cases, enhance, report, retention, review, sessions, stills, users
from device.workflow.activity import Activity
from device.workflow.probe import Analyses
from device.workflow.users import system_now


class Workflow:
    def __init__(self, store, audit, gallery, config, clock=system_now, runtime_dir=None):
        self.store = store
        self.audit = audit
        self.gallery = gallery
        self.config = config
        self.now = clock
        self.analyses = Analyses(gallery.recognizer)
        self.activity = Activity(runtime_dir)

    def today(self):
        return self.now().date()

    def forget_analyses(self) -> int:
        """Drop the cached analyses (face crops of case photos): the box is locking."""
        return self.analyses.forget()

    # ---- users and sessions ------------------------------------------------------------------

    def needs_setup(self) -> bool:
        with self.store.connection() as conn:
            return users.user_count(conn) == 0

    def first_run(self, username, display_name, password, training_valid_until):
        return users.create_user(self.store, self.audit, self.config, None, username, display_name, password,
                                 ["supervisor"], training_valid_until, self.now(), first_run=True)  # fmt: skip

    def create_user(self, by, username, display_name, password, roles, training_valid_until):
        return users.create_user(self.store, self.audit, self.config, by, username, display_name, password,
                                 roles, training_valid_until, self.now())  # fmt: skip

    def update_user(self, by, user_id, **changes):
        return users.update_user(self.store, self.audit, by, user_id, config=self.config, today=self.today(), **changes)

    def policy(self):
        """The agency policy in force (config defaults + a supervisor's audited changes)."""
        from device.policy import Policy

        return Policy.load(self.store, self.config)

    def set_password(self, by, user_id, password):
        users.set_password(self.store, self.audit, self.config, by, user_id, password)

    def clear_lockout(self, by, user_id):
        users.clear_lockout(self.store, self.audit, by, user_id)

    def list_users(self, by):
        users.require_role(by, "supervisor")
        with self.store.connection() as conn:
            return users.list_users(conn)

    def login(self, username, password, source="local"):
        return sessions.login(self.store, self.audit, self.config, username, password, self.now(), source)

    def resume(self, token):
        return sessions.resume(self.store, self.config, token, self.now())

    def logout(self, session, reason="logout"):
        sessions.logout(self.store, self.audit, session, reason)

    def issue_form_token(self, session):
        return sessions.issue_form_token(session)

    def consume_form_token(self, session, token):
        sessions.consume_form_token(self.store, session, token, self.now())

    # ---- the five steps --------------------------------------------------------------------------

    def start(self, user, case, offense, purpose, probe: bytes, source: str = "import", burst=None):
        return cases.start(self, user, case, offense, purpose, probe, source, burst)

    def use_burst_still(self, user, exam_id, probe: bytes, burst: dict):
        return stills.use_burst_still(self, user, exam_id, probe, burst)

    def add_still(self, user, exam_id, data: bytes, source: str = "import", face_index=None):
        return stills.add(self, user, exam_id, data, source, face_index)

    def stills(self, user, exam_id):
        return stills.listed(self, user, exam_id)

    def still_image(self, user, exam_id, position):
        return stills.image_for(self, user, exam_id, position)

    def awaiting_override(self, user):
        return cases.awaiting_override(self, user)

    def refuse_probe(self, user, case, reason, size, source="import"):
        return cases.refuse_probe(self, user, case, reason, size, source)

    def record_view(self, user, action: str, object_: str, case: str | None = None, **details):
        """A view of biometric images or of a lead report, recorded (ids only, never pixels)."""
        role = user.acting_as("supervisor", "auditor", "reviewer", "examiner")
        self.audit.record(action, actor=user.username, role=role, object=object_, case=case, details=details)

    def examination(self, user, exam_id):
        return cases.load_for(self, user, exam_id)

    def list_examinations(self, user):
        return cases.list_for(self, user)

    def choose_face(self, user, exam_id, face_index):
        return cases.choose_face(self, user, exam_id, face_index)

    def override_quality(self, user, exam_id, reason):
        return cases.override_quality(self, user, exam_id, reason)

    def image(self, user, exam_id, which):
        return cases.image_for(self, user, exam_id, which)

    def candidate_image(self, user, exam_id, rank):
        return cases.candidate_image_for(self, user, exam_id, rank)

    def analyze(self, data: bytes):
        """An image's faces, quality judged by the policy in force (cached by the image's hash)."""
        return cases.analysis_of(self, data)

    def analyze_working(self, exam):
        return cases.analyze_working(self, exam)

    def preview_edit(self, user, exam_id, op, params):
        return enhance.preview(self, user, exam_id, op, params)

    def apply_edit(self, user, exam_id, op, params):
        return enhance.apply(self, user, exam_id, op, params)

    def edits(self, exam_id):
        return enhance.edits(self, exam_id)

    def run_search(self, user, exam_id, face_index=None):
        return analysis.run_search(self, user, exam_id, face_index)

    def candidates(self, user, exam_id, blind=False):
        return analysis.candidates(self, user, exam_id, blind)

    def candidate(self, user, exam_id, rank):
        return analysis.candidate(self, user, exam_id, rank)

    def record_analysis(self, user, exam_id, rank, checklist, notes, disposition, reason, below_line_reason=""):
        return analysis.record(self, user, exam_id, rank, checklist, notes, disposition, reason, below_line_reason)

    def checklist(self, exam_id, rank):
        return analysis.checklist(self, exam_id, rank)

    def submit_for_review(self, user, exam_id, corroboration):
        return review.submit(self, user, exam_id, corroboration)

    def close_without_lead(self, user, exam_id, reason):
        return review.close_without_lead(self, user, exam_id, reason)

    def review_queue(self, user):
        return review.queue(self, user)

    def blind_view(self, user, exam_id):
        return review.blind_view(self, user, exam_id)

    def submit_review(self, user, exam_id, chosen_rank, reason):
        return review.submit_review(self, user, exam_id, chosen_rank, reason)

    def review_record(self, user, exam_id):
        """The peer review of an examination the user may see (None before it is done)."""
        cases.load_for(self, user, exam_id)
        with self.store.connection() as conn:
            return review.review_of(conn, exam_id)

    def release(self, user, exam_id):
        return report.release(self, user, exam_id)

    def may_release(self, user, exam):
        return report.may_release(self.policy(), user, exam)

    def report(self, user, exam_id):
        return report.build(self, user, exam_id)

    # ---- retention and the auditors' view ------------------------------------------------------

    def purge(self, actor, dry_run: bool = False):
        """Retention over every copy: gallery subjects, probes of searches and examinations."""
        return retention.purge(self, actor, dry_run)

    def case_list(self):
        return casefile.case_list(self)

    def case_detail(self, case_id: str):
        return casefile.case_detail(self, case_id)
