"""The text-to-video chapter: `vidlab t2v train/generate` end to end on a tiny config, the shipped pipeline, the
vocabulary checks, the diffusers-style call and its validation, DDIM/DDPM, the CLIP path (a CLIP-format
tokenizer + a tiny random CLIPTextModel loaded through --text_encoder DIR), resume, non-finite losses, and
pipeline folders that try to run code."""
import json, warnings
import numpy as np
import pytest
import torch
from pathlib import Path
from vidlab.media import read_video, write_video
import vidlab.t2v as t2v
from vidlab.t2v import (T2VConfig, TextToVideoPipeline, load_text_encoder, small_text_encoder, folder_clips,
                        panel_generate, caption_accuracy, Probe, split_combos, shipped_pipeline,
                        tiny_clip, clip_bpe_file, caption_words, vocabulary, train_t2v, training_data)

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT/'data'/'configs'/'t2v_tiny.yaml'


@pytest.fixture
def vl(capsys):
    "`vidlab ARGS` in this process (quicker than a subprocess): returns (exit code, stdout, stderr)."
    from vidlab.cli import main
    def call(*args):
        capsys.readouterr()
        rc = main([str(a) for a in args])
        o = capsys.readouterr()
        return rc, o.out, o.err
    return call


@pytest.fixture(scope='module')
def run(tmp_path_factory):
    "`vidlab t2v train --config t2v_tiny.yaml --output_dir RUN`, once for the module."
    from conftest import run_cli
    out = tmp_path_factory.mktemp('t2v')/'run'
    r = run_cli('t2v', 'train', '--config', TINY, '--output_dir', out, '--no_eval')
    return out, r


def test_train_writes_the_run_folder(run):
    out, r = run
    for f in ['config.json', 'autoencoder.pt', 'checkpoint.pt', 'metrics.json', 'history.json',
              'training_progress.png', 'samples.mp4', 'pipeline/config.json', 'pipeline/vae.pt',
              'pipeline/denoiser.pt', 'pipeline/text_encoder/config.json',
              'pipeline/text_encoder/model.safetensors', 'pipeline/text_encoder/tokenizer.json']:
        assert (out/f).exists(), f
    m = json.loads((out/'metrics.json').read_text())
    assert m['status'] == 'done' and m['text_encoder'] == 'small'
    assert 'small CLIPTextModel' in r.stdout


def _gen(vl, out, path, text, *extra):
    rc, o, e = vl('t2v', 'generate', '--model_dir', out, '--text', text, '--output_path', path, '--steps', '5', *extra)
    assert rc == 0, e
    return read_video(path)


def test_generate_mp4_frames_size_prompts_and_seeds(run, vl, tmp_path):
    out, _ = run
    a = _gen(vl, out, tmp_path/'a.mp4', 'a red circle moving left', '--seed', '1', '--scale', '4', '--fps', '6')
    assert a.shape == (4, 64, 64, 3)                                 # 4 frames of 16x16, enlarged 4x
    a2 = _gen(vl, out/'pipeline', tmp_path/'a2.mp4', 'a red circle moving left', '--seed', '1', '--scale', '4')
    b = _gen(vl, out, tmp_path/'b.mp4', 'a yellow triangle moving up', '--seed', '1', '--scale', '4')
    c = _gen(vl, out, tmp_path/'c.mp4', 'a red circle moving left', '--seed', '2', '--scale', '4')
    assert torch.equal(a, a2)                                        # same prompt, same seed: the same video
    assert (a - b).abs().mean() > 1e-3                               # another prompt: another video
    assert (a - c).abs().mean() > 1e-3                               # another seed: another video
    n = _gen(vl, out, tmp_path/'n.mp4', 'a red circle', '--num_frames', '2')
    assert n.shape == (2, 16, 16, 3)
    d = _gen(vl, out, tmp_path/'d.mp4', 'a red circle', '--sampler', 'ddpm', '--num_videos', '2')
    assert d.shape[:2] == (4, 16) and d.shape[2] >= 32               # two videos side by side


