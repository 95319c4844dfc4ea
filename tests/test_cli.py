"The `vidlab` command: every chapter registered, errors exit 2 with a message, `vidlab demo` writes its summary."
import json, pkgutil
import pytest
import vidlab
from vidlab.cli import CORE_MODULES, DEMOS, load_chapters

CHAPTERS = sorted(m.name for m in pkgutil.iter_modules(vidlab.__path__) if m.name not in CORE_MODULES and not m.name.startswith('_'))

def test_help_lists_every_chapter(cli):
    out = cli('--help').stdout
    for ch in CHAPTERS: assert ch in out

def test_info(cli): assert "'mode': 'fast'" in cli('info').stdout

def test_unknown_chapter_is_a_usage_error(cli):
    r = cli('no-such-chapter', check=False)
    assert r.returncode == 2 and 'invalid choice' in r.stderr

def test_demo_with_nothing_to_run_says_why(cli, tmp_path):
    r = cli('demo', '--only', 'no-such-chapter', '--out', tmp_path/'demo', check=False)
    assert r.returncode == 2 and ('no chapter demos' in r.stderr or 'no demo for no-such-chapter' in r.stderr)

def test_every_chapter_has_a_demo():
    "Every chapter with a `train` command has a demo (a one-command chapter such as `bench` need not)."
    from vidlab.cli import COMMANDS
    load_chapters()
    assert sorted(DEMOS) == sorted(ch for ch in CHAPTERS if 'train' in COMMANDS.get(ch, {}))

@pytest.mark.skipif(not CHAPTERS, reason='no chapters yet')
def test_demo_writes_videos_and_summary(cli, tmp_path):
    load_chapters()
    ch = 'siren' if 'siren' in DEMOS else sorted(DEMOS)[0]
    cli('demo', '--only', ch, '--out', tmp_path/'demo')
    summary = json.loads((tmp_path/'demo'/'summary.json').read_text())
    if 'chapters' in summary:                            # vidlab.demo (nbs/07_demo) writes one page
        assert ch in summary['chapters'] and (tmp_path/'demo'/'index.html').exists()
    else: assert ch in summary and (tmp_path/'demo'/'summary.md').exists()
    assert list((tmp_path/'demo'/ch).rglob('*.mp4'))


# ---- issue 10 items 2, 3, 9: how a command ends is its exit status ----
import subprocess, sys, textwrap

TOY = textwrap.dedent("""
    import sys, torch
    from dataclasses import dataclass
    from torch import nn
    from vidlab.core import Config, knob, run_dir
    from vidlab.cli import command, arg, main
    from vidlab.train import fit

    @dataclass
    class ToyConfig(Config):
        steps: int = knob(40, 1, 1000)
        lr: float = knob(0.1, 1e-6, 1e12, log=True)

    @command('toy', 'train', config=ToyConfig, args=[arg('--output_dir', required=True), arg('--stop_at', type=int, default=-1)])
    def train(args):
        out = run_dir(args.output_dir)
        torch.manual_seed(0); m = nn.Linear(4, 1); x = torch.randn(64, 4)
        def loss_fn(m, step):
            if step == args.stop_at: raise KeyboardInterrupt
            return (m(x) ** 2).mean()
        fit(m, loss_fn, lambda s: s, args.cfg.steps, opt=torch.optim.SGD(m.parameters(), lr=args.cfg.lr),
            ckpt_path=out/'state.pt', resume=args.resume, progress=False)
        print('final weight norm', m.weight.norm().item())

    sys.exit(main())
    """)

@pytest.fixture
def toy(tmp_path):
    script = tmp_path/'toy.py'; script.write_text(TOY)
    return lambda *a, out='run': subprocess.run([sys.executable, str(script), 'toy', 'train', '--output_dir',
                                                 str(tmp_path/out), *map(str, a)], capture_output=True, text=True, timeout=300)

def test_exit_codes(toy):
    r = toy('--lr', '1e9')
    assert r.returncode == 1 and 'lower learning rate' in r.stderr and 'Traceback' not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = toy('--steps', '0')
    assert r.returncode == 2 and 'steps: 0 is out of range' in r.stderr
    r = toy('--stop_at', '15')
    assert r.returncode == 130 and '--resume' in r.stderr and 'Traceback' not in r.stderr
    resumed = toy('--resume')
    assert resumed.returncode == 0 and 'resuming train at step 15' in resumed.stdout
    straight = toy(out='straight')
    assert straight.stdout.splitlines()[-1] == resumed.stdout.splitlines()[-1]   # the same final weights

def test_int_choices_from_the_command_line():
    "A knob with integer choices takes `--n 2` (argparse compares choices after `type`)."
    import argparse
    from dataclasses import dataclass
    from vidlab.core import Config, knob
    from vidlab.cli import add_config_args, config_from_args

    @dataclass
    class C(Config):
        n: int = knob(4, choices=[2, 4, 8])
    p = argparse.ArgumentParser(); add_config_args(p, C)
    assert config_from_args(C, p.parse_args(['--n', '2'])).n == 2

def test_estimate_prices_a_run_without_training_it(toy, tmp_path):
    "`--estimate` on a train command: fit stops after its first steps, prints time per step and memory, saves nothing."
    r = toy('--estimate', '--steps', '500')
    assert r.returncode == 0, r.stderr
    assert 's/step on cpu' in r.stdout and 'for the 494 steps left' in r.stdout and 'GiB RSS' in r.stdout
    assert '(measured over the first steps' in r.stdout and '| train | cpu |' in r.stdout
    assert not (tmp_path/'run'/'state.pt').exists()

def test_threads_option(cli):
    assert "'threads': 2" in cli('--threads', '2', 'info').stdout            # IN_TEST alone would give 1
    r = cli('--threads', '0', 'info', check=False)
    assert r.returncode == 2 and '--threads must be >= 1' in r.stderr
