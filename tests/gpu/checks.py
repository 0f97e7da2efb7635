"""The real-GPU checks behind tests/gpu/run-on-gpu.sh. Each check runs in its own process
(the cap is preloaded into some, not others) and reports one row of the summary table."""
import json
import os
import statistics
import subprocess
import sys
import time

LIBRARY = os.environ["GPUCAP_LIBRARY"]
SHARE_MB = int(os.environ["GPUCAP_SHARE_MB"])
ACCOUNT = os.environ["GPUCAP_ACCOUNT"]
rows = []


def python(code, capped, extra_env=None, timeout=120):
    env = dict(os.environ, **(extra_env or {}))
    if capped:
        env["LD_PRELOAD"] = LIBRARY
    else:
        env.pop("LD_PRELOAD", None)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=timeout)


def row(name, ok, detail):
    rows.append((name, "ok" if ok else "FAILED", detail))
    print(f"{'ok    ' if ok else 'FAILED'} {name}: {detail}", flush=True)


def reset_account():
    open(ACCOUNT, "w").close()


# 1. NVML as gpupool's probe reads it (the same calls, through ctypes) against nvidia-smi.
NVML = """
import ctypes, json
nvml = ctypes.CDLL("libnvidia-ml.so.1")
assert nvml.nvmlInit_v2() == 0
device = ctypes.c_void_p()
assert nvml.nvmlDeviceGetHandleByIndex_v2(0, ctypes.byref(device)) == 0
name = ctypes.create_string_buffer(96); uuid = ctypes.create_string_buffer(96)
nvml.nvmlDeviceGetName(device, name, 96); nvml.nvmlDeviceGetUUID(device, uuid, 96)
class Memory(ctypes.Structure):
    _fields_ = [("total", ctypes.c_ulonglong), ("free", ctypes.c_ulonglong), ("used", ctypes.c_ulonglong)]
memory = Memory(); nvml.nvmlDeviceGetMemoryInfo(device, ctypes.byref(memory))
cuda = ctypes.c_int(); nvml.nvmlSystemGetCudaDriverVersion_v2(ctypes.byref(cuda))
class Utilization(ctypes.Structure):
    _fields_ = [("gpu", ctypes.c_uint), ("memory", ctypes.c_uint)]
utilization = Utilization(); nvml.nvmlDeviceGetUtilizationRates(device, ctypes.byref(utilization))
print(json.dumps({"name": name.value.decode(), "uuid": uuid.value.decode(), "memory_mb": memory.total >> 20,
                  "cuda": f"{cuda.value // 1000}.{cuda.value % 1000 // 10}", "utilization": utilization.gpu}))
"""
probe = python(NVML, capped=False)
smi = subprocess.run(["nvidia-smi", "--query-gpu=name,uuid,memory.total", "--format=csv,noheader,nounits",
                      "-i", "0"], capture_output=True, text=True).stdout.strip().split(", ")
smi_cuda = subprocess.run(["nvidia-smi"], capture_output=True, text=True).stdout
if probe.returncode == 0:
    seen = json.loads(probe.stdout)
    same = seen["name"] == smi[0] and seen["uuid"] == smi[1] and abs(seen["memory_mb"] - int(smi[2])) <= 1
    row("NVML vs nvidia-smi", same and f"CUDA Version: {seen['cuda']}" in smi_cuda,
        f"{seen['name']} {seen['uuid']} {seen['memory_mb']} MiB, driver CUDA {seen['cuda']}, "
        f"utilisation {seen['utilization']}%")
else:
    row("NVML vs nvidia-smi", False, probe.stderr[-300:])

# 1b. gpupool's own probe (`gpupool gpus --json`), where the binary came along.
if os.environ.get("GPUCAP_GPUPOOL"):
    shown = subprocess.run([os.environ["GPUCAP_GPUPOOL"], "gpus", "--json"], capture_output=True, text=True)
    if shown.returncode == 0:
        report = json.loads(shown.stdout)
        first = report["gpus"][0]
        model = smi[0].removeprefix("NVIDIA ").replace(" ", "-")
        same = (first["uuid"] == smi[1] and first["model"] == model and abs(first["memory_mb"] - int(smi[2])) <= 1
                and not report["simulated"] and f"CUDA Version: {report['driver_cuda']}" in smi_cuda
                and first["utilization_percent"] is not None and first["temperature_c"] is not None)
        row("gpupool gpus vs nvidia-smi", same,
            f"{first['model']} {first['uuid']} {first['memory_mb']} MiB, driver CUDA {report['driver_cuda']}, "
            f"{first['utilization_percent']}% {first['temperature_c']} °C {first['power_w']} W")
    else:
        row("gpupool gpus vs nvidia-smi", False, (shown.stderr or shown.stdout)[-300:])
else:
    print("(gpupool gpus not checked: no build/gpu-carry)")

# 2. PyTorch sees the share as the card and is refused past it, with each allocator backend.
MEM_INFO = """
import torch
free, total = torch.cuda.mem_get_info()
print(free >> 20, total >> 20, torch.cuda.get_device_properties(0).total_memory >> 20)
"""
reset_account()
shown = python(MEM_INFO, capped=True)
parts = shown.stdout.split()
row("mem_get_info under the cap", shown.returncode == 0 and int(parts[1]) == SHARE_MB,
    f"free {parts[0]} MiB, total {parts[1]} MiB, device total {parts[2]} MiB" if len(parts) == 3
    else shown.stderr[-300:])

