"""Data sets and their formats (npz, IDX, the Keras cache) and users' own images."""
