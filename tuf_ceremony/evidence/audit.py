"""The auditor's replay of a published ceremony record (``tuf-ceremony audit``).

A record is one folder (docs/auditor.md)::

    plan.toml, its public key files      the reviewed plan
    request.json                         the signing request
    *.json bundles                       one signature bundle per keyholder
    *.jsonl                              one transcript per machine
    *.preflight.json                     the pre-flight results (preflight --out)
    repository/                          the merged metadata (N.root.json, N.targets.json)
    trusted/ (optional)                  the trusted metadata prepare --trusted read,
                                         when it is not in repository/

Files are recognized by content (the ``format`` field), never by name, and
tied to the steps of the transcripts by SHA-256: paths in the transcripts
are those of the ceremony machines and are not compared.

Checks (each gives findings naming the file and the step):

``chain``      every transcript's chain is unbroken (seq and prev);
``flow``       the request is what prepare wrote, every keyholder signed
               it, every bundle is what a keyholder's sign wrote, merge
               read those bundles and wrote the metadata in repository/;
``replay``     prepare replayed from the plan at the recorded time (and
               the recorded trusted metadata) gives the same request id;
``signatures`` every signature in the metadata comes from a bundle for this
               request, verifies, and the thresholds hold under the one
               threshold policy;
``review``     each keyholder's review digest, in the bundle and in the
               transcript, is that of the review this version of the tool
               renders from the request;
``preflight``  a successful pre-flight precedes the signing on every
               machine that signed, its result is in the record and shows
               no unaccepted failure;
``tool``       the machines ran the same tool (fingerprint): a warning.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tuf_ceremony.errors import CeremonyError, InputError
from tuf_ceremony.evidence.transcript import ChainResult, Entry, check_chain
from tuf_ceremony.text import safe

PASS, FAIL, WARN = "pass", "fail", "warn"
_MAX_CHAIN_PROBLEMS = 10
_MAX_FILE_BYTES = 64 * 1024 * 1024
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")


@dataclass(frozen=True)
class Finding:
    check: str
    status: str
    file: str
    step: str | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "status": self.status,
            "file": self.file,
            "step": self.step,
            "message": self.message,
        }

    def __str__(self) -> str:
        step = f" {self.step}:" if self.step else ""
        return f"{self.file}:{step} {self.message}"


@dataclass
class TranscriptSummary:
    file: str
    records: int
    head: str
    ok: bool

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "records": self.records, "head": self.head, "ok": self.ok}


@dataclass
class AuditReport:
    directory: str
    request_id: str | None = None
    findings: list[Finding] = field(default_factory=list)
    transcripts: list[TranscriptSummary] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(f.status != FAIL for f in self.findings)

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == FAIL]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "tuf-ceremony/audit-report",
            "format_version": 1,
            "directory": self.directory,
            "ok": self.ok,
            "request_id": self.request_id,
            "transcripts": [t.to_dict() for t in self.transcripts],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class _Step:
    """One transcript record, with the transcript it is in."""

    file: str
    entry: Entry

    @property
    def name(self) -> str:
        return f"{self.file} {self.entry.step()}"

    @property
    def local(self) -> str:
        """The step named within its own transcript."""
        return self.entry.step()

    @property
    def ok(self) -> bool:
        return self.entry.exit_code == 0


class _Audit:
    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.report = AuditReport(str(directory))
        self.sha: dict[str, str] = {}  # relative name -> SHA-256
        self.by_sha: dict[str, list[str]] = {}
        self.steps: list[_Step] = []

    def add(self, check: str, status: str, file: str, step: str | None, message: str) -> None:
        # every field made printable here, once: messages quote untrusted text raw
        self.report.findings.append(
            Finding(check, status, safe(file), safe(step) if step is not None else None, safe(message, 1000))
        )

    # -- inventory ---------------------------------------------------------

    def inventory(self) -> None:
        from tuf_ceremony.files import read_bytes

        for p in sorted(self.dir.rglob("*")):
            rel = p.relative_to(self.dir).as_posix()
            top = rel.split("/", 1)[0]
            if "/" in rel and top not in ("repository", "trusted"):
                continue
            if p.is_symlink():
                self.add("flow", FAIL, rel, None, "is a symbolic link: a record holds regular files only (not read)")
                continue
            if not p.is_file():
                continue
            data = read_bytes(p, "record file", _MAX_FILE_BYTES)
            digest = hashlib.sha256(data).hexdigest()
            self.sha[rel] = digest
            self.by_sha.setdefault(digest, []).append(rel)

    def top(self, suffix: str) -> list[str]:
        return [n for n in self.sha if "/" not in n and n.endswith(suffix)]

    def load(self, rel: str) -> Any:
        from tuf_ceremony.files import load_json

        return load_json(self.dir / rel, "record file")

    def find(self, digest: str, where: str | None = None, prefer: str | None = None) -> str | None:
        """A record file with this SHA-256 (``prefer``: that name if it has it)."""
        candidates = self.by_sha.get(digest, [])
        if prefer is not None and prefer in candidates:
            return prefer
        for rel in candidates:
            if where is None or rel.startswith(where):
                return rel
        return None

    # -- transcripts -------------------------------------------------------

    def chains(self) -> None:
        from tuf_ceremony.files import read_bytes
        from tuf_ceremony.words import digest_words, group_hex

        names = self.top(".jsonl")
        if not names:
            self.add("chain", FAIL, ".", None, "no transcript (*.jsonl) in the record")
        for name in names:
            chain: ChainResult = check_chain(read_bytes(self.dir / name, "transcript"))
            self.report.transcripts.append(TranscriptSummary(name, len(chain.entries), chain.head, chain.ok))
            for problem in chain.problems[:_MAX_CHAIN_PROBLEMS]:
                self.add("chain", FAIL, name, problem.step, problem.message)
            if len(chain.problems) > _MAX_CHAIN_PROBLEMS:
                self.add(
                    "chain", FAIL, name, None, f"and {len(chain.problems) - _MAX_CHAIN_PROBLEMS} more broken links"
                )
            if chain.ok:
                self.add(
                    "chain",
                    PASS,
                    name,
                    None,
                    f"chain of {len(chain.entries)} record(s) unbroken; last record hash "
                    f"{group_hex(chain.head[:16])} ({' '.join(digest_words(chain.head, 4))})"
                    ": compare it with the run sheet",
                )
            self.steps += [_Step(name, e) for e in chain.entries]
        self.shared_records()

    def shared_records(self) -> None:
        """A record is one run on one machine: the same record in two
        transcripts is a transcript copied or forked from another machine's
        (a signing machine borrowing another's pre-flight, say)."""
        first: dict[str, _Step] = {}
        reported: set[tuple[str, str]] = set()
        for s in self.steps:
            other = first.setdefault(s.entry.hash, s)
            if other.file == s.file or (other.file, s.file) in reported:
                continue
            reported.add((other.file, s.file))
            self.add(
                "chain",
                FAIL,
                s.file,
                s.local,
                f"is also {other.name}: two transcripts claim the same machine's records "
                "(one was copied or forked from the other)",
            )

    def successful(self, *commands: str) -> list[_Step]:
        return [s for s in self.steps if s.ok and s.entry.command in commands]

    # -- the request -------------------------------------------------------

    def documents(self) -> tuple[list[str], list[str]]:
        requests: list[str] = []
        bundles: list[str] = []
        for rel in self.top(".json"):
            if rel.endswith(".preflight.json"):
                continue
            try:
                doc = self.load(rel)
            except CeremonyError as e:
                self.add("flow", WARN, rel, None, f"not read: {e}")
                continue
            fmt = doc.get("format") if isinstance(doc, dict) else None
            if fmt == "tuf-ceremony/signing-request":
                requests.append(rel)
            elif fmt == "tuf-ceremony/signature-bundle":
                bundles.append(rel)
        return requests, bundles

    def run(self) -> AuditReport:
        from tuf_ceremony.request import load_request

        self.inventory()
        self.chains()
        requests, bundle_files = self.documents()
        if len(requests) != 1:
            what = "no signing request" if not requests else f"{len(requests)} signing requests ({', '.join(requests)})"
            self.add("flow", FAIL, ".", None, f"the record holds {what}; expected exactly one")
            return self.report
        req_file = requests[0]
        try:
            request = load_request(self.dir / req_file)
        except CeremonyError as e:
            self.add("flow", FAIL, req_file, None, f"not a valid signing request: {e}")
            return self.report
        self.report.request_id = request.request_id
        req_sha = self.sha[req_file]
        self.check_prepare(req_file, req_sha, request)
        from tuf_ceremony.review import review_digest

        expected_review = review_digest(request)
        sign_outputs = self.check_signs(req_file, req_sha, expected_review)
        bundles = self.check_bundles(bundle_files, sign_outputs, request, expected_review)
        merged = self.check_merge(req_file, req_sha, sign_outputs)
        self.check_metadata(request, bundles, merged)
        self.check_repository(request)
        self.check_verify(merged)
        self.check_preflight()
        self.check_tools()
        return self.report

    def check_prepare(self, req_file: str, req_sha: str, request: Any) -> None:
        writers = [
            s
            for s in self.successful("prepare", "rotate", "import rstuf")
            if req_sha in s.entry.digests("outputs", "out")
        ]
        if not writers:
            self.add(
                "flow", FAIL, req_file, None, f"was not written by any recorded prepare step (SHA-256 {req_sha[:16]})"
            )
            return
        step = writers[0]
        self.add("flow", PASS, req_file, step.name, "written by this prepare step")
        if step.entry.command != "prepare":
            self.add(
                "replay", WARN, req_file, step.name, f"made by {step.entry.command}, not from a plan: not replayed"
            )
            return
        self.replay(req_file, step, request)

    def replay(self, req_file: str, step: _Step, request: Any) -> None:
        from tuf_ceremony.plan import load_plan
        from tuf_ceremony.prepare import prepare_from_plan
        from tuf_ceremony.timeutil import parse_at
        from tuf_ceremony.trusted import load_trusted

        args = step.entry.doc.get("arguments", {})
        plan_digests = step.entry.digests("inputs", "plan")
        plan_file = self.find(plan_digests[0]) if plan_digests else None
        if plan_file is None:
            self.add(
                "replay",
                FAIL,
                req_file,
                step.name,
                "the plan this prepare read is not in the record (no file with its SHA-256)",
            )
            return
        at = args.get("at")
        if not isinstance(at, str):
            self.add("replay", FAIL, req_file, step.name, "the record holds no preparation time")
            return
        with tempfile.TemporaryDirectory(prefix="tuf-ceremony-audit-") as tmp:
            try:
                state = None
                if args.get("trusted") is not None:
                    trusted_dir = self.trusted_copy(step, Path(tmp))
                    if trusted_dir is None:
                        return
                    state = load_trusted(trusted_dir)
                plan = load_plan(self.dir / plan_file)
                replayed = prepare_from_plan(plan, parse_at(at), state)
            except (CeremonyError, ValueError) as e:
                self.add("replay", FAIL, plan_file, step.name, f"prepare cannot be replayed: {e}")
                return
            except Exception as e:  # noqa: BLE001 - hostile input may break python-tuf anywhere
                self.add("replay", FAIL, plan_file, step.name, f"prepare cannot be replayed: {type(e).__name__}: {e}")
                return
        if replayed.request_id != request.request_id:
            self.add(
                "replay",
                FAIL,
                req_file,
                step.name,
                f"does not follow from {plan_file}: prepare replayed at {at} gives request "
                f"{replayed.request_id[:16]}, the record holds {request.request_id[:16]}",
            )
        else:
            self.add(
                "replay",
                PASS,
                req_file,
                step.name,
                f"follows from {plan_file}: prepare replayed at {at} gives the same "
                f"request id {request.request_id[:16]}",
            )

    def trusted_copy(self, step: _Step, tmp: Path) -> Path | None:
        """The trusted metadata prepare read, rebuilt from the record's files
        with the names and digests its transcript recorded."""
        entries = step.entry.files("inputs", "trusted")
        listed = entries[0].get("files") if entries else None
        if not isinstance(listed, list) or not listed:
            self.add(
                "replay",
                FAIL,
                ".",
                step.name,
                "prepare read trusted metadata, but its files are not listed in the record",
            )
            return None
        out = tmp / "trusted"
        out.mkdir()
        for f in listed:
            name, digest = f.get("name"), f.get("sha256")
            if not isinstance(name, str) or not _SAFE_NAME.match(name) or not isinstance(digest, str):
                self.add("replay", FAIL, ".", step.name, "malformed trusted file entry")
                return None
            rel = self.find(digest, "trusted/") or self.find(digest, "repository/")
            if rel is None:
                self.add(
                    "replay",
                    FAIL,
                    ".",
                    step.name,
                    f"the trusted file {name} prepare read (SHA-256 {digest[:16]}) is not in repository/ or trusted/",
                )
                return None
            shutil.copyfile(self.dir / rel, out / name)
        return out

    # -- signing -------------------------------------------------------------

    def check_signs(self, req_file: str, req_sha: str, expected: str) -> set[str]:
        """Check every successful sign step; returns the digests of the
        bundles they wrote."""
        outputs: set[str] = set()
        signs = self.successful("sign")
        if not signs:
            self.add("flow", FAIL, ".", None, "no successful sign step is recorded")
        for s in signs:
            read = s.entry.digests("inputs", "request_file")
            if req_sha not in read:
                self.add(
                    "flow",
                    FAIL,
                    s.file,
                    s.local,
                    f"signed a request (SHA-256 {read[0][:16] if read else 'none'}) that "
                    f"is not {req_file}, the one prepare wrote",
                )
            else:
                self.add("flow", PASS, s.file, s.local, f"signed {req_file}")
            wrote = s.entry.digests("outputs", "out")
            for d in wrote:
                outputs.add(d)
                if self.find(d) is None:
                    self.add(
                        "flow",
                        FAIL,
                        s.file,
                        s.local,
                        f"the bundle this step wrote (SHA-256 {d[:16]}) is not in the record",
                    )
            shown = s.entry.doc.get("review_digest")
            if shown is None:
                self.add("review", FAIL, s.file, s.local, "records no review digest")
            elif shown != expected:
                self.add(
                    "review",
                    FAIL,
                    s.file,
                    s.local,
                    f"review digest {str(shown)[:16]} does not match the review this tool "
                    f"renders from {req_file} ({expected[:16]})",
                )
            else:
                self.add(
                    "review", PASS, s.file, s.local, "review digest matches the review re-rendered from the request"
                )
        return outputs

    def check_bundles(self, files: list[str], sign_outputs: set[str], request: Any, expected: str) -> list[Any]:
        from tuf_ceremony.bundle import load_bundle

        good: list[Any] = []
        if not files:
            self.add("flow", FAIL, ".", None, "the record holds no signature bundle")
        for rel in files:
            try:
                bundle = load_bundle(self.dir / rel)
            except CeremonyError as e:
                self.add("flow", FAIL, rel, None, f"not a valid bundle: {e}")
                continue
            ok = True
            if self.sha[rel] not in sign_outputs:
                self.add(
                    "flow", FAIL, rel, None, "was not written by any recorded sign step (replaced, swapped or added)"
                )
                ok = False
            if bundle.request_id != request.request_id:
                self.add("flow", FAIL, rel, None, f"is for another request ({bundle.request_id[:16]})")
                ok = False
            if bundle.review_digest is None:
                self.add("review", FAIL, rel, None, "carries no review digest")
            elif bundle.review_digest != expected:
                self.add(
                    "review",
                    FAIL,
                    rel,
                    None,
                    f"review digest {bundle.review_digest[:16]} does not match the review "
                    f"this tool renders from the request ({expected[:16]}): what the "
                    "keyholder was shown is not this request's review",
                )
            else:
                self.add("review", PASS, rel, None, "review digest matches the request's review")
            if ok:
                good.append(bundle)
        return good

    def check_merge(self, req_file: str, req_sha: str, sign_outputs: set[str]) -> set[str]:
        merges = self.successful("merge")
        if not merges:
            self.add("flow", FAIL, ".", None, "no successful merge step is recorded")
            return set()
        written: set[str] = set()
        for m in merges:
            if req_sha not in m.entry.digests("inputs", "request_file"):
                self.add("flow", FAIL, m.file, m.local, f"did not merge {req_file}")
            foreign = [d for d in m.entry.digests("inputs", "bundles") if d not in sign_outputs]
            for d in foreign:
                self.add(
                    "flow",
                    FAIL,
                    m.file,
                    m.local,
                    f"merged a bundle (SHA-256 {d[:16]}) that no recorded sign step wrote",
                )
            if not foreign:
                self.add("flow", PASS, m.file, m.local, "merged only bundles written by the recorded sign steps")
            written |= set(m.entry.digests("outputs", "out"))
        return written

    def check_metadata(self, request: Any, bundles: list[Any], merged: set[str]) -> None:
        from tuf.api.metadata import Metadata

        in_bundles = {(s.role, s.keyid, s.sig) for b in bundles for s in b.signatures}
        for payload in request.payloads:
            rel = f"repository/{payload.version}.{payload.role}.json"
            if rel not in self.sha:
                self.add("signatures", FAIL, rel, None, f"missing: the merged {payload.role} version {payload.version}")
                continue
            if self.sha[rel] not in merged:
                self.add("flow", FAIL, rel, None, "was not written by the recorded merge step")
            try:
                md: Metadata[Any] = Metadata.from_bytes((self.dir / rel).read_bytes())
            except Exception as e:  # noqa: BLE001 - python-tuf raises many types for bad input
                self.add("signatures", FAIL, rel, None, f"not valid TUF metadata ({e})")
                continue
            if hashlib.sha256(md.signed_bytes).hexdigest() != payload.digest:
                self.add("signatures", FAIL, rel, None, "its signed content differs from the request's payload")
                continue
            verified, foreign = self._verified_signatures(request, payload, rel, md, in_bundles)
            met_all = self._thresholds_met(request, payload, rel, verified)
            if met_all and not foreign:
                self.add(
                    "signatures",
                    PASS,
                    rel,
                    None,
                    f"{len(verified)} signature(s), all from recorded bundles; thresholds met (distinct keys)",
                )

    def _verified_signatures(
        self, request: Any, payload: Any, rel: str, md: Any, in_bundles: set[tuple[str, str, str]]
    ) -> tuple[set[str], bool]:
        """The keyids whose signature on ``md`` verifies by an authorized key, and
        whether any signature comes from no recorded bundle (each a finding)."""
        from tuf_ceremony.signing import authorized_keys

        keys = authorized_keys(request, payload.role)
        verified: set[str] = set()
        foreign = False
        for kid, sig in md.signatures.items():
            if (payload.role, kid, sig.signature) not in in_bundles:
                self.add(
                    "signatures",
                    FAIL,
                    rel,
                    None,
                    f"the signature by keyid {str(kid)[:16]} does not come from any recorded bundle for this request",
                )
                foreign = True
                continue
            key = keys.get(kid)
            try:
                if key is None:
                    raise ValueError("key not authorized")
                key.verify_signature(sig, md.signed_bytes)
            except Exception:  # noqa: BLE001 - any failure: the signature does not count
                self.add("signatures", FAIL, rel, None, f"the signature by keyid {str(kid)[:16]} does not verify")
                continue
            verified.add(kid)
        return verified, foreign

    def _thresholds_met(self, request: Any, payload: Any, rel: str, verified: set[str]) -> bool:
        """Whether ``verified`` meets every threshold the payload needs, counted
        by distinct keys (a finding for each one not met)."""
        from tuf_ceremony.keys import public_der
        from tuf_ceremony.policy import evaluate_threshold

        met_all = True
        for label, keyids, threshold, all_keys in _threshold_sets(request, payload.role):
            material: dict[str, bytes | None] = {}
            for kid in keyids:
                try:
                    material[kid] = public_der(all_keys[kid]) if kid in all_keys else None
                except ValueError:
                    material[kid] = None
            res = evaluate_threshold(label, keyids, threshold, material, verified)
            if not res.met:
                met_all = False
                self.add(
                    "signatures",
                    FAIL,
                    rel,
                    None,
                    f"{label} threshold not met: {len(res.signed)} of {threshold} distinct keys signed",
                )
        return met_all

    def check_repository(self, request: Any) -> None:
        """Every file under repository/ was written by the recorded merge or
        read as trusted metadata by the recorded prepare: nothing else (an
        extra root version a client would pick up) rides along unaudited."""
        known: set[tuple[str, str]] = set()
        for s in self.successful("merge"):
            known |= _named_digests(s.entry.files("outputs", "out"))
        for s in self.successful("prepare", "rotate", "import rstuf"):
            known |= _named_digests(s.entry.files("inputs", "trusted"))
        payloads = {f"repository/{p.version}.{p.role}.json" for p in request.payloads}
        for rel in sorted(self.sha):
            if (
                not rel.startswith("repository/")
                or rel in payloads
                or (rel.removeprefix("repository/"), self.sha[rel]) in known
            ):
                continue  # (the payloads are judged by check_metadata)
            self.add(
                "flow",
                FAIL,
                rel,
                None,
                "is in repository/, but no recorded merge wrote it and no recorded prepare read it as trusted metadata",
            )

    def check_verify(self, merged: set[str]) -> None:
        runs = [s for s in self.successful("verify") if merged & set(s.entry.digests("inputs", "directory"))]
        if runs:
            self.add("flow", PASS, runs[-1].file, runs[-1].local, "verified the merged metadata")
        else:
            self.add("flow", WARN, ".", None, "no successful verify of the merged metadata is recorded")

    # -- pre-flight ------------------------------------------------------------

    def check_preflight(self) -> None:
        written: set[str] = set()
        for s in self.steps:
            if s.entry.command == "preflight":
                written |= set(s.entry.digests("outputs", "out"))
        for rel in self.top(".preflight.json"):
            if self.sha[rel] not in written:
                self.add("preflight", FAIL, rel, None, "was not written by any recorded preflight step")
        # every machine that signed must have one; the machines that prepared
        # or merged should (a warning when they have none)
        work = self.successful("sign", "prepare", "rotate", "import rstuf", "merge")
        signers = {s.file for s in work if s.entry.command == "sign"}
        for machine in sorted({s.file for s in work}):
            first = min((s for s in work if s.file == machine), key=lambda s: s.entry.seq)
            before = [s for s in self.successful("preflight") if s.file == machine and s.entry.seq < first.entry.seq]
            missing = FAIL if machine in signers else WARN
            if not before:
                self.add("preflight", missing, machine, None, f"no successful pre-flight before {first.local}")
                continue
            step = before[-1]
            found = self._preflight_result(machine, step, missing)
            if found is not None:
                self._judge_preflight(machine, first, step, *found)

    def _preflight_result(self, machine: str, step: _Step, missing: str) -> tuple[str, dict[str, Any]] | None:
        """The recorded result (--out) of ``step`` on ``machine`` when it is a
        complete pre-flight result; else None (a finding)."""
        from tuf_ceremony.evidence.preflight import CHECKS, PREFLIGHT_FORMAT

        outs = step.entry.digests("outputs", "out")
        own = machine.removesuffix(".jsonl") + ".preflight.json"
        found = self.find(outs[0], prefer=own) if outs else None
        if found is None:
            self.add("preflight", missing, machine, step.local, "its result (--out) is not in the record")
            return None
        rel = found
        try:
            doc = self.load(rel)
        except CeremonyError as e:
            self.add("preflight", FAIL, rel, step.name, str(e))
            return None
        if (
            not isinstance(doc, dict)
            or doc.get("format") != PREFLIGHT_FORMAT
            or not isinstance(doc.get("checks"), list)
        ):
            self.add("preflight", FAIL, rel, step.name, "not a pre-flight result")
            return None
        checks = [c for c in doc["checks"] if isinstance(c, dict)]
        absent = [n for n in CHECKS if n not in {c.get("name") for c in checks}]
        odd = [c for c in checks if c.get("status") not in ("pass", "fail", "accepted", "info")]
        if absent or odd or len(checks) != len(doc["checks"]):
            what = f"lacks the check(s) {', '.join(absent)}" if absent else "holds a check of unknown status"
            self.add("preflight", FAIL, rel, step.name, f"not a complete pre-flight result: it {what}")
            return None
        return rel, doc

    def _judge_preflight(self, machine: str, first: _Step, step: _Step, rel: str, doc: dict[str, Any]) -> None:
        """Findings for a complete pre-flight result: its failures, accepted
        failures, and the tool installation against the transcript's."""
        checks = doc["checks"]
        failed = [c for c in checks if c.get("status") == "fail"]
        accepted = [c for c in checks if c.get("status") == "accepted"]
        for c in failed:
            self.add("preflight", FAIL, rel, step.name, f"unaccepted failure: {c.get('name')}: {c.get('summary')}")
        for c in accepted:
            self.add(
                "preflight",
                WARN,
                rel,
                step.name,
                f"failure accepted by the operator: {c.get('name')}: {c.get('summary')}",
            )
        tool = doc.get("tool")
        fp = tool.get("fingerprint") if isinstance(tool, dict) else None
        if fp != step.entry.doc.get("tool", {}).get("fingerprint"):
            self.add("preflight", FAIL, rel, step.name, "its tool fingerprint differs from the transcript's")
        later = [
            s
            for s in self.steps
            if s.file == machine and s.entry.seq > step.entry.seq and _fingerprint(s.entry) != _fingerprint(step.entry)
        ]
        for s in later:
            self.add(
                "preflight",
                FAIL,
                machine,
                s.local,
                "ran another tool installation than the one the pre-flight "
                f"fingerprinted ({str(_fingerprint(s.entry))[:16]}, pre-flight "
                f"{str(_fingerprint(step.entry))[:16]})",
            )
        if not failed and not later:
            self.add(
                "preflight",
                PASS,
                rel,
                step.name,
                f"pre-flight of {machine} before {first.local}: no unaccepted failure, and "
                "the same tool ran every later step",
            )

    def check_tools(self) -> None:
        prints: dict[str, set[str]] = {}
        for s in self.steps:
            tool = s.entry.doc.get("tool")
            fp = tool.get("fingerprint") if isinstance(tool, dict) else None
            if isinstance(fp, str):
                prints.setdefault(fp, set()).add(s.file)
        if len(prints) > 1:
            parts = "; ".join(f"{fp[:16]} on {', '.join(sorted(files))}" for fp, files in sorted(prints.items()))
            self.add("tool", WARN, ".", None, f"the machines ran different tool installations: {parts}")
        elif prints:
            fp = next(iter(prints))
            self.add("tool", PASS, ".", None, f"every record names the tool fingerprint {fp[:16]}")


def _named_digests(entries: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(name, SHA-256) of each file recorded: a file argument by its base
    name, a directory's files by their names inside it."""
    out: set[tuple[str, str]] = set()
    for f in entries:
        if f.get("type") == "file" and isinstance(f.get("path"), str) and isinstance(f.get("sha256"), str):
            out.add((Path(f["path"]).name, f["sha256"]))
        subs = f.get("files")
        for sub in subs if isinstance(subs, list) else []:
            if isinstance(sub, dict) and isinstance(sub.get("name"), str) and isinstance(sub.get("sha256"), str):
                out.add((sub["name"], sub["sha256"]))
    return out


def _fingerprint(entry: Entry) -> object:
    tool = entry.doc.get("tool")
    return tool.get("fingerprint") if isinstance(tool, dict) else None


def _threshold_sets(request: Any, role: str) -> list[tuple[str, list[str], int, dict[str, Any]]]:
    """(label, keyids, threshold, keys) of each threshold a payload must meet."""
    new_root = request.new_root
    sets = [
        (
            role if request.trusted_root is None or role != "root" else "new root",
            list(new_root.roles[role].keyids),
            new_root.roles[role].threshold,
            dict(new_root.keys),
        )
    ]
    if role == "root" and request.trusted_root is not None:
        old = request.trusted_root.signed
        sets.insert(0, ("old root", list(old.roles["root"].keyids), old.roles["root"].threshold, dict(old.keys)))
    return sets


def audit_record(directory: Path) -> AuditReport:
    """Audit the ceremony record in ``directory``; never raises for what it
    finds (see :class:`AuditReport`), only for an unreadable directory."""
    if not directory.is_dir():
        raise InputError("is not a directory (expected a ceremony record folder)", source=str(directory))
    audit = _Audit(directory)
    try:
        return audit.run()
    except CeremonyError:
        raise
    except Exception as e:  # noqa: BLE001 - a shape no check foresaw: a failure, never a crash
        audit.add("flow", FAIL, ".", None, f"the record could not be audited further: {type(e).__name__}: {e}")
        return audit.report
