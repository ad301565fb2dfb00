"""Helpers the lecture notebooks import (kept out of the reading flow).

A notebook runs with its own folder (``lectures/ru`` or ``lectures/en``) as the working directory,
so it puts ``lectures/`` on ``sys.path`` and imports ``lecture_tools``::

    sys.path.insert(0, str(Path.cwd().parent))
    from lecture_tools.fmt import number, localize_axes
"""
