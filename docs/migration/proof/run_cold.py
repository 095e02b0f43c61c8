"""Cold migration of a VM with a local qcow2 overlay: stop, copy the overlay, rebase it onto the
destination's copy of the base (only if the cache path differs), check, compare, boot there."""
import json, os, shutil, subprocess, time
from qmp import *
A, B = "/tmp/migproof/hA", "/tmp/migproof/hB"
T = "/tmp/migproof/transcript-cold.log"
for d in (A, B):
    kill(d); shutil.rmtree(d, ignore_errors=True); os.makedirs(f"{d}/images")
    shutil.copy("/tmp/migproof/config.iso", d); shutil.copy("/tmp/migproof/base.qcow2", f"{d}/images/base.qcow2")
if os.path.exists(T): os.remove(T)
subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", f"{A}/images/base.qcow2", f"{A}/disk.qcow2", "64M"], check=True)
root = lambda d: {"driver": "qcow2", "node-name": "root0", "file": {"driver": "file", "filename": f"{d}/disk.qcow2"}}
launch("mpA", qemu_args(A, root(A)))
src = QMP(f"{A}/qmp.sock", "src", T)
wait_console(A, "CIEL-TICK 3 ok")
t0 = time.time()
src.cmd("stop"); src.cmd("quit")          # (Ciel: graceful power-off first, then quit)
while os.path.exists(f"{A}/qemu.pid"): time.sleep(0.1)
t1 = time.time()
shutil.copyfile(f"{A}/disk.qcow2", f"{B}/disk.qcow2")   # Ciel: streamed between agents
subprocess.run(["qemu-img", "rebase", "-u", "-F", "qcow2", "-b", f"{B}/images/base.qcow2", f"{B}/disk.qcow2"], check=True)
chk = subprocess.run(["qemu-img", "check", f"{B}/disk.qcow2"], capture_output=True, text=True)
cmp = subprocess.run(["qemu-img", "compare", f"{A}/disk.qcow2", f"{B}/disk.qcow2"], capture_output=True, text=True)
print("check:", chk.stdout.strip().splitlines()[0], "| compare:", cmp.returncode, cmp.stdout.strip())
launch("mpB", qemu_args(B, root(B)))
dst = QMP(f"{B}/qmp.sock", "dst", T)
wait_console(B, "CIEL-TICK 2 ok")
print(f"stopped in {t1 - t0:.2f}s, copy+rebase+boot to first tick {time.time() - t1:.1f}s; dest:", ticks(B)[-1])
print("BAD:", [t for t in ticks(B) if "BAD" in t])
dst.cmd("quit")
