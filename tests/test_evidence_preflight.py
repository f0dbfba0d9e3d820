"""Pre-flight checks: the air gap read from fake /sys and /proc trees (pass,
fail, accepted), the clock, the tool's fingerprint; and ``tuf-ceremony
preflight`` on this machine, whose network is up."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.fixtures_core import run_cli
from tuf_ceremony.evidence.fingerprint import compute_fingerprint, tool_fingerprint
from tuf_ceremony.evidence.preflight import (
    PreflightResult,
    check_clock,
    check_interfaces,
    parse_expect_time,
    run_preflight,
    time_in_words,
)

NOW = datetime(2026, 12, 1, 9, 4, 12, tzinfo=UTC)
ROUTE_HEADER = "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"


def fake_machine(
    root: Path, *, eth_up: bool, default_v4: bool, default_v6: bool, wifi_blocked: bool
) -> tuple[Path, Path]:
    """A /sys and a /proc tree as Linux shows them."""
    sys_root, proc_root = root / "sys", root / "proc"
    for name, state, flags in (
        ("lo", "unknown", "0x9"),
        ("eth0", "up" if eth_up else "down", "0x1003" if eth_up else "0x1002"),
        ("wlan0", "down", "0x1002"),
    ):
        d = sys_root / "class" / "net" / name
        d.mkdir(parents=True)
        (d / "operstate").write_text(state + "\n")
        (d / "flags").write_text(flags + "\n")
    for i, (kind, name, soft) in enumerate(
        (("wlan", "phy0", "1" if wifi_blocked else "0"), ("bluetooth", "hci0", "1"))
    ):
        d = sys_root / "class" / "rfkill" / f"rfkill{i}"
        d.mkdir(parents=True)
        for f, v in (("type", kind), ("name", name), ("soft", soft), ("hard", "0")):
            (d / f).write_text(v + "\n")
    net = proc_root / "net"
    net.mkdir(parents=True)
    routes = ROUTE_HEADER + "eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
    if default_v4:
        routes += "eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n"
    (net / "route").write_text(routes)
    v6 = [
        # the reject route every Linux keeps on lo: not a way out
        "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo",
        "fe800000000000000000000000000000 40 00000000000000000000000000000000 00 "
        "00000000000000000000000000000000 00000100 00000002 00000000 00000001     eth0",
    ]
    if default_v6:
        v6.append(
            "00000000000000000000000000000000 00 00000000000000000000000000000000 00 "
            "fd000000000000000000000000000001 00000400 00000002 00000000 00000003     eth0"
        )
    (net / "ipv6_route").write_text("\n".join(v6) + "\n")
    return sys_root, proc_root


def _run(
    sys_root: Path, proc_root: Path, accept: frozenset[str] = frozenset(), expect: datetime | None = None
) -> PreflightResult:
    return run_preflight(
        now=NOW,
        fingerprint=tool_fingerprint(),
        tool_version="0.1.0",
        python="3.11.0",
        hostname="signing-laptop",
        sys_root=sys_root,
        proc_root=proc_root,
        expect_time=expect,
        accept=accept,
    )


def test_air_gapped_machine_passes(tmp_path: Path) -> None:
    s, p = fake_machine(tmp_path, eth_up=False, default_v4=False, default_v6=False, wifi_blocked=True)
    res = _run(s, p, expect=NOW - timedelta(seconds=30))
    assert res.ok
    status = {c.name: c.status for c in res.checks}
    assert status == {
        "network": "pass",
        "route": "pass",
        "radio": "pass",
        "clock": "pass",
        "tool": "pass",
        "pkcs11": "info",
    }
    assert res.check("radio").summary == "every radio is blocked (2 reported)"


def test_connected_machine_fails_each_check(tmp_path: Path) -> None:
    s, p = fake_machine(tmp_path, eth_up=True, default_v4=True, default_v6=True, wifi_blocked=False)
    res = _run(s, p)
    assert not res.ok
    failed = {c.name: c.summary for c in res.failed}
    assert failed == {
        "network": "network interface(s) up: eth0",
        "route": "IPv4 default route via eth0; IPv6 default route via eth0",
        "radio": "radio(s) not blocked: wlan (phy0)",
    }


def test_accepted_failures_are_recorded_as_accepted(tmp_path: Path) -> None:
    s, p = fake_machine(tmp_path, eth_up=True, default_v4=False, default_v6=True, wifi_blocked=True)
    res = _run(s, p, accept=frozenset({"network", "route"}))
    assert res.ok
    doc = res.to_dict()
    assert doc["accepted"] == ["network", "route"]
    assert {c["name"]: c["status"] for c in doc["checks"]}["route"] == "accepted"
    with pytest.raises(Exception, match="unknown check 'wifi'"):
        _run(s, p, accept=frozenset({"wifi"}))


def test_no_rfkill_and_no_ipv6_pass_missing_net_fails(tmp_path: Path) -> None:
    s, p = fake_machine(tmp_path, eth_up=False, default_v4=False, default_v6=False, wifi_blocked=True)
    shutil.rmtree(s / "class" / "rfkill")
    (p / "net" / "ipv6_route").unlink()
    res = _run(s, p)
    assert res.ok
    assert "no radio switch" in res.check("radio").summary
    shutil.rmtree(s / "class" / "net")
    assert check_interfaces(s).status == "fail"


def test_interface_names_are_shown_literally(tmp_path: Path) -> None:
    d = tmp_path / "class" / "net" / "ev\x1b[2Jil"
    d.mkdir(parents=True)
    (d / "operstate").write_text("up")
    c = check_interfaces(tmp_path)
    assert c.status == "fail" and "ev\\x1b[2Jil" in c.summary


def test_clock_against_the_witness() -> None:
    assert check_clock(NOW, NOW + timedelta(seconds=100), 120).status == "pass"
    c = check_clock(NOW, NOW + timedelta(seconds=300), 120)
    assert c.status == "fail" and "300 s behind" in c.summary
    assert check_clock(NOW, None, 120).status == "info"
    # a time of day is taken on the nearest day, also across midnight
    late = datetime(2026, 12, 1, 23, 59, 30, tzinfo=UTC)
    assert parse_expect_time("00:00", late) == datetime(2026, 12, 2, tzinfo=UTC)
    assert parse_expect_time("09:04:10Z", NOW) == NOW - timedelta(seconds=2)
    assert parse_expect_time("2026-12-01T09:00:00Z", NOW) == NOW.replace(minute=0, second=0)
    with pytest.raises(ValueError):
        parse_expect_time("25:00", NOW)
    assert time_in_words(NOW) == (
        "nine hours, four minutes and twelve seconds UTC, Tuesday the first of December two thousand twenty-six"
    )
    assert "the twenty-second of" in time_in_words(datetime(2026, 1, 22, 1, 1, 1, tzinfo=UTC))


def test_fingerprint_is_stable_and_sees_one_changed_file(tmp_path: Path) -> None:
    import tuf_ceremony

    pkg = Path(tuf_ceremony.__file__).parent
    copy = tmp_path / "tuf_ceremony"
    shutil.copytree(pkg, copy, ignore=shutil.ignore_patterns("__pycache__"))
    a = compute_fingerprint(copy)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.cpython-311.pyc").write_bytes(b"bytecode differs per machine")
    assert compute_fingerprint(copy).digest == a.digest
    assert not a.problems
    assert {d.name for d in a.distributions} >= {
        "tuf-ceremony",
        "tuf",
        "securesystemslib",
        "cryptography",
        "click",
        "rich",
    }
    (copy / "words.py").write_text((copy / "words.py").read_text() + "# changed\n")
    assert compute_fingerprint(copy).digest != a.digest


def test_cli_on_this_machine_reports_the_network_and_fails(tmp_path: Path) -> None:
    from tuf_ceremony.evidence.preflight import check_radios, check_routes

    real = [
        c
        for c in (check_interfaces(Path("/sys")), check_routes(Path("/proc")), check_radios(Path("/sys")))
        if c.status == "fail"
    ]
    if not real:
        pytest.skip("this machine is air-gapped: nothing to report")
    r = run_cli("preflight", "--module", tmp_path / "missing.so")
    assert r.exit_code == 1
    for c in real:
        assert f"FAIL     {c.name}" in r.output
    assert "pre-flight failed:" in r.stderr
    assert "pkcs11" in r.stderr  # the --module that cannot be read

    module = tmp_path / "libtoken.so"
    module.write_bytes(b"module bytes")
    accept = [a for c in real for a in ("--accept", c.name)]
    out = tmp_path / "m.preflight.json"
    t = tmp_path / "m.jsonl"
    r = run_cli(
        "preflight",
        *accept,
        "--module",
        module,
        "--expect-time",
        datetime.now(UTC).strftime("%H:%M:%S"),
        "--out",
        out,
        "--transcript",
        t,
    )
    assert r.exit_code == 0, r.output
    for c in real:
        assert f"ACCEPTED {c.name}" in r.output
    assert "read aloud:" in r.output and "\u2588" in r.output  # the time shown large
    doc = json.loads(out.read_text())
    assert doc["ok"] is True and doc["accepted"] == [c.name for c in real]
    assert doc["pkcs11"] == [
        {"path": str(module.resolve()), "sha256": "5c073b6de205a83e4df87dcd07111be224ad4435a8c08ca0ba10e68dcf38fe92"}
    ]
    assert doc["tool"]["fingerprint"] == tool_fingerprint().digest
    rec = json.loads(t.read_text())
    assert rec["command"] == "preflight" and rec["details"]["accepted"] == doc["accepted"]
    assert rec["outputs"][0]["param"] == "out"

    r = run_cli("preflight", *accept, "--json", "--expect-time", "2020-01-01T00:00:00Z")
    assert r.exit_code == 1
    assert json.loads(r.stdout)["checks"][3]["status"] == "fail"
    r = run_cli("preflight", "--expect-time", "tea time")
    assert r.exit_code == 3 and "--expect-time" in r.stderr


def test_fingerprint_reads_record_files_and_leaves_out_machine_specific_ones(tmp_path: Path) -> None:
    import importlib.metadata as md

    from tuf_ceremony.evidence.fingerprint import _record_files

    site = tmp_path / "site-packages"
    info = site / "foo-1.0.dist-info"
    (site / "foo" / "__pycache__").mkdir(parents=True)
    info.mkdir()
    (site / "foo" / "__init__.py").write_text("x = 1\n")
    (site / "foo" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"pyc")
    (site / "foo-startup.pth").write_text("import foo\n")
    (info / "METADATA").write_text("Name: foo\nVersion: 1.0\n")
    (info / "INSTALLER").write_text("pip\n")
    (info / "RECORD").write_text(
        "\n".join(
            [
                "foo/__init__.py,,",
                "foo/__pycache__/__init__.cpython-311.pyc,,",
                "foo-startup.pth,,",
                "foo-1.0.dist-info/METADATA,,",
                "foo-1.0.dist-info/INSTALLER,,",
                "foo-1.0.dist-info/RECORD,,",
                "../../bin/foo,,",
                "foo/missing.py,,",
            ]
        )
        + "\n"
    )
    problems: list[str] = []
    files = _record_files(md.PathDistribution(info), "foo", problems)
    assert [name for name, _ in files] == ["foo-1.0.dist-info/METADATA", "foo-startup.pth", "foo/__init__.py"]
    assert problems == ["foo: installed file foo/missing.py is missing"]


def test_fingerprint_covers_the_interpreters_startup_hooks(tmp_path: Path) -> None:
    import tuf_ceremony

    pkg = Path(tuf_ceremony.__file__).parent
    site = tmp_path / "site-packages"
    site.mkdir()
    (site / "distutils-precedence.pth").write_text("import os\n")
    clean = compute_fingerprint(pkg, [site])
    hooks = next(d for d in clean.distributions if d.name == "(site start-up)")
    assert [n for n, _ in hooks.files] == ["site/distutils-precedence.pth"]
    (site / "zz-evil.pth").write_text("import evil\n")
    assert compute_fingerprint(pkg, [site]).digest != clean.digest
    (site / "zz-evil.pth").unlink()
    (site / "sitecustomize.py").write_text("import evil\n")
    assert compute_fingerprint(pkg, [site]).digest != clean.digest
