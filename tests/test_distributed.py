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

def test_dataloader_is_resharded():
    "A DataLoader given to fit under N processes becomes N disjoint shards of batch_size / N (a DistributedSampler)."
    from torch.utils.data import DataLoader, TensorDataset
    from vidlab.train import _distributed_loader
    dl = DataLoader(TensorDataset(torch.arange(16)), batch_size=4, shuffle=True)
    shards = [torch.cat([b[0] for b in _distributed_loader(dl, r, 2)]) for r in range(2)]
    assert all(len(s) == 8 for s in shards) and sorted(torch.cat(shards).tolist()) == list(range(16))
    assert next(iter(_distributed_loader(dl, 0, 2)))[0].shape == (2,)
