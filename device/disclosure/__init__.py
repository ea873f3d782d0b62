"""The disclosure package: one signed, self-verifying case file for the investigator, the
prosecutor and the defence (``fieldface package``, the button on a released report).

Why its own package beside device/workflow: it reads the workflow's records, the audit log,
the policy and the operational tests, and its verifying half (``verify.py``) must run on
another machine with nothing but the package and the unit's public key, so it imports no store,
no model and no workflow code.

    facts.py    what the unit holds on one examination, gathered once (read only)
    redact.py   which candidates are withheld, and the statement and hash that replace them
    pdf.py      the lead report as a PDF (reportlab: pure Python, no browser)
    package.py  the archive: files, manifest of SHA-256s signed with the audit key, audited
    verify.py   offline check: names each altered, missing or extra file, a changed manifest,
                a wrong key, and audit entries that do not prove out
"""

from device.disclosure.package import Package, make_package
from device.disclosure.verify import Finding, verify_package

__all__ = ["Finding", "Package", "make_package", "verify_package"]
