"""(c) hot-plugged volumes: a shared one (file both hosts open: stand-in for RBD) and a local one
(mirrored to the destination with sync=full), hot-plugged on the source with blockdev-add +
device_add after another volume was plugged and unplugged (so slots are not in plug order).
The destination lists them on its command line as -blockdev + -device with the same ids,
serials and PCI addresses (--no-addr: without addr=, to show the failure)."""
import json, os, shutil, subprocess, sys, time
from qmp import *

T = "/tmp/migproof/transcript-c.log"
MIG_PORT, NBD_PORT = 49152, 49153
A, B = "/tmp/migproof/hA", "/tmp/migproof/hB"
SH = "/tmp/migproof/shared"
NO_ADDR = "--no-addr" in sys.argv

def ids(vol):            # Ciel's volume_ids(): node v<hex30>, device d<hex30>
    h = vol.replace("-", "")[:30]
    return f"v{h}", f"d{h}"
VX, VS, VL = ("0000000x-0000-4000-8000-000000000001", "0000000s-0000-4000-8000-000000000002",
              "0000000l-0000-4000-8000-000000000003")

for d in (A, B):
    kill(d); shutil.rmtree(d, ignore_errors=True); os.makedirs(d)
    shutil.copy("/tmp/migproof/config.iso", d)
os.makedirs(SH, exist_ok=True)
if os.path.exists(T): os.remove(T)
subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", "/tmp/migproof/base.qcow2", f"{SH}/disk.qcow2"], check=True)
for path in (f"{SH}/vol-x.raw", f"{SH}/vol-s.raw", f"{A}/vol-l.raw"):
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", path, "32M"], check=True)
    subprocess.run(["qemu-io", "-f", "raw", "-c", "write -P 0x77 16M 16M", path], check=True, capture_output=True)
root = {"driver": "qcow2", "node-name": "root0", "file": {"driver": "file", "filename": f"{SH}/disk.qcow2"}}

def vol_blockdev(vol, path):
    return {"driver": "raw", "node-name": ids(vol)[0], "read-only": False,
            "file": {"driver": "file", "filename": path}}

launch("mpA", qemu_args(A, root))
src = QMP(f"{A}/qmp.sock", "src", T)
wait_console(A, "CIEL-TICK 2 ok")

def plug(vol, path):
    node, dev = ids(vol)
    src.raw({"execute": "blockdev-add", "arguments": vol_blockdev(vol, path)})
    src.raw({"execute": "device_add", "arguments": {"driver": "virtio-blk-pci", "id": dev, "drive": node, "serial": vol}})
plug(VX, f"{SH}/vol-x.raw")
plug(VS, f"{SH}/vol-s.raw")
src.cmd("device_del", id=ids(VX)[1])
src.wait_event("DEVICE_DELETED", lambda d: d.get("device") == ids(VX)[1], 60)
src.cmd("blockdev-del", node_name=ids(VX)[0])
plug(VL, f"{A}/vol-l.raw")
wait_console(A, "vdc=ok vdd=ok", 60)
print("source ticks:", ticks(A)[-1])

def slots(q):
    out = {}
    for bus in q.cmd("query-pci"):
        for dev in bus["devices"]:
            out[dev["qdev_id"] or dev["class_info"].get("desc", "?")] = f"{dev['slot']:#x}.{dev['function']}"
    return out
src_slots = slots(src)
print("source PCI:", src_slots)

# --- destination: same command line + the attached volumes, at the source's addresses
t0 = time.time()
subprocess.run(["qemu-img", "create", "-q", "-f", "raw", f"{B}/vol-l.raw", "32M"], check=True)
extra = []
for vol, path in ((VS, f"{SH}/vol-s.raw"), (VL, f"{B}/vol-l.raw")):
    node, dev = ids(vol)
    addr = "" if NO_ADDR else f",addr={src_slots[dev].split('.')[0]}"
    extra += ["-blockdev", json.dumps(vol_blockdev(vol, path)),
              "-device", f"virtio-blk-pci,id={dev},drive={node},serial={vol}{addr}"]
args = qemu_args(B, root, extra=extra, incoming=True, paused=True)
open(T, "a").write("# dest command line: " + json.dumps(args) + "\n")
if NO_ADDR:   # keep stderr to see why the destination refuses the stream
    args.remove("-daemonize")
    subprocess.Popen(["ip", "netns", "exec", "mpB", *args], stdout=subprocess.DEVNULL,
                     stderr=open(f"{B}/stderr.log", "w"), start_new_session=True)