def test_generate_bad_inputs(run, vl, cli, tmp_path):
    out, _ = run
    x = tmp_path/'x.mp4'
    def bad(*args):
        rc, o, e = vl('t2v', 'generate', '--model_dir', out, '--output_path', x, *args)
        assert rc == 2 and len(e.strip().splitlines()) == 1, e
        return e
    assert 'prompt is empty' in bad('--text', '  ')
    assert 'at most 4 frames' in bad('--text', 'a red circle', '--num_frames', '32')
    assert '1..1000' in bad('--text', 'a red circle', '--steps', '0')
    assert 'guidance_scale' in bad('--text', 'a red circle', '--guidance_scale', '-1')
    assert 'eta' in bad('--text', 'a red circle', '--eta', '1.5')
    assert 'no model folder' in bad('--text', 'a red circle', '--model_dir', tmp_path/'nothing')
    r = cli('t2v', 'generate', '--model_dir', out, '--text', 'A purple hexagon moving diagonally',
            '--output_path', x, check=False)                        # the real command: exit 2, one line
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert 'purple, hexagon, diagonally' in r.stderr and 'It knows only: a, blue, circle' in r.stderr
    assert not x.exists()


def test_generate_without_model_dir_uses_the_shipped_pipeline(cli, vl, tmp_path):
    "The seed's command works right after install: the small pipeline ships inside the package."
    assert (shipped_pipeline()/'config.json').exists(), shipped_pipeline()
    size = sum(f.stat().st_size for f in shipped_pipeline().rglob('*') if f.is_file())
    assert size < 8e6, size                                          # a few MB of package data
    r = cli('t2v', 'generate', '--text', 'a red circle moving left', '--output_path', tmp_path/'out.mp4')
    assert 'shipped with vidlab' in r.stdout
    cfg = TextToVideoPipeline.from_pretrained(shipped_pipeline()).cfg
    assert read_video(tmp_path/'out.mp4').shape == (cfg.frames, cfg.size, cfg.size, 3)
    rc, o, e = vl('t2v', 'generate', '--text', 'A cat playing with a ball', '--output_path', tmp_path/'cat.mp4')
    assert rc == 2 and 'cat, playing, with, ball' in e and not (tmp_path/'cat.mp4').exists()


def test_train_with_a_missing_text_encoder_dir_fails_clearly(vl, tmp_path):
    rc, o, e = vl('t2v', 'train', '--config', TINY, '--text_encoder', tmp_path/'no_clip_here', '--output_dir',
                  tmp_path/'r')
    assert rc == 2 and 'text encoder directory' in e and 'does not exist' in e


def test_train_options_out_of_range_are_errors(vl, tmp_path):
    for opt, val, word in [('--frames', '80', 'frames'), ('--lr', '1e6', 'lr'), ('--size', '-16', 'size')]:
        rc, o, e = vl('t2v', 'train', '--config', TINY, opt, val, '--output_dir', tmp_path/'r')
        assert rc == 2 and word in e and 'range' in e, e
        assert not (tmp_path/'r'/'pipeline').exists()


def test_pipeline_api(run):
    out, _ = run
    pipe = TextToVideoPipeline.from_pretrained(out/'pipeline')
    g = lambda s: torch.Generator().manual_seed(s)
    f = pipe('a green triangle moving up', num_frames=4, num_inference_steps=4, guidance_scale=2.0,
             generator=g(0)).frames
    assert f.shape == (1, 4, 16, 16, 3) and f.dtype == np.float32 and 0 <= f.min() and f.max() <= 1
    f2 = pipe('a green triangle moving up', num_frames=4, num_inference_steps=4, guidance_scale=2.0,
              generator=g(0)).frames
    assert np.array_equal(f, f2)
    fb = pipe(['a red circle moving left', 'a blue square moving down'], num_inference_steps=3).frames
    assert fb.shape == (2, 4, 16, 16, 3)
    d = out.parent/'resaved'
    pipe.save_pretrained(d)
    again = TextToVideoPipeline.from_pretrained(d)
    assert np.allclose(again('a red circle', num_inference_steps=3, seed=3).frames,
                       pipe('a red circle', num_inference_steps=3, seed=3).frames, atol=1e-5)


