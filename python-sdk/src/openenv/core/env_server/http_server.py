"""0.10's `create_app`, served by our runtime.

`create_app(env, action_cls, observation_cls, ...)` takes a 0.10-style environment (class or factory,
see `interfaces.Environment`) and returns our ASGI app (`openenv.server.create_app`) serving it over
`/ws`, HTTP and MCP with 0.10's wire format at the base level and v1 for clients that ask for it.

The adaptation (one adapter class per app, one inner environment per session):

* `reset`/`step` call the inner `reset_async`/`step_async` on the event loop when the class
  overrides them (as 0.10 does), else the sync methods on the session's own worker thread;
* `reset` keyword arguments the inner `reset` does not accept are dropped (0.10's filtering);
* `state` reads the inner `state` property; `close` calls the inner `close` once;
* MCP environments (`MCPEnvironment` subclasses, or `CallToolAction`/`ListToolsAction` as the action
  class) accept both tool actions as steps, as 0.10 does, and `/schema` describes their reset
  observation as a plain `Observation` (what their `reset` returns) unless one is given;
* an MCP environment's tools (its FastMCP server's and those registered with `tool()`, listed once
  from a probe instance when the app is built) are also served as JSON-RPC `tools/list` /
  `tools/call` (`mcp` frames, `POST /mcp` with 0.10's `openenv/session/*`), which 0.10's
  `MCPToolClient` uses by default; such a call is not an episode step (as in 0.10);
* `max_concurrent_envs` / `concurrency_config` set the session limit; more than one session for an
  environment without `SUPPORTS_CONCURRENT_SESSIONS` raises `ConcurrencyConfigurationError` (0.10).

Gradio/web-interface arguments are accepted and ignored (our runtime serves no `/web`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from typing import Any, Union, cast

import pydantic

from openenv import server as _server
from openenv.core.env_server.exceptions import ConcurrencyConfigurationError
from openenv.core.env_server.interfaces import Environment
from openenv.core.env_server.mcp_environment import MCPEnvironment, get_server_tools
from openenv.core.env_server.mcp_types import CallToolAction, ListToolsAction
from openenv.core.env_server.types import Action, ConcurrencyConfig, Observation, ServerMode, State

__all__ = ["HTTPEnvServer", "create_app", "create_fastapi_app"]


def _overrides(cls: type, name: str) -> bool:
    return getattr(cls, name, None) is not getattr(Environment, name)


def _reset_filter(cls: Any) -> tuple[frozenset[str], bool]:
    try:
        signature = inspect.signature(cls.reset)
    except (TypeError, ValueError):
        return frozenset(), True
    params = signature.parameters.values()
    names = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))
    return names - {"self"}, any(p.kind is p.VAR_KEYWORD for p in params)


def _class_of(env: Callable[[], Any]) -> type | None:
    return env if isinstance(env, type) else None


def _adapter(
    env: Callable[[], Environment[Any, Any, Any]],
    inner_cls: type,
    action_type: Any,
    observation_cls: type[Observation],
    state_cls: type[State],
    reset_observation_cls: type[Observation] | None,
) -> type[_server.Environment[Any, Any, Any]]:
    """Our runtime's `Environment` subclass that drives one 0.10-style environment per session."""
    names, var_kw = _reset_filter(inner_cls)
    async_reset = _overrides(inner_cls, "reset_async")
    async_step = _overrides(inner_cls, "step_async")

    def filtered(kwargs: dict[str, Any]) -> dict[str, Any]:
        return kwargs if var_kw else {k: v for k, v in kwargs.items() if k in names}

    namespace: dict[str, Any] = {
        "action_type": action_type,
        "observation_type": observation_cls,
        "reset_observation_type": reset_observation_cls,
        "state_type": state_cls,
        "description": (inspect.getdoc(inner_cls) or "").split("\n\n")[0].replace("\n", " ") or None,
        "__doc__": inner_cls.__doc__,
        "__module__": inner_cls.__module__,
    }

    def __init__(self: Any) -> None:
        self.inner = env()

    if async_reset:

        async def reset(self: Any, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Any:
            return await self.inner.reset_async(seed=seed, episode_id=episode_id, **filtered(kwargs))

    else:

        def reset(self: Any, seed: int | None = None, episode_id: str | None = None, **kwargs: Any) -> Any:  # type: ignore[misc]
            return self.inner.reset(seed=seed, episode_id=episode_id, **filtered(kwargs))

    if async_step:

        async def step(self: Any, action: Any) -> Any:
            return await self.inner.step_async(action)

    else:

        def step(self: Any, action: Any) -> Any:  # type: ignore[misc]
            return self.inner.step(action)

    def state(self: Any) -> Any:
        value = self.inner.state
        if isinstance(value, State | dict):
            return value
        if isinstance(value, pydantic.BaseModel):
            return value.model_dump(mode="json")
        raise TypeError(f"state returned {type(value).__name__}, expected a State")

    def close(self: Any) -> None:
        self.inner.close()

    namespace.update(__init__=__init__, reset=reset, step=step, state=state, close=close)
    return type(inner_cls.__name__, (_server.Environment,), namespace)


class _Template(_server.Environment[Any, Any, Any]):
    @_server.tool
    async def template(self) -> None:
        """A tool spec to copy (the runtime's ToolSpec, reached through the public API)."""


def _rpc_tools(probe: MCPEnvironment) -> list[Any]:
    """Tool specs for the runtime's JSON-RPC surface, from one instance's FastMCP server."""
    specs = _Template.tool_specs()
    if not specs or not dataclasses.is_dataclass(specs[0]):
        return []  # the runtime's spec type changed shape: serve tools through steps only
    template = specs[0]
    listed: dict[str, tuple[str, dict[str, Any]]] = {}
    for name, found in get_server_tools(probe.mcp_server).items():
        schema = getattr(found, "parameters", None) or getattr(found, "inputSchema", None) or {"type": "object"}
        listed[name] = (getattr(found, "description", None) or "", dict(schema))
    for name, by_mode in probe._mode_tool_schemas.items():
        schema_entry = by_mode.get(None) or next(iter(by_mode.values()))
        listed[name] = (schema_entry["description"], dict(schema_entry["input_schema"]))
    arguments = pydantic.create_model("mcp_tool_arguments", __config__=pydantic.ConfigDict(extra="allow"))
    return [
        dataclasses.replace(template, name=name, description=description, input_schema=schema, arguments=arguments)
        for name, (description, schema) in sorted(listed.items())
        if name.isidentifier() and not hasattr(_server.Environment, name) and not name.startswith("_")
    ]


def _rpc_method(name: str) -> Callable[..., Any]:
    async def call(self: Any, **arguments: Any) -> Any:
        inner: MCPEnvironment = self.inner
        if name in inner._mode_tools:
            observation = await inner._call_mode_tool(name, arguments)
            if observation.error is not None:
                raise RuntimeError(observation.error.message)
            return observation.result["data"]
        result = await inner._async_call_tool(name, arguments)
        return getattr(result, "data", result)

    call.__name__ = name
    return call


def _add_rpc_tools(adapter: type[_server.Environment[Any, Any, Any]], specs: list[Any]) -> None:
    by_name = {spec.name: spec for spec in specs}
    base_find = adapter.find_tool

    def tool_specs(cls: Any) -> list[Any]:
        return list(by_name.values())

    def find_tool(cls: Any, name: str, arguments: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        spec = by_name.get(name)
        if spec is None:
            return base_find(name, arguments)  # raises the runtime's tool_not_found
        return spec, dict(arguments)

    adapter.tool_specs = classmethod(tool_specs)  # type: ignore[method-assign,assignment]
    adapter.find_tool = classmethod(find_tool)  # type: ignore[method-assign,assignment]
    for name in by_name:
        setattr(adapter, name, _rpc_method(name))


def _session_limit(
    max_concurrent_envs: int | None, concurrency_config: ConcurrencyConfig | None
) -> tuple[int, float | None]:
    if max_concurrent_envs is not None and concurrency_config is not None:
        raise ValueError("Cannot specify both 'max_concurrent_envs' and 'concurrency_config'")
    if concurrency_config is not None:
        return concurrency_config.max_concurrent_envs, concurrency_config.session_timeout
    return (max_concurrent_envs if max_concurrent_envs is not None else 1), None


def _supports_concurrency(env: Callable[[], Any]) -> bool:
    if isinstance(env, type):
        return bool(getattr(env, "SUPPORTS_CONCURRENT_SESSIONS", False))
    flag = getattr(env, "SUPPORTS_CONCURRENT_SESSIONS", None)
    if flag is not None:
        return bool(flag)
    probe = env()  # 0.10 also builds a throwaway instance to read the flag
    try:
        return bool(getattr(probe, "SUPPORTS_CONCURRENT_SESSIONS", False))
    finally:
        close = getattr(probe, "close", None)
        if callable(close):
            close()


def create_app(
    env: Callable[[], Environment[Any, Any, Any]],
    action_cls: type[Action],
    observation_cls: type[Observation],
    env_name: str | None = None,
    max_concurrent_envs: int | None = None,
    concurrency_config: ConcurrencyConfig | None = None,
    gradio_builder: Callable[..., Any] | None = None,
    custom_tab_name: str = "Custom",
    custom_tab_primary: bool = False,
    show_default_tab: bool = True,
    title_override: str | None = None,
    state_cls: type[State] = State,
    *,
    mode: ServerMode | str | None = None,
    reset_observation_cls: type[Observation] | None = None,
) -> _server.OpenEnvApp:
    """Serve a 0.10-style environment on our runtime (see the module docstring)."""
    max_sessions, idle_timeout = _session_limit(max_concurrent_envs, concurrency_config)
    if max_sessions < 1:
        raise ValueError(f"max_concurrent_envs must be at least 1, got {max_sessions}")
    inner_cls = _class_of(env)
    name = env_name or (inner_cls.__name__ if inner_cls is not None else str(getattr(env, "__name__", "environment")))
    if max_sessions > 1 and not _supports_concurrency(env):
        raise ConcurrencyConfigurationError(name, max_sessions)
    if inner_cls is None:  # a factory: learn the class from one instance
        probe = env()
        inner_cls = type(probe)
        probe.close()
    is_mcp = issubclass(inner_cls, MCPEnvironment) or issubclass(action_cls, CallToolAction | ListToolsAction)
    action_type: Any = action_cls
    if is_mcp and reset_observation_cls is None:
        reset_observation_cls = Observation  # an MCP environment's reset returns a plain observation
    if is_mcp:
        members = tuple(dict.fromkeys((action_cls, CallToolAction, ListToolsAction)))
        action_type = Union[members]  # noqa: UP007 — a runtime union of the accepted actions
    adapter = _adapter(env, inner_cls, action_type, observation_cls, state_cls, reset_observation_cls)
    if issubclass(inner_cls, MCPEnvironment):
        probe = env()
        try:
            assert isinstance(probe, MCPEnvironment)
            _add_rpc_tools(adapter, _rpc_tools(probe))
        finally:
            probe.close()
    settings: dict[str, Any] = {"max_sessions": max_sessions, "named_sessions": True, "lax_base_typing": True}
    if idle_timeout is not None:
        settings["idle_timeout_s"] = idle_timeout
    return _server.create_app(cast(Any, adapter), name=name, **settings)


def create_fastapi_app(
    env: Callable[[], Environment[Any, Any, Any]],
    action_cls: type[Action],
    observation_cls: type[Observation],
    max_concurrent_envs: int | None = None,
    concurrency_config: ConcurrencyConfig | None = None,
    env_name: str | None = None,
    state_cls: type[State] = State,
    *,
    mode: ServerMode | str | None = None,
    reset_observation_cls: type[Observation] | None = None,
) -> _server.OpenEnvApp:
    """0.10's app without the web interface: the same app as `create_app` here."""
    return create_app(
        env,
        action_cls,
        observation_cls,
        env_name=env_name,
        max_concurrent_envs=max_concurrent_envs,
        concurrency_config=concurrency_config,
        state_cls=state_cls,
        mode=mode,
        reset_observation_cls=reset_observation_cls,
    )


class HTTPEnvServer:
    """0.10's server object: `HTTPEnvServer(env, action_cls, observation_cls, ...).app` is our app."""

    def __init__(
        self,
        env: Callable[[], Environment[Any, Any, Any]],
        action_cls: type[Action],
        observation_cls: type[Observation],
        max_concurrent_envs: int | None = None,
        concurrency_config: ConcurrencyConfig | None = None,
        env_name: str | None = None,
        state_cls: type[State] = State,
        *,
        reset_observation_cls: type[Observation] | None = None,
    ) -> None:
        self._max, self._idle = _session_limit(max_concurrent_envs, concurrency_config)
        self._env = env
        self.app = create_app(
            env,
            action_cls,
            observation_cls,
            env_name=env_name,
            max_concurrent_envs=max_concurrent_envs,
            concurrency_config=concurrency_config,
            state_cls=state_cls,
            reset_observation_cls=reset_observation_cls,
        )

    @property
    def max_concurrent_envs(self) -> int:
        return self._max

    @property
    def is_concurrency_safe(self) -> bool:
        return _supports_concurrency(self._env)

    @property
    def concurrency_config(self) -> ConcurrencyConfig:
        return ConcurrencyConfig(max_concurrent_envs=self._max, session_timeout=self._idle)
