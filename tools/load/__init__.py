"""Load tests (`make load`): many calls through one server, figures printed, never timed asserts."""