def test_diffusers_style_arguments(run):
    out, _ = run
    pipe = TextToVideoPipeline.from_pretrained(out/'pipeline')
    kw = dict(num_inference_steps=3, seed=0)
    pt = pipe(['a red circle', 'a blue square'], num_videos_per_prompt=3, output_type='pt', **kw).frames
    assert isinstance(pt, torch.Tensor) and pt.shape == (6, 4, 16, 16, 3)
    pil = pipe('a red circle', output_type='pil', **kw).frames
    assert len(pil) == 1 and len(pil[0]) == 4 and pil[0][0].size == (16, 16)
    np_ = pipe('a red circle', **kw).frames
    assert np.abs(np.asarray(pil[0][0]) / 255 - np_[0, 0]).max() <= 1 / 255 + 1e-6
    neg = pipe('a red circle', negative_prompt='a blue square', **kw).frames
    assert np.abs(neg - np_).mean() > 1e-4                           # the negative prompt changes the guidance
    with pytest.warns(UserWarning, match='trained at 16 px'):
        hw = pipe('a red circle', height=24, width=32, output_type='pt', **kw).frames
    assert hw.shape == (1, 4, 24, 32, 3)
    ddpm = pipe('a red circle', num_inference_steps=50, eta=1.0, output_type='pt', seed=0).frames
    ddpm2 = pipe('a red circle', num_inference_steps=50, eta=1.0, output_type='pt', seed=0).frames
    assert torch.equal(ddpm, ddpm2) and ddpm.isfinite().all()        # ancestral, yet seeded: reproducible
    for bad, msg in [(dict(num_inference_steps=0), '1..1000'), (dict(num_inference_steps=2.5), 'integer'),
                     (dict(guidance_scale=-1), 'guidance_scale'), (dict(guidance_scale=float('nan')), 'finite'),
                     (dict(eta=-0.1), 'eta'), (dict(output_type='latent'), 'output_type'),
                     (dict(num_videos_per_prompt=0), 'num_videos_per_prompt'), (dict(height=17), 'multiple of 2'),
                     (dict(width=4096), 'width'), (dict(num_frames=3), 'even'), (dict(num_frames=6), 'at most'),
                     (dict(negative_prompt=['a red circle', 'a blue square']), 'negative_prompt'), (dict(negative_prompt=''), 'empty'),
                     (dict(generator=0), 'torch.Generator'), (dict(seed=-1), 'seed')]:
        with pytest.raises(ValueError, match=msg): pipe('a red circle', **bad)
    with pytest.raises(ValueError, match='prompt is empty'): pipe('')
    with pytest.raises(ValueError, match='string or a list'): pipe(3)
    with pytest.raises(ValueError, match='does not know: purple'): pipe('a purple circle')


def test_same_seed_same_numbers(tmp_path):
    cfg = T2VConfig.load(TINY).replace(ae_steps=4, steps=6)
    data = training_data(cfg)
    a = train_t2v(cfg, data=data, progress=False, evaluate=False).pipe.state_dict()
    b = train_t2v(cfg, data=data, progress=False, evaluate=False).pipe.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


class Interrupt:
    "Wrap a loss so that it raises KeyboardInterrupt at its `at`-th call (a Ctrl-C in the middle of a phase)."
    def __init__(self, fn, at): self.fn, self.at, self.n = fn, at, 0
    def __call__(self, *a):
        self.n += 1
        if self.n == self.at: raise KeyboardInterrupt
        return self.fn(*a)


@pytest.mark.parametrize('phase', ['autoencoder_loss', 'denoiser_loss'])
def test_interrupt_stops_the_command_and_resume_matches(phase, tmp_path, monkeypatch):
    "Ctrl-C in either phase stops the whole run (no final pipeline); --resume then ends where an uninterrupted run does."
    cfg = T2VConfig.load(TINY).replace(ae_steps=12, steps=16)
    data = training_data(cfg)
    ref = train_t2v(cfg, tmp_path/'ref', data=data, progress=False, evaluate=False).pipe.state_dict()
    monkeypatch.setattr(t2v, phase, Interrupt(getattr(t2v, phase), at=7))
    with pytest.raises(KeyboardInterrupt): train_t2v(cfg, tmp_path/'run', data=data, progress=False, evaluate=False)
    assert not (tmp_path/'run'/'pipeline').exists()
    monkeypatch.undo()
    got = train_t2v(cfg, tmp_path/'run', data=data, progress=False, evaluate=False, resume=True).pipe.state_dict()
    # both phases resume bitwise (the denoiser drifted by ~3e-4 while the autoencoder's last gradients, stale,
    # counted in the denoiser's gradient-clipping norm of the uninterrupted run only)
    assert all(torch.equal(ref[k], got[k]) for k in ref)


