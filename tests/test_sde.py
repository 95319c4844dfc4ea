"The neural SDE chapter from the outside: `vidlab sde prepare-data | train | generate` end to end, and bad inputs."
import os, subprocess, sys
from pathlib import Path
import pytest
import torch
import yaml

from vidlab.cli import main
from vidlab.media import read_video, write_video, save_frames
from vidlab.sde import SDEConfig, LatentSDE, load_model, predict, generate, sde_loss, stochastic_balls, tokenize

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT/'data'/'configs'
ENV = {**os.environ, 'IN_TEST': '1', 'VIDLAB_FAST': '1'}
TINY = ['--train_size', '32', '--num_epochs', '1', '--batch_size', '8', '--eval_size', '8', '--num_samples', '2']


def vidlab(*args, check=True):
    r = subprocess.run([sys.executable, '-m', 'vidlab.cli', 'sde', *map(str, args)], capture_output=True, text=True,
                       env=ENV, timeout=600)
    if check: assert r.returncode == 0, r.stdout + r.stderr
    return r


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    "A tiny model trained by the CLI from the shipped fast YAML, with two keys overridden."
    tmp = tmp_path_factory.mktemp('sde')
    vidlab('prepare-data', '--dataset', 'bouncing', '--output_dir', tmp/'balls', '--num_sequences', '40',
           '--sequence_length', '10', '--frame_size', '32')
    assert (tmp/'balls'/'sequences.pt').exists() and (tmp/'balls'/'preview.mp4').exists()
    r = vidlab('train', '--config', CONFIGS/'sde_fast.yaml', *TINY, '--dataset', tmp/'balls'/'sequences.pt',
               '--output_dir', tmp/'run')
    assert 'best-of-2' in r.stdout
    for f in ['config.json', 'config.yaml', 'model_final.pt', 'metrics.json', 'history.json', 'training_progress.png',
              'samples.mp4']:
        assert (tmp/'run'/f).exists(), f
    return tmp


def test_configs_load():
    for f in sorted(CONFIGS.glob('sde_*.yaml')):
        cfg = SDEConfig.load(f)
        assert cfg.solver in ('euler', 'midpoint', 'reversible_heun'), f
    assert SDEConfig.load(CONFIGS/'sde_stratonovich.yaml').solver == 'midpoint'
    assert SDEConfig.load(CONFIGS/'sde_ode.yaml').model_type == 'latent_ode'


def test_generate_unconditional(trained):
    vidlab('generate', '--model_path', trained/'run'/'model_final.pt', '--output_dir', trained/'uncond', '--num_samples', 5)
    outs = sorted((trained/'uncond').glob('sample_*.mp4'))
    assert len(outs) == 5
    v = read_video(outs[0])
    assert v.shape == (7, 32, 32, 3)                       # z0 frame + the training horizon of 6
    assert read_video(trained/'uncond'/'samples.mp4').shape[0] == 7


def test_generate_conditioned_and_controls(trained, tmp_path):
    clip = stochastic_balls(1, SDEConfig.fast(), seed=5)[0][0]
    write_video(tmp_path/'start.mp4', clip)
    save_frames(clip[:4], tmp_path/'frames')
    for src in (tmp_path/'start.mp4', tmp_path/'frames'):
        out = tmp_path/f'out_{src.name}'
        vidlab('generate', '--model_path', trained/'run', '--output_dir', out, '--num_samples', 2,
               '--initial_frames', src, '--horizon', 8, '--fps_factor', 2, '--diffusion_scale', 0.5)
        v = read_video(out/'sample_000.mp4')
        assert v.shape == (4 * 2 + 8 * 2, 32, 32, 3)         # context (repeated x2) + 8 intervals at 2x the frame rate
    vidlab('generate', '--model_path', trained/'run'/'model_final.pt', '--output_dir', tmp_path/'text',
           '--text', 'a red ball moving left', '--num_samples', 2)
    assert len(list((tmp_path/'text').glob('sample_*.mp4'))) == 2


