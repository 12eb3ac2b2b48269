"""0.10's server exceptions (`openenv.core.env_server.exceptions`), raised by `create_app`."""

from __future__ import annotations

from openenv.errors import OpenEnvError as _OurError

__all__ = [
    "ConcurrencyConfigurationError",
    "EnvironmentFactoryError",
    "OpenEnvError",
    "SessionCapacityError",
    "SessionCreationError",
    "SessionNotFoundError",
]


class OpenEnvError(_OurError):
    """Root of the 0.10 server exceptions (a branch of our `openenv.errors.OpenEnvError`)."""


class ConcurrencyConfigurationError(OpenEnvError):
    """More than one session configured for an environment that does not support it."""

    def __init__(self, environment_name: str, max_concurrent_envs: int, message: str | None = None) -> None:
        self.environment_name = environment_name
        self.max_concurrent_envs = max_concurrent_envs
        super().__init__(
            message
            or f"Environment '{environment_name}' is not marked as SUPPORTS_CONCURRENT_SESSIONS. "
            f"Cannot run {max_concurrent_envs} concurrent sessions. Set SUPPORTS_CONCURRENT_SESSIONS=True "
            "in your environment class or set max_concurrent_envs=1."
        )


class SessionCapacityError(OpenEnvError):
    def __init__(self, active_sessions: int, max_sessions: int, message: str | None = None) -> None:
        self.active_sessions = active_sessions
        self.max_sessions = max_sessions
        super().__init__(message or f"Server at capacity: {active_sessions}/{max_sessions} sessions active.")


class SessionNotFoundError(OpenEnvError):
    def __init__(self, session_id: str, message: str | None = None) -> None:
        self.session_id = session_id
        super().__init__(message or f"Session '{session_id}' not found")


class SessionCreationError(OpenEnvError):
    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message or f"Failed to create session: {reason}")


class EnvironmentFactoryError(OpenEnvError):
    def __init__(self, factory_name: str, message: str | None = None) -> None:
        self.factory_name = factory_name
        super().__init__(message or f"Environment factory '{factory_name}' failed to create an instance")
