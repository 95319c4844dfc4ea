"""The text-to-video chapter: `vidlab t2v train/generate` end to end on a tiny config, the pipeline API, the text encoder
loading path, the folder dataset, and the errors for bad inputs."""
import json
import numpy as np
import pytest
import torch
from pathlib import Path
from vidlab.media import read_video, write_video
from vidlab.t2v import (T2VConfig, TextToVideoPipeline, load_text_encoder, small_text_encoder, read_captions,
                        folder_dataset, panel_generate, caption_accuracy, Probe, split_combos)

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT/'data'/'configs'/'t2v_tiny.yaml'


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "`vidlab t2v train --config t2v_tiny.yaml --out RUN`, once for the module."
    from conftest import run_cli
    out = tmp_path_factory.mktemp('t2v')/'run'
    r = run_cli('t2v', 'train', '--config', TINY, '--out', out, '--no_eval')
    return out, r


def test_train_writes_the_run_folder(run):
    out, r = run
    for f in ['config.json', 'checkpoint.pt', 'metrics.json', 'history.json', 'training_progress.png', 'samples.mp4',
              'pipeline/config.json', 'pipeline/vae.pt', 'pipeline/denoiser.pt', 'pipeline/text_encoder/config.json',
              'pipeline/text_encoder/model.safetensors', 'pipeline/text_encoder/tokenizer.json']:
        assert (out/f).exists(), f
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'done' and m['text_encoder'] == 'small'
    assert 'small CLIPTextModel' in r.stdout


def _gen(cli, out, path, text, *extra):
    cli('t2v', 'generate', '--model_dir', out, '--text', text, '--output_path', path, '--steps', '5', *extra)
    return read_video(path)


def test_generate_mp4_frames_size_prompts_and_seeds(run, cli, tmp_path):
    out, _ = run
    a = _gen(cli, out, tmp_path/'a.mp4', 'a red circle moving left', '--seed', '1', '--scale', '4', '--fps', '6')
    assert a.shape == (4, 64, 64, 3)                                 # 4 frames of 16x16, enlarged 4x
    a2 = _gen(cli, out/'pipeline', tmp_path/'a2.mp4', 'a red circle moving left', '--seed', '1', '--scale', '4')
    b = _gen(cli, out, tmp_path/'b.mp4', 'a yellow triangle moving up', '--seed', '1', '--scale', '4')
    c = _gen(cli, out, tmp_path/'c.mp4', 'a red circle moving left', '--seed', '2', '--scale', '4')
    assert torch.equal(a, a2)                                        # same prompt, same seed: the same video
    assert (a - b).abs().mean() > 1e-3                               # another prompt: another video
    assert (a - c).abs().mean() > 1e-3                               # another seed: another video
    n = _gen(cli, out, tmp_path/'n.mp4', 'a red circle', '--num_frames', '2')
    assert n.shape == (2, 16, 16, 3)


def test_generate_bad_inputs(run, cli, tmp_path):
    out, _ = run
    r = cli('t2v', 'generate', '--model_dir', out, '--text', '  ', '--output_path', tmp_path/'x.mp4', check=False)
    assert r.returncode == 2 and 'prompt is empty' in r.stderr
    r = cli('t2v', 'generate', '--model_dir', out, '--text', 'a red circle', '--num_frames', '32',
            '--output_path', tmp_path/'x.mp4', check=False)
    assert r.returncode == 2 and 'at most 4 frames' in r.stderr
    r = cli('t2v', 'generate', '--model_dir', tmp_path/'nothing', '--text', 'a red circle', '--output_path', tmp_path/'x.mp4', check=False)
    assert r.returncode == 2 and 'no model folder' in r.stderr
    assert not (tmp_path/'x.mp4').exists()


def test_train_with_a_missing_text_encoder_dir_fails_clearly(cli, tmp_path):
    r = cli('t2v', 'train', '--config', TINY, '--text_encoder', tmp_path/'no_clip_here', '--out', tmp_path/'r', check=False)
    assert r.returncode == 2 and 'text encoder directory' in r.stderr and 'does not exist' in r.stderr


def test_pipeline_api(run):
    out, _ = run
    pipe = TextToVideoPipeline.from_pretrained(out/'pipeline')
    g = lambda s: torch.Generator().manual_seed(s)
    f = pipe('a green triangle moving up', num_frames=4, num_inference_steps=4, guidance_scale=2.0, generator=g(0)).frames
    assert f.shape == (1, 4, 16, 16, 3) and f.dtype == np.float32 and 0 <= f.min() and f.max() <= 1
    f2 = pipe('a green triangle moving up', num_frames=4, num_inference_steps=4, guidance_scale=2.0, generator=g(0)).frames
    assert np.array_equal(f, f2)
    fb = pipe(['a red circle moving left', 'a blue square moving down'], num_inference_steps=3).frames
    assert fb.shape == (2, 4, 16, 16, 3)
    with pytest.raises(ValueError, match='prompt is empty'): pipe('')
    with pytest.raises(ValueError, match='at most'): pipe('a red circle', num_frames=6)
    d = out.parent/'resaved'
    pipe.save_pretrained(d)
    again = TextToVideoPipeline.from_pretrained(d)
    assert np.allclose(again('a red circle', num_inference_steps=3, seed=3).frames, pipe('a red circle', num_inference_steps=3, seed=3).frames, atol=1e-5)