else:
    launch("mpB", args)
dst = QMP(f"{B}/qmp.sock", "dst", T)
print("dest PCI:", slots(dst))
print("dest block devices:", [(b["device"], b.get("qdev"), b.get("inserted", {}).get("node-name")) for b in dst.cmd("query-block")])
dst.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True},
                                                  {"capability": "late-block-activate", "state": True}])
dst.cmd("nbd-server-start", addr={"type": "inet", "data": {"host": "192.168.200.2", "port": str(NBD_PORT)}})
nl, _ = ids(VL)
MN = "mig-vol1"   # node names are limited to 31 characters: no prefix on v<hex30>
dst.cmd("block-export-add", type="nbd", id=MN, node_name=nl, name=nl, writable=True)
dst.cmd("migrate-incoming", uri=f"tcp:192.168.200.2:{MIG_PORT}")

src.cmd("blockdev-add", driver="nbd", node_name=MN,
        server={"type": "inet", "host": "192.168.200.2", "port": str(NBD_PORT)}, export=nl)
src.cmd("blockdev-mirror", job_id=MN, device=nl, target=MN, sync="full")
src.wait_event("BLOCK_JOB_READY", lambda d: d["device"] == MN, 300)
src.cmd("migrate-set-capabilities", capabilities=[{"capability": "events", "state": True},
                                                  {"capability": "pause-before-switchover", "state": True}])
src.cmd("migrate-set-parameters", downtime_limit=500, max_bandwidth=1 << 30)
src.cmd("migrate", uri=f"tcp:192.168.200.2:{MIG_PORT}")
while True:
    m = src.cmd("query-migrate", quiet=True)
    if m["status"] in ("pre-switchover", "completed", "failed", "cancelled"):
        break
    time.sleep(0.2)
if m["status"] == "pre-switchover":
  src.wait_event("MIGRATION", lambda d: d["status"] == "pre-switchover", 30)
  src.cmd("block-job-cancel", device=MN)
  src.wait_event("BLOCK_JOB_COMPLETED", lambda d: d["device"] == MN, 60)
  src.cmd("migrate-continue", state="pre-switchover")
while True:
    m = src.cmd("query-migrate", quiet=True)
    if m["status"] in ("completed", "failed", "cancelled"):
        break
    time.sleep(0.1)
src.log("=", {"final query-migrate": m})
print("source:", {k: m.get(k) for k in ("status", "downtime", "total-time", "error-desc")})
if m["status"] != "completed":
    time.sleep(1)
    print("source status:", src.cmd("query-status"), "dest alive:", os.path.exists(f"{B}/qemu.pid"))
    print("dest stderr:", open(f"{B}/stderr.log").read() if os.path.exists(f"{B}/stderr.log") else "-")
    for j in src.cmd("query-block-jobs"):
        src.cmd("block-job-cancel", device=j["device"], force=True)
    time.sleep(1); print("source after failure:", src.cmd("query-status"), src.cmd("query-block-jobs"), ticks(A)[-1])
    kill(A); kill(B); sys.exit(1)
dst.wait_event("MIGRATION", lambda d: d["status"] == "completed", 60)
src.cmd("blockdev-del", node_name=MN)
dst.cmd("block-export-del", id=MN)
dst.wait_event("BLOCK_EXPORT_DELETED", lambda d: True, 30)
dst.cmd("nbd-server-stop")
cmp = subprocess.run(["qemu-img", "compare", "-U", "-f", "raw", "-F", "raw", f"{A}/vol-l.raw", f"{B}/vol-l.raw"], capture_output=True, text=True)
print("compare local volume:", cmp.returncode, cmp.stdout.strip())
dst.cmd("cont")
print(f"dest start -> running {time.time() - t0:.2f}s")
src.cmd("quit")
n = len(ticks(B)); time.sleep(5)
print("dest ticks since resume:", ticks(B)[n - 1:])
print("BAD lines on dest:", [t for t in ticks(B) if "BAD" in t])
# the guest still answers device requests on the destination: unplug the shared volume
dst.cmd("device_del", id=ids(VS)[1])
dst.wait_event("DEVICE_DELETED", lambda d: d.get("device") == ids(VS)[1], 60)
dst.cmd("blockdev-del", node_name=ids(VS)[0])
print("unplugged the shared volume on the destination: guest acknowledged")
time.sleep(2)
print("dest ticks:", ticks(B)[-1])
dst.cmd("quit")
