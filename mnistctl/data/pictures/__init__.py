"""Users' own pictures as a data set: a folder of class folders (``train/<class>/...``, and
optionally ``test/<class>/...``) or a CSV file (``image``, ``label``, optionally ``split``).

``listing.py`` finds the pictures and checks the structure (``folders.py`` with
``classwalk.py``, ``csvsource.py``; ``stats.py`` looks at every file); ``prepare.py`` makes one
picture a model's input, the one transform everything uses; ``decode.py`` reads many safely,
in worker processes; ``cache.py`` keeps the prepared arrays; ``layout.py`` places them in train
and test; ``load.py`` puts it together (``load_pictures``).

The rules, in short:

- Without a test part of its own, a seeded, stratified share (``test_split``, default 0.2) of
  each class is held out for test; each split is sorted by class, then file name.
- Hidden files and files clearly not pictures by extension (``.txt``, ``.json``,
  ``Thumbs.db``, ...) are skipped without a word; anything else that is not a picture, is
  damaged, too large by its header (more than 40 million pixels, refused before decoding) or
  is a pipe, socket or device (never read) is a bad file: all of them are collected and left
  out, none is raised.
- Symbolic links are followed inside the source's folder; a link out of it is a bad file (a
  UserError for a CSV row, or for ``train``, ``test`` or a class folder itself); a link that
  loops is a UserError.
- ``resize`` fits a picture with its aspect kept, centred on its own border colour (the
  median of its outer ring); transparent pixels become white.
"""
