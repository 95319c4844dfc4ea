"`vidlab siren train` and every render mode end to end on a tiny clip; bad checkpoints and impossible sizes fail clearly."
import pytest
import torch
from conftest import run_cli
from vidlab.cli import main
from vidlab.media import read_video


def run_main(capsys, *args):
    "The CLI in this process (fast), for the error cases: returns (exit code, stderr)."
    rc = main([str(a) for a in args])
    return rc, capsys.readouterr().err

TINY = ['--video', 'bikes', '--max_size', '32', '--max_frames', '4', '--epochs', '4', '--save_every', '2',
        '--hidden_features', '32', '--hidden_layers', '2', '--batch_size', '512', '--omega_0', '30', '--lr', '1e-3']


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp('siren')/'run'
    r = run_cli('siren', 'train', *TINY, '--output_dir', out)
    assert 'PSNR' in r.stdout
    return out


def test_train_writes_the_seed_folder(run):
    names = {p.name for p in run.iterdir()}
    for f in ['config.json', 'model_final.pt', 'checkpoint_epoch_0002.pt', 'checkpoint_epoch_0004.pt', 'recon_epoch_0002.png',
              'training_progress.png', 'comparison_frame_0000.png', 'comparison.mp4', 'metrics.json']:
        assert f in names, f
    assert read_video(run/'comparison.mp4').shape[0] == 4


@pytest.mark.parametrize('mode,args,shape', [
    ('reconstruct', [], (4, 14, 32)),
    ('interpolate', ['--temporal_scale', '3'], (10, 14, 32)),
    ('superres', ['--spatial_scale', '2'], (4, 28, 64)),
    ('custom', ['--width', '48', '--height', '20', '--num_frames', '6'], (6, 20, 48))])
def test_render_modes(run, tmp_path, mode, args, shape):
    out = tmp_path/'gen'
    r = run_cli('siren', 'render', '--checkpoint', run/'model_final.pt', '--mode', mode, *args, '--output_dir', out)
    assert f'{shape[0]} frames of {shape[2]}x{shape[1]}' in r.stdout
    (mp4,) = out.glob('*.mp4')
    assert read_video(mp4).shape == (*shape, 3)
    assert len(list(out.glob('frame_*.png'))) == shape[0]


def test_render_defaults_to_generated_next_to_checkpoint(run):
    run_cli('siren', 'render', '--checkpoint', run/'checkpoint_epoch_0002.pt', '--no_frames')
    assert (run/'generated'/'reconstruct.mp4').exists()


def test_full_hd_custom_render_is_tiled(run, tmp_path):
    "1920x1080 frames are computed 65,536 pixels at a time and streamed to the mp4."
    r = run_cli('siren', 'render', '--checkpoint', run, '--mode', 'custom', '--width', '1920', '--height', '1080',
                '--num_frames', '2', '--no_frames', '--output_dir', tmp_path)
    (mp4,) = tmp_path.glob('*.mp4')
    assert read_video(mp4).shape == (2, 1080, 1920, 3)


@pytest.mark.parametrize('ckpt,msg', [('missing.pt', 'No checkpoint'), ('junk.pt', 'not a readable checkpoint'),
                                      ('emptydir', 'without model_final.pt')])
def test_bad_checkpoint_is_a_clear_error(tmp_path, capsys, ckpt, msg):
    (tmp_path/'junk.pt').write_bytes(b'not a checkpoint'); (tmp_path/'emptydir').mkdir()
    rc, err = run_main(capsys, 'siren', 'render', '--checkpoint', tmp_path/ckpt)
    assert rc == 2 and msg in err


@pytest.mark.parametrize('args,msg', [(['--mode', 'custom', '--width', '0', '--height', '10', '--num_frames', '3'], 'cannot render'),
                                      (['--mode', 'custom', '--width', '100000', '--height', '100000', '--num_frames', '3'], 'limit'),
                                      (['--mode', 'custom', '--width', '64'], 'custom mode needs'),
                                      (['--mode', 'superres', '--spatial_scale', '0'], 'spatial_scale must be > 0')])
def test_impossible_render_size_is_a_clear_error(run, capsys, args, msg):
    rc, err = run_main(capsys, 'siren', 'render', '--checkpoint', run/'model_final.pt', *args)
    assert rc == 2 and msg in err


@pytest.mark.parametrize('args,msg', [(['--video', 'no_such_video.mp4'], 'No video file'),
                                      (['--video', 'bikes', '--omega_0', '-1'], 'omega_0 must be > 0'),
                                      (['--video', 'bikes', '--hidden_layers', 'three'], 'hidden_layers')])
def test_bad_training_input_is_a_clear_error(tmp_path, capsys, args, msg):
    rc, err = run_main(capsys, 'siren', 'train', *args, '--output_dir', tmp_path/'run')
    assert rc == 2 and msg in err


def test_a_corrupt_checkpoint_fails_cleanly_from_the_shell(tmp_path):
    (tmp_path/'junk.pt').write_bytes(b'not a checkpoint')
    r = run_cli('siren', 'render', '--checkpoint', tmp_path/'junk.pt', check=False)
    assert r.returncode == 2 and 'not a readable checkpoint' in r.stderr and 'Traceback' not in r.stderr


def test_bf16_path_matches_float32():
    from vidlab.siren import Siren, SirenConfig
    torch.manual_seed(0)
    m = Siren(SirenConfig(hidden_features=64, hidden_layers=3, precision='fp32'))
    x = torch.rand(1000, 3) * 2 - 1
    y32 = m(x)
    m.cfg = m.cfg.replace(precision='bf16')
    assert (m(x) - y32).abs().max() < 0.03
