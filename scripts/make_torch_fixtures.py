#!/usr/bin/python3
"""Writes the PyTorch reference fixtures of tests/fixtures/torch/ (read by tests/unit/test_cnn.cpp).

usage: /usr/bin/python3 scripts/make_torch_fixtures.py [OUT_DIR]   (needs Debian's python3-torch)

Every case draws float32 inputs and parameters from a seeded generator, then lets PyTorch compute
in float64 (the reference is exact to ~1e-15; FedGrid's float32 results are compared within 1e-4).
A layer case uses the loss sum(R * layer(x)) with a random upstream gradient R, so the stored
gradients are those of a layer's backward given dL/dout = R. Model cases use mean softmax
cross-entropy. File format (one file per case, `<case>.bin`): a sequence of tensors, each an
ASCII header line `tensor NAME NDIM D0 ... D{NDIM-1}\\n` followed by prod(D) little-endian float32
values in PyTorch's (row-major) order; labels are stored as float32 integers. Row-major (B, C, H, W)
is FedGrid's column-per-sample layout, (out, in) and (O, C, kh, kw) its weight layouts.
"""
import os
import struct
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    sys.exit("PyTorch is missing: apt-get install -y python3-torch, then run this with "
             "/usr/bin/python3 (Debian's interpreter)")

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures", "torch")
GEN = torch.Generator().manual_seed(20240601)


def rand(*shape, scale=1.0):
    """float32 N(0, scale^2) values, returned as float64 (exactly the stored values)."""
    return (torch.randn(*shape, generator=GEN) * scale).float().double()


def write(case, tensors):
    os.makedirs(OUT, exist_ok=True)
    path = os.path.join(OUT, case + ".bin")
    with open(path, "wb") as f:
        for name, t in tensors:
            t = t.detach().double().contiguous()
            dims = list(t.shape)
            f.write(("tensor %s %d%s\n" % (name, len(dims),
                                           "".join(" %d" % d for d in dims))).encode())
            values = t.flatten().float().tolist()
            f.write(struct.pack("<%df" % len(values), *values))
    print("%-28s %7d bytes" % (case + ".bin", os.path.getsize(path)))


def layer_case(case, fn, x, params, extra=()):
    """Runs fn(x, *params), loss sum(R * out), stores input, params, output, R and gradients."""
    x = x.clone().requires_grad_(True)
    ps = [p.clone().requires_grad_(True) for _, p in params]
    out = fn(x, *ps)
    r = rand(*out.shape)
    (out * r).sum().backward()
    tensors = [("input", x)] + [(n, p) for (n, _), p in zip(params, ps)]
    tensors += [("output", out), ("grad_output", r), ("grad_input", x.grad)]
    tensors += [("grad_" + n, p.grad) for (n, _), p in zip(params, ps)]
    write(case, tensors + list(extra))


def conv_case(case, b, c, h, w, o, k, stride, padding):
    layer_case(case, lambda x, wt, bias: F.conv2d(x, wt, bias, stride=stride, padding=padding),
               rand(b, c, h, w), [("weight", rand(o, c, k, k, scale=0.3)), ("bias", rand(o))],
               [("config", torch.tensor([c, h, w, o, k, stride, padding], dtype=torch.float64))])


def pool_case(case, b, c, h, w, k, stride):
    layer_case(case, lambda x: F.max_pool2d(x, k, stride), rand(b, c, h, w), [],
               [("config", torch.tensor([c, h, w, k, stride], dtype=torch.float64))])


def batchnorm_case(case, shape, training):
    c = shape[1]
    rm, rv = rand(c, scale=0.5), rand(c).abs() + 0.5
    rm_new, rv_new = rm.clone(), rv.clone()
    layer_case(case, lambda x, g, bt: F.batch_norm(x, rm_new, rv_new, g, bt, training, 0.1, 1e-5),
               rand(*shape) * 2 + 0.5, [("weight", rand(c) + 1), ("bias", rand(c))],
               [("running_mean", rm), ("running_var", rv), ("running_mean_new", rm_new),
                ("running_var_new", rv_new),
                ("config", torch.tensor(list(shape[1:]) + [1.0 if training else 0.0],
                                        dtype=torch.float64))])


class Cnn2(torch.nn.Module):
    """The paper's CNN2Layer (spec 6.2) with FedGrid's tensor names."""

    def __init__(self, channels, fc_in):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(channels, 6, 5)
        self.conv2 = torch.nn.Conv2d(6, 6, 5)
        self.fc1 = torch.nn.Linear(fc_in, 50)
        self.fc2 = torch.nn.Linear(50, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


class SmallBnNet(torch.nn.Module):
    """conv3x3 pad 1 (3->4) + BatchNorm + ReLU + maxpool 2 + flatten + linear (64 -> 10)."""

    def __init__(self):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(3, 4, 3, padding=1)
        self.bn1 = torch.nn.BatchNorm2d(4)
        self.fc1 = torch.nn.Linear(64, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        return self.fc1(torch.flatten(x, 1))


def model_case(case, model, x, labels):
    """Parameters (float32-rounded), input, labels, logits, loss, gradients (and BN statistics)."""
    model = model.double().train()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.float().double())
    before = {n: t.clone() for n, t in model.state_dict().items()}
    logits = model(x)
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    tensors = [("input", x), ("labels", labels.double()), ("logits", logits),
               ("loss", loss.reshape(()))]
    for name, t in before.items():
        if name.endswith("num_batches_tracked"):
            continue
        tensors.append((name, t))
        if name.endswith("running_mean") or name.endswith("running_var"):
            tensors.append((name + "_new", model.state_dict()[name]))
    tensors += [("grad_" + n, p.grad) for n, p in model.named_parameters()]
    write(case, tensors)


class TinyMlp(torch.nn.Module):
    """6 -> 5 (ReLU) -> 3: the smallest model with two dense layers."""

    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(6, 5)
        self.fc2 = torch.nn.Linear(5, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))


