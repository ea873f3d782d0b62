"""Accountability: the period report from the audit log, and operational testing (evaluate).

``period.generate(store, start, end, actor=..., role=...)`` -> report dict (audited);
``render.to_json / to_csv / to_html(report)``; ``evaluate`` runs an operational test on labelled
photos; ``actions`` is the table of audit action names the report counts.
"""
