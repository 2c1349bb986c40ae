"""Sphinx configuration of nwb_it's documentation (``sphinx-build -W -b html docs docs/_build/html``)."""
from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")      # the tutorials draw while the site is built

from nwb_it.core.provenance import package_version  # noqa: E402

project = "nwb_it"
author = "nwb_it developers"
release = version = package_version()
extensions = ["myst_parser", "sphinx.ext.autodoc", "sphinx.ext.napoleon", "sphinx_gallery.gen_gallery"]
source_suffix = {".md": "markdown", ".rst": "restructuredtext"}
exclude_patterns = ["_build", "tutorials/*.md", "auto_tutorials/*.ipynb", "auto_tutorials/*.py",
                    "auto_tutorials/*.zip", "auto_tutorials/*.json"]
myst_heading_anchors = 3
napoleon_numpy_docstring = True
napoleon_google_docstring = False
autodoc_typehints = "none"                  # the signatures show them; numpydoc sections describe them
autodoc_member_order = "bysource"
html_theme = "alabaster"
sphinx_gallery_conf = {
    "examples_dirs": "tutorials",
    "gallery_dirs": "auto_tutorials",
    "filename_pattern": r"/tutorial_",
    "download_all_examples": False,
    "remove_config_comments": True,
}
suppress_warnings = ["myst.header"]
