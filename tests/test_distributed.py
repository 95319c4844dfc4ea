"Issue 18 item 1: `fit` under torchrun (2 gloo processes on CPU) trains the same model as one process on the same global batch."
import subprocess, sys, textwrap
import pytest, torch

SCRIPT = textwrap.dedent('''
    import os, sys, torch
    from torch import nn
    from vidlab.train import fit, step_generator
    torch.set_num_threads(1)
    out, steps = sys.argv[1], int(sys.argv[2])
    resume = len(sys.argv) > 3
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(3, 32), nn.Tanh(), nn.Linear(32, 2))
    X = torch.randn(256, 3, generator=torch.Generator().manual_seed(1)); Y = torch.sin(X[:, :2] * 2)
    batch = lambda step: torch.randint(0, 256, (16,), generator=step_generator(0, step))   # the global batch
    loss_fn = lambda m, idx: ((m(X[idx]) - Y[idx]) ** 2).mean()
    h = fit(net, loss_fn, batch, steps, lr=1e-2, ckpt_path=os.path.join(out, 'state.pt'),
            resume=resume, progress=False, log_every=1)
    if int(os.environ.get('RANK', 0)) == 0:
        torch.save(dict(net.state_dict()), os.path.join(out, 'final.pt'))
        print('losses', h['loss'][-1])
    ''')

