"""The commands: each takes plain arguments and returns a result; none prints."""