def test_non_finite_loss_stops_and_saves_no_pipeline(tmp_path):
    from vidlab.train import NonFiniteLoss
    cfg = T2VConfig.load(TINY).replace(ae_steps=4, steps=4)
    v, caps = training_data(cfg)
    v = v.float() / 255; v[:, 0, 0, 0, 0] = float('nan')             # broken data: the autoencoder's loss is NaN
    with pytest.raises(NonFiniteLoss): train_t2v(cfg, tmp_path/'r', data=(v, caps), progress=False, evaluate=False)
    assert not (tmp_path/'r'/'pipeline').exists()


def test_a_pipeline_folder_cannot_run_code(run, tmp_path):
    "vae.pt naming `subprocess.run` with a command as its config: refused before anything is called."
    import shutil
    out, _ = run
    d = tmp_path/'evil'; shutil.copytree(out/'pipeline', d)
    marker = tmp_path/'pwned'
    torch.save(dict(model={}, model_class='subprocess.run', config=['touch', str(marker)],
                    config_class='builtins.list', extra={}), d/'vae.pt')
    with pytest.raises(Exception, match='not a registered vidlab class'): TextToVideoPipeline.from_pretrained(d)
    assert not marker.exists()
    torch.save(torch.load(out/'pipeline'/'denoiser.pt', weights_only=True), d/'vae.pt')   # right format, wrong class
    with pytest.raises(Exception, match='not a VideoAutoencoder'): TextToVideoPipeline.from_pretrained(d)


def test_real_clip_path_tokenizer_and_tiny_clip_text_model(run, vl, cli, tmp_path):
    """CLIP's BPE tokenizer (from open-clip-torch's vocabulary file when installed, else a tiny one in the same
    format) + a random CLIPTextModel in the openai/clip-vit-base-patch32 layout, through --text_encoder DIR:
    it trains frozen, the pipeline is self-contained, and words never seen in training get a warning."""
    cfg = T2VConfig.load(TINY)
    words = caption_words(vocabulary(cfg)) + ['purple', 'hexagon']
    d = tiny_clip(tmp_path/'clip-vit-base-patch32', words=words)
    for f in ['config.json', 'model.safetensors', 'vocab.json', 'merges.txt', 'tokenizer.json']:
        assert (d/f).exists(), f
    te = load_text_encoder(d)
    assert te.kind == 'clip' and te.frozen
    if clip_bpe_file() is not None: assert len(te.tokenizer) == 49408
    rc, o, e = vl('t2v', 'train', '--config', TINY, '--text_encoder', d, '--steps', '5', '--ae_steps', '5',
                  '--no_eval', '--output_dir', tmp_path/'r')
    assert rc == 0, e
    m = json.loads((tmp_path/'r'/'metrics.json').read_text())
    assert m['text_encoder'] == str(d)
    pipe = TextToVideoPipeline.from_pretrained(tmp_path/'r')
    assert pipe.text_encoder.frozen and pipe.text_encoder.kind == 'clip' and pipe.cfg.text_dim == te.dim
    before = te.model.state_dict()
    assert all(torch.equal(before[k], v) for k, v in pipe.text_encoder.model.state_dict().items())
    import shutil; shutil.rmtree(d)                                   # the saved pipeline needs nothing outside it
    r = cli('t2v', 'generate', '--model_dir', tmp_path/'r', '--text', 'a purple hexagon moving left', '--steps', '2',
            '--output_path', tmp_path/'p.mp4')
    assert 'never seen in training: purple, hexagon' in r.stderr and (tmp_path/'p.mp4').exists()
    with pytest.warns(UserWarning, match="purple hexagon' is ignored"):     # CLIP truncates: said, not silent
        pipe.text_encoder.check_words(['a red circle moving left ' * 3 + 'purple hexagon'])


