"""Text-to-video benchmark: caption accuracy (seen / held-out, per attribute), temporal consistency, sampling time.

    python tests/benchmarks/bench_t2v.py                        # train the slow CPU recipe (T2VConfig.slow()), then measure
    python tests/benchmarks/bench_t2v.py --pipeline runs/t2v    # measure a trained pipeline (or run folder)
    python tests/benchmarks/bench_t2v.py --preset fast          # the notebook's quick recipe (a couple of minutes)

Caption accuracy is a proxy: a small CNN probe, trained on real clips of all 48 combinations, reads shape, colour and
motion from generated clips; "all" = all three right. It is not FVD or CLIP score. The baseline is the same pipeline
sampled with guidance 0 (the unconditional model learned through caption dropout: it ignores the text).
Temporal consistency: mean |frame-to-frame change| of generated clips against real clips of the same captions
(flicker), and the fraction of generated clips whose probe-read motion matches the caption.
Sampling time: one 32x32x16 clip (latent 8x8x4x4) per call, batch 1, with guidance (two denoiser passes per step),
wall-clock on this (shared) machine, also as a ratio to 25 steps, and the pixel-space denoiser step as a ratio to the
latent one, measured in the same run.
"""
import argparse, os, time
os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch
from vidlab.core import seed_everything
from vidlab.data import caption
from vidlab.metrics import table, flicker
from vidlab.t2v import (T2VConfig, TextToVideoPipeline, train_t2v, train_probe, caption_accuracy, split_combos,
                        shapes_dataset, step_seconds, resolve_model_dir, ATTRS)


def sampling_time(pipe, steps, reps=5):
    pipe.generate('a red circle moving left', num_inference_steps=steps, seed=0)          # warm-up
    t = time.perf_counter()
    for i in range(reps): pipe.generate('a red circle moving left', num_inference_steps=steps, seed=i)
    return (time.perf_counter() - t) / reps


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--pipeline', help='a trained pipeline folder (skip training)')
    p.add_argument('--preset', choices=['slow', 'fast'], default='slow')
    p.add_argument('--out', default='runs/bench-t2v')
    p.add_argument('--per', type=int, default=8, help='clips per held-out caption (seen: per // 2 over all 42)')
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    if a.pipeline:
        pipe = TextToVideoPipeline.from_pretrained(resolve_model_dir(a.pipeline)); cfg = pipe.cfg; train_s = None
    else:
        cfg = getattr(T2VConfig, a.preset)()
        t = time.perf_counter(); r = train_t2v(cfg, a.out, evaluate=False); train_s = time.perf_counter() - t
        pipe = r.pipe
    probe, real = train_probe(cfg)
    seen, held = split_combos(cfg)
    print(f'\n## Caption accuracy ({cfg.size}x{cfg.size}x{cfg.frames}, {cfg.sample_steps} DDIM steps, guidance {cfg.guidance})'
          + (f'; training took {train_s / 60:.1f} min wall on {a.threads} thread(s)' if train_s else ''))
    rows = [dict(clips='real clips (probe ceiling)', **real)]
    for name, combos, per in [('seen captions', seen, max(1, a.per // 2)), ('held-out captions', held, a.per)]:
        rows.append(dict(clips=f'{name}, model (w={cfg.guidance:g})', **caption_accuracy(pipe, probe, combos, per)))
        rows.append(dict(clips=f'{name}, unconditional (w=0)', **caption_accuracy(pipe, probe, combos, per, guidance=0.0)))
    rows.append(dict(clips='chance', shape=1/3, color=1/4, motion=1/4, all=1/48))
    for r in rows: r['mean'] = sum(r[k] for k in ATTRS) / 3
    print(table(rows, floatfmt='.3f'))

    print('\n## Guidance sweep (held-out captions)')
    print(table([dict(guidance=w, **caption_accuracy(pipe, probe, held, a.per // 2, guidance=w)) for w in (1.0, 2.0, 3.0, 5.0, 7.0)], floatfmt='.3f'))

    print('\n## Temporal consistency')
    prompts = [caption(*c) for c in held]
    gen = pipe.generate(prompts * 2, seed=0)
    real_v = torch.cat([shapes_dataset(cfg, 2, combos=[c], seed=11)[0] for c in held])
    print(table([dict(clips='real', flicker=sum(flicker(v) for v in real_v) / len(real_v)),
                 dict(clips='generated (held-out captions)', flicker=sum(flicker(v) for v in gen) / len(gen))], floatfmt='.4f'))

    print('\n## Sampling time per 32x32x16 clip (batch 1, with guidance)')
    tcfg = T2VConfig.slow()
    tpipe = pipe if (cfg.size, cfg.frames) == (32, 16) else TextToVideoPipeline(tcfg, __import__('vidlab.t2v', fromlist=['x']).small_text_encoder(['a'], tcfg.text_dim, 2, 4, 16))
    trows = []
    for s in (5, 10, 25, 50):
        trows.append(dict(steps=s, seconds=sampling_time(tpipe, s)))
    ref = next(r['seconds'] for r in trows if r['steps'] == 25)
    for r in trows: r['vs_25_steps'] = r['seconds'] / ref
    acc_rows = {s: caption_accuracy(pipe, probe, held, max(1, a.per // 2), steps=s)['all'] for s in (5, 10, 25, 50)}
    for r in trows: r['held_out_all_correct'] = acc_rows[r['steps']]
    print(table(trows, floatfmt='.3f'))
    lat, pix = step_seconds(tcfg), step_seconds(tcfg, pixel=True)
    print('\n## One denoiser training step (batch 8), latent against pixel space')
    print(table([dict(space='latent ' + 'x'.join(map(str, tcfg.latent_shape)), step_seconds=lat, ratio=1.0),
                 dict(space='pixels 3x16x32x32', step_seconds=pix, ratio=pix / lat)], floatfmt='.3f'))
    ok_time = ref < 1.0
    held_acc = next(r for r in rows if r['clips'].startswith('held-out captions, model'))
    print(f"\nbars: held-out mean attribute accuracy {held_acc['mean']:.1%} (bar 90%: {'met' if held_acc['mean'] >= 0.9 else 'NOT met'}); "
          f"25-step 32x32x16 sample {ref:.2f} s (bar < 1 s: {'met' if ok_time else 'NOT met'})")


if __name__ == '__main__':
    main()
