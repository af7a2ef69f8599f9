"""Sphinx configuration of the fastmlp documentation (``bash scripts/build_docs.sh``)."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Document the source tree. Autodoc needs no compiled extension: the NumPy backend is
# forced so that nothing imported here tries the extension or warns that it is missing.
sys.path.insert(0, str(ROOT / "src"))
os.environ["FASTMLP_BACKEND"] = "numpy"

import fastmlp  # noqa: E402

project = "fastmlp"
author = "fastmlp developers"
copyright = "fastmlp developers"  # the name Sphinx reads
release = version = fastmlp.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build"]

# API reference: one page per public object, generated from the docstrings.
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"member-order": "bysource"}
autodoc_typehints = "none"          # the numpydoc Parameters sections carry the types
numpydoc_show_class_members = False  # the class template lists the members itself
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False

# Every cross reference must resolve, except those to other projects (no intersphinx: the
# build runs offline) and to private names (the docstrings point readers at the NumPy
# reference backend, ``fastmlp.backend._numpy``, and at private base classes).
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(numpy|scipy|sklearn|json|matplotlib)(\..*)?"),
    (r"py:.*", r"fastmlp(\.\w+)*\._\w+(\..*)?"),
]

# Markdown pages (docs/*.md and the README through {include}).
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

html_theme = "pydata_sphinx_theme"
html_title = f"fastmlp {release}"
html_theme_options = {"navigation_with_keys": False}
html_show_sourcelink = False
# The narrative pages have no sub-pages: no empty navigation column beside them.
html_sidebars = {page: [] for page in ("index", "readme", "optimizers", "reliability",
                                        "sklearn", "benchmarks", "design", "contributing",
                                        "changelog")}


#: Files of the repository's root and of benchmarks/ that a page of docs/ includes, and
#: that page: links between them point at the pages on the site.
_INCLUDED_PAGES = {"README.md": "readme.md", "CONTRIBUTING.md": "contributing.md",
                   "CHANGELOG.md": "changelog.md", "benchmarks/RESULTS.md": "benchmarks.md"}


def _included_links(app, relative_path, parent_docname, content):
    """Point the included root files' links to each other (and to benchmarks/RESULTS.md)
    at the pages that include them.

    Their links into ``docs/`` are rewritten by ``:relative-docs:``.
    """
    if Path(relative_path).name in ("README.md", "CONTRIBUTING.md", "CHANGELOG.md"):
        for source, page in _INCLUDED_PAGES.items():
            content[0] = content[0].replace(f"]({source})", f"]({page})")


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Leave out the members a class inherits from other packages (scikit-learn's
    ``score``, ``set_params``, metadata routing on the estimators): their docstrings
    refer to those projects' own pages."""
    module = getattr(getattr(obj, "fget", obj), "__module__", None)
    if what == "class" and isinstance(module, str) and module.split(".")[0] != "fastmlp":
        return True
    return None


def setup(app):
    app.connect("include-read", _included_links)
    app.connect("autodoc-skip-member", _skip_foreign_members)