def test_init_continues_from_a_pipeline(run, vl, tmp_path):
    "--init DIR: the autoencoder is kept, the denoiser trains on from its weights, the architecture is the pipeline's."
    out, _ = run
    rc, o, e = vl('t2v', 'train', '--config', TINY, '--init', out, '--dim', '32', '--steps', '3', '--no_eval',
                  '--output_dir', tmp_path/'r')
    assert rc == 0, e
    a, b = TextToVideoPipeline.from_pretrained(out), TextToVideoPipeline.from_pretrained(tmp_path/'r')
    assert b.cfg.dim == a.cfg.dim == 16 and b.cfg.init == str(out)
    va, da = a.vae.state_dict(), a.denoiser.state_dict()
    assert all(torch.equal(va[k], v) for k, v in b.vae.state_dict().items())
    assert not all(torch.equal(da[k], v) for k, v in b.denoiser.state_dict().items())
    rc, o, e = vl('t2v', 'train', '--config', TINY, '--init', tmp_path/'none', '--output_dir', tmp_path/'x')
    assert rc == 2 and 'no model folder' in e


def test_the_gpu_recipes_clip_name_offline_falls_back_and_says_which(vl, tmp_path):
    """t2v_full.yaml names openai/clip-vit-base-patch32; where the Hub cannot be reached (the tests run offline)
    training warns, trains a small encoder instead, and the output and metrics.json say which encoder was used."""
    import yaml
    name = yaml.safe_load((ROOT/'data'/'configs'/'t2v_full.yaml').read_text())['text_encoder']
    assert name == 'openai/clip-vit-base-patch32'
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter('always')
        rc, o, e = vl('t2v', 'train', '--config', TINY, '--text_encoder', name, '--steps', '3', '--ae_steps', '3',
                      '--no_eval', '--output_dir', tmp_path/'r')
    assert rc == 0, e
    used = json.loads((tmp_path/'r'/'metrics.json').read_text())['text_encoder']
    assert f'text encoder used: {used}' in o
    if used != name:                                               # not in a local Hugging Face cache
        assert used == f'small (fallback: {name} could not be loaded)', used
        assert any('using a small CLIPTextModel' in str(x.message) for x in w)


def test_train_on_a_captioned_folder_streamed_with_a_frozen_text_encoder(run, vl, tmp_path):
    """A folder of videos + captions.csv, cut into temporal crops (stride, fps), streamed, files held out;
    `--text_encoder DIR` (frozen): the encoder's weights do not move; metrics.json has the held-out numbers."""
    from vidlab.data import fake_videos
    out, _ = run
    d = fake_videos(tmp_path/'clips', {f'v{i}.mp4': 20 for i in range(6)}, size=24, fps=16)
    (d/'captions.csv').write_text('file,caption\n' + ''.join(f'v{i}.mp4,a {"red" if i % 2 else "blue"} circle\n'
                                                             for i in range(6)))
    te_dir = out/'pipeline'/'text_encoder'
    rc, o, e = vl('t2v', 'train', '--config', TINY, '--data', d, '--text_encoder', te_dir, '--steps', '3',
                  '--ae_steps', '3', '--clip_fps', '8', '--clip_stride', '2', '--test_fraction', '0.34',
                  '--output_dir', tmp_path/'r')
    assert rc == 0, e
    m = json.loads((tmp_path/'r'/'metrics.json').read_text())
    assert m['text_encoder'] == str(te_dir) and m['held_out_files'] >= 1
    assert np.isfinite(m['reconstruction_psnr']) and 0 <= m['retrieval']['accuracy'] <= 1
    before = load_text_encoder(te_dir).model.state_dict()
    after = TextToVideoPipeline.from_pretrained(tmp_path/'r').text_encoder
    assert after.frozen and all(torch.equal(before[k], v) for k, v in after.model.state_dict().items())


def test_folder_clips_crops_split_and_deterministic_batches(tmp_path):
    from vidlab.data import fake_videos
    d = fake_videos(tmp_path/'c', {'a.mp4': 40, 'b.mp4': 24, 'sub/c.mp4': 24}, size=32, fps=16)
    (d/'captions.csv').write_text('file,caption\na.mp4,one\nb.mp4,two\nsub/c.mp4,three\n')
    cfg = T2VConfig.load(TINY).replace(data=str(d), clip_fps=8, clip_stride=2, test_fraction=0.34)
    tr, te = folder_clips(cfg, 'train'), folder_clips(cfg, 'test')
    assert not set(tr.names) & set(te.names) and len(tr.names) + len(te.names) == 3
    assert tr[0]['video'].shape == (4, 16, 16, 3) and tr[0]['video'].dtype == torch.uint8
    assert set(tr.steps) == {2}                                       # 16 fps sampled at 8 fps: every 2nd frame
    from vidlab.data import step_batches                               # what the chapter trains from
    a, b = step_batches(tr, 3, 0), step_batches(tr, 3, 0, num_workers=1)
    assert [a(s)['start'].tolist() for s in (0, 1, 5)] == [b(s)['start'].tolist() for s in (0, 1, 5)]
    with pytest.raises(FileNotFoundError): folder_clips(cfg.replace(data=str(tmp_path/'none')))
    (d/'captions.csv').unlink()
    with pytest.raises(Exception, match='no captions'): folder_clips(cfg)


