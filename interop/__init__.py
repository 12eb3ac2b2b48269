"""Interop with the real ``openenv==0.10.0`` peer: legacy environments, launcher and fixtures."""
