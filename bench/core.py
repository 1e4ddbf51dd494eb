"""Forward + backward (+ update) of dlteach against the same model in PyTorch on the CPU, same run.

Prints dlteach time / PyTorch time per case, the MLP step's time over the time of its own matrix
products called bare (the "mlp/products" row: a step can only add to its products), and the MLP
step's achieved GFLOP/s as a share of raw float32 matmul speed. Times are the minimum over repeats:
this machine is shared, its Python-heavy steps swing from run to run, and the minimum is the least
noisy estimate of what the code costs. Each side of a ratio is timed in ROUNDS blocks of its own
(see run).
"""

import time

import numpy as np

from dlteach import layers, losses, optim

NO_LIMIT = float("inf")     # printed for information: no verdict
LIMITS = {"mlp": 1.0, "mlp/products": 1.3, "mlp/numpy": NO_LIMIT, "conv2d": 1.5, "lstm": 1.5, "softmax_ce": 1.6,
          "gru": NO_LIMIT, "batchnorm": NO_LIMIT, "embedding": NO_LIMIT}
MIN_MATMUL_SHARE = 0.70
ROUNDS = 3                  # blocks of each side per case; the minimum counts
SPIN_PAUSE_S = 0.3          # before each block: the other library's worker threads stop spinning


def best_time(fn, repeats, number):
    """Minimum over `repeats` of the mean time of `number` calls (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - t0) / number)
    return best


def best_times(fns, repeats, number):
    """best_time for several functions, timed in turn within each repeat (one warm-up call each)."""
    for fn in fns:
        fn()
    best = [float("inf")] * len(fns)
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            best[k] = min(best[k], (time.perf_counter() - t0) / number)
    return best


def raw_matmul_gflops(quick):
    n = 512 if quick else 1024
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    t = best_time(lambda: a @ b, 3 if quick else 7, 3 if quick else 10)
    return 2 * n ** 3 / t / 1e9


MLP_SIZES, MLP_BATCH = (784, 256, 256, 10), 128


def mlp_products():
    """The MLP step's own matrix products called bare, with nothing around them: a function to time.

    The ceiling of any implementation of the step: 3 forward products, 3 weight gradients and the
    2 input gradients that are needed (none for the data), on the step's shapes, float32.
    """
    rng = np.random.default_rng(0)
    N, sizes = MLP_BATCH, MLP_SIZES
    acts = [rng.standard_normal((N, d), dtype=np.float32) for d in sizes[:-1]]          # (N, D) per layer
    Ws = [rng.standard_normal((d, m), dtype=np.float32) for d, m in zip(sizes[:-1], sizes[1:])]
    douts = [rng.standard_normal((N, m), dtype=np.float32) for m in sizes[1:]]          # (N, M) per layer

    def products():
        for a, W in zip(acts, Ws):
            a @ W
        for a, d in zip(acts, douts):
            a.T @ d
        for d, W in zip(douts[1:], Ws[1:]):
            d @ W.T

    return products


def mlp_numpy_step(Ws, bs, X, y, *, lr, momentum):
    """The MLP step hand-written in numpy, the least numpy can do: a function to time.

    ReLU hidden layers, softmax cross-entropy (mean over the batch), heavy-ball momentum as in
    optim.SGD; no layers, no checks, every buffer allocated once and every update in place. The
    weights Ws (D, M) and biases bs (M,) are updated in place; tests/unit/test_bench_numpy_step.py
    checks that it takes the same step as the library.
    """
    N = X.shape[0]
    rows = np.arange(N)
    hs = [np.empty((N, W.shape[1]), dtype=W.dtype) for W in Ws]         # pre-activations, ReLU'd in place
    gWs = [np.empty_like(W) for W in Ws]
    vWs, vbs = [np.zeros_like(W) for W in Ws], [np.zeros_like(b) for b in bs]
    last = len(Ws) - 1

    def step():
        acts = [X]
        for k, (W, b) in enumerate(zip(Ws, bs)):
            h = np.matmul(acts[-1], W, out=hs[k])
            h += b
            if k < last:
                np.maximum(h, 0, out=h)
            acts.append(h)
        d = acts[-1]                                                    # logits -> dL/dlogits, in place
        d -= d.max(axis=1, keepdims=True)
        np.exp(d, out=d)
        d /= d.sum(axis=1, keepdims=True)
        d[rows, y] -= 1
        d /= N
        for k in range(last, -1, -1):
            gW = np.matmul(acts[k].T, d, out=gWs[k])
            gb = d.sum(axis=0)
            if k:
                d = d @ Ws[k].T
                d *= acts[k] > 0
            vW, vb = vWs[k], vbs[k]
            vW *= momentum
            gW *= lr
            vW -= gW
            Ws[k] += vW
            vb *= momentum
            gb *= lr
            vb -= gb
            bs[k] += vb

    return step


def mlp_products_gflops(quick):
    """GFLOP/s of mlp_products."""
    return mlp_flops() / best_time(mlp_products(), 3 if quick else 7, 3 if quick else 10) / 1e9


def mlp_flops():
    """Forward (1 product per layer) + backward (dW per layer, dx for all but the input layer)."""
    sizes = MLP_SIZES
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))
    return 2 * MLP_BATCH * (3 * macs - sizes[0] * sizes[1])


def mlp_setup():
    """The MLP case's data (X, y) and model, from seed 0."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((MLP_BATCH, 784), dtype=np.float32)
    y = rng.integers(0, 10, MLP_BATCH)
    model = layers.Sequential(
        layers.Linear(784, 256, rng=rng, dtype=np.float32), layers.ReLU(),
        layers.Linear(256, 256, rng=rng, dtype=np.float32), layers.ReLU(),
        layers.Linear(256, 10, rng=rng, dtype=np.float32))
    return X, y, model


