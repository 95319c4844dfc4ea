"""Benchmark of the interp chapter: quality (model vs linear blend vs repeat-frame, PSNR/SSIM/temporal consistency at
keyframe interval 2 and 4, on held-out synthetic clips and the held-out tails of the real clips) and CPU speed at 256x256.

    python tests/benchmarks/bench_interp.py                          # the shipped model (data/interp/interp_small.pt)
    python tests/benchmarks/bench_interp.py --checkpoint runs/x/model.pt
    python tests/benchmarks/bench_interp.py --train                  # train the fast config first (about a minute)

Speeds: wall-clock (noisy on a shared machine; compare with the blend measured in the same run) and per CPU-second
(frames per second of CPU time the process got: with 1 thread, the speed of an idle core).
"""
import argparse, time
import numpy as np
import torch
from vidlab.core import load_checkpoint
from vidlab.data import sample_clip
from vidlab.metrics import table
from vidlab.interp import (InterpConfig, PRETRAINED, train, textured_shapes, split_clip, eval_methods, score, cpu_fps,
                           n_params, autoencode, code_size)
from vidlab.metrics import psnr, bicubic_upsample
from vidlab.media import resize_video

def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--checkpoint', default=None)
    p.add_argument('--train', action='store_true', help='train the fast config instead of loading a checkpoint')
    p.add_argument('--real', nargs='+', default=['carphone', 'bikes', 'bigbuckbunny'])
    p.add_argument('--n_synthetic', type=int, default=16)
    p.add_argument('--size', type=int, default=256)
    a = p.parse_args()
    if a.train:
        model, _, _ = train(InterpConfig.fast(), progress=False); src = 'fast config, trained now'
    else:
        ck = a.checkpoint or PRETRAINED
        model, src = load_checkpoint(ck).model, str(ck)
    cfg = model.cfg
    print(f'model: {src}\n')

    sets = {'synthetic (held-out seed)': list(textured_shapes(a.n_synthetic, 64, 17, seed=10_000 + cfg.seed))}
    for name in a.real:
        sets[f'{name} (held-out tail)'] = [split_clip(sample_clip(name, max_size=cfg.max_size), cfg.train_frac, 4)[1]]
    rows = []
    for interval in (2, 4):
        for name, clips in sets.items():
            sc = [score(eval_methods(model.interp, c, interval), interval) for c in clips]
            for meth in ('model', 'blend', 'repeat'):
                rows.append(dict(set=name, interval=interval, method=meth,
                                 **{m: float(np.mean([s[meth][m] for s in sc])) for m in ('psnr', 'ssim', 'tc')}))
            r = {x['method']: x['psnr'] for x in rows[-3:]}
            rows.append(dict(set=name, interval=interval, method='model - blend (dB)', psnr=r['model'] - r['blend']))
    print('## Quality (in-between frames only; tc = temporal consistency, lower is better)\n')
    print(table(rows, floatfmt='.3f'))

    ae_rows = []
    for name, clips in sets.items():
        c = clips[0]
        cs = code_size(cfg, *c.shape[1:3])
        H, W = c.shape[1:3]
        thumb = bicubic_upsample(resize_video(c, (H // 4, W // 4), mode='area'), size=(H, W))
        ae_rows.append(dict(set=name, ae_psnr=psnr(autoencode(model.ae, c), c), code_bits=cs['code_bits'], raw_bits=cs['raw_bits'],
                            compression=cs['ratio'], thumbnail_bicubic_psnr=psnr(thumb, c), thumbnail_compression=16.0))
    print('\n## Keyframe autoencoder (8-bit codes)\n')
    print(table(ae_rows))

    print(f'\n## Speed at {a.size}x{a.size} on CPU (interpolator, batch 1)\n')
    model.interp.cpu().eval()
    speed = []
    for th in sorted({1, torch.get_num_threads()}):
        torch.set_num_threads(th)
        s = cpu_fps(model.interp, a.size, n=10)
        speed.append(dict(threads=th, model_fps=s['model_fps'], model_fps_cpu_time=s['model_fps_cpu_time'], blend_fps=s['blend_fps'],
                          blend_over_model=s['blend_fps'] / s['model_fps'], interp_params=n_params(model.interp),
                          ae_params=n_params(model.ae)))
    print(table(speed, floatfmt='.1f'))

if __name__ == '__main__': main()
