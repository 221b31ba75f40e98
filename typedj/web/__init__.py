"""typedj web: browse, enter and compute a pipeline in the browser (``typedj web``).

Generated from the tables' typed declarations as read from the catalog, so forms, filters
and validation follow the same types as ``insert``. Every signed-in person works on their
own database connection: the server's privileges decide what each may read and change.
Needs the ``typedj[web]`` extra.
"""

from .app import create_app

__all__ = ["create_app"]