def mlp_numpy():
    """mlp_numpy_step on copies of the MLP case's weights: a function to time."""
    X, y, model = mlp_setup()
    Ws = [layer.params["W"].copy() for layer in model.layers[::2]]
    bs = [layer.params["b"].copy() for layer in model.layers[::2]]
    return mlp_numpy_step(Ws, bs, X, y, lr=0.01, momentum=0.9)


def mlp_case(torch, quick):
    X, y, model = mlp_setup()
    opt = optim.SGD(model, 0.01, momentum=0.9)

    def ours():
        loss, dh = losses.softmax_cross_entropy(model(X), y)
        model.backward(dh, input_grad=False)      # like torch: the data needs no gradient
        opt.step()

    nn = torch.nn
    ref = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))
    opt_t = torch.optim.SGD(ref.parameters(), 0.01, momentum=0.9)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y)

    def theirs():
        opt_t.zero_grad()
        nn.functional.cross_entropy(ref(Xt), yt).backward()
        opt_t.step()

    return ours, theirs, mlp_flops()


def conv_case(torch, quick):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 3, 32, 32), dtype=np.float32)
    conv = layers.Conv2d(3, 16, 3, padding=1, rng=rng, dtype=np.float32)
    dout = rng.standard_normal((32, 16, 32, 32), dtype=np.float32)

    def ours():
        conv.forward(X)
        conv.backward(dout)

    ref = torch.nn.Conv2d(3, 16, 3, padding=1)
    Xt = torch.from_numpy(X).requires_grad_()
    dt = torch.from_numpy(dout)

    def theirs():
        ref.zero_grad()
        Xt.grad = None
        ref(Xt).backward(dt)

    return ours, theirs, None


def _recurrent_case(torch, ours_layer, theirs_layer):
    rng = np.random.default_rng(0)
    N, T, D, H = 32, 50, 64, 128
    X = rng.standard_normal((N, T, D), dtype=np.float32)
    layer = ours_layer(D, H, rng=rng, dtype=np.float32)
    dout = rng.standard_normal((N, T, H), dtype=np.float32)

    def ours():
        layer.forward(X)
        layer.backward(dout)

    ref = theirs_layer(D, H, batch_first=True)
    Xt = torch.from_numpy(X).requires_grad_()
    dt = torch.from_numpy(dout)

    def theirs():
        ref.zero_grad()
        Xt.grad = None
        ref(Xt)[0].backward(dt)

    return ours, theirs, None


def lstm_case(torch, quick):
    return _recurrent_case(torch, layers.LSTM, torch.nn.LSTM)


def softmax_ce_case(torch, quick):
    rng = np.random.default_rng(0)
    h = rng.standard_normal((4096, 1000), dtype=np.float32)
    y = rng.integers(0, 1000, 4096)

    def ours():
        losses.softmax_cross_entropy(h, y)

    ht = torch.from_numpy(h).requires_grad_()
    yt = torch.from_numpy(y)

    def theirs():
        ht.grad = None
        torch.nn.functional.cross_entropy(ht, yt).backward()

    return ours, theirs, None


def gru_case(torch, quick):
    return _recurrent_case(torch, layers.GRU, torch.nn.GRU)


def batchnorm_case(torch, quick):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 16, 32, 32), dtype=np.float32)
    bn = layers.BatchNorm2d(16, dtype=np.float32)
    dout = rng.standard_normal(X.shape, dtype=np.float32)

    def ours():
        bn.forward(X)
        bn.backward(dout)

    ref = torch.nn.BatchNorm2d(16)
    Xt = torch.from_numpy(X).requires_grad_()
    dt = torch.from_numpy(dout)

    def theirs():
        ref.zero_grad()
        Xt.grad = None
        ref(Xt).backward(dt)

    return ours, theirs, None


