"""Benchmark of the neural SDE chapter (not collected by pytest).

Trains a latent SDE and its ODE ablation (`model_type='latent_ode'`: the same networks and loss, no diffusion)
on the stochastic bouncing balls, then runs the protocol on held-out clips: condition on k frames, draw N
futures, best-of-N PSNR/SSIM per future step, diversity, and the copy-last-frame baseline. Then sampling
speed (frames per second, solver and step size stated) as ratios against the ODE's sampling in the same run.

    python tests/benchmarks/bench_sde.py                       # the bench config below (CPU, ~15 min here)
    python tests/benchmarks/bench_sde.py --preset full         # the full recipe (GPU)
    python tests/benchmarks/bench_sde.py --num_epochs 3 --seeds 0 1 2

The bar: the SDE beats the ODE ablation on best-of-N SSIM over the last half of the horizon.
"""
import argparse, json, os, sys, time
from pathlib import Path
import torch

from vidlab.core import save_json, get_device
from vidlab.metrics import table
from vidlab.sde import SDEConfig, LatentSDE, train_sde, protocol, predict, late, summary_rows


def bench_config(preset: str, **kw) -> SDEConfig:
    if preset == 'full': return SDEConfig.full(**kw)
    # the CPU bench: the fast architecture, twice the training (6 epochs of 2,048 clips), 256 held-out clips, N = 20
    return SDEConfig.fast(**{**dict(num_epochs=6, eval_size=256, num_samples=20), **kw})


def sampling_speed(model, clips, num_samples: int, repeats: int = 3, **kw) -> float:
    "Generated frames per second of `predict` (best of `repeats`)."
    k = model.cfg.context_frames
    best = float('inf')
    for _ in range(repeats):
        t = time.perf_counter()
        out = predict(model, clips[:, :k], num_samples=num_samples, **kw)
        best = min(best, time.perf_counter() - t)
    return out.flatten(0, 2).shape[0] / best


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--preset', choices=['bench', 'full'], default='bench')
    p.add_argument('--num_epochs', type=int, default=None)
    p.add_argument('--seeds', type=int, nargs='+', default=[0])
    p.add_argument('--out', default='runs/bench_sde')
    p.add_argument('--threads', type=int, default=1)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    kw = {'num_epochs': a.num_epochs} if a.num_epochs else {}
    out, per_seed = Path(a.out), []
    for seed in a.seeds:
        cfg = bench_config(a.preset, seed=seed, **kw)
        print(f'== seed {seed}: {cfg.num_epochs} epochs of {cfg.train_size} clips, {cfg.context_frames}+{cfg.horizon} frames '
              f'at {cfg.frame_size}x{cfg.frame_size}, N = {cfg.num_samples}, {cfg.eval_size} held-out clips, '
              f'device {get_device()}', flush=True)
        sde = train_sde(cfg, out/f'sde_seed{seed}', progress=False)
        ode = train_sde(cfg.replace(model_type='latent_ode'), out/f'ode_seed{seed}', progress=False)
        test = sde.test
        res = {'latent SDE': protocol(sde.model, test, seed=seed),
               'latent SDE, diffusion off at sampling': protocol(sde.model, test, diffusion_scale=0, seed=seed),
               'latent ODE (trained without noise)': protocol(ode.model, test, seed=seed)}
        print(f"training: SDE {sde.metrics['seconds']:.0f} s, ODE {ode.metrics['seconds']:.0f} s "
              f"(ratio {sde.metrics['seconds'] / ode.metrics['seconds']:.2f}), {sde.metrics['steps']} steps each")
        print(f'\nProtocol on {len(test)} held-out clips (best of N = {cfg.num_samples}; PSNR in dB; '
              f'diversity = mean pairwise squared distance per pixel)\n')
        print(table(summary_rows(res), floatfmt='.3f'))
        steps = [dict(step=i + 1, sde_best_ssim=res['latent SDE']['best_ssim'][i].item(),
                      ode_best_ssim=res['latent ODE (trained without noise)']['best_ssim'][i].item(),
                      copy_last_ssim=res['latent SDE']['copy_ssim'][i].item(),
                      sde_best_psnr=res['latent SDE']['best_psnr'][i].item(),
                      ode_best_psnr=res['latent ODE (trained without noise)']['best_psnr'][i].item(),
                      copy_last_psnr=res['latent SDE']['copy_psnr'][i].item()) for i in range(cfg.horizon)]
        print('\nPer future step\n'); print(table(steps, floatfmt='.3f'))
        s_sde, s_ode = late(res['latent SDE']['best_ssim']), late(res['latent ODE (trained without noise)']['best_ssim'])
        verdict = 'PASS' if s_sde > s_ode else 'FAIL'
        print(f'\nbar (SDE > ODE on best-of-N SSIM, last half of the horizon): {s_sde:.3f} vs {s_ode:.3f} -> {verdict}')
        clips = test[:8]
        f_ode = sampling_speed(ode.model, clips, cfg.num_samples)
        f_sde = sampling_speed(sde.model, clips, cfg.num_samples)
        f_off = sampling_speed(sde.model, clips, cfg.num_samples, diffusion_scale=0)
        f_fine = sampling_speed(sde.model, clips, cfg.num_samples, fps_factor=4)
        strat = LatentSDE(cfg.replace(sde_type='stratonovich', method='midpoint'))      # same weights, other calculus
        strat.load_state_dict(sde.model.state_dict()); strat.eval()
        f_mid = sampling_speed(strat, clips, cfg.num_samples)
        speed = [dict(sampler='latent ODE (euler, g = 0)', solver='euler', dt=cfg.dt, frames_per_s=f_ode, ratio_vs_ode=1.0),
                 dict(sampler='latent SDE, Ito', solver='euler', dt=cfg.dt, frames_per_s=f_sde, ratio_vs_ode=f_sde / f_ode),
                 dict(sampler='latent SDE, diffusion off', solver='euler', dt=cfg.dt, frames_per_s=f_off, ratio_vs_ode=f_off / f_ode),
                 dict(sampler='latent SDE, 4x frame rate', solver='euler', dt=cfg.dt / 4, frames_per_s=f_fine, ratio_vs_ode=f_fine / f_ode),
                 dict(sampler='latent SDE, Stratonovich', solver='midpoint', dt=cfg.dt, frames_per_s=f_mid, ratio_vs_ode=f_mid / f_ode)]
        print(f'\nSampling speed ({len(clips)} clips x N = {cfg.num_samples} futures x {cfg.horizon} frames, '
              f'{torch.get_num_threads()} thread(s), decoding included; wall-clock on a shared machine, '
              f'compare the ratios)\n')
        print(table(speed, floatfmt='.3g'))
        per_seed.append(dict(seed=seed, sde_last_half=s_sde, ode_last_half=s_ode, verdict=verdict,
                             protocol={k: {kk: (vv.tolist() if torch.is_tensor(vv) else vv) for kk, vv in r.items()}
                                       for k, r in res.items()}, speed=speed))
    if len(per_seed) > 1:
        print('\nAll seeds\n')
        print(table([dict(seed=r['seed'], sde_ssim_last_half=r['sde_last_half'], ode_ssim_last_half=r['ode_last_half'],
                          verdict=r['verdict']) for r in per_seed], floatfmt='.3f'))
    save_json(out/'bench.json', per_seed)
    return 0 if all(r['verdict'] == 'PASS' for r in per_seed) else 1


if __name__ == '__main__':
    sys.exit(main())
