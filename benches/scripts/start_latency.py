#!/usr/bin/env python3
"""Start-to-running latency of a minimal guest (one tap NIC, a pty serial) through virtsh on
qemu:///embed, against bare QEMU started with the same devices; interleaved runs, ratio of medians.

Run by hand as root (not in CI), after `cargo build --release -p virt-facade`:
    python3 benches/scripts/start_latency.py [--runs N] [--virtsh PATH] [--accel kvm|tcg]
virtsh: `start` returns once QEMU runs the guest (taps, cgroup, audit, QMP `cont` done).
bare:   QEMU launched with a QMP socket, until `query-status` says running.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

DOMAIN = """<domain type='{virt}'>
  <name>lat</name>
  <memory unit='MiB'>128</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <interface type='ethernet'><mac address='52:54:00:77:00:01'/><model type='virtio'/></interface>
    <serial type='pty'><target port='0'/></serial>
  </devices>
</domain>
"""


def qmp_running(path, deadline):
    while time.perf_counter() < deadline:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            f = s.makefile("rw")
            f.readline()
            for cmd in ({"execute": "qmp_capabilities"}, {"execute": "query-status"}):
                f.write(json.dumps(cmd) + "\n")
                f.flush()
                while True:
                    r = json.loads(f.readline())
                    if "return" in r or "error" in r:
                        break
            s.close()
            if r.get("return", {}).get("running"):
                return True
        except OSError:
            pass
        time.sleep(0.002)
    return False


def bare(d, accel):
    sock = os.path.join(d, "bare.qmp")
    if os.path.exists(sock):
        os.unlink(sock)
    t = time.perf_counter()
    p = subprocess.Popen(
        ["/usr/bin/qemu-system-x86_64", "-name", "lat", "-machine", f"pc,accel={accel}", "-m", "128",
         "-smp", "1", "-nodefaults", "-display", "none", "-no-user-config",
         "-qmp", f"unix:{sock},server=on,wait=off",
         "-netdev", "tap,id=hostnet0,ifname=latbare0,script=no,downscript=no",
         "-device", "virtio-net-pci,netdev=hostnet0,mac=52:54:00:77:00:02",
         "-chardev", "pty,id=charserial0", "-device", "isa-serial,chardev=charserial0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ok = qmp_running(sock, t + 30)
    dt = time.perf_counter() - t
    p.kill()
    p.wait()
    if not ok:
        sys.exit("bare QEMU did not reach running")
    return dt


def ours(virtsh, uri):
    t = time.perf_counter()
    r = subprocess.run([virtsh, "-c", uri, "start", "lat"], capture_output=True, text=True)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"virtsh start failed: {r.stderr.strip()}")
    subprocess.run([virtsh, "-c", uri, "destroy", "lat"], capture_output=True)
    return dt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--accel", choices=["kvm", "tcg"], default="kvm")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap.add_argument("--virtsh", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target")), "release", "virtsh"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root (taps, cgroups, audit)")
    if a.runs < 5:
        sys.exit("--runs must be at least 5")
    with tempfile.TemporaryDirectory() as d:
        uri = f"qemu:///embed?root={d}/root"
        xml = os.path.join(d, "lat.xml")
        with open(xml, "w") as f:
            f.write(DOMAIN.format(virt="kvm" if a.accel == "kvm" else "qemu"))
        r = subprocess.run([a.virtsh, "-c", uri, "define", xml], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"define failed: {r.stderr.strip()}")
        o, b = [], []
        for _ in range(a.runs):
            o.append(ours(a.virtsh, uri))
            b.append(bare(d, a.accel))
        subprocess.run([a.virtsh, "-c", uri, "undefine", "lat"], capture_output=True)
    mo, mb = statistics.median(o), statistics.median(b)
    print(f"start-to-running, minimal guest (tap NIC, pty serial, accel {a.accel}), {a.runs} interleaved runs")
    print(f"  virtsh start median {mo * 1e3:.1f} ms (runs: {' '.join(f'{x * 1e3:.0f}' for x in o)})")
    print(f"  bare QEMU    median {mb * 1e3:.1f} ms (runs: {' '.join(f'{x * 1e3:.0f}' for x in b)})")
    print(f"  ratio virtsh/bare = {mo / mb:.2f}x (target <= 1.2x; libvirt 9.0 here: 2.1x)")


if __name__ == "__main__":
    main()
