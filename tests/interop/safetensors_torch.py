"""PyTorch interop through safetensors, both directions, with Debian's python3-torch.

1. nabla -> PyTorch: safetensors_peer trains a 6-8-3 ReLU/softmax network and saves it; this
   script reads the file with json and torch.frombuffer only, builds the nn.Sequential that
   docs/interop.md gives for it, and checks that it predicts what nabla predicted.
2. PyTorch -> nabla: this script trains the same architecture in PyTorch, writes it as
   safetensors by hand, and checks that safetensors_peer, after loading it, predicts what
   PyTorch predicts.

Both to 1e-6 relative (float32 either side; only the order of summation differs).
Usage: safetensors_torch.py <safetensors_peer> <scratch dir>. Exits 77 (ctest: skipped) when
torch cannot be imported.
"""
import json
import os
import struct
import subprocess
import sys

try:
    import torch
except ImportError:
    print("skipped: torch is not importable (Debian: apt-get install python3-torch)")
    sys.exit(77)

TOLERANCE = 1e-6


def read_safetensors(path):
    """The tensors of a safetensors file by name, read with json and torch.frombuffer."""
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    data = bytearray(raw[8 + length :])
    dtypes = {"F32": torch.float32, "F64": torch.float64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        flat = torch.frombuffer(data[begin:end], dtype=dtypes[entry["dtype"]])
        tensors[name] = flat.reshape(entry["shape"]).clone()
    return tensors


def write_safetensors(tensors, path):
    """Writes float32 tensors as safetensors: the header, then each tensor's bytes in turn."""
    header, blobs, offset = {}, [], 0
    for name, tensor in tensors.items():
        blob = tensor.detach().to(torch.float32).contiguous().numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def sequential():
    # nabla layer i is module 2i, its activation module 2i + 1.
    return torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.ReLU(),
                               torch.nn.Linear(8, 3), torch.nn.Softmax(dim=1))


def read_rows(path):
    with open(path) as f:
        return torch.tensor([[float(v) for v in line.split()] for line in f if line.strip()])


def worst_relative(a, b):
    return float(((a.double() - b.double()).abs() / b.double().abs().clamp(min=1e-30)).max())


def check(what, ours, theirs):
    error = worst_relative(ours, theirs)
    print(f"{what}: worst relative difference {error:.3g} over {theirs.numel()} outputs")
    if ours.shape != theirs.shape or not error <= TOLERANCE:
        print(f"FAILED: {what}: more than {TOLERANCE} apart")
        sys.exit(1)


def main():
    peer, scratch = sys.argv[1], sys.argv[2]
    os.makedirs(scratch, exist_ok=True)

    # 1. nabla -> PyTorch.
    subprocess.run([peer, "save", scratch], check=True)
    model = sequential()
    model.load_state_dict(read_safetensors(os.path.join(scratch, "nabla.safetensors")))
    inputs = read_rows(os.path.join(scratch, "inputs.txt"))
    with torch.no_grad():
        check("nabla model in PyTorch", model(inputs),
              read_rows(os.path.join(scratch, "nabla_outputs.txt")))

    # 2. PyTorch -> nabla.
    torch.manual_seed(7)
    model = sequential()
    x = torch.randn(64, 6)
    labels = (x[:, 1] > 0).long()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(20):
        optimizer.zero_grad()
        loss = torch.nn.functional.nll_loss(torch.log(model(x)), labels)
        loss.backward()
        optimizer.step()
    write_safetensors(model.state_dict(), os.path.join(scratch, "torch.safetensors"))
    with open(os.path.join(scratch, "inputs.txt"), "w") as f:
        for row in x.tolist():
            f.write(" ".join(repr(v) for v in row) + "\n")
    subprocess.run([peer, "load", scratch], check=True)
    with torch.no_grad():
        check("PyTorch model in nabla", read_rows(os.path.join(scratch, "nabla_outputs.txt")),
              model(x))


if __name__ == "__main__":
    main()
