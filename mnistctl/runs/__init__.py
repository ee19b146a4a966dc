"""Run directories: their files, the run record and its status, finding runs."""
