"""SIREN benchmark: PSNR against training time, and throughput, on the real clip `bikes` (frames 0-29, 160x68).

    python tests/benchmarks/bench_siren.py              # reference 300 s, vidlab 60 s and 300 s (about 12 minutes)
    python tests/benchmarks/bench_siren.py --scale 0.2  # every time budget x0.2 (a smoke run)

Three trainers of the same network (SIREN, 256 wide, 3 hidden layers, 198k parameters) take turns, one step each,
in this one process, so a busy machine slows them all alike; each one's clock counts only its own training steps
(evaluation excluded):
- reference: the straightforward recipe: random batches of 8192 (with replacement), Adam at a constant 1e-4, float32;
- vidlab, 60 s and 300 s budgets: what `vidlab.siren.fit_video` does: full passes over a shuffled permutation
  (`PixelBatches`), batch 4096, peak lr 5e-4 with warm-up and a cosine annealed to the budget (`cosine_factor`), and the
  hidden layers in bfloat16 through the fused sine layer where this CPU multiplies bfloat16 fast (`use_bf16`).
Wall-clock on a shared machine is noisy: compare rows within one run (ratios), not across runs.
"""
import argparse, math, os, time
import torch
import torch.nn.functional as F
from vidlab.siren import SirenConfig, Siren, PixelBatches, cosine_factor, render_video, video_coords, use_bf16, n_params
from vidlab.data import sample_clip
from vidlab.metrics import psnr, table


def matmul_gflops(dtype, n=8192, d=256, reps=20):
    a, w = torch.randn(n, d, dtype=dtype), torch.randn(d, d, dtype=dtype)
    for _ in range(3): a @ w
    t = time.perf_counter()
    for _ in range(reps): a @ w
    return 2 * n * d * d * reps / (time.perf_counter() - t) / 1e9


def flops_per_coord(w=256, layers=3):
    "FLOPs of one coordinate through the network, forward + backward (3x the forward's 2 FLOPs per multiply-add)."
    return 2 * 3 * (3 * w + layers * w * w + w * 3)


class Trainer:
    "One training run that advances a step at a time and evaluates when its own clock passes a mark."
    def __init__(self, name, precision, batches, batch_size, lr, budget, marks, video, cosine):
        self.name, self.batches, self.bs, self.lr, self.budget, self.cosine = name, batches, batch_size, lr, budget, cosine
        torch.manual_seed(0)
        self.net = Siren(SirenConfig(hidden_features=256, hidden_layers=3, precision=precision))
        self.opt = torch.optim.Adam(self.net.parameters(), lr)
        self.video, self.marks, self.t, self.steps, self.psnr = video, [m for m in marks if m <= budget], 0.0, 0, {}

    @property
    def done(self): return self.t >= self.budget

    def step(self):
        t0 = time.perf_counter()
        f = cosine_factor(self.t / self.budget) if self.cosine else 1.0
        for g in self.opt.param_groups: g['lr'] = self.lr * f
        x, y = self.batches(self.steps)
        loss = F.mse_loss(self.net(x), y)
        self.opt.zero_grad(set_to_none=True); loss.backward(); self.opt.step()
        self.t += time.perf_counter() - t0; self.steps += 1
        while self.marks and (self.t >= self.marks[0] or self.done):
            T, H, W, _ = self.video.shape
            self.psnr[self.marks.pop(0)] = p = psnr(render_video(self.net, T, H, W), self.video)
            print(f'  {self.name:28s} {self.t:6.1f} s  {p:.2f} dB  ({self.steps} steps)', flush=True)

    @property
    def coords_per_s(self): return self.steps * self.bs / self.t


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--scale', type=float, default=1.0, help='multiply every time budget by this')
    p.add_argument('--lr', type=float, default=5e-4); p.add_argument('--batch_size', type=int, default=4096)
    p.add_argument('--threads', type=int, default=1, help='torch threads (1: steadiest on a shared machine)')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    video = sample_clip('bikes', max_size=160, max_frames=30)
    T, H, W, _ = video.shape
    X, Y = video_coords(T, H, W).reshape(-1, 3), video.reshape(-1, 3)
    g = torch.Generator().manual_seed(0)
    random_batches = lambda step: (lambda i: (X[i], Y[i]))(torch.randint(0, len(X), (8192,), generator=g))
    print(f'bikes frames 0-{T-1} at {W}x{H}: {T*H*W:,} pixels; {torch.get_num_threads()} torch thread(s); '
          f'bf16 hidden layers: {use_bf16("auto", "cpu")}; load average {os.getloadavg()[0]:.1f}', flush=True)
    mm32, mm16 = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)
    s = a.scale
    marks = [round(m * s, 1) for m in (30, 60, 120, 200, 300)]
    runs = [Trainer('reference', 'fp32', random_batches, 8192, 1e-4, 300 * s, marks, video, cosine=False),
            Trainer(f'vidlab, cosine to {60*s:g} s', 'auto', PixelBatches(video, a.batch_size, seed=0), a.batch_size,
                    a.lr, 60 * s, marks, video, cosine=True),
            Trainer(f'vidlab, cosine to {300*s:g} s', 'auto', PixelBatches(video, a.batch_size, seed=1), a.batch_size,
                    a.lr, 300 * s, marks, video, cosine=True)]
    wall = time.perf_counter()
    while not all(r.done for r in runs):
        for r in runs:
            if not r.done: r.step()
    wall = time.perf_counter() - wall
    col = lambda m: f'@ {m:g} s'
    rows = [dict(run=r.name, **{col(m): r.psnr.get(m, float('nan')) for m in marks}, epochs=r.steps * r.bs / (T * H * W))
            for r in runs]
    print(f'\nPSNR (dB, all {T} frames) against each run\'s own training time; {len(runs)} runs interleaved step by step, '
          f'{wall:.0f} s wall in all, load average now {os.getloadavg()[0]:.1f}\n')
    print(table(rows))
    ref = runs[0]
    first = lambda r, db: next((m for m in sorted(r.psnr) if r.psnr[m] >= db), None)
    fpc = flops_per_coord()
    thr = [dict(run=r.name, **{'coords/s': r.coords_per_s, 'GFLOP/s': r.coords_per_s * fpc / 1e9,
                               'x reference': r.coords_per_s / ref.coords_per_s}) for r in runs]
    thr += [dict(run='matmul 8192x256 @ 256x256, fp32', **{'GFLOP/s': mm32}),
            dict(run='matmul 8192x256 @ 256x256, bf16', **{'GFLOP/s': mm16})]
    print(f'\nThroughput while training (one coordinate, forward + backward: {fpc / 1e6:.2f} MFLOP)\n')
    print(table(thr, floatfmt='.3g'))
    for db in (30, 35):
        print(f'first mark (s) at or above {db} dB: ' + ', '.join(f'{r.name}: {first(r, db)}' for r in runs))


if __name__ == '__main__':
    main()
