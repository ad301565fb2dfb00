"""Helpers the lecture notebooks import (kept out of the reading flow).

A notebook runs with its own folder (``lectures/ru`` or ``lectures/en``) as the working directory,
so it puts ``lectures/`` on ``sys.path`` and imports ``lecture_tools``::

    sys.path.insert(0, str(Path.cwd().parent))
    from lecture_tools.fmt import number, localize_axes, localize_figure
    from lecture_tools.labels import place_labels

``fmt``: numbers as each language writes them (the Russian decimal comma); ``labels``: city
names beside their points on the maps of lecture 01.
"""