def test_generate_is_reproducible_and_ode_has_one_future(trained):
    model = load_model(trained/'run')
    ctx = stochastic_balls(2, model.cfg, seed=9)[0][:, :4]
    a, b = predict(model, ctx, num_samples=3, seed=7), predict(model, ctx, num_samples=3, seed=7)
    assert torch.equal(a, b)
    p = predict(model, ctx, num_samples=3, diffusion_scale=0)
    assert torch.allclose(p[:, 0], p[:, 2], atol=1e-6)
    assert generate(model, 2, 'a blue ball', seed=1).shape == (2, 7, 32, 32, 3)


def test_prepare_custom_folder(tmp_path):
    vids = tmp_path/'videos'; vids.mkdir()
    write_video(vids/'a.mp4', torch.rand(14, 40, 48, 3))
    save_frames(torch.rand(12, 36, 36, 3), vids/'b_frames')
    (vids/'broken.mp4').write_bytes(b'not a video')
    vidlab('prepare-data', '--dataset', 'custom', '--input', vids, '--output_dir', tmp_path/'seq',
           '--sequence_length', '10', '--stride', '2', '--frame_size', '16')
    d = torch.load(tmp_path/'seq'/'sequences.pt', weights_only=True)
    assert d['sequences'].shape == (3 + 2, 10, 16, 16, 3) and d['sequences'].dtype == torch.uint8
    assert len(d['sources']) == 2                         # the broken file is skipped with a warning


def test_bad_inputs(trained, tmp_path, capsys):
    bad = tmp_path/'bad.yaml'
    bad.write_text(yaml.safe_dump({**SDEConfig.fast().to_dict(), 'frame_sise': 32}))
    assert main(['sde', 'train', '--config', str(bad)]) == 2
    assert 'unknown key' in capsys.readouterr().err
    bad.write_text(yaml.safe_dump({**SDEConfig.fast().to_dict(), 'frame_size': 'big'}))
    assert main(['sde', 'train', '--config', str(bad)]) == 2
    assert 'frame_size' in capsys.readouterr().err
    assert main(['sde', 'train', '--config', str(CONFIGS/'sde_fast.yaml'), '--method', 'midpoint']) == 2
    assert 'does not solve ito' in capsys.readouterr().err
    assert main(['sde', 'train', '--config', str(tmp_path/'missing.yaml')]) == 2
    assert 'No config file' in capsys.readouterr().err
    write_video(tmp_path/'big.mp4', torch.rand(6, 48, 64, 3))
    model = str(trained/'run'/'model_final.pt')
    assert main(['sde', 'generate', '--model_path', model, '--initial_frames', str(tmp_path/'big.mp4'),
                 '--output_dir', str(tmp_path/'o')]) == 2
    assert 'trained on 32x32' in capsys.readouterr().err
    assert main(['sde', 'generate', '--model_path', model, '--initial_frames', str(tmp_path/'big.mp4'), '--resize',
                 '--output_dir', str(tmp_path/'o')]) == 0
    assert main(['sde', 'generate', '--model_path', model, '--text', 'the purple zebra']) == 2
    assert 'no word the model knows' in capsys.readouterr().err
    assert main(['sde', 'generate', '--model_path', str(tmp_path/'nope.pt')]) == 2
    assert 'No checkpoint' in capsys.readouterr().err
    assert main(['sde', 'generate', '--model_path', model, '--initial_frames', str(tmp_path/'nothing')]) == 2
    assert main(['sde', 'prepare-data', '--dataset', 'custom', '--output_dir', str(tmp_path/'x')]) == 2
    assert 'needs --input' in capsys.readouterr().err


@pytest.mark.parametrize('sde_type,method', [('ito', 'euler'), ('stratonovich', 'midpoint'),
                                             ('stratonovich', 'reversible_heun')])
def test_solvers(sde_type, method):
    cfg = SDEConfig.fast(sde_type=sde_type, method=method)
    torch.manual_seed(0)
    m = LatentSDE(cfg)
    v, c = stochastic_balls(2, cfg)
    loss, logs = sde_loss(m, v, tokenize(c))
    loss.backward()
    assert torch.isfinite(loss) and logs['kl_path'] > 0
    assert predict(m, v[:, :4], num_samples=2).shape == (2, 2, 6, 32, 32, 3)