def test_configs_and_bad_config_values():
    for n in ['default', 'default_cont', 'short', 'short_cont', 'fast', 'full', 'tiny']:
        T2VConfig.load(ROOT/'data'/'configs'/f't2v_{n}.yaml')
    assert T2VConfig.load(ROOT/'data'/'configs'/'t2v_default.yaml') == T2VConfig.slow()
    short = T2VConfig.load(ROOT/'data'/'configs'/'t2v_short.yaml')     # the short recipe's second run:
    cont = T2VConfig.load(ROOT/'data'/'configs'/'t2v_short_cont.yaml')  # the first's knobs, from it
    assert cont.init and cont.replace(init='') == short
    with pytest.raises(ValueError, match='even'): T2VConfig.fast(frames=8 + 1)
    with pytest.raises(ValueError, match='range'): T2VConfig.fast(frames=80)
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


def test_the_two_commands_make_the_shipped_config():
    """The shipped pipeline's config.json is what t2v_default.yaml, then t2v_default_cont.yaml (--init the first
    run) give: the second command takes its training knobs from the yaml and the rest from the first run."""
    first = T2VConfig.load(ROOT/'data'/'configs'/'t2v_default.yaml')
    second = T2VConfig.load(ROOT/'data'/'configs'/'t2v_default_cont.yaml')
    made = first.replace(**{k: getattr(second, k) for k in t2v.TRAINING_KNOBS})
    shipped = T2VConfig.load(shipped_pipeline()/'config.json')
    assert made == shipped, {k: (v, getattr(shipped, k)) for k, v in made.to_dict().items()
                             if v != getattr(shipped, k)}
    assert first.init == '' and first.steps != shipped.steps


def test_a_prompt_longer_than_the_tokenizer_reads_is_an_error(run, vl, tmp_path):
    "Truncation would drop the prompt's last words without a word: the word-level tokenizer refuses it."
    out, _ = run
    pipe = TextToVideoPipeline.from_pretrained(out)
    long = 'a red circle moving left ' * 3 + 'a blue square'            # 18 words; max_text_len 16 reads 14
    with pytest.raises(ValueError, match="'left a blue square' would be ignored"): pipe(long)
    pipe('a red circle moving left ' * 2 + 'a red circle', num_inference_steps=2)   # 13 words: fine
    rc, o, e = vl('t2v', 'generate', '--model_dir', out, '--text', long, '--output_path', tmp_path/'x.mp4')
    assert rc == 2 and 'too long' in e and not (tmp_path/'x.mp4').exists()


def test_ddpm_and_ddim_draw_from_the_data_distribution():
    """x0 ~ N(0, s^2) has an exact denoiser; with it DDPM's ancestral chain (eta=1, all T steps) and DDIM must
    sample variance s^2. Without the ancestral noise, or with a wrong sigma, DDPM's spread collapses or grows."""
    from vidlab.t2v import Diffusion
    D, s2 = Diffusion(), 0.25
    def exact(x, t):
        a = D._ab(t, x); x0 = a.sqrt() * s2 / (a * s2 + 1 - a) * x
        return D.target(x0, t, (x - a.sqrt() * x0) / (1 - a).sqrt())
    g = torch.Generator().manual_seed(0)
    ddpm = D.ddpm(exact, (20000,), (), generator=g)
    ddim = D.ddim(exact, (20000,), (), steps=250, generator=g)
    assert abs(ddpm.var().item() - s2) < 0.01 and abs(ddim.var().item() - s2) < 0.01
    beta = 1 - D.ab[1:] / D.ab[:-1]                                      # DDPM's posterior variance
    assert torch.allclose(D.sigma(D.ab[1:], D.ab[:-1], 1.0) ** 2, (1 - D.ab[:-1]) / (1 - D.ab[1:]) * beta,
                          atol=1e-6)
