#!/usr/bin/env python3
"""virtsh against virsh on test:///default: a define + dumpxml + undefine command script run by
each tool as a fresh process, interleaved, reporting the ratio of medians.

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


def run(cmd, script):
    t = time.perf_counter()
    p = subprocess.run(cmd, input=script, capture_output=True, text=True)
    dt = time.perf_counter() - t
    if p.returncode != 0 or "<name>bench</name>" not in p.stdout:
        sys.exit(f"{cmd[0]} failed ({p.returncode}): {p.stderr.strip()}")
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
    with tempfile.TemporaryDirectory() as d:
        xml = os.path.join(d, "bench.xml")
        with open(xml, "w") as f:
            f.write(DOMAIN)
        script = f"define {xml}\ndumpxml bench\nundefine bench\n"
        ours, theirs = [], []
        for _ in range(a.runs):
            ours.append(run([a.virtsh, "-c", "test:///default"], script))
            theirs.append(run([virsh, "-c", "test:///default"], script))
    mo, mt = statistics.median(ours), statistics.median(theirs)
    print(f"define+dumpxml+undefine script on test:///default, {a.runs} interleaved runs")
    print(f"  virtsh median {mo * 1e3:.2f} ms")
    print(f"  virsh  median {mt * 1e3:.2f} ms")
    print(f"  ratio virsh/virtsh = {mt / mo:.1f}x (target >= 20x)")


if __name__ == "__main__":
    main()
