"""The installers' numbers, measured in one run (Linux, as root):

    python installers/measure.py [--out build/measure] [--runs 7] [--skip-build]

1. installers/linux/build.sh (bundle, .deb with xz, .tar.xz), timed, then the same .deb
   packed with zstd (what the tests use);
2. sizes: the bundle folder, both .debs, the .tar.xz;
3. `apt-get install ./heard_*.deb` on a fresh Debian 12 minbase chroot (tests/installers/chroot.py):
   seconds and the packages it pulled;
4. start-up to the tray icon (`--exit-when-shown` prints "shown <s since the process began>")
   of the bundle next to the venv install (this interpreter's `heard`) and the bare PySide6
   tray floor (benchmarks/bare_tray.py), all in the same desktop session
   (benchmarks/startup.py's helpers), on the same demo profile, runs interleaved.
Prints a summary and writes OUT/measurements.json.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.startup import FLAG, FLOOR, Run, measure  # noqa: E402
from tests.installers.chroot import Chroot, base_tarball  # noqa: E402
from tests.support.desktop import DesktopSession  # noqa: E402


def _mb(path: Path) -> float:
    if path.is_dir():
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    else:
        size = path.stat().st_size
    return round(size / 2**20, 1)


def build(out: Path) -> dict[str, Any]:
    env = {**os.environ, "PYTHON": sys.executable, "DEB_COMPRESS": "xz"}
    env.pop("DISPLAY", None)
    started = time.monotonic()
    r = subprocess.run(["bash", str(ROOT / "installers/linux/build.sh"), str(out)], env=env,
                       capture_output=True, text=True, check=False)
    total = time.monotonic() - started
    if r.returncode:
        raise SystemExit(f"build.sh failed:\n{r.stdout}\n{r.stderr[-4000:]}")
    print(r.stdout, end="")
    return {"build_total_s": round(total, 1), "build_log": r.stdout.splitlines()}


def zstd_deb(out: Path, version: str) -> tuple[Path, float]:
    target = out / "zstd"
    started = time.monotonic()
    deb = subprocess.run(
        ["bash", str(ROOT / "installers/linux/build-deb.sh"), str(out / "dist/heard"), version,
         str(target), str(out / "icons")], env={**os.environ, "DEB_COMPRESS": "zstd"},
        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1]
    return Path(deb), time.monotonic() - started


def install(deb: Path, where: Path) -> dict[str, Any]:
    tarball, bootstrap_s = base_tarball()
    with Chroot.fresh(where / "root", tarball) as root:
        shutil.copy(deb, root.path("/tmp/heard.deb"))
        root.run(["apt-get", "update", "-q"], check=True)
        before = root.installed()
        started = time.monotonic()
        r = root.run(["apt-get", "install", "-y", "-q", "--no-install-recommends",
                      "/tmp/heard.deb"], timeout=900)
        took = time.monotonic() - started
        if r.returncode:
            raise SystemExit(f"apt-get install failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
        pulled = sorted(root.installed() - before)
        du = root.run(["du", "-sm", "/opt/heard"]).stdout.split()[0]
    return {"debootstrap_s": round(bootstrap_s, 1), "install_s": round(took, 1),
            "packages_pulled": pulled, "installed_opt_heard_mb": int(du)}


def startup(bundle: Path, runs: int) -> dict[str, Any]:
    time_bin = "/usr/bin/time"
    if not Path(time_bin).exists():
        raise SystemExit("GNU time is needed: apt-get install -y time")
    venv_heard = Path(sys.executable).with_name("heard")
    with tempfile.TemporaryDirectory(prefix="heard-measure-") as tmp:
        profile = Path(tmp) / "demo"
        commands = {
            "floor": [sys.executable, str(FLOOR), FLAG],
            "venv": [str(venv_heard), "--profile", str(profile), FLAG],
            "bundle": [str(bundle / "heard"), "--profile", str(profile), FLAG],
        }
        results: dict[str, list[Run]] = {name: [] for name in commands}
        with DesktopSession("xembed") as desk:
            made = subprocess.run([str(venv_heard), "demo", "--no-generator", "--profile",
                                   str(profile), FLAG], env=desk.env, capture_output=True,
                                  text=True, timeout=120, check=False)
            if made.returncode:
                raise SystemExit(f"heard demo failed: {made.stderr}")
            for i in range(runs + 1):          # the first round warms the caches
                for name, cmd in commands.items():
                    run = measure(desk, time_bin, cmd, f"w{i}" if i == 0 else str(i), 60)
                    if i:
                        results[name].append(run)
                    time.sleep(0.3)
    summary: dict[str, Any] = {}
    for name, found in results.items():
        shown = [r.shown_s for r in found if r.ok and r.shown_s is not None]
        rss = [r.max_rss_mib for r in found if r.ok and r.max_rss_mib is not None]
        failed = [r.error for r in found if not r.ok]
        summary[name] = {"shown_s": shown,
                         "median_shown_s": round(statistics.median(shown), 3) if shown else None,
                         "median_rss_mib": round(statistics.median(rss), 1) if rss else None,
                         "failed": failed}
    b, v = summary["bundle"]["median_shown_s"], summary["venv"]["median_shown_s"]
    summary["bundle_over_venv"] = round(b / v, 2) if b and v else None
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "measure")
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--skip-build", action="store_true",
                        help="measure what OUT holds from an earlier run")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root (the install is measured in a chroot)")
    out = args.out.resolve()
    numbers: dict[str, Any] = {}
    if not args.skip_build:
        numbers.update(build(out))
    version = subprocess.run([sys.executable, "-c", "from importlib.metadata import version;"
                              " print(version('heard'))"], capture_output=True, text=True,
                             check=True).stdout.strip()
    deb_xz = next(out.glob("heard_*.deb"))
    deb_zstd, zstd_s = zstd_deb(out, version)
    tarball = next(out.glob("heard-*-linux-*.tar.xz"))
    numbers.update({"version": version, "bundle_mb": _mb(out / "dist/heard"),
                    "deb_xz_mb": _mb(deb_xz), "deb_zstd_mb": _mb(deb_zstd),
                    "deb_zstd_s": round(zstd_s, 1), "tar_xz_mb": _mb(tarball)})
    with tempfile.TemporaryDirectory(prefix="heard-measure-chroot-") as tmp:
        numbers.update(install(deb_xz, Path(tmp)))
    numbers["startup"] = startup(out / "dist/heard", args.runs)
    (out / "measurements.json").write_text(json.dumps(numbers, indent=2) + "\n")
    s = numbers["startup"]
    print(f"\nbundle {numbers['bundle_mb']} MB; .deb {numbers['deb_xz_mb']} MB (xz),"
          f" {numbers['deb_zstd_mb']} MB (zstd, packed in {numbers['deb_zstd_s']} s);"
          f" .tar.xz {numbers['tar_xz_mb']} MB")
    print(f"install on Debian 12 minbase: {numbers['install_s']} s,"
          f" {len(numbers['packages_pulled'])} packages: {' '.join(numbers['packages_pulled'])}")
    print(f"start to tray icon (median of {args.runs}): floor {s['floor']['median_shown_s']} s,"
          f" venv {s['venv']['median_shown_s']} s, bundle {s['bundle']['median_shown_s']} s"
          f" -> bundle/venv {s['bundle_over_venv']}x; RSS venv {s['venv']['median_rss_mib']}"
          f" MiB, bundle {s['bundle']['median_rss_mib']} MiB")
    print(f"written: {out / 'measurements.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
