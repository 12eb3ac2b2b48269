"""Module-level apps for tests that start servers in child processes (`openenv serve tests.apps:…`)."""

from openenv.server import create_app

from tests.envs import EchoEnv, LineEnv

line_app = create_app(LineEnv, name="line_env", max_sessions=8)
echo_app = create_app(EchoEnv, name="echo_env", named_sessions=True)