# The allocator the process really used is printed too: PyTorch has ignored some spellings of
# its settings silently (PYTORCH_ALLOC_CONF in 2.9, pytorch#183387), which would make a row
# test the default allocator twice.
PAST = """
import torch
held = torch.empty(int({fit} * 2**20), dtype=torch.uint8, device="cuda")
mode = torch.cuda.get_allocator_backend()
try:
    if torch.cuda.memory._snapshot()["allocator_settings"]["expandable_segments"]:
        mode += "+expandable"
except Exception:
    pass
try:
    more = torch.empty(int({over} * 2**20), dtype=torch.uint8, device="cuda")
    print("allocated past the share", mode)
except torch.OutOfMemoryError as error:
    print("refused", type(error).__name__, mode)
"""
for backend, mode in [("", "native"), ("expandable_segments:True", "native+expandable"),
                      ("backend:cudaMallocAsync", "cudaMallocAsync")]:
    reset_account()
    result = python(PAST.format(fit=SHARE_MB * 0.6, over=SHARE_MB * 0.6), capped=True,
                    extra_env={"PYTORCH_CUDA_ALLOC_CONF": backend} if backend else None)
    said = result.stdout.split()
    row(f"past the share ({backend or 'default allocator'})",
        said[:2] == ["refused", "OutOfMemoryError"] and said[-1:] == [mode],
        (result.stdout + result.stderr).strip()[-200:])

# 3. Two processes, one share.
HOLD = """
import sys, time, torch
held = torch.empty(int({mb} * 2**20), dtype=torch.uint8, device="cuda")
torch.cuda.synchronize(); print("holding", flush=True); time.sleep(60)
"""
reset_account()
env = dict(os.environ, LD_PRELOAD=LIBRARY)
holder = subprocess.Popen([sys.executable, "-c", HOLD.format(mb=SHARE_MB * 0.6)], stdout=subprocess.PIPE,
                          text=True, env=env)
holder.stdout.readline()
second = python(PAST.format(fit=SHARE_MB * 0.1, over=SHARE_MB * 0.5), capped=True)
# What the driver counts for the holder beyond what the cap counted: the server stops a share
# whose driver count passes its share by more than --gpu-share-slack-mb (1536 by default).
apps = subprocess.run(["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
                      capture_output=True, text=True).stdout
used = [int(line.split(", ")[1]) for line in apps.splitlines() if line.split(", ")[0] == str(holder.pid)]
held_mb = int(SHARE_MB * 0.6)
row("driver's count beyond the cap's", bool(used) and used[0] - held_mb < 1536,
    f"{used[0]} MiB by the driver for {held_mb} MiB under the cap: {used[0] - held_mb} MiB beside it"
    if used else f"holder not in nvidia-smi's compute apps: {apps.strip()[-200:]}")
holder.kill()
holder.wait()
row("two processes share one cap", second.stdout.startswith("refused"), second.stdout.strip()[-200:])
reset_account()

# 4. A short training loop, capped and not, alternating: median step times.
TRAIN = """
import time, torch
torch.manual_seed(0)
model = torch.nn.Sequential(*[torch.nn.Sequential(torch.nn.Linear(4096, 4096), torch.nn.ReLU()) for _ in range(8)]).cuda()
optimizer = torch.optim.AdamW(model.parameters())
data = torch.randn(256, 4096, device="cuda")
steps = []
for step in range(120):
    torch.cuda.synchronize(); start = time.perf_counter()
    loss = model(data).square().mean(); loss.backward(); optimizer.step(); optimizer.zero_grad(set_to_none=True)
    torch.cuda.synchronize(); steps.append(time.perf_counter() - start)
steps = sorted(steps[20:])
print(steps[len(steps) // 2] * 1000)
"""
plain, capped = [], []
for _ in range(3):
    plain.append(float(python(TRAIN, capped=False, timeout=180).stdout))
    reset_account()
    capped.append(float(python(TRAIN, capped=True, timeout=180).stdout))
ratio = statistics.median(capped) / statistics.median(plain)
row("training step, capped/plain", ratio < 1.01,
    f"{statistics.median(plain):.3f} ms vs {statistics.median(capped):.3f} ms: ratio {ratio:.4f}")

# 5. Allocation/free pairs with the real driver.
bench = os.environ["GPUCAP_ALLOC_FREE"]
pairs = {}
for name, preload in (("plain", None), ("capped", LIBRARY)):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
        reset_account()
    runs = [float(subprocess.run([bench, "20000"], capture_output=True, text=True, env=env).stdout.split()[1])
            for _ in range(3)]
    pairs[name] = statistics.median(runs)
row("alloc/free pairs per second", True,
    f"{pairs['plain']:.0f} plain, {pairs['capped']:.0f} capped ({pairs['capped'] / pairs['plain']:.3f})")

# 6. nvidia-smi under the cap shows the share.
env = dict(os.environ, LD_PRELOAD=LIBRARY)
reset_account()
smi_capped = subprocess.run(["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits", "-i", "0"],
                            capture_output=True, text=True, env=env).stdout.strip()
row("nvidia-smi under the cap", smi_capped == str(SHARE_MB), f"memory.total {smi_capped} MiB")

print()
print(f"{'check':<42} {'result':<7} detail")
for name, result, detail in rows:
    print(f"{name:<42} {result:<7} {detail}")
sys.exit(0 if all(result == "ok" for _, result, _ in rows) else 1)