def embedding_case(torch, quick):
    rng = np.random.default_rng(0)
    V, E = 10_000, 128
    idx = rng.integers(0, V, (32, 50))
    emb = layers.Embedding(V, E, rng=rng, dtype=np.float32)
    dout = rng.standard_normal((32, 50, E), dtype=np.float32)

    def ours():
        emb.forward(idx)
        emb.backward(dout)

    ref = torch.nn.Embedding(V, E)
    it, dt = torch.from_numpy(idx), torch.from_numpy(dout)

    def theirs():
        ref.zero_grad()
        ref(it).backward(dt)

    return ours, theirs, None


CASES = {"mlp": mlp_case, "conv2d": conv_case, "lstm": lstm_case, "softmax_ce": softmax_ce_case,
         "gru": gru_case, "batchnorm": batchnorm_case, "embedding": embedding_case}
DESCRIPTIONS = {
    "mlp": "MLP 784-256-256-10 step, batch 128, float32",
    "mlp/products": "MLP step / its products bare (not torch)",
    "mlp/numpy": "same, hand-written numpy step (the floor)",
    "conv2d": "Conv2d 32x3x32x32 -> 16 3x3 pad 1, fwd+bwd",
    "lstm": "LSTM T=50 N=32 D=64 H=128, fwd+BPTT",
    "softmax_ce": "softmax CE 4096x1000, loss+grad",
    "gru": "GRU T=50 N=32 D=64 H=128, fwd+BPTT",
    "batchnorm": "BatchNorm2d 32x16x32x32 train, fwd+bwd",
    "embedding": "Embedding 10000x128, 32x50 ids, fwd+bwd",
}


def _row(name, ours, theirs):
    ratio = ours / theirs
    limit = LIMITS[name]
    verdict = "(no limit)" if limit == NO_LIMIT else "ok" if ratio <= limit else "SLOWER than the limit"
    return name, DESCRIPTIONS[name], ours * 1e3, theirs * 1e3, ratio, limit, verdict


def run(quick=False):
    """Return rows (name, description, ours_ms, torch_ms, ratio, limit, verdict), the raw matmul
    GFLOP/s (1024 x 1024), the MLP step's GFLOP/s and those of its products called bare.

    The "mlp/products" row compares the MLP step with its own products called bare (its "torch ms"
    column holds the products' time): a step at most LIMITS["mlp/products"] times its products. The
    "mlp/numpy" row does the same for mlp_numpy_step, the step hand-written in plain numpy with no
    layers: how close numpy itself comes to its products, printed for information.
    """
    try:
        import torch
    except ImportError:
        torch = None
    repeats, number = (3, 3) if quick else (7, 10)
    pause = 0 if quick else SPIN_PAUSE_S
    rows = []
    gflops = raw_matmul_gflops(quick)
    mlp_gflops, products_time = None, None
    for name, make in CASES.items():
        if torch is None:
            rows.append((name, DESCRIPTIONS[name], None, None, None, LIMITS[name], "skipped: no torch"))
            continue
        torch.set_num_threads(2)
        ours, theirs, flops = make(torch, quick)
        # Each side in a block of its own: interleaved call by call, numpy's and torch's idle worker
        # threads spin while the other side runs, and on two cores both then run at half speed.
        # Each block starts after a pause in which the other side's threads stop spinning (OpenBLAS
        # spins for about 0.1 s after a product). Rounds of blocks, so that a burst of load from
        # elsewhere, or a slow spell of either library (torch's Conv2d alone swings between 2.5 and
        # 6 ms from one process to the next on this machine), rarely decides a ratio.
        t_ours = t_theirs = float("inf")
        for _ in range(ROUNDS):
            time.sleep(pause)
            t_ours = min(t_ours, best_time(ours, repeats, number))
            time.sleep(pause)
            t_theirs = min(t_theirs, best_time(theirs, repeats, number))
        if name == "mlp":
            time.sleep(pause)
            t_ours, products_time, numpy_time = best_times([ours, mlp_products(), mlp_numpy()],
                                                           repeats, number)    # same pool: alternate
            t_ours = min(t_ours, best_time(ours, repeats, number))
        rows.append(_row(name, t_ours, t_theirs))
        if name == "mlp":
            rows.append(_row("mlp/products", t_ours, products_time))
            rows.append(_row("mlp/numpy", numpy_time, products_time))
        if flops:
            mlp_gflops = flops / t_ours / 1e9
    if products_time is None:
        return rows, gflops, mlp_gflops, mlp_products_gflops(quick)
    return rows, gflops, mlp_gflops, mlp_flops() / products_time / 1e9
