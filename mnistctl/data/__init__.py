"""Data sets and their formats (npz, IDX, the Keras cache) and users' own images.

``datasets.load_dataset`` reads a data set (``npz.py``, ``idx.py``, ``keras_cache.py``) and
checks its arrays (``arrays.py``); ``files.py`` opens data files safely. ``images.load_digit``
reads a user's picture (``imageread.py``: opening and decoding it safely, ``streams.py`` for
pipes) and ``digitprep.prepare_digit`` makes it MNIST-like (``digitgray.py``, ``digitink.py``,
``digitcrop.py``, on ``rowstats.py``; ``imageerrors.py``: the refusals callers tell apart).
"""
