#!/usr/bin/env python3
"""virtsh against virsh on test:///default: a define + dumpxml + undefine command script run by
each tool as a fresh process (`TOOL -c test:///default < script > out`), interleaved, reporting the ratio of medians. It also times `true`
(a process that does nothing) the same way: virsh's time over that is the highest ratio any
program started as a process can reach on this machine.

Run by hand (not in CI), after `cargo build --release -p virt-facade`:
    python3 benches/scripts/virtsh_vs_virsh.py [--runs N] [--virtsh PATH]
Needs Debian's libvirt-clients for `virsh`.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

DOMAIN = """<domain type='test'>
  <name>bench</name>
  <uuid>0b7d5e4c-6a52-4d5b-9b0c-5f7d6c1e2a31</uuid>
  <memory unit='MiB'>256</memory>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <devices>
    <disk type='file' device='disk'>
      <source file='/var/lib/images/bench.raw'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <interface type='ethernet'>
      <mac address='52:54:00:12:34:56'/>
      <model type='virtio'/>
    </interface>
    <serial type='pty'/>
  </devices>
</domain>
"""


def run(cmd, script_path, out_path, check=True):
    """One run as an operator types it, `CMD < script > out 2> err`, started with posix_spawn
    (the cheapest way to start a process, so the measurement adds as little as it can to either
    tool); the output is checked afterwards."""
    with open(script_path) as inp, open(out_path, "w+") as out, tempfile.TemporaryFile() as err:
        actions = [
            (os.POSIX_SPAWN_DUP2, inp.fileno(), 0),
            (os.POSIX_SPAWN_DUP2, out.fileno(), 1),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        t = time.perf_counter()
        pid = os.posix_spawn(cmd[0], cmd, os.environ, file_actions=actions)
        _, status = os.waitpid(pid, 0)
        dt = time.perf_counter() - t
        out.seek(0)
        text = out.read()
        err.seek(0)
        msg = err.read().decode(errors="replace").strip()
    code = os.waitstatus_to_exitcode(status)
    if check and (code != 0 or "<name>bench</name>" not in text):
        sys.exit(f"{cmd[0]} failed ({code}): {msg}")
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=11)
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    default_virtsh = os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "virtsh"
    )
    ap.add_argument("--virtsh", default=default_virtsh)
    a = ap.parse_args()
    if a.runs < 5:
        sys.exit("--runs must be at least 5")
    virsh = shutil.which("virsh")
    if not virsh:
        sys.exit("virsh not found: apt-get install libvirt-clients")
    if not os.access(a.virtsh, os.X_OK):
        sys.exit(f"{a.virtsh} not found: cargo build --release -p virt-facade")
    true = shutil.which("true") or "/bin/true"
    with tempfile.TemporaryDirectory() as d:
        xml = os.path.join(d, "bench.xml")
        with open(xml, "w") as f:
            f.write(DOMAIN)
        script = os.path.join(d, "script.txt")
        with open(script, "w") as f:
            f.write(f"define {xml}\ndumpxml bench\nundefine bench\n")
        out = os.path.join(d, "out.txt")
        ours, theirs, floor = [], [], []
        for _ in range(a.runs):
            ours.append(run([a.virtsh, "-c", "test:///default"], script, out))
            theirs.append(run([virsh, "-c", "test:///default"], script, out))
            floor.append(run([true], script, out, check=False))
    mo, mt, mf = statistics.median(ours), statistics.median(theirs), statistics.median(floor)
    print(f"define+dumpxml+undefine script on test:///default, {a.runs} interleaved runs")
    print(f"  virtsh median {mo * 1e3:.2f} ms")
    print(f"  virsh  median {mt * 1e3:.2f} ms")
    print(f"  true   median {mf * 1e3:.2f} ms (a process that does nothing)")
    print(f"  ratio virsh/virtsh = {mt / mo:.1f}x (target >= 20x)")
    print(f"  ceiling virsh/true = {mt / mf:.1f}x")


if __name__ == "__main__":
    main()
