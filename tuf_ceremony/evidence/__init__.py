"""Ceremony evidence: pre-flight checks, the tamper-evident transcript, the
printable run sheet, and the auditor's replay of a published record.

The modules here are the core: they take paths, times and roots of ``/sys``
and ``/proc`` as parameters and know nothing of click or rich. The commands
live in :mod:`tuf_ceremony.cli.evidence`.

* :mod:`.fingerprint`: the tool's fingerprint over its installed files;
* :mod:`.preflight`: air gap, clock, tool and PKCS#11 module checks;
* :mod:`.transcript`: JSON Lines records chained by SHA-256;
* :mod:`.script`: the run sheet (Markdown and HTML) from a plan;
* :mod:`.audit`: the replay of a published ceremony record.
"""
