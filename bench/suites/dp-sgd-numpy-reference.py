"""The numpy reference of HIMAS's DP-SGD epoch, timed in the same bench run (bench/suites/dp-sgd-numpy.ts).

One epoch = `stepsPerEpoch` steps of Abadi et al. 2016, Alg. 1, for a chain of dense layers with a
one-unit sigmoid output and binary cross-entropy, as src/core/model/dp-sgd-step.ts:
  Poisson sample (rate q, geometric gaps as src/core/model/poisson-batches.ts) -> forward ->
  per-example gradients -> per-example clip to C -> sum + N(0, (z*C)^2) -> / (q*N) -> + L2 gradient
  -> Adam (beta1 0.9, beta2 0.999, eps 1e-7, as tf.train.adam).
Two ways to get the per-example norms and the clipped sum, both run:
  'materialised': every example's gradient as an [n, in, out] array (einsum), as Opacus's default
                  grad_sample hooks compute them;
  'ghost':        norms from |a_i|^2 |delta_i|^2 and the sum as a^T (c * delta), HIMAS's algorithm.
float32 throughout (as tfjs). Noise and sampling from numpy's default_rng (PCG64), which is faster
than the CSPRNG HIMAS must use: the reference is not held back by it.

Protocol: argv[1] is a JSON config; then one command per stdin line, "epoch <variant>" answers one
JSON line {"seconds": ..., "cpuSeconds": ..., "steps": ..., "examples": ...} (time.perf_counter and
time.process_time, all threads, inside this process, so pipe latency is not counted); "check <variant> i,j,..." runs one step from the initial
weights on those rows and answers {"weights": [...]}; "quit" ends. Errors are one JSON line {"error": ...}.
"""
import json
import sys
import time

try:
    import numpy as np
except ImportError as e:  # The bench reports this and runs without the reference.
    print(json.dumps({"error": f"numpy is not importable: {e}"}), flush=True)
    sys.exit(3)

EPSILON = np.float32(1e-7)