def test_text_encoder_loads_with_from_pretrained_and_is_frozen(run, tmp_path):
    "The pretrained path (`--text_encoder DIR`) on a saved small model: the same from_pretrained call, frozen."
    out, _ = run
    te = load_text_encoder(out/'pipeline'/'text_encoder', frozen=True)
    assert te.frozen and not any(p.requires_grad for p in te.parameters())
    h, mask, pooled = te(['a red circle moving left'])
    assert h.shape[0] == 1 and h.shape[1] == mask.shape[1] and pooled.shape == (1, te.dim)
    (tmp_path/'file').write_text('x')
    with pytest.raises(Exception, match='not a transformers model folder'): load_text_encoder(tmp_path/'file')


def test_train_on_a_captioned_folder_with_a_frozen_text_encoder(run, cli, tmp_path):
    "A folder of videos + captions.csv, and `--text_encoder DIR` (frozen): weights of the encoder do not move."
    out, _ = run
    d = tmp_path/'clips'; d.mkdir()
    rows = ['video,caption']
    for i, (cap, colour) in enumerate([('a red circle moving left', (1, 0, 0)), ('a blue square moving down', (0, 0, 1))]):
        v = torch.zeros(6, 20, 24, 3); v[..., :] = torch.tensor(colour, dtype=torch.float32) * 0.8
        write_video(d/f'c{i}.mp4', v, fps=8); rows.append(f'c{i}.mp4,{cap}')
    (d/'captions.csv').write_text('\n'.join(rows) + '\n')
    te_dir = out/'pipeline'/'text_encoder'
    r = cli('t2v', 'train', '--config', TINY, '--data', d, '--text_encoder', te_dir, '--steps', '5', '--ae_steps', '5',
            '--out', tmp_path/'r')
    m = json.loads((tmp_path/'r'/'metrics.json').read_text())
    assert m['clips'] == 2 and m['text_encoder'] == str(te_dir)
    before = load_text_encoder(te_dir).model.state_dict()
    after = TextToVideoPipeline.from_pretrained(tmp_path/'r').text_encoder
    assert after.frozen and all(torch.equal(before[k], v) for k, v in after.model.state_dict().items())


def test_folder_dataset_errors(tmp_path):
    cfg = T2VConfig.fast()
    with pytest.raises(FileNotFoundError): folder_dataset(tmp_path/'none', cfg)
    with pytest.raises(FileNotFoundError, match='captions'): folder_dataset(tmp_path, cfg)
    write_video(tmp_path/'short.mp4', torch.rand(3, 16, 16, 3), fps=8)
    (tmp_path/'captions.jsonl').write_text('{"video": "short.mp4", "caption": "a short clip"}\n')
    with pytest.raises(Exception, match='has 3 frames'): folder_dataset(tmp_path, cfg)
    (tmp_path/'bad.jsonl').write_text('{not json\n')
    with pytest.raises(Exception, match='not valid JSON'): read_captions(tmp_path/'bad.jsonl')


def test_configs_and_bad_config_values():
    for n in ['default', 'fast', 'full', 'tiny']: T2VConfig.load(ROOT/'data'/'configs'/f't2v_{n}.yaml')
    assert T2VConfig.load(ROOT/'data'/'configs'/'t2v_default.yaml') == T2VConfig.slow()
    with pytest.raises(ValueError, match='even'): T2VConfig.fast(frames=7)
    with pytest.raises(ValueError, match='colour shape motion'): T2VConfig.fast(held_out=['a cat'])
    with pytest.raises(ValueError, match='unknown key'): T2VConfig.from_dict({'frame': 8})


def test_panel_and_probe_functions(run):
    out, _ = run
    pipe = TextToVideoPipeline.from_pretrained(out/'pipeline')
    res = panel_generate(pipe, 'a red circle moving left', frames=2, steps=2, guidance=3.0, seed=0, scale=2)
    assert list(res) == ['a red circle moving left'] and res['a red circle moving left'].shape == (2, 32, 32, 3)
    seen, held = split_combos(pipe.cfg)
    acc = caption_accuracy(pipe, Probe(), held[:2], per=1, steps=2)
    assert set(acc) == {'shape', 'color', 'motion', 'all'} and all(0 <= v <= 1 for v in acc.values())
