"""The seed article's "Wiring OpenEnv into a GRPO training loop", runnable: TRL's `GRPOTrainer`
trains a policy whose rewards come from python_exec_env servers (each completion is run as Python
code in a sandbox; a task's hidden expected output grades it).

Run it in the training venv (`make venv-train`), from the repository root:

    .venv-train/bin/python examples/grpo_agent_training.py                      # tiny local model
    .venv-train/bin/python examples/grpo_agent_training.py --model ./my-model   # a model on disk
    .venv-train/bin/python examples/grpo_agent_training.py --env-url http://127.0.0.1:8000

Without `--env-url` it starts `--replicas` python_exec_env servers on loopback (`openenv serve`
child processes) behind an `EnvPool`; with it, it uses those servers. Without `--model` it builds a
tiny Llama and a character tokenizer in memory (no downloads: nothing here reaches a hub), which
learns nothing useful about Python but exercises the whole loop on a CPU in about a minute.
The article's Qwen3-4B works the same way with `--model` pointing at its files on disk.
Prints one line per training step (mean environment reward) and exits 0.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]

# The article's prompts, each with the output its program must print (the env's hidden answer).
TASKS = [
    ("Write Python that prints the 10th Fibonacci number.", "55\n"),
    ("Write Python that prints whether 'racecar' is a palindrome, as True or False.", "True\n"),
    ("Write Python that prints the primes below 20, space-separated.", "2 3 5 7 11 13 17 19\n"),
    ("Write Python that prints 2 to the power 10.", "1024\n"),
]


def tiny_model_and_tokenizer() -> tuple[Any, Any]:
    """A 2-layer Llama over a printable-ASCII character vocabulary, built in memory."""
    import torch
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    chars = [chr(c) for c in range(32, 127)] + ["\n"]
    vocab = {"<pad>": 0, "<eos>": 1, "<unk>": 2} | {ch: i + 3 for i, ch in enumerate(chars)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.Split(Regex("(?m)."), behavior="isolated")
    core.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>", padding_side="left"
    )
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(vocab),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
        pad_token_id=0,
        eos_token_id=1,
        bos_token_id=None,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(config), tokenizer


def to_action(completion: str, observation: Any) -> dict[str, Any]:
    """A completion is a program: run it (the article's `RunCodeAction`)."""
    return {"code": completion, "timeout_seconds": 5.0}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", help="a model directory on disk (default: a tiny model built in memory)")
    parser.add_argument("--env-url", action="append", help="a python_exec_env server (repeatable)")
    parser.add_argument("--replicas", type=int, default=2, help="servers to start without --env-url")
    parser.add_argument("--steps", type=int, default=4, help="training steps")
    parser.add_argument("--num-generations", type=int, default=4, help="G: completions per prompt")
    parser.add_argument("--max-completion-length", type=int, default=24)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument("--output-dir", default=str(REPO_ROOT / "reports" / "grpo-agent"))
    args = parser.parse_args(argv)
    for name, low, high in (("replicas", 1, 64), ("steps", 1, 100_000), ("num_generations", 2, 64)):
        if not low <= getattr(args, name) <= high:
            parser.error(f"--{name.replace('_', '-')} must be in {low}..{high}")

    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    from datasets import Dataset
    from openenv.integrations.trl import BackgroundLoop, env_reward_func
    from openenv.pool import EnvPool
    from openenv.providers import LocalProcessProvider
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import GRPOConfig, GRPOTrainer

    # ─── 1. Model and tokenizer (from disk, or built here) ─────────────────────────────────────
    if args.model:
        model = AutoModelForCausalLM.from_pretrained(args.model, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(args.model, local_files_only=True, padding_side="left")
    else:
        model, tokenizer = tiny_model_and_tokenizer()

    # ─── 2. Environments: given URLs, or a pool of local python_exec_env servers ───────────────
    loop = BackgroundLoop()
    pool = None
    source: Any = args.env_url
    if not source:
        provider = LocalProcessProvider("python_exec_env.server:app", cwd=str(REPO_ROOT / "reference-servers"))
        pool = loop.run(EnvPool(provider, replicas=args.replicas).start(), timeout_s=120)
        source = pool

    # ─── 3. The reward: run each completion in the sandbox, graded by the task's hidden answer ──
    reward = env_reward_func(source, to_action, reset_columns=("expected_stdout",), loop=loop, name="python_exec")
    prompts = [prompt for prompt, _ in TASKS]
    answers = [answer for _, answer in TASKS]
    dataset = Dataset.from_dict({"prompt": prompts * 16, "expected_stdout": answers * 16})

    # ─── 4. GRPO ────────────────────────────────────────────────────────────────────────────────
    config = GRPOConfig(
        output_dir=args.output_dir,
        max_steps=args.steps,
        per_device_train_batch_size=2 * args.num_generations,
        num_generations=args.num_generations,
        max_completion_length=args.max_completion_length,
        learning_rate=args.learning_rate,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        use_cpu=not _has_gpu(),
        activation_checkpointing=False,
        disable_tqdm=True,
    )
    trainer = GRPOTrainer(
        model=model, reward_funcs=[reward], args=config, train_dataset=dataset, processing_class=tokenizer
    )
    try:
        trainer.train()
    finally:
        if pool is not None:
            loop.run(pool.close(), timeout_s=60)
        loop.close()
    means = [e["rewards/python_exec/mean"] for e in trainer.state.log_history if "rewards/python_exec/mean" in e]
    for step, mean in enumerate(means, 1):
        print(f"step {step}: mean environment reward {mean:+.3f}")
    print(f"{len(reward.history)} completions scored by the environment, {reward.failures} failed episodes")
    return 0 if len(means) == args.steps else 1


def _has_gpu() -> bool:
    import torch

    return bool(torch.cuda.is_available())


if __name__ == "__main__":
    sys.exit(main())
