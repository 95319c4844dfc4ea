"""SIREN benchmark: PSNR against wall-clock and throughput on the real clip `bikes` (frames 0-29, max_size 160 -> 160x68).

    python tests/benchmarks/bench_siren.py              # full: reference 300 s, ours 60 s and 300 s (about 12 minutes)
    python tests/benchmarks/bench_siren.py --scale 0.2  # every time budget x0.2 (a 2.5-minute smoke run)

Three runs, one after the other in this process, so they share the machine's load:
- reference: the straightforward SIREN (256 wide, 3 hidden layers, batch 8192, Adam 1e-4 constant, random batches with
  replacement, float32), evaluated on all 30 frames at fixed times (evaluation time excluded from its clock);
- vidlab 60 s / 300 s: `vidlab.siren.fit_video` with the same network: full passes over a shuffled permutation,
  peak lr 5e-4 with warm-up and a cosine annealed to the time budget, batch 4096, and the hidden layers in bfloat16
  (fused sine layer) where this CPU multiplies bfloat16 faster. Its clock includes its own periodic evaluations.
Speeds are also given as ratios to the reference, because wall-clock on a shared machine is noisy.
"""
import argparse, math, time
import torch
import torch.nn.functional as F
from vidlab.siren import SirenConfig, Siren, fit_video, render_video, video_coords, use_bf16, n_params
from vidlab.data import sample_clip
from vidlab.metrics import psnr, table


def matmul_gflops(dtype, n=8192, d=256, reps=20):
    a, w = torch.randn(n, d, dtype=dtype), torch.randn(d, d, dtype=dtype)
    for _ in range(3): a @ w
    t = time.perf_counter()
    for _ in range(reps): a @ w
    return 2 * n * d * d * reps / (time.perf_counter() - t) / 1e9


def flops_per_coord(w=256, layers=3):
    "Multiply-adds of one coordinate through the network, x2 for FLOPs, x3 for forward + backward."
    macs = 3 * w + layers * w * w + w * 3
    return 2 * 3 * macs


def reference(video, marks, seed=0):
    "The plain recipe, written out: random batches, constant Adam 1e-4, float32."
    torch.manual_seed(seed)
    T, H, W, _ = video.shape
    X, Y = video_coords(T, H, W).reshape(-1, 3), video.reshape(-1, 3)
    net = Siren(SirenConfig(hidden_features=256, hidden_layers=3, precision='fp32'))
    opt = torch.optim.Adam(net.parameters(), 1e-4)
    train_t, steps, out, k = 0.0, 0, {}, 0
    while k < len(marks):
        t0 = time.perf_counter()
        idx = torch.randint(0, len(X), (8192,))
        loss = F.mse_loss(net(X[idx]), Y[idx])
        opt.zero_grad(); loss.backward(); opt.step()
        train_t += time.perf_counter() - t0; steps += 1
        if train_t >= marks[k]:
            out[marks[k]] = psnr(render_video(net, T, H, W), video); k += 1
            print(f'  reference {train_t:6.1f} s  {out[marks[k-1]]:.2f} dB', flush=True)
    return out, steps * 8192 / train_t


def ours(video, budget, marks, lr=5e-4, batch_size=4096):
    cfg = SirenConfig(hidden_features=256, hidden_layers=3, lr=lr, batch_size=batch_size, epochs=100_000,
                      time_limit=budget)
    net = Siren(cfg)
    steps_per_epoch = math.ceil(video[..., 0].numel() / batch_size)
    h = fit_video(net, video, cfg, eval_every=max(50, int(budget * 4)), progress=False, device='cpu')
    T, H, W, _ = video.shape
    final = psnr(render_video(net, T, H, W), video)
    by_time = {m: max([p for t, p in zip(h.times('psnr'), h['psnr']) if t <= m * 1.02], default=float('nan')) for m in marks}
    by_time[max(marks)] = final
    steps = h.rows[-1]['step'] + 1
    print(f'  vidlab {budget:g} s: {final:.2f} dB after {steps} steps ({steps / steps_per_epoch:.1f} epochs)', flush=True)
    return by_time, steps * batch_size / h.rows[-1]['time'], final


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--scale', type=float, default=1.0, help='multiply every time budget by this')
    p.add_argument('--lr', type=float, default=5e-4); p.add_argument('--batch_size', type=int, default=4096)
    p.add_argument('--threads', type=int, default=None, help='torch threads (default: all cores)')
    a = p.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    video = sample_clip('bikes', max_size=160, max_frames=30)
    T, H, W, _ = video.shape
    print(f'bikes frames 0-{T-1} at {W}x{H}: {T*H*W:,} pixels; {torch.get_num_threads()} threads; '
          f'bf16 hidden layers: {use_bf16("auto", "cpu")}', flush=True)
    mm32, mm16 = matmul_gflops(torch.float32), matmul_gflops(torch.bfloat16)
    s = a.scale
    marks = [round(m * s, 1) for m in (30, 60, 120, 200, 300)]
    ref, ref_cps = reference(video, marks)
    short, short_cps, short_final = ours(video, 60 * s, [m for m in marks if m <= 60 * s], a.lr, a.batch_size)
    long, long_cps, _ = ours(video, 300 * s, marks, a.lr, a.batch_size)
    fpc = flops_per_coord()
    col = lambda m: f'PSNR @ {m:g} s'
    rows = [dict(run='reference: random batches, Adam 1e-4, fp32, batch 8192', **{col(m): ref[m] for m in marks}),
            dict(run=f'vidlab, cosine to 60 s (lr {a.lr:g}, batch {a.batch_size})', **{col(m): short.get(m, float('nan')) for m in marks}),
            dict(run=f'vidlab, cosine to 300 s (lr {a.lr:g}, batch {a.batch_size})', **{col(m): long[m] for m in marks})]
    print('\nPSNR (dB) on all 30 frames against training wall-clock (SIREN 256x3, 198k parameters)\n')
    print(table(rows))
    t30 = {'reference': next((m for m in marks if ref[m] >= 30), None), 'vidlab 300 s': next((m for m in marks if long[m] >= 30), None)}
    thr = [dict(run='reference (fp32)', **{'coords/s': ref_cps, 'GFLOP/s': ref_cps * fpc / 1e9, 'x reference': 1.0}),
           dict(run='vidlab (fused sine, bf16 if fast)', **{'coords/s': long_cps, 'GFLOP/s': long_cps * fpc / 1e9,
                                                             'x reference': long_cps / ref_cps}),
           dict(run='matmul 8192x256 @ 256x256, fp32', **{'GFLOP/s': mm32}),
           dict(run='matmul 8192x256 @ 256x256, bf16', **{'GFLOP/s': mm16})]
    print(f'\nThroughput while training (one coordinate, forward + backward: {fpc / 1e6:.2f} MFLOP)\n')
    print(table(thr, floatfmt='.3g'))
    print(f'\nfirst mark at or above 30 dB: {t30}; vidlab 60 s run ends at {short_final:.2f} dB')


if __name__ == '__main__':
    main()
