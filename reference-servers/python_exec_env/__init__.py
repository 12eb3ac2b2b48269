"""python_exec_env: the OpenEnv reference coding sandbox (see README.md)."""