def _run(tmp_path, name, steps, nproc=1, resume=False):
    out = tmp_path/name; out.mkdir(exist_ok=True)
    script = tmp_path/'train.py'; script.write_text(SCRIPT)
    launch = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}'] if nproc > 1 else [sys.executable]
    r = subprocess.run(launch + [str(script), str(out), str(steps)] + (['resume'] if resume else []),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return torch.load(out/'final.pt'), out

def test_two_processes_match_one(tmp_path):
    "12 steps with 2 processes, then a resume to 24 under torchrun, match 24 steps of one process on the same batches."
    one, _ = _run(tmp_path, 'one', 24)
    _, out = _run(tmp_path, 'two', 12, nproc=2)
    assert torch.load(out/'state.pt', weights_only=True)['extra']['step'] == 11    # rank 0 saved the state
    two, _ = _run(tmp_path, 'two', 24, nproc=2, resume=True)
    for k in one: torch.testing.assert_close(two[k], one[k], rtol=1e-4, atol=1e-5)

def test_shard_batch():
    from vidlab.train import shard_batch
    x, y = torch.arange(8), torch.arange(16).view(8, 2)
    a, b, c = shard_batch((x, y, 3.0), 1, 2)
    assert a.tolist() == [4, 5, 6, 7] and b.shape == (4, 2) and c == 3.0
    assert shard_batch(dict(v=x, t=torch.tensor(0.5)), 0, 4)['v'].tolist() == [0, 1]
    with pytest.raises(Exception, match='equal shards'): shard_batch(torch.arange(7), 0, 2)

def test_shard_batch_cuts_captions_with_their_clips():
    "Issue 18 gap: lists/tuples of captions are cut with the tensors, so each rank's clips keep their captions."
    from vidlab.train import shard_batch
    clips, caps = torch.arange(4)[:, None].expand(4, 3), ['a', 'b', 'c', 'd']
    shards = [shard_batch((clips, caps, 7), r, 2) for r in range(2)]
    assert [s[1] for s in shards] == [['a', 'b'], ['c', 'd']] and all(s[2] == 7 for s in shards)
    assert [s[0][:, 0].tolist() for s in shards] == [[0, 1], [2, 3]]
    d = shard_batch(dict(video=clips, caption=tuple(caps), step=3), 1, 2)
    assert d['caption'] == ('c', 'd') and d['step'] == 3 and d['video'].shape == (2, 3)
    assert shard_batch(caps, 2, 4) == ['c']                                    # a batch of captions alone
    assert shard_batch(dict(caption=caps), 0, 2) == dict(caption=['a', 'b'])    # no tensor: the list decides
    with pytest.raises(Exception, match='equal shards'): shard_batch(['a', 'b', 'c'], 0, 2)

def test_dataloader_is_resharded():
    "A DataLoader given to fit under N processes becomes N disjoint shards of batch_size / N (a DistributedSampler)."
    from torch.utils.data import DataLoader, TensorDataset
    from vidlab.train import _distributed_loader
    dl = DataLoader(TensorDataset(torch.arange(16)), batch_size=4, shuffle=True)
    shards = [torch.cat([b[0] for b in _distributed_loader(dl, r, 2)]) for r in range(2)]
    assert all(len(s) == 8 for s in shards) and sorted(torch.cat(shards).tolist()) == list(range(16))
    assert next(iter(_distributed_loader(dl, 0, 2)))[0].shape == (2,)

NCA_SCRIPT = textwrap.dedent('''
    import os, sys, torch
    import vidlab.nca as nca
    from vidlab.nca import NCAConfig, train_nca, rd_clip
    out, stop = sys.argv[1], int(sys.argv[2])
    # float64: in float32 the rounding of gradients that cancel to ~0 (the decoder's motion and gate maps at
    # the first steps) differs between 1 and 2 processes, and Adam scales such noise up to lr-sized steps
    torch.set_default_dtype(torch.float64)
    _check = nca.check_frames
    nca.check_frames = lambda frames, cfg: _check(frames, cfg).double()
    # a small pool (reused within a few steps), stochastic updates, damage and fresh starts
    cfg = NCAConfig(max_size=16, max_frames=8, num_epochs=8, batch_size=4, pool_size=8, max_rollout=3,
                    channels=8, ae_width=8, hidden=16, steps_per_frame=2, damage_rate=0.5)
    batch = nca.nca_batch
    def stop_at(cfg, T, step):
        if step == stop: raise KeyboardInterrupt
        return batch(cfg, T, step)
    nca.nca_batch = stop_at
    try: tr = train_nca(cfg, rd_clip(16, 8), ckpt_path=os.path.join(out, 'state.pt'), resume=True,
                        progress=False)
    except KeyboardInterrupt: sys.exit(0)
    if int(os.environ.get('RANK', 0)) == 0:
        torch.save(dict(tr[0].state_dict()), os.path.join(out, 'final.pt'))
    ''')

def _run_nca(tmp_path, name, stop=-1, nproc=1):
    out = tmp_path/name; out.mkdir(exist_ok=True)
    script = tmp_path/'nca.py'; script.write_text(NCA_SCRIPT)
    launch = [sys.executable, '-m', 'torch.distributed.run', '--standalone', f'--nproc_per_node={nproc}'] if nproc > 1 else [sys.executable]
    r = subprocess.run(launch + [str(script), str(out), str(stop)], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    return out

def test_nca_two_processes_match_one(tmp_path):
    """The NCA's sample pool stays one pool under 2 processes (each rank trains its half of every batch and
    every rank sees the whole updated pool), the update noise and damage are drawn per sample of the global
    batch: interrupted at step 5 and resumed, 2 processes train what one process does."""
    one = torch.load(_run_nca(tmp_path, 'one')/'final.pt')
    _run_nca(tmp_path, 'two', stop=5, nproc=2)
    state = torch.load(tmp_path/'two'/'state.pt', weights_only=True)
    assert state['extra']['step'] == 4 and not state['model']['pool_new'].all()   # the pool is in the checkpoint
    two = torch.load(_run_nca(tmp_path, 'two', nproc=2)/'final.pt')
    for k in one: torch.testing.assert_close(two[k], one[k], rtol=1e-9, atol=1e-12)

def test_cli_two_processes_write_one_run_folder_and_resume(tmp_path):
    """`vidlab nca train --nproc 2` without --out: the ranks agree on one run folder (named from the clock), rank 0
    alone prints and writes it, and `--resume --nproc 2` continues from its saved state."""
    from conftest import run_cli
    tiny = ['--max_size', '16', '--max_frames', '6', '--num_epochs', '6', '--batch_size', '2', '--pool_size', '8',
            '--max_rollout', '2', '--channels', '8', '--ae_width', '8', '--hidden', '16']
    r = run_cli('nca', 'train', '--nproc', '2', *tiny, cwd=tmp_path)
    runs = list((tmp_path/'runs').iterdir())
    assert len(runs) == 1, runs
    files = {p.name for p in runs[0].iterdir()}
    assert {'config.json', 'nca.pt', 'train_state.pt', 'metrics.json', 'history.json', 'rollout.mp4'} <= files, files
    assert not [f for f in files if f.endswith('.tmp')] and r.stdout.count('training on') == 1
    r = run_cli('nca', 'train', '--nproc', '2', '--out', runs[0], '--resume', cwd=tmp_path)
    assert 'resuming nca next-frame at step 6 of 6' in r.stdout and len(list((tmp_path/'runs').iterdir())) == 1