def local_steps_case(case, model, batches, lr, momentum, weight_decay, mu):
    """K local SGD steps (torch.optim.SGD with momentum and weight decay) on the loss
    cross_entropy + mu/2 ||w - w_start||^2 (FedProx), one batch per step. Stores the start
    (float32-rounded), the batches, the configuration, the parameters and BatchNorm statistics
    after the K steps ("final.<name>") and the optimiser's momentum buffers ("momentum.<name>")."""
    model = model.double().train()
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(p.float().double())
    start = {n: t.clone() for n, t in model.state_dict().items()}
    anchor = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay)
    tensors = [("config", torch.tensor([len(batches), lr, momentum, weight_decay, mu],
                                       dtype=torch.float64))]
    for name, t in start.items():
        if not name.endswith("num_batches_tracked"):
            tensors.append((name, t))
    for k, (x, y) in enumerate(batches):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss = loss + 0.5 * mu * sum(((p - a) ** 2).sum()
                                     for p, a in zip(model.parameters(), anchor))
        loss.backward()
        opt.step()
        tensors += [("x%d" % k, x), ("y%d" % k, y.double())]
    for name, t in model.state_dict().items():
        if not name.endswith("num_batches_tracked"):
            tensors.append(("final." + name, t))
    for name, p in model.named_parameters():
        tensors.append(("momentum." + name, opt.state[p]["momentum_buffer"]))
    write(case, tensors)


def softmax_case():
    z = (rand(5, 10) * 3).requires_grad_(True)  # (B, C) row-major = FedGrid's C x B logits
    y = torch.randint(0, 10, (5,), generator=GEN)
    loss = F.cross_entropy(z, y)
    loss.backward()
    write("softmax_xent", [("logits", z), ("labels", y.double()), ("loss", loss.reshape(())),
                           ("grad_logits", z.grad)])


def main():
    torch.manual_seed(1234)
    layer_case("dense", lambda x, w, b: F.linear(x, w, b), rand(3, 5),
               [("weight", rand(4, 5, scale=0.5)), ("bias", rand(4))])
    x = rand(3, 2, 3, 3)
    x = torch.where(x.abs() < 0.05, x + 0.1, x)  # stay away from the kink
    layer_case("relu", lambda t: F.relu(t), x, [])
    layer_case("flatten", lambda t: torch.flatten(t, 1), rand(2, 3, 2, 4), [])
    conv_case("conv_k3_s1_p0", 2, 3, 7, 7, 4, 3, 1, 0)
    conv_case("conv_k3_s1_p1", 2, 3, 6, 6, 5, 3, 1, 1)
    conv_case("conv_k3_s2_p1", 2, 2, 7, 8, 3, 3, 2, 1)
    conv_case("conv_k5_s2_p2", 2, 2, 6, 9, 3, 5, 2, 2)
    conv_case("conv_k2_s3_p0", 3, 2, 8, 7, 2, 2, 3, 0)
    conv_case("conv_k1_s1_p0", 2, 4, 3, 3, 3, 1, 1, 0)
    pool_case("maxpool_k2_s2", 2, 3, 6, 6, 2, 2)
    pool_case("maxpool_k2_s2_odd", 2, 2, 5, 7, 2, 2)
    pool_case("maxpool_k3_s2", 2, 2, 7, 7, 3, 2)
    batchnorm_case("batchnorm_train_2d", (4, 3, 5, 5), True)
    batchnorm_case("batchnorm_train_1d", (6, 5), True)
    batchnorm_case("batchnorm_eval_2d", (3, 2, 4, 4), False)
    softmax_case()
    model_case("cnn2", Cnn2(1, 96), rand(3, 1, 28, 28), torch.tensor([3, 7, 0]))
    model_case("cnn2_cifar", Cnn2(3, 150), rand(2, 3, 32, 32), torch.tensor([9, 4]))
    model_case("small_bn_net", SmallBnNet(), rand(4, 3, 8, 8), torch.tensor([1, 5, 5, 8]))
    local_steps_case("local_steps_mlp", TinyMlp(),
                     [(rand(4, 6), torch.tensor([0, 2, 1, 2])),
                      (rand(3, 6), torch.tensor([1, 1, 0])),
                      (rand(4, 6), torch.tensor([2, 0, 0, 1]))], 0.1, 0.9, 1e-3, 0.2)
    local_steps_case("local_steps_bn_net", SmallBnNet(),
                     [(rand(4, 3, 8, 8), torch.tensor([1, 5, 5, 8])),
                      (rand(3, 3, 8, 8), torch.tensor([0, 9, 2])),
                      (rand(4, 3, 8, 8), torch.tensor([3, 3, 7, 1]))], 0.05, 0.5, 0.0, 0.1)


if __name__ == "__main__":
    main()
