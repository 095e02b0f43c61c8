"""How to address a disk QEMU got with -drive (auto node names), and QEMU 7.2's migration defaults."""
import json, os, shutil, subprocess
from qmp import *
D = "/tmp/migproof/hD"
kill(D); shutil.rmtree(D, ignore_errors=True); os.makedirs(D)
subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "/tmp/migproof/base.qcow2", f"{D}/disk.qcow2"], check=True)
subprocess.run(["qemu-system-x86_64", "-nodefaults", "-display", "none", "-accel", "tcg", "-m", "64", "-S",
                "-qmp", f"unix:{D}/qmp.sock,server=on,wait=off", "-pidfile", f"{D}/qemu.pid", "-daemonize",
                "-drive", f"file={D}/disk.qcow2,if=virtio,format=qcow2"], check=True)
q = QMP(f"{D}/qmp.sock", "drive", f"{D}/transcript.log")
p = q.cmd("query-migrate-parameters")
print("defaults: downtime-limit", p["downtime-limit"], "ms, max-bandwidth", p["max-bandwidth"], "B/s")
print("capabilities on by default:", [c["capability"] for c in q.cmd("query-migrate-capabilities") if c["state"]])
for b in q.cmd("query-block"):
    print("query-block:", b["device"], b["qdev"], b["inserted"]["node-name"])
q.cmd("nbd-server-start", addr={"type": "unix", "data": {"path": f"{D}/nbd.sock"}})
for name in ("virtio0",):
    try:
        q.cmd("block-export-add", type="nbd", id="e1", node_name=name, writable=True); print("block-export-add node-name=virtio0: OK")
        q.cmd("block-export-del", id="e1")
    except QMPError as e:
        print("block-export-add node-name=virtio0:", e)
q.cmd("blockdev-add", driver="null-co", node_name="sink", size=64 << 20)
try:
    q.cmd("blockdev-mirror", job_id="j1", device="virtio0", target="sink", sync="top"); print("blockdev-mirror device=virtio0: OK")
    q.wait_event("BLOCK_JOB_READY", timeout=30); q.cmd("block-job-cancel", device="j1"); q.wait_event("BLOCK_JOB_COMPLETED", timeout=30)
except QMPError as e:
    print("blockdev-mirror device=virtio0:", e)
try:
    q.cmd("blockdev-add", driver="null-co", node_name="m" + "0" * 31, size=1 << 20)
except QMPError as e:
    print("32-char node name:", e)
q.cmd("quit")