def main():
    cfg = json.loads(sys.argv[1])
    rows, cols = cfg["rows"], cfg["cols"]
    X = np.fromfile(cfg["featuresFile"], dtype=np.float32).reshape(rows, cols)
    Y = np.fromfile(cfg["labelsFile"], dtype=np.float32).reshape(rows, 1)
    flat = np.fromfile(cfg["weightsFile"], dtype=np.float32)
    layers = cfg["layers"]
    q, steps = cfg["samplingProbability"], cfg["stepsPerEpoch"]
    clip, sigma = np.float32(cfg["exampleClipNorm"]), np.float32(cfg["noiseMultiplier"] * cfg["exampleClipNorm"])
    expected = np.float32(cfg["expectedBatchSize"])
    lr, l2 = np.float32(cfg["learningRate"]), np.float32(cfg["l2"])
    sgd = cfg.get("optimizer", "adam") == "sgd"  # plain SGD only for the correctness check
    rng = np.random.default_rng()
    states = {}

    def fresh_state():
        params, offset = [], 0
        for layer in layers:
            n_in, n_out = layer["inputs"], layer["units"]
            W = flat[offset : offset + n_in * n_out].reshape(n_in, n_out).copy()
            offset += n_in * n_out
            b = flat[offset : offset + n_out].copy()
            offset += n_out
            params += [W, b]
        return {
            "params": params,
            "m": [np.zeros_like(p) for p in params],
            "v": [np.zeros_like(p) for p in params],
            "t": 0,
        }

    def poisson_sample():
        # Gaps between included rows ~ Geometric(q) (support 1, 2, ...): same law as one Bernoulli(q) per row.
        draw = int(q * rows + 6 * np.sqrt(q * rows) + 16)
        picked = np.cumsum(rng.geometric(q, draw)) - 1
        while picked[-1] < rows:
            picked = np.concatenate([picked, picked[-1] + np.cumsum(rng.geometric(q, draw))])
        return picked[picked < rows]

    def step(state, variant, idx=None):
        params = state["params"]
        idx = poisson_sample() if idx is None else idx
        n = idx.shape[0]
        h = X[idx]
        acts, pre = [], []
        for k, layer in enumerate(layers):
            W, b = params[2 * k], params[2 * k + 1]
            acts.append(h)
            z = h @ W + b
            pre.append(z)
            if k < len(layers) - 1:
                act = layer["activation"]
                h = np.maximum(z, 0) if act == "relu" else np.tanh(z) if act == "tanh" else z
        p = 1 / (1 + np.exp(-pre[-1]))
        inside = (p >= EPSILON) & (p <= 1 - EPSILON)
        deltas = [None] * len(layers)
        deltas[-1] = np.where(inside, p - Y[idx], np.float32(0))
        for k in range(len(layers) - 1, 0, -1):
            d = deltas[k] @ params[2 * k].T
            act = layers[k - 1]["activation"]
            if act == "relu":
                d *= pre[k - 1] > 0
            elif act == "tanh":
                d *= 1 - acts[k] * acts[k]
            deltas[k - 1] = d
        sums = []
        if variant == "materialised":
            per_example = [np.einsum("ni,no->nio", acts[k], deltas[k]) for k in range(len(layers))]
            sq = sum((g.reshape(n, -1) ** 2).sum(1) for g in per_example) + sum((d * d).sum(1) for d in deltas)
            with np.errstate(divide="ignore"):
                c = np.minimum(np.float32(1), clip / np.sqrt(sq)).astype(np.float32)
            for k in range(len(layers)):
                sums += [np.einsum("n,nio->io", c, per_example[k]), c @ deltas[k]]
        else:
            sq = sum(((a * a).sum(1) + 1) * (d * d).sum(1) for a, d in zip(acts, deltas))
            with np.errstate(divide="ignore"):
                c = np.minimum(np.float32(1), clip / np.sqrt(sq)).astype(np.float32)
            for k in range(len(layers)):
                cd = deltas[k] * c[:, None]
                sums += [acts[k].T @ cd, cd.sum(0)]
        state["t"] += 1
        t = state["t"]
        for i, (param, s) in enumerate(zip(params, sums)):
            g = (s + sigma * rng.standard_normal(s.shape, dtype=np.float32)) / expected
            if i % 2 == 0:
                g += 2 * l2 * param
            if sgd:
                param -= lr * g
                continue
            m, v = state["m"][i], state["v"][i]
            m *= np.float32(0.9)
            m += np.float32(0.1) * g
            v *= np.float32(0.999)
            v += np.float32(0.001) * g * g
            mhat = m / np.float32(1 - 0.9**t)
            vhat = v / np.float32(1 - 0.999**t)
            param -= lr * mhat / (np.sqrt(vhat) + EPSILON)
        return n

    print(json.dumps({"ready": True, "numpy": np.__version__, "python": sys.version.split()[0]}), flush=True)
    for line in sys.stdin:
        command = line.split()
        if not command or command[0] == "quit":
            break
        if command[0] == "check" and len(command) == 3 and command[1] in ("materialised", "ghost"):
            # One step from the initial weights on the given rows (a test compares it with HIMAS's step).
            state = fresh_state()
            step(state, command[1], np.array([int(i) for i in command[2].split(",")], dtype=np.int64))
            weights = np.concatenate([p.ravel() for p in state["params"]])
            print(json.dumps({"weights": [float(w) for w in weights]}), flush=True)
            continue
        if command[0] != "epoch" or len(command) != 2 or command[1] not in ("materialised", "ghost"):
            print(json.dumps({"error": f"unknown command {line.strip()!r}"}), flush=True)
            continue
        state = states.setdefault(command[1], fresh_state())
        start, cpu_start = time.perf_counter(), time.process_time()
        examples = 0
        for _ in range(steps):
            examples += step(state, command[1])
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu_start
        print(json.dumps({"seconds": seconds, "cpuSeconds": cpu, "steps": steps, "examples": examples}), flush=True)


if __name__ == "__main__":
    main()
