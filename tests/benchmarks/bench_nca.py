"""NCA chapter benchmark: synthesis speed at 128x128 and rollout quality (NCA vs repeating the first frame).

    python tests/benchmarks/bench_nca.py            # fast preset (about 2 minutes on a CPU)
    python tests/benchmarks/bench_nca.py --preset full --skip_quality   # speed of the full config only

Speed: frames per second of `rollout` (steps_per_frame NCA steps + decode per frame) at 128x128 pixels, for the
plain step and the fused step, with 1 and 2 torch threads. Wall-clock numbers on a shared machine are inflated by
the load, so each row also gives its speed relative to the plain classic NCA (one pixel per cell) measured in the
same run, and the CPU time per frame: on one thread, 1000 / (CPU ms per frame) is the frame rate the step reaches when
it has a core to itself. (With 2 threads on an overloaded machine the threads wait for each other and the wall-clock
numbers collapse; run it on an idle machine to see the 2-thread speed-up.) Quality: the quick run trained on one reaction-diffusion run (seed 0) and
scored on another (seed 1): mean per-frame PSNR over 8-frame rollouts from 4 starting frames, and over one rollout
of twice the trained horizon from the first frame; with the recipe's tricks taken out one at a time (ablations).
"""
import argparse, os, time
import torch
from torch import nn
from vidlab.core import seed_everything
from vidlab.metrics import table, psnr_per_frame, ssim_per_frame, copy_last
from vidlab.nca import NCAConfig, NCA, FusedNCA, rollout, rd_clip, train_nca, evaluate_rollouts

def speed(model, fused, threads, size=128, frames=32):
    torch.set_num_threads(threads)
    step = FusedNCA(model) if fused else model
    x0 = torch.rand(size, size, 3)
    rollout(step, x0, 4)                                   # warm-up
    t0, c0 = time.perf_counter(), time.process_time()
    rollout(step, x0, frames)
    return frames / (time.perf_counter() - t0), 1e3 * (time.process_time() - c0) / frames

def random_nca(cfg):
    "Speed does not depend on the weights: a random (non-zero) last layer, so every step does real work."
    seed_everything(0); m = NCA(cfg); nn.init.normal_(m.update[-1].weight, std=0.02); return m.eval()

def speed_table(frames=32):
    models = {'classic (1 px/cell, 16 ch, 96 hidden)': NCAConfig.full(cell_size=1, channels=16, hidden=96),
              'fast preset (2x2 px/cell, 24 ch, 96 hidden)': NCAConfig.fast(),
              'full preset (2x2 px/cell, 32 ch, 128 hidden)': NCAConfig.full()}
    rows, base = [], None
    for name, cfg in models.items():
        m = random_nca(cfg)
        for threads in (1, 2):
            for fused in (False, True):
                fps, cpu_ms = speed(m, fused, threads, frames=frames)
                base = base or fps
                rows.append({'model': name, 'grid': f'{128 // cfg.cell_size}x{128 // cfg.cell_size}',
                             'steps/frame': cfg.steps_per_frame, 'step': 'fused' if fused else 'plain',
                             'threads': threads, 'fps': fps, 'x classic plain 1-thread': fps / base,
                             'CPU ms/frame': cpu_ms, 'fps per CPU (1000/CPU ms)': 1e3 / cpu_ms if threads == 1 else '',
                             'real-time (>=30 fps)': 'yes' if fps >= 30 else 'no'})
    torch.set_num_threads(1)
    return rows

ABLATIONS = {'NCA (all tricks)': {}, 'NCA without the pool (pool_fresh=1)': dict(pool_fresh=1.0),
             'NCA without gradient normalisation': dict(grad_norm=False),
             'NCA with one-frame rollouts only (max_rollout=1)': dict(max_rollout=1)}

def quality_table(preset='fast', ablations=True):
    torch.set_num_threads(1)
    cfg = getattr(NCAConfig, preset)()
    train, test = rd_clip(cfg.max_size, cfg.max_frames, seed=0), rd_clip(cfg.max_size, 2 * cfg.max_frames, seed=1)
    T2 = 2 * (len(train) - 1)
    truth, rep = test[1:T2 + 1], copy_last(test[:1], T2)
    row = lambda name, p8, video: {'model': name, 'PSNR 8 frames': p8,
                                   f'PSNR {T2} frames (2x horizon)': psnr_per_frame(video, truth).mean().item(),
                                   f'SSIM {T2} frames': ssim_per_frame(video, truth).mean().item()}
    rows, notes = [], []
    for name, kw in (ABLATIONS if ablations else dict(list(ABLATIONS.items())[:1])).items():
        t0 = time.perf_counter()
        model, h = train_nca(cfg.replace(**kw), train, plot=False, progress=False)
        notes.append(f'{name}: {time.perf_counter() - t0:.0f} s ({h.status})')
        res = evaluate_rollouts(model, test[:len(train)], horizon=8)
        rows.append(row(name, res['psnr_nca'], rollout(model, test[0], T2)[1:]))
    rows.append(row('repeat first frame', res['psnr_repeat'], rep))
    return rows, (f'{preset} preset: {cfg.max_size}x{cfg.max_size} frames, {len(train)} training frames, {cfg.num_epochs} '
                  f'steps, trained on seed 0; training times: ' + '; '.join(notes))

if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--preset', default='fast', choices=['fast', 'full'])
    p.add_argument('--skip_quality', action='store_true'); p.add_argument('--skip_speed', action='store_true')
    p.add_argument('--no_ablations', action='store_true', help='train only the full recipe (one run instead of four)')
    a = p.parse_args()
    print(f'torch {torch.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n')
    if not a.skip_speed:
        print('## Synthesis speed at 128x128 pixels\n'); print(table(speed_table()), '\n')
    if not a.skip_quality:
        rows, note = quality_table(a.preset, not a.no_ablations)
        print('## Held-out quality (reaction-diffusion, seed 1)\n'); print(note + '\n'); print(table(rows))
