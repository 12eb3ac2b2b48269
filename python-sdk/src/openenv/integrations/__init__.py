"""Trainer integrations. `openenv.integrations.trl`: TRL's `GRPOTrainer` (reward functions and a
rollout function). Each integration imports its framework only when used."""
