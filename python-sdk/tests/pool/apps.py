"""Apps the pool tests serve in child processes (`openenv serve tests.pool.apps:…`)."""

from openenv.server import create_app

from tests.envs import LineEnv

line4 = create_app(LineEnv, name="line_env", max_sessions=4)
line1 = create_app(LineEnv, name="line_env", max_sessions=1)
