"""Client certification: the harness plays scripted servers and certifies the client under test.

`openenv-conformance serve-client --command "CMD"` (`runner.run_client_suite`) runs, one scenario
at a time (`scenarios.SCENARIOS`), a loopback WebSocket server (`scripted.ScriptedServer`) and the
command CMD, a *driver* that performs the scenario's plan with the client library under test and
prints one JSON result line per operation. The driver protocol is documented in
`conformance/drivers/driverlib.py` and `conformance/README.md`; drivers for this SDK's clients, for
0.10's client and for the Node client ship with the repository.
"""
