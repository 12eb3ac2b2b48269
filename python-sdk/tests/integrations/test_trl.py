"""A real GRPO run with TRL on the CPU: a tiny Llama and a character tokenizer built here (no
downloads), rewards from an environment server in a child process (`apps.DigitsEnv`) reached
through an `EnvPool`. Asserts that the trainer's rewards are exactly the ones the server computed
(its ledger), that the policy's parameters changed, and that the reward went up; writes the curve
to `reports/grpo-reward-curve.json`. Runs in `.venv-train` (`make test-train`); skipped where TRL
is not installed."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path
from typing import Any

import pytest

trl = pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from datasets import Dataset  # noqa: E402
from openenv.integrations.trl import (  # noqa: E402
    BackgroundLoop,
    RolloutFailed,
    env_reward_func,
    make_rollout_func,
    reward_from_env,
)
from openenv.pool import EnvPool  # noqa: E402
from openenv.providers import LocalProcessProvider  # noqa: E402
from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers  # noqa: E402
from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast  # noqa: E402

# TRL 1.16 calls transformers 5.23 APIs that transformers marks deprecated: their business, not ours.
pytestmark = pytest.mark.filterwarnings(
    "ignore::FutureWarning:transformers.*", "ignore::FutureWarning:trl.*", "ignore::DeprecationWarning"
)
os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")  # rollout_func is "experimental" in TRL

SDK_ROOT = Path(__file__).resolve().parents[2]
REPO_ROOT = SDK_ROOT.parent
CHARS = "0123456789 taskevnhr"
STEPS = 10
PER_STEP = 8  # 2 prompts x 4 generations


def tiny_tokenizer() -> PreTrainedTokenizerFast:
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2} | {ch: i + 3 for i, ch in enumerate(CHARS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>", padding_side="left"
    )
    assert tokenizer.decode(tokenizer("task 77")["input_ids"]) == "task 77"
    return tokenizer


def tiny_model(vocab_size: int) -> LlamaForCausalLM:
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=64,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config)


def config(tmp_path: Path, steps: int, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "output_dir": str(tmp_path / "out"),
        "per_device_train_batch_size": PER_STEP,
        "num_generations": 4,
        "max_completion_length": 6,
        "learning_rate": 3e-2,
        "max_steps": steps,
        "logging_steps": 1,
        "report_to": "none",
        "use_cpu": True,
        "save_strategy": "no",
        "activation_checkpointing": False,
        "bf16": False,
        "beta": 0.0,
        "seed": 0,
        "disable_tqdm": True,
    }
    return trl.GRPOConfig(**(options | overrides))


def dataset() -> Dataset:
    return Dataset.from_dict({"prompt": ["task sevens"] * 64, "task_id": ["sevens"] * 64})


def ledger_rewards(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
def pool_on_loop(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    ledger = tmp_path / "ledger.jsonl"
    provider = LocalProcessProvider(
        "tests.integrations.apps:digits",
        cwd=str(SDK_ROOT),
        env={"OPENENV_TEST_LEDGER": str(ledger), "PYTHONPATH": os.environ.get("PYTHONPATH", "")},
    )
    loop = BackgroundLoop()
    pool = loop.run(EnvPool(provider, replicas=2).start(), timeout_s=120)
    try:
        yield pool, loop, ledger
    finally:
        loop.run(pool.close(), timeout_s=60)
        loop.close()


def params(model: Any) -> dict[str, Any]:
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def test_grpo_with_rewards_from_the_environment_server(tmp_path: Path, pool_on_loop: Any) -> None:
    pool, loop, ledger = pool_on_loop
    tokenizer = tiny_tokenizer()
    model = tiny_model(len(tokenizer))
    before = params(model)
    reward = env_reward_func(pool, lambda text, observation: {"text": text}, loop=loop, name="digits")
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=[reward],
        args=config(tmp_path, STEPS),
        train_dataset=dataset(),
        processing_class=tokenizer,
    )
    trainer.train()

    # every reward the trainer used was computed by the server, call by call
    served = ledger_rewards(ledger)
    assert len(served) == len(reward.history) == STEPS * PER_STEP
    history = list(reward.history)
    for call in range(STEPS):
        block = slice(call * PER_STEP, (call + 1) * PER_STEP)
        assert sorted(r["reward"] for r in served[block]) == sorted(history[block])
    assert {r["task"] for r in served} == {"sevens"}
    assert reward.failures == 0 and all(t.session_id for t in reward.last_trajectories)
    logged = [entry["rewards/digits/mean"] for entry in trainer.state.log_history if "rewards/digits/mean" in entry]
    assert len(logged) == STEPS
    for call, mean in enumerate(logged):
        assert mean == pytest.approx(statistics.fmean(history[call * PER_STEP : (call + 1) * PER_STEP]), abs=1e-5)

    # the policy changed, and towards the reward
    after = dict(model.named_parameters())
    assert any(not torch.equal(before[name], after[name].detach()) for name in before)
    first, last = statistics.fmean(logged[:3]), statistics.fmean(logged[-3:])
    curve = {"steps": STEPS, "completions_per_step": PER_STEP, "reward_mean_per_step": logged}
    out = REPO_ROOT / "reports"
    out.mkdir(exist_ok=True)
    (out / "grpo-reward-curve.json").write_text(json.dumps(curve, indent=2) + "\n")
    print("GRPO reward curve (mean per step):", " ".join(f"{m:.3f}" for m in logged))
    assert last > first, logged


def test_grpo_with_the_rollout_function(tmp_path: Path, pool_on_loop: Any) -> None:
    pool, loop, ledger = pool_on_loop
    tokenizer = tiny_tokenizer()
    model = tiny_model(len(tokenizer))
    before = params(model)
    trainer = trl.GRPOTrainer(
        model=model,
        reward_funcs=[reward_from_env],
        args=config(tmp_path, 2),
        train_dataset=dataset(),
        processing_class=tokenizer,
        rollout_func=make_rollout_func(pool, lambda text, observation: {"text": text}, loop=loop),
    )
    trainer.train()
    served = ledger_rewards(ledger)
    assert len(served) == 2 * PER_STEP and {r["task"] for r in served} == {"sevens"}
    logged = [
        e["rewards/reward_from_env/mean"] for e in trainer.state.log_history if "rewards/reward_from_env/mean" in e
    ]
    assert logged == pytest.approx([statistics.fmean(r["reward"] for r in served[i * 8 : i * 8 + 8]) for i in range(2)])
    after = dict(model.named_parameters())
    assert any(not torch.equal(before[name], after[name].detach()) for name in before)


def test_a_reward_call_whose_every_episode_fails_raises(tmp_path: Path) -> None:
    loop = BackgroundLoop()
    try:
        reward = env_reward_func(["http://127.0.0.1:9"], lambda text, obs: {"text": text}, loop=loop)
        with pytest.raises(RolloutFailed, match="all 2 episodes failed"):
            reward(prompts=["a", "b"], completions=["1", "2"])
    finally:
        loop.close()


def test_the_seed_articles_example_script_runs(tmp_path: Path) -> None:
    """`examples/grpo_agent_training.py`: two python_exec_env servers in a pool, one GRPO step."""
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "examples/grpo_agent_training.py", "--steps", "1", "--output-dir", str(tmp_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-3000:]
    assert "step 1: mean environment reward" in proc.stdout
    assert "8 completions scored by the environment, 0 failed episodes" in proc.stdout


def test_tasksets_load_with_datasets_from_parquet_and_jsonl(tmp_path: Path) -> None:
    """`openenv.tasks.load_taskset` through Hugging Face `datasets` (installed in this venv)."""
    from openenv.tasks import TasksetError, load_taskset

    rows = {
        "id": ["a", "b", "c"],
        "split": ["train", "train", "test"],
        "prompt": ["pa", "pb", "pc"],
        "success": ['{"tests": [["f()", 1]]}', "{}", "{}"],
    }
    Dataset.from_dict(rows).to_parquet(str(tmp_path / "tasks.parquet"))
    Dataset.from_dict(rows).to_json(str(tmp_path / "tasks.jsonl"))
    for name in ("tasks.parquet", "tasks.jsonl"):
        tasks = load_taskset(tmp_path / name)
        assert [t.id for t in tasks] == ["a", "b", "c"] and tasks.splits() == ["train", "test"]
        assert tasks.get("a").success == {"tests": [["f()", 1]]}
    (tmp_path / "bad.parquet").write_bytes(b"not parquet")
    with pytest.raises(TasksetError, match=r"bad\.parquet"):
        load_taskset(tmp_path / "bad.parquet")
